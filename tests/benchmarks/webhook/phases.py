"""One phase of the bench: start a server, play the users against it, stop it, keep the figures.

The dialog phase (the real app), the yardsticks (the echo app, bare or with Redis work) and the
profiled runs differ only in the app served and what is counted around the window; this module
runs them all the same way, after the machine has gone quiet.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import profile_report
from .load import Window, run_load
from .machine import cpu_delta, cpu_snapshot, wait_until_quiet
from .script import Behaviour
from .servers import Gunicorn
from .settings import APP_DIALOG, APP_ECHO, APP_PROFILED, DB_NAME, PROFILE_DUMP_PATH, PROFILE_START_PATH, REDIS_URL
from .stores import RedisMonitor, flush_redis, pg_counts, redis_commandstats
from .users import make_users

# Redis commands of the bench itself (or of every client), left out of the per-message counts.
NOT_THE_BOTS = ("info", "flushdb", "ping", "client|setinfo")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class PhaseResult:
    name: str
    workers: int
    window: Window
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.window.messages / self.window.seconds if self.window.seconds else 0.0

    def p(self, q: float, db: bool = False) -> float:
        return percentile(self.window.db_latencies_ms if db else self.window.latencies_ms, q)

    @property
    def db_share(self) -> float:
        return self.window.db_messages / self.window.messages if self.window.messages else 0.0

    @property
    def server_ms_per_msg(self) -> float:
        cores = self.window.cpu.get("gunicorn", 0.0)
        return cores * 1000.0 / self.rate if self.rate else float("nan")


def start_profiler(server: Gunicorn) -> None:
    """Ask the profiled worker to start, without blocking the load generator.

    gunicorn's sync worker lingers after each response until the client closes the connection
    (gunicorn.util.close_graceful, up to 2 s): a load generator that stops reading stalls the workers.
    """
    threading.Thread(target=server.get, args=(PROFILE_START_PATH,), daemon=True).start()


def wait_for_workers(server: Gunicorn, workers: int | None) -> int:
    """How many workers the server runs, once it has started the number asked for (up to 10 s)."""
    expected = workers or 2 * (os.cpu_count() or 1)  # deploy/gunicorn.conf.py's default
    deadline = time.monotonic() + 10
    while len(server.workers()) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return len(server.workers())


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path
    behaviour: Behaviour
    base_env: dict[str, str]
    db_name: str = DB_NAME  # the database the served app uses (the scale figures run two)

    def phase(self, name: str, app: str, workers: int | None, echo: bool, env: dict[str, str] | None = None,
              seconds: float | None = None, users: int | None = None, tail_seconds: float = 0.0,
              hooks: dict[str, Callable[[Gunicorn], None]] | None = None) -> tuple[PhaseResult, Gunicorn]:
        """Start gunicorn, play the users; return the figures and the server (still running: stop it)."""
        wait_until_quiet(self.args.quiet_wait)
        server = Gunicorn(app, workers, {**self.base_env, **(env or {})}, self.tmp / f"{name}-w{workers}.log")
        server.start()
        try:
            n_workers = wait_for_workers(server, workers)
            window = self._play(server, echo, seconds, users, tail_seconds, hooks or {})
        except BaseException:
            server.stop()
            raise
        return PhaseResult(name, n_workers, window), server

    def _play(self, server: Gunicorn, echo: bool, seconds: float | None, users: int | None, tail_seconds: float,
              hooks: dict[str, Callable[[Gunicorn], None]]) -> Window:
        """Run the load against `server`, with CPU snapshots at the window's edges."""
        a = self.args
        players = make_users(users or a.users, server.port, self.behaviour, a.seed, echo)
        snaps: dict[str, dict[str, float]] = {}

        def on_window(edge: str) -> None:
            if edge in ("start", "end"):
                snaps[edge] = cpu_snapshot(server.pid)
            if edge in hooks:
                hooks[edge](server)

        window = run_load(server.port, players, a.concurrency, a.warmup, a.seconds if seconds is None else seconds,
                          on_window, self.behaviour.m["filed"], warm_turns=a.warm_turns, seed=a.seed,
                          tail_seconds=tail_seconds)
        window.cpu = cpu_delta(snaps["start"], snaps["end"])
        return window

    def dialog(self, workers: int | None) -> PhaseResult:
        flush_redis()  # every user starts with no dialog under way
        redis_before, pg_before = redis_commandstats(), pg_counts(self.db_name)
        monitor = RedisMonitor(REDIS_URL)
        hooks = {"end": lambda _: monitor.start(), "tail_end": lambda _: monitor.stop()}
        result, server = self.phase("dialog", APP_DIALOG, workers, echo=False, tail_seconds=self.args.monitor_seconds,
                                    hooks=hooks if self.args.monitor_seconds else None)
        server.stop()  # PostgreSQL backends publish their statistics when they exit
        monitor.stop()
        time.sleep(0.5)
        redis_after, pg_after = redis_commandstats(), pg_counts(self.db_name)
        total = result.window.total_messages or 1
        cmds = {k: redis_after.get(k, 0) - redis_before.get(k, 0) for k in redis_after}
        cmds = {k: v for k, v in cmds.items() if v > 0 and k not in NOT_THE_BOTS}
        tail = max(1, result.window.tail_messages)
        result.extra = {
            "redis_cmds_per_msg": sum(cmds.values()) / total,
            "redis_cmds": dict(sorted(cmds.items(), key=lambda kv: -kv[1])),
            "monitor_msgs": result.window.tail_messages,
            "monitor_cmds_per_msg": sum(monitor.commands.values()) / tail,
            "monitor_cmds": {k: v / tail for k, v in monitor.commands.most_common()},
            "monitor_other_dbs": monitor.other_dbs,
            "pg_xacts_per_msg": (pg_after["xacts"] - pg_before["xacts"]) / total,
            "tickets_db": pg_after["tickets"] - pg_before["tickets"],
        }
        return result

    def yardstick(self, name: str, workers: int | None, redis_mode: str = "") -> PhaseResult:
        env = {"BENCH_ECHO_REDIS": redis_mode, "BENCH_ECHO_REDIS_URL": REDIS_URL} if redis_mode else {}
        if redis_mode:
            flush_redis()
        result, server = self.phase(name, APP_ECHO, workers, echo=True, env=env)
        server.stop()
        return result

    def profile(self, mode: str) -> None:
        """One worker serving the profiled app under the dialog load; print where its time went."""
        a = self.args
        out = self.tmp / f"profile-{mode}.pstats"
        flush_redis()
        users = min(a.users, 150)
        env = {"BENCH_PROFILE_OUT": str(out), "BENCH_PROFILE_TIMER": a.profile_timer, "BENCH_PROFILE_MODE": mode}
        result, server = self.phase(f"profile-{mode}", APP_PROFILED, 1, echo=False, env=env,
                                    seconds=a.profile_seconds, users=users, hooks={"start": start_profiler})
        try:
            meta = json.loads(server.get(PROFILE_DUMP_PATH))
        finally:
            server.stop()
        profile_report.print_profile(mode, meta, out, users, a.concurrency, result.rate, result.window.errors)
