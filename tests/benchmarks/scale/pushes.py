"""Pushes at real latency (issue 16): a notice to 30,000 residents, and status-change pushes' CPU and rate.

- ``notice_30k_s``: ``SCALE_NOTICE_USERS`` (30,000) subscribed residents of 60 buildings, one notice about
  those buildings pushed as the console pushes it (``core.actions.push_notice``), against the loopback fake
  WeChat answering every call in 100 ms ± 20 ms (``SCALE_NOTICE_LATENCY_MS``), with the default deployment:
  two ``repairbot worker`` processes (started and idle before the clock starts).  Seconds from the push
  until every row is ``sent``.
  Checked too, or the figure fails: one token fetch, exactly one template message per resident.
- ``push_cpu_ms`` and ``pushes_per_s``: ``SCALE_PUSHES`` (2,000) status changes, one push each, drained by two
  ``LeanSimpleWorker`` processes against the fake without latency (tests/benchmarks/bench_pushes.py, mode
  ``lean``): the workers' CPU per push, and pushes per second.

Its own database (``SCALE_PUSH_DB``, default ``repairbot_pushscale``: dropped and made again) and Redis
(``SCALE_PUSH_REDIS``, default db 13: flushed) on the servers of ``BENCH_PG``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.benchmarks import bench_pushes as bp
from tests.benchmarks.scale import Scale, figure

DB = os.environ.get("SCALE_PUSH_DB", "repairbot_pushscale")
REDIS = os.environ.get("SCALE_PUSH_REDIS", "redis://127.0.0.1:6379/13")
NOTICE_USERS = int(os.environ.get("SCALE_NOTICE_USERS") or 30_000)
PUSHES = int(os.environ.get("SCALE_PUSHES") or 2_000)
WORKERS = 2  # the default deployment: repairbot-worker@1 and @2
LATENCY_MS = float(os.environ.get("SCALE_NOTICE_LATENCY_MS") or 100)  # ± a fifth of it
BUILDINGS = 60
CAMPUS = "压测校区"


@figure("notice_30k_s", "s", "<=", 60)
def notice_30k_s(run: Scale) -> float:
    return float(run.once("notice", measure_notice)["seconds"])


@figure("push_cpu_ms", "ms", "<=", 1.5, digits=2)
def push_cpu_ms(run: Scale) -> float:
    r = run.once("status_pushes", measure_status_pushes)
    return float(1000 * r.cpu["workers"] / r.pushes)


@figure("pushes_per_s", "/s", ">=", 500, digits=0)
def pushes_per_s(run: Scale) -> float:
    return float(run.once("status_pushes", measure_status_pushes).rate)


def _say(text: str) -> None:
    print(f"  pushes: {text}", file=sys.stderr, flush=True)


def _fresh() -> None:
    """This module's own database and Redis, empty."""
    import redis

    bp.DB_NAME, bp.REDIS_URL = DB, REDIS
    bp.recreate_database()
    redis.Redis.from_url(REDIS).flushdb()


def measure_status_pushes() -> Any:
    _fresh()
    with tempfile.TemporaryDirectory(prefix="scale-pushes-") as tmp, bp.fake_wechat() as (api, pid):
        svc = _services(bp.bench_env(api, Path(tmp)))
        try:
            result = bp.run_mode("lean", svc, bp.bench_env(api, Path(tmp)), api, pid, PUSHES, WORKERS)
        finally:
            svc.close()
    _say(f"{PUSHES} status pushes by {WORKERS} workers: {result.rate:.0f}/s, sent {result.sent_rows}, "
         f"templates {result.templates}, token fetches {result.token_fetches}; {result.cpu_line(os.cpu_count() or 1)}")
    if result.sent_rows != PUSHES or result.templates != PUSHES or result.token_fetches != 1:
        raise RuntimeError("status pushes: not every push sent exactly once with one token fetch")
    return result


