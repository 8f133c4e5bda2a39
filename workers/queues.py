"""Queues and retry policies; jobs are enqueued only after their data is committed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from redis.client import Pipeline
from rq import Queue, Retry, SimpleWorker, Worker
from rq.utils import now as rq_now
from rq.worker.base import BaseWorker

from bot.services import QUEUE_NAMES, Services

# Backoff between tries, for errors worth another try (a job raising on a permanent error sets its
# retries_left to 0 first).  WeChat keeps media 3 days: photo downloads keep trying for hours.
RETRIES = {
    "media": Retry(max=6, interval=[10, 60, 300, 1800, 3600, 7200]),
    "pushes": Retry(max=5, interval=[5, 30, 120, 600, 1800]),
    "default": Retry(max=3, interval=[10, 60, 300]),
}


def enqueue(svc: Services, queue: str, func: Callable[..., Any], *args: Any, job_id: str | None = None,
            delay_s: int = 0, fresh: bool = False) -> None:
    """Enqueue a job once (a job id already queued or running is not added again), now or after a delay.

    ``fresh``: the job id names something created just now, so it cannot be queued yet; not looked up.
    """
    q = Queue(queue, connection=svc.redis)
    if job_id is not None and not fresh:
        existing = q.fetch_job(job_id)
        # fetch_job has just read the job's status: no second round trip for it.
        if existing is not None and existing.get_status(refresh=False) in ("queued", "started", "scheduled",
                                                                            "deferred"):
            return
    options: dict[str, Any] = {"job_id": job_id, "retry": RETRIES.get(queue, RETRIES["default"]),
                               "result_ttl": 3600, "failure_ttl": 7 * 24 * 3600}
    if delay_s > 0:
        q.enqueue_in(timedelta(seconds=delay_s), func, *args, **options)
    else:
        q.enqueue(func, *args, **options)


def all_queues(svc: Services) -> list[Queue]:
    return [Queue(name, connection=svc.redis) for name in QUEUE_NAMES]


# Workers beat at most this often outside a job's own bookkeeping (RQ's worker_ttl is 420 s), and
# look whether `rq suspend` was said at most this often.
HEARTBEAT_EVERY_S = 5.0
SUSPENSION_CHECK_EVERY_S = 1.0


class _LeanHeartbeat(BaseWorker):
    """RQ 3 sends a worker's heartbeat (HSET and two EXPIREs) as three round trips, about five times a
    job, and asks Redis whether workers are suspended before every job: half of a short job's Redis
    traffic.  Here a heartbeat of its own is one pipelined round trip, skipped when the last one is
    less than HEARTBEAT_EVERY_S old, and suspension is looked up at most once a second.  Heartbeats
    that ride on RQ's own pipelines, or that ask for a particular timeout, are left as they are."""

    _suspension_checked = 0.0

    def check_for_suspension(self, burst: bool) -> None:
        at = time.monotonic()
        if at - self._suspension_checked >= SUSPENSION_CHECK_EVERY_S:
            self._suspension_checked = at
            super().check_for_suspension(burst)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        if pipeline is not None or timeout is not None:
            super().heartbeat(timeout, pipeline)
            return
        last = self.last_heartbeat
        if last is not None and (rq_now() - last).total_seconds() < HEARTBEAT_EVERY_S:
            return
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(None, pipe)
            pipe.execute()


class LeanSimpleWorker(_LeanHeartbeat, SimpleWorker):
    """A SimpleWorker (jobs run in the worker process: no fork per job) with cheaper heartbeats.

    What a push worker should be: a job is a few milliseconds of work, and a fork per job costs more
    than the job (see ``prepare_worker`` when forking is wanted)."""


class LeanWorker(_LeanHeartbeat, Worker):
    """RQ's forking Worker with cheaper heartbeats (prepare its parent with ``prepare_worker``)."""


def prepare_worker(svc: Services) -> None:
    """Get a forking worker's parent ready: call it once before `Worker(...).work()`.

    RQ's default Worker forks a work-horse for every job, and the horse starts from the parent's
    memory.  Without this, every push pays for loading the job modules, SQLAlchemy's first connection
    (the dialect's questions to the server), mapper configuration and statement compilation — about
    a hundred milliseconds of CPU a push.  `gc.freeze()` keeps the collector in each horse from
    touching (and so copying) every page the parent owns.  A SimpleWorker does not need this: it
    pays those costs once, on its first job.
    """
    import gc

    from workers import media, push  # the jobs' modules, imported before the fork

    del media
    push.warm_up(svc)
    gc.collect()
    gc.freeze()


def enqueue_many(svc: Services, jobs: Iterable[tuple[str, Callable[..., Any], tuple[Any, ...], str | None]]) -> None:
    for queue, func, args, job_id in jobs:
        enqueue(svc, queue, func, *args, job_id=job_id)
