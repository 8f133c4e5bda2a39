"""Soak: the whole service for half an hour at half its measured peak, and whether it stays well.

Run from the project root: .venv/bin/python -m tests.benchmarks.soak   (`make soak`)

What runs, as in production: gunicorn with deploy/gunicorn.conf.py (the webhook and /metrics), `repairbot
worker` processes (pushes and photo downloads), real PostgreSQL and Redis, and WeChat's API as the loopback fake
answering every call after 100 ms (tests/benchmarks/soak/fake.py).  Users bound to the roster walk whole
repair dialogs (the webhook bench's scripts); a member of staff accepts every ticket filed, within a second,
so that every ticket's reporter is owed a push.

1. Setup (not measured): the database is dropped, recreated and filled; the Redis db is flushed.
2. The peak: SOAK_PEAK_SECONDS (default 20) of the users as fast as the server answers (12 in flight).
3. The soak: SOAK_MINUTES (default 30) at half that rate (or SOAK_RATE messages a second).
4. The drain: the queues are left to empty; then the checks.

The bar: 0 errors (every reply as the dialog expects, no failed push or job, no ERROR line in any log), every
push sent exactly once (the fake counts each distinct message; the database's sent rows, the fake's messages and
/metrics' repairbot_pushes_total{outcome="sent"} agree), and the resident memory of each gunicorn worker and each
RQ worker grows less than 20 MB from minute 5 to the end (for runs shorter than 30 minutes: from a sixth of
the way).  The exit status is 0 when the bar is met, 1 when not, 2 on a setup error.

Settings (environment): SOAK_MINUTES, SOAK_RATE, SOAK_PEAK_SECONDS, SOAK_USERS (default 300), SOAK_RQ_WORKERS
(default 4), SOAK_WEB_WORKERS (default: deploy/gunicorn.conf.py's), SOAK_LATENCY_MS (default 100),
SOAK_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/repairbot_soak; the database is
dropped and recreated), SOAK_REDIS_URL (default redis://127.0.0.1:6379/12; flushed), SOAK_REPORT (a file for
the figures as JSON), SOAK_KEEP=1 (keep the temporary folder with the logs), SOAK_NICE (e.g. -10: give the
soak's session more CPU weight on a shared machine, as the webhook bench's --nice).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.benchmarks.webhook.machine import children_of, cpu_delta, cpu_snapshot, set_priority
from tests.benchmarks.webhook.phases import percentile, wait_for_workers
from tests.benchmarks.webhook.script import Behaviour, Vocabulary, make_plans
from tests.benchmarks.webhook.servers import Gunicorn
from tests.benchmarks.webhook.settings import APP_DIALOG, APPID, ROOT, TOKEN
from tests.benchmarks.webhook.users import make_users

from .pace import paced

MB = 1024 * 1024
GROWTH_BAR_MB = 20.0


@dataclass
class Settings:
    minutes: float = float(os.environ.get("SOAK_MINUTES") or 30)
    rate: float = float(os.environ.get("SOAK_RATE") or 0)
    peak_seconds: float = float(os.environ.get("SOAK_PEAK_SECONDS") or 20)
    users: int = int(os.environ.get("SOAK_USERS") or 300)
    rq_workers: int = int(os.environ.get("SOAK_RQ_WORKERS") or 4)
    web_workers: int | None = int(os.environ["SOAK_WEB_WORKERS"]) if os.environ.get("SOAK_WEB_WORKERS") else None
    latency_ms: float = float(os.environ.get("SOAK_LATENCY_MS") or 100)
    database_url: str = os.environ.get("SOAK_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/repairbot_soak"
    redis_url: str = os.environ.get("SOAK_REDIS_URL") or "redis://127.0.0.1:6379/12"
    report: str = os.environ.get("SOAK_REPORT", "")
    keep: bool = bool(os.environ.get("SOAK_KEEP"))
    nice: int = int(os.environ.get("SOAK_NICE") or 0)

    @property
    def bucket_s(self) -> float:
        """The report's periods: five minutes, or a sixth of a shorter run."""
        return 300.0 if self.minutes >= 30 else self.minutes * 60 / 6

    @property
    def early_s(self) -> float:
        """When the first memory reading is taken: minute 5, or a sixth of a shorter run."""
        return 300.0 if self.minutes >= 30 else self.minutes * 60 / 6


# -- setup ----------------------------------------------------------------------------------------------------

def recreate_database(url: str, users: int) -> Any:
    """Drop and recreate the soak's database, migrate it, fill it; return the register."""
    import psycopg

    from models.schema import upgrade
    from tests.benchmarks.webhook.stores import _fill

    server, _, name = url.replace("postgresql+psycopg://", "postgresql://", 1).rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    upgrade(url)
    return _fill(url, users)