def measure_notice() -> dict[str, float]:
    from core.actions import push_notice

    _fresh()
    latency = ("--latency-ms", str(LATENCY_MS), "--jitter-ms", str(LATENCY_MS / 5))
    with tempfile.TemporaryDirectory(prefix="scale-notice-") as tmp, bp.fake_wechat(*latency) as (api, fake_pid):
        env = bp.bench_env(api, Path(tmp))
        svc = _services(env)
        try:
            notice_id = residents_and_notice(svc, NOTICE_USERS)
            with workers(env, svc) as pids:
                before, cpu0 = bp.stats(api), {p: bp.proc_cpu(p) for p in [*pids, fake_pid]}
                start = time.perf_counter()
                pushed = push_notice(svc, notice_id)
                sent = wait_sent(svc, notice_id, pushed)
                seconds = time.perf_counter() - start
                cpu = {p: bp.proc_cpu(p) - c for p, c in cpu0.items()}
            after = bp.stats(api)
        finally:
            svc.close()
    fetches, templates = after["token_fetches"] - before["token_fetches"], after["templates"] - before["templates"]
    worker_cpu = sum(v for p, v in cpu.items() if p != fake_pid)
    _say(f"notice to {pushed} residents at {LATENCY_MS:g}±{LATENCY_MS / 5:g} ms: {seconds:.1f}s "
         f"({pushed / seconds:.0f}/s), sent {sent}, "
         f"templates {templates}, token fetches {fetches}; CPU per push: workers {1000 * worker_cpu / pushed:.2f} ms, "
         f"fake WeChat {1000 * cpu[fake_pid] / pushed:.2f} ms; load average {os.getloadavg()[0]:.1f}")
    if sent != NOTICE_USERS or templates != NOTICE_USERS or fetches != 1:
        raise RuntimeError("notice: not every resident got exactly one message with one token fetch")
    return {"seconds": seconds}


def _services(env: dict[str, str]) -> Any:
    from core.config import Config
    from core.services import Services, use_services

    svc = Services(Config.from_env(env, dotenv=None))
    use_services(svc)
    return svc


def residents_and_notice(svc: Any, n: int) -> int:
    """n subscribed residents across the bench's buildings (one statement), and a notice about them all."""
    from sqlalchemy import insert

    from models.clock import now
    from models.notices import publish
    from models.people import WechatUser

    buildings = [f"压测{b + 1}栋" for b in range(BUILDINGS)]
    rows = [{"openid": f"o-scale-{i:06d}", "subscribed": True, "created_at": now(),
             "default_place": {"campus": CAMPUS, "building": buildings[i % BUILDINGS], "floor": "3", "room": "301"}}
            for i in range(n)]
    with svc.db.session() as s:
        s.execute(insert(WechatUser), rows)
        notice = publish(s, "压测楼栋停水通知", "明天 9:00-12:00 停水检修，请提前储水。", "admin",
                         buildings=[[CAMPUS, b] for b in buildings], groups=["给水"])
        return int(notice.id)


@contextlib.contextmanager
def workers(env: dict[str, str], svc: Any) -> Iterator[list[int]]:
    """`repairbot worker` processes of this tree's code, as deployed; yielded once every one listens."""
    from rq import Worker

    procs = [subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=bp.ROOT, env={**os.environ, **env},
                              stdout=subprocess.DEVNULL) for _ in range(WORKERS)]
    try:
        deadline = time.monotonic() + 120
        while Worker.count(connection=svc.redis) < WORKERS:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("the workers did not start")
            time.sleep(0.2)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)


def wait_sent(svc: Any, notice_id: int, expected: int, timeout_s: float = 600) -> int:
    """Poll until every push of the notice is sent (or nothing moves for a minute); return how many are."""
    from sqlalchemy import func, select

    from models.pushes import Push

    deadline, sent = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        with svc.db.session() as s:
            sent = int(s.scalar(select(func.count(Push.id)).where(Push.notice_id == notice_id,
                                                                   Push.status == "sent")) or 0)
        if sent >= expected:
            return sent
        time.sleep(0.25)
    return sent
