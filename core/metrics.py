"""The Prometheus metrics of repairbot, defined once here; the web, the dialogs and the jobs only count.

Counters and the reply histogram are counted where things happen.  Under gunicorn and RQ they are kept by
prometheus_client's multiprocess mode: every process writes its own files into ``PROMETHEUS_MULTIPROC_DIR``
(one folder shared by the web and the workers of a machine) and /metrics adds them up.  Without that
variable (tests, `flask run`) they live in the process.  The gauges (queue depths, the token's age, overdue
tickets) are read from Redis and PostgreSQL when Prometheus scrapes, by ``VitalsCollector``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import redis
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from core import vitals
from core.config import METRICS_DIR_ENV
from core.services import Services
from models.backoffice import STAGES
from models.sla import late_by_stage

MULTIPROC_ENV = METRICS_DIR_ENV

MESSAGES = Counter("repairbot_messages", "Messages WeChat delivered to the webhook, by kind", ["kind"])
REPLY_SECONDS = Histogram("repairbot_reply_seconds", "Time to answer a message, by the dialog it was in",
                          ["dialog"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
REPLIES_BUSY = Counter("repairbot_replies_busy", "Messages answered 'still busy with your previous one'")
TICKETS_FILED = Counter("repairbot_tickets_filed", "Tickets filed through the chat, by category", ["category"])
PUSHES = Counter("repairbot_pushes", "Push attempts by how they ended (sent, failed, pending, skipped, unknown)",
                 ["outcome"])
JOBS_FAILED = Counter("repairbot_jobs_failed", "RQ jobs that failed for good (no retry left), by queue", ["queue"])
WEBHOOK_REFUSED = Counter("repairbot_webhook_refused", "Requests the webhook refused, by reason", ["reason"])


class VitalsCollector(Collector):
    """The gauges read at scrape time from Redis and PostgreSQL (core/vitals.py)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        conn = self.services.redis
        depth = GaugeMetricFamily("repairbot_queue_depth", "Jobs waiting on each RQ queue", labels=["queue"])
        for name, count in vitals.queue_depths(conn).items():
            depth.add_metric([name], count)
        yield depth
        yield from self._token(conn)
        yield self._overdue()

    def _token(self, conn: redis.Redis) -> Iterator[Metric]:
        age = vitals.token_age_s(conn)
        if age is not None:
            yield GaugeMetricFamily("repairbot_access_token_age_seconds",
                                    "Seconds since the shared WeChat access_token was fetched", value=age)

    def _overdue(self) -> Metric:
        overdue = GaugeMetricFamily("repairbot_overdue_tickets",
                                    "Open tickets past the limit of the SLA stage they are in", labels=["stage"])
        with self.services.db.session() as s:
            counts = late_by_stage(s)
        for stage in STAGES:
            overdue.add_metric([stage], counts.get(stage, 0))
        return overdue


def exposition(services: Services) -> tuple[bytes, str]:
    """The text Prometheus scrapes: every process's counters, and the gauges read now."""
    registry = CollectorRegistry(auto_describe=False)
    folder = _multiprocess_folder()
    if folder:
        MultiProcessCollector(registry, path=folder)
        registry.register(VitalsCollector(services))
        return generate_latest(registry), CONTENT_TYPE_LATEST
    registry.register(VitalsCollector(services))
    return generate_latest(REGISTRY) + generate_latest(registry), CONTENT_TYPE_LATEST


def _multiprocess_folder() -> str | None:
    """The folder this process's counters are written to: only when prometheus_client was imported in
    multiprocess mode (the variable set later — an in-process `repairbot worker`, as tests run it — leaves this
    process's counters in memory, where they are read)."""
    folder = os.environ.get(MULTIPROC_ENV)
    return folder if folder and values.ValueClass is not values.MutexValue else None


# prometheus_client's files are named <kind>_<pid>.db (gauges: gauge_<mode>_<pid>.db).
_PID_FILE = re.compile(r"_(\d+)\.db$")


def forget_dead_processes(folder: str | Path | None = None) -> int:
    """Remove the files of processes that are gone, as a server or worker starts (a restart is a counter reset
    for Prometheus anyway); return how many were removed.  Files of running processes stay."""
    folder = folder or os.environ.get(MULTIPROC_ENV)
    if not folder or not Path(folder).is_dir():
        return 0
    removed = 0
    for path in Path(folder).glob("*.db"):
        match = _PID_FILE.search(path.name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def process_exited(pid: int) -> None:
    """gunicorn's child_exit: drop the live gauges of a worker that is gone (its counters stay counted)."""
    if os.environ.get(MULTIPROC_ENV):
        mark_process_dead(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