def service_env(s: Settings, tmp: Path, api_base: str) -> dict[str, str]:
    return {
        "REPAIRBOT_DATABASE_URL": s.database_url, "REPAIRBOT_REDIS_URL": s.redis_url,
        "REPAIRBOT_INSTANCE_PATH": str(tmp / "instance"), "REPAIRBOT_MEDIA_DIR": str(tmp / "media"),
        "REPAIRBOT_SECRET_KEY": "soak-secret", "REPAIRBOT_ID_PEPPER": "bench-pepper",
        "REPAIRBOT_PUBLIC_URL": "https://repair.example.edu", "REPAIRBOT_LOG_LEVEL": "WARNING",
        "REPAIRBOT_LOG_FORMAT": "json", "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_SECRET": "soak-app-secret", "WECHAT_AES_KEY": "",
        "WECHAT_API_BASE_URL": api_base, "WECHAT_TEMPLATE_TICKET": "TPL-TICKET", "WECHAT_TEMPLATE_REPLY": "TPL-REPLY",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class Processes:
    """Everything the soak started, stopped on the way out whatever happens."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
        with open(self.tmp / log, "ab") as out:
            proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    process_group=0)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_fake(s: Settings, procs: Processes) -> str:
    proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.soak.fake", "--latency-ms", str(s.latency_ms)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, process_group=0)
    procs.procs.append(proc)  # type: ignore[arg-type]
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        raise RuntimeError(f"the fake did not start: {line!r}")
    return line.split("listening on ", 1)[1].strip()


# -- during the run ------------------------------------------------------------------------------------------

@dataclass
class Memory:
    """Resident memory of every gunicorn worker and RQ worker, read every few seconds."""

    readings: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    def read(self, at: float, web_master: int | None, rq: list[int]) -> None:
        import psutil

        rss: dict[str, int] = {}
        for kind, pids in (("web", children_of(web_master)), ("rq", rq)):
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    rss[f"{kind}:{pid}"] = psutil.Process(pid).memory_info().rss
        self.readings.append((at, rss))

    def at(self, t: float) -> dict[str, int]:
        return min(self.readings, key=lambda r: abs(r[0] - t))[1]


class Staff(threading.Thread):
    """A dispatcher accepting every ticket filed, about once a second (each acceptance owes its reporter a push)."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(daemon=True)
        from core.config import Config
        from core.services import Services

        self.svc = Services(Config.from_env(env, dotenv=None))
        self.stopping = threading.Event()
        self.accepted = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            self.accept_all()
        self.accept_all()

    def accept_all(self) -> None:
        from sqlalchemy import select

        from core.actions import move_ticket
        from models.tickets import Ticket

        with self.svc.db.session() as s:
            numbers = list(s.scalars(select(Ticket.no).where(Ticket.status == "submitted")))
        for no in numbers:
            try:
                move_ticket(self.svc, no, "accepted", by="staff:值班调度")
                self.accepted += 1
            except Exception as exc:  # counted as an error of the run, with its kind
                self.errors.append(f"accept {no}: {type(exc).__name__}: {exc}")


# -- the checks ---------------------------------------------------------------------------------------------

def drain(staff: Staff, wait_s: float = 180.0) -> dict[str, int]:
    """Wait for every push and photo to settle; return the pushes by status."""
    from sqlalchemy import func, select

    from core.vitals import queue_depths
    from models.pushes import Push
    from models.tickets import TicketPhoto

    deadline = time.monotonic() + wait_s
    while True:
        with staff.svc.db.session() as s:
            by_status = dict(s.execute(select(Push.status, func.count()).group_by(Push.status)).all())
            photos = s.scalar(select(func.count()).where(TicketPhoto.status == "pending")) or 0
        busy = sum(by_status.get(k, 0) for k in ("pending", "sending", "unknown")) + photos
        if (busy == 0 and not any(queue_depths(staff.svc.redis).values())) or time.monotonic() > deadline:
            return {str(k): int(v) for k, v in by_status.items()} | {"photos_pending": int(photos)}
        time.sleep(1.0)


# The app's JSON lines at ERROR or worse, gunicorn's own (a worker timeout is CRITICAL), and tracebacks.
ERROR_MARKS = ('"level": "ERROR"', '"level": "CRITICAL"', "[ERROR]", "[CRITICAL]", "Traceback")


def error_lines(tmp: Path) -> list[str]:
    """Log lines at ERROR or worse, or tracebacks, in every process's log."""
    found = []
    for path in sorted(tmp.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if any(mark in line for mark in ERROR_MARKS):
                found.append(f"{path.name}: {line[:300]}")
    return found


def metrics_sent(web: Gunicorn) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    status, body = web.request("/metrics", timeout=30)
    if status != 200:
        return -1.0
    return sum(s.value for f in text_string_to_metric_families(body.decode()) for s in f.samples
               if s.name == "repairbot_pushes_total" and s.labels.get("outcome") == "sent")


def fake_counts(api_base: str) -> dict[str, Any]:
    import requests

    return dict(requests.get(api_base.replace("/cgi-bin/", "/_soak"), timeout=10).json())


def failed_jobs(staff: Staff) -> int:
    from core.vitals import failed_counts

    return sum(failed_counts(staff.svc.redis).values())


# -- the run ---------------------------------------------------------------------------------------------------

def run(s: Settings, tmp: Path, procs: Processes) -> dict[str, Any]:
    t = time.perf_counter()
    register = recreate_database(s.database_url, s.users)
    import redis

    redis.Redis.from_url(s.redis_url).flushdb()
    behaviour = Behaviour(Vocabulary.load(), make_plans(register))
    api_base = start_fake(s, procs)
    env = service_env(s, tmp, api_base)
    (tmp / "metrics").mkdir()
    web = Gunicorn(APP_DIALOG, s.web_workers, env, tmp / "gunicorn.log")
    web.start()
    rq = [procs.start([sys.executable, "-m", "bot", "worker"], env, f"rq-{i}.log").pid for i in range(s.rq_workers)]
    print(f"setup: {s.users} bound users, {wait_for_workers(web, s.web_workers)} gunicorn workers, "
          f"{len(rq)} RQ workers, WeChat fake at {s.latency_ms:.0f} ms ({time.perf_counter() - t:.1f} s)", flush=True)
    staff = Staff(env)
    staff.start()
    users = make_users(s.users, web.port, behaviour, seed=1, echo=False)
    try:
        return measure(s, tmp, web, rq, staff, users, behaviour, api_base)
    finally:
        staff.stopping.set()
        web.stop()


def measure(s: Settings, tmp: Path, web: Gunicorn, rq: list[int], staff: Staff, users: list[Any],
            behaviour: Behaviour, api_base: str) -> dict[str, Any]:
    from tests.benchmarks.webhook.load import run_load

    rate = s.rate
    peak = 0.0
    if not rate:
        w = run_load(web.port, users, 12, 5.0, s.peak_seconds, lambda _: None, behaviour.m["filed"])
        peak = w.messages / w.seconds
        rate = peak / 2
        print(f"peak: {peak:.0f} msg/s over {s.peak_seconds:.0f} s (errors {w.errors}); soak at {rate:.0f} msg/s",
              flush=True)
    memory = Memory()
    cpu = [cpu_snapshot(web.pid)]
    last = [-10.0]

    def tick(elapsed: float) -> None:
        if elapsed - last[0] >= 10.0:
            last[0] = elapsed
            memory.read(elapsed, web.pid, rq)
        if elapsed >= len(cpu) * s.bucket_s:
            cpu.append(cpu_snapshot(web.pid))
            print(f"  {elapsed / 60:4.1f} min: staff accepted {staff.accepted}", flush=True)

    window, events = paced(web.port, users, rate, s.minutes * 60, behaviour.m["filed"], tick)
    memory.read(s.minutes * 60, web.pid, rq)
    cpu.append(cpu_snapshot(web.pid))
    staff.stopping.set()
    staff.join(timeout=60)
    pushes = drain(staff)
    result = report(s, tmp, window, memory, staff, pushes, peak, rate, metrics_sent(web), fake_counts(api_base))
    result["periods"] = periods(s, events, cpu)
    return result


def periods(s: Settings, events: list[tuple[float, float | None]], cpu: list[dict[str, float]]) -> list[dict[str, Any]]:
    """Per period of the run: messages answered, errors, latency p50/p99, and the CPU (in cores) that gunicorn
    and the programs outside the soak used (a busy machine shows here)."""
    rows = []
    for i in range(len(cpu) - 1):
        lo, hi = i * s.bucket_s, (i + 1) * s.bucket_s
        mine = [ms for t, ms in events if lo <= t < hi]
        ok = sorted(ms for ms in mine if ms is not None)
        used = cpu_delta(cpu[i], cpu[i + 1])
        rows.append({"from_min": round(lo / 60, 1), "answered": len(ok), "errors": len(mine) - len(ok),
                     "p50_ms": round(percentile(ok, 0.5), 1), "p99_ms": round(percentile(ok, 0.99), 1),
                     "gunicorn_cores": round(used["gunicorn"], 2), "other_cores": round(used["other"], 2)})
    return rows


def report(s: Settings, tmp: Path, window: Any, memory: Memory, staff: Staff, pushes: dict[str, int], peak: float,
           rate: float, sent_metric: float, fake: dict[str, Any]) -> dict[str, Any]:
    early, end = memory.at(s.early_s), memory.at(s.minutes * 60)
    growth = {k: (end[k] - early[k]) / MB for k in end if k in early}
    replaced = sorted(set(early) ^ set(end))
    logs = error_lines(tmp)
    sent = pushes.get("sent", 0)
    not_sent = {k: v for k, v in pushes.items() if k != "sent" and v}
    result = {
        "minutes": s.minutes, "peak_msg_s": round(peak, 1), "rate_msg_s": round(rate, 1),
        "achieved_msg_s": round(window.total_messages / (s.minutes * 60), 1), "messages": window.total_messages,
        "sent": window.messages,
        "errors": window.errors, "error_samples": dict(window.error_samples.most_common(5)),
        "tickets_accepted": staff.accepted, "staff_errors": staff.errors[:5], "pushes": pushes,
        "fake_messages": fake.get("messages"), "fake_distinct": fake.get("distinct"),
        "fake_repeated": fake.get("repeated"), "metrics_pushes_sent": sent_metric,
        "failed_jobs": failed_jobs(staff), "error_log_lines": logs[:10], "error_log_count": len(logs),
        "rss_early_mb": {k: round(v / MB, 1) for k, v in early.items()},
        "rss_end_mb": {k: round(v / MB, 1) for k, v in end.items()},
        "growth_mb": {k: round(v, 1) for k, v in growth.items()}, "processes_replaced": replaced,
        "early_minute": round(s.early_s / 60, 1),
    }
    once = sent == fake.get("messages") == fake.get("distinct") == int(sent_metric) and sent > 0
    result["every_push_once"] = once
    result["ok"] = bool(once and not window.errors and not staff.errors and not not_sent and not logs
                        and not result["failed_jobs"] and not replaced
                        and all(v < GROWTH_BAR_MB for v in growth.values()))
    return result


def print_report(r: dict[str, Any]) -> None:
    print(f"soak: {r['minutes']:g} min at {r['rate_msg_s']} msg/s (peak {r['peak_msg_s']}), achieved "
          f"{r['achieved_msg_s']} msg/s, {r['messages']} answered of {r['sent']} sent, errors {r['errors']} "
          f"{r['error_samples'] or ''}")
    print(f"pushes: {r['pushes']} | fake received {r['fake_messages']} ({r['fake_distinct']} distinct) | "
          f"/metrics sent {r['metrics_pushes_sent']:g} | every push once: {r['every_push_once']} | "
          f"failed jobs {r['failed_jobs']} | ERROR log lines {r['error_log_count']} | tickets accepted "
          f"{r['tickets_accepted']}")
    for line in r["error_log_lines"] + r["staff_errors"]:
        print(f"  {line}")
    print(f"resident memory (MB) at minute {r['early_minute']:g} → minute {r['minutes']:g}, growth:")
    for k in sorted(r["rss_end_mb"]):
        print(f"  {k:>12}: {r['rss_early_mb'].get(k, float('nan')):7.1f} → {r['rss_end_mb'][k]:7.1f}   "
              f"{r['growth_mb'].get(k, float('nan')):+6.1f}")
    print("period   answered errors  p50 ms  p99 ms  gunicorn cores  other programs' cores")
    for p in r.get("periods", []):
        print(f"  {p['from_min']:5.1f}' {p['answered']:8d} {p['errors']:6d} {p['p50_ms']:7.1f} {p['p99_ms']:7.1f} "
              f"{p['gunicorn_cores']:15.2f} {p['other_cores']:22.2f}")
    if r["processes_replaced"]:
        print(f"  processes that came or went: {r['processes_replaced']}")
    print(f"bar (0 errors, every push once, growth < {GROWTH_BAR_MB:g} MB): {'met' if r['ok'] else 'MISSED'}")


def main() -> int:
    s = Settings()
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if s.nice:
        set_priority(s.nice)  # the soak's session (and what it starts) weighs more on a shared machine
    tmp = Path(tempfile.mkdtemp(prefix="repairbot-soak-"))
    procs = Processes(tmp)
    code = 2
    try:
        result = run(s, tmp, procs)
        print_report(result)
        if s.report:
            Path(s.report).write_text(json.dumps(result, ensure_ascii=False, indent=1))
        code = 0 if result["ok"] else 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        code = 130
    except RuntimeError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
    finally:
        Gunicorn.stop_all()
        procs.stop()
        if s.keep or code == 2:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
