#!/usr/bin/env python
"""Load test of the push pipeline: status changes → RQ jobs → WeChat template messages.

Run from anywhere (the project root is found from this file):

    .venv/bin/python tests/benchmarks/bench_pushes.py [--pushes 1000] [--workers 4]
        [--modes simple,fork,cli] [--info-modes fork,cli] [--bar 150] [--profile]

What it does:

1. Setup (not measured): drops and recreates the PostgreSQL database ``repairbot_pushbench``
   (never the suite's ``test`` database), runs the migrations, flushes Redis db 13, and starts
   ``devtools.fakewechat`` — the loopback stand-in for WeChat's API — in a subprocess.
2. For each mode: files ``--pushes`` tickets, then makes one status change per ticket through
   ``core.actions.move_ticket`` (submitted → accepted), which records one push row per change and
   enqueues its job (timed and reported as the enqueue rate).  The shared access_token is deleted
   from Redis first, so every mode starts without one.
3. Starts ``--workers`` worker processes on the ``pushes`` queue and measures from the moment they
   may start working until every one has drained the queue and exited (``burst``):

   - ``lean``: ``workers.queues.LeanSimpleWorker`` (jobs run in the worker process itself, RQ's
     heartbeats pipelined and throttled), one per process, started and connected before the clock
     starts — the configuration this benchmark holds to the bar;
   - ``simple``: plain ``rq.SimpleWorker``, likewise;
   - ``fork``: ``tests.support.workers.LeanWorker`` (a forked work-horse per job, as RQ's default Worker),
     likewise, its parent prepared with ``tests.support.workers.prepare_worker`` (warm engine and
     statements, ``gc.freeze``);
   - ``cli``: ``repairbot worker --burst`` subprocesses, exactly what production runs (a
     ``LeanSimpleWorker`` per process), measured from their spawn (so it includes Python's start-up
     and imports).

4. Checks every push row is ``sent``, that the fake received exactly that many template messages,
   and counts the token endpoint's calls in the fake's ``/_stats`` during the mode.
5. Prints one summary line per mode, then the CPU each part used per push (workers, the fake,
   Redis, PostgreSQL) and the load average, since the machine may be shared; and exits 1 when a mode
   misses a bar: ``pushes/s >= --bar`` (default 150), exactly one token fetch, every push sent once.
   The default modes are ``lean,simple,fork``; ``lean`` is held to the bar, the modes listed in
   ``--info-modes`` (default ``simple,fork,cli``) are measured and reported only.  ``cli`` (opt-in: it
   takes minutes) shows what ``repairbot worker`` costs as shipped.

``--profile`` runs the ``lean`` pipeline once more in this process (one LeanSimpleWorker) under
cProfile and prints where the time goes and the SQL statements and Redis commands per push.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import multiprocessing as mp
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "repairbot_pushbench")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13")
VENV_BIN = Path(sys.executable).parent


def sqlalchemy_url() -> str:
    return "postgresql+psycopg://" + PG_SERVER.split("://", 1)[1] + "/" + DB_NAME


def bench_env(api_base: str, instance: Path) -> dict[str, str]:
    return {
        "REPAIRBOT_DATABASE_URL": sqlalchemy_url(),
        "REPAIRBOT_REDIS_URL": REDIS_URL,
        "REPAIRBOT_SECRET_KEY": "bench-secret",
        "REPAIRBOT_INSTANCE_PATH": str(instance),
        "REPAIRBOT_PUBLIC_URL": "https://repair.example.edu",
        "REPAIRBOT_LOG_LEVEL": "WARNING",
        "WECHAT_TOKEN": "bench-token",
        "WECHAT_APPID": "wxbench0000000000",
        "WECHAT_SECRET": "bench-app-secret",
        "WECHAT_API_BASE_URL": api_base,
        "WECHAT_TEMPLATE_TICKET": "TPL-TICKET",
        "WECHAT_TEMPLATE_REPLY": "TPL-REPLY",
    }


# -- setup -------------------------------------------------------------------------------------

def recreate_database() -> None:
    import psycopg

    from models.schema import upgrade

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    upgrade(sqlalchemy_url())


@contextlib.contextmanager
def fake_wechat(*options: str) -> Iterator[tuple[str, int]]:
    """Run devtools.fakewechat in a subprocess (with these options); yield its API base URL and pid."""
    # The token endpoint takes 0.2 s, as a trip to WeChat might: workers that start together race for it.
    proc = subprocess.Popen([sys.executable, "-m", "devtools.fakewechat", "--port", "0", "--token-delay", "0.2",
                             *options],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"devtools.fakewechat did not start: {line!r}")
        yield line.split("listening on ", 1)[1].strip(), proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- CPU accounting ------------------------------------------------------------------------------
# The machine may be shared: besides the wall-clock rate, count the CPU each part used per push, so the
# figures can be judged (and the rate on otherwise idle cores estimated).

CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def redis_cpu(conn: Any) -> float:
    info = conn.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class PgSampler:
    """Sample the CPU of this database's PostgreSQL backends (they end with their connections)."""

    def __init__(self) -> None:
        import psycopg

        self.conn = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)
        self.seen: dict[int, tuple[float, float]] = {}  # pid → (CPU at first sight, last CPU)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.2)

    def sample(self) -> None:
        pids = [int(r[0]) for r in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)).fetchall()]
        for pid in pids:
            cpu = proc_cpu(pid)
            first, _ = self.seen.get(pid, (cpu, cpu))
            self.seen[pid] = (first, max(cpu, self.seen.get(pid, (cpu, cpu))[1]))

    def __enter__(self) -> PgSampler:
        self.sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.conn.close()

    @property
    def used(self) -> float:
        return sum(last - first for first, last in self.seen.values())


def stats(api_base: str) -> dict[str, int]:
    import requests

    return dict(requests.get(api_base.removesuffix("cgi-bin/") + "_stats", timeout=5).json())


def file_and_move(svc: Any, n: int, tag: str) -> tuple[list[str], float]:
    """File n tickets (setup), then move each once through core.actions (timed); return numbers, seconds."""
    from core.actions import move_ticket
    from models.people import ensure_user
    from models.tickets import NewTicket
    from tests.support.tickets import create_ticket

    numbers: list[str] = []
    with svc.db.session() as s:
        for i in range(n):
            openid = f"o-bench-{tag}-{i:05d}"
            ensure_user(s, openid)
            ticket, _ = create_ticket(s, NewTicket(
                openid=openid, person_id=None, category="东环校区宿舍维修", group="给水", item="水龙头",
                campus="东环校区", building=f"学生公寓{i % 20 + 1}栋", floor=str(i % 6 + 1),
                room=f"{i % 6 + 1}0{i % 9 + 1}", place_note=None, description="水龙头关不紧，一直在滴水",
                phone="13800000001"))
            numbers.append(ticket.no)
    start = time.perf_counter()
    for no in numbers:
        move_ticket(svc, no, "accepted", by="staff:bench", note="已受理，师傅将于今天下午上门")
    return numbers, time.perf_counter() - start


# -- workers -------------------------------------------------------------------------------------

def own_cpu() -> float:
    """CPU seconds of this process and its reaped children (a forking worker's work-horses)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def worker_main(env: dict[str, str], kind: str, ready: Any, go: Any, cpu_used: Any) -> None:
    """One worker process: connect everything, say ready, wait for the start, drain the queue."""
    os.environ.update(env)
    from rq import Queue, SimpleWorker
    from sqlalchemy import text

    import workers.push  # noqa: F401  (what the jobs import, loaded before the clock starts)
    from core.config import Config
    from core.services import Services, use_services
    from tests.support.workers import LeanWorker
    from workers.queues import LeanSimpleWorker

    svc = Services(Config.from_env(env, dotenv=None))
    use_services(svc)
    if kind in ("lean", "simple"):
        with svc.db.session() as s:  # a pooled connection, as a long-running worker has
            s.execute(text("SELECT 1"))
    else:
        from tests.support.workers import prepare_worker

        prepare_worker(svc)
    svc.redis.ping()
    cls = {"lean": LeanSimpleWorker, "simple": SimpleWorker, "fork": LeanWorker}[kind]
    worker = cls([Queue("pushes", connection=svc.redis)], connection=svc.redis)
    ready.set()
    go.wait()
    cpu = own_cpu()
    worker.work(burst=True, logging_level="WARNING")
    cpu_used.put(own_cpu() - cpu)


@dataclass
class Result:
    mode: str
    pushes: int
    enqueue_s: float
    work_s: float
    token_fetches: int
    sent_rows: int
    templates: int
    span_s: float
    cpu: dict[str, float]  # CPU seconds used during the run, by part
    load: tuple[float, float]  # 1-minute load average before and after

    @property
    def rate(self) -> float:
        return self.pushes / self.work_s if self.work_s else 0.0

    def cpu_line(self, cores: int) -> str:
        per = {k: 1000 * v / self.pushes for k, v in self.cpu.items()}
        total = sum(per.values())
        idle_rate = 1000 * cores / total if total else 0.0
        return ("CPU per push: " + ", ".join(f"{k} {v:.2f} ms" for k, v in per.items())
                + f"; total {total:.2f} ms → about {idle_rate:.0f} pushes/s if {cores} cores were ours alone; "
                f"load average {self.load[0]:.1f} before, {self.load[1]:.1f} after")


def run_mode(mode: str, svc: Any, env: dict[str, str], api_base: str, fake_pid: int, n: int,
             workers: int) -> Result:
    from sqlalchemy import func, select

    from core.wechat_api import TOKEN_KEY
    from models.pushes import Push

    svc.redis.delete(TOKEN_KEY)
    before = stats(api_base)
    numbers, enqueue_s = file_and_move(svc, n, mode)
    load0 = os.getloadavg()[0]
    cpu0 = {"workers": children_cpu(), "fake WeChat": proc_cpu(fake_pid), "Redis": redis_cpu(svc.redis)}
    with PgSampler() as sampler:
        if mode == "cli":  # the workers' CPU includes their start-up here
            cli_env = {**os.environ, **env}
            start = time.perf_counter()
            procs = [subprocess.Popen([str(VENV_BIN / "repairbot"), "worker", "--burst"], cwd=ROOT, env=cli_env,
                                      stdout=subprocess.DEVNULL) for _ in range(workers)]
            for proc in procs:
                if proc.wait(timeout=600) != 0:
                    raise RuntimeError(f"repairbot worker exited {proc.returncode}")
            work_s = time.perf_counter() - start
            worker_cpu = children_cpu() - cpu0["workers"]
        else:
            ctx = mp.get_context("spawn")
            go, used = ctx.Event(), ctx.Queue()
            readies = [ctx.Event() for _ in range(workers)]
            procs_mp = [ctx.Process(target=worker_main, args=(env, mode, r, go, used)) for r in readies]
            for p in procs_mp:
                p.start()
            for r in readies:
                if not r.wait(timeout=120):
                    raise RuntimeError("a worker did not get ready")
            start = time.perf_counter()
            go.set()
            worker_cpu = sum(float(used.get(timeout=600)) for _ in procs_mp)
            for p in procs_mp:
                p.join(timeout=600)
                if p.exitcode != 0:
                    raise RuntimeError(f"worker process exited {p.exitcode}")
            work_s = time.perf_counter() - start
    cpu = {"workers": worker_cpu, "fake WeChat": proc_cpu(fake_pid) - cpu0["fake WeChat"],
           "Redis": redis_cpu(svc.redis) - cpu0["Redis"], "PostgreSQL": sampler.used}
    after = stats(api_base)
    with svc.db.session() as s:
        mine = Push.openid.like(f"o-bench-{mode}-%")
        sent = int(s.scalar(select(func.count(Push.id)).where(mine, Push.status == "sent")) or 0)
        first, last = s.execute(select(func.min(Push.sent_at), func.max(Push.sent_at)).where(mine)).one()
    span = (last - first).total_seconds() if first and last else 0.0
    assert len(numbers) == n
    return Result(mode, n, enqueue_s, work_s, after["token_fetches"] - before["token_fetches"], sent,
                  after["templates"] - before["templates"], span, cpu, (load0, os.getloadavg()[0]))


# -- profile -------------------------------------------------------------------------------------

def profile(svc: Any, api_base: str, n: int) -> None:
    """One LeanSimpleWorker in this process under cProfile; count SQL statements and Redis commands."""
    from redis import Redis
    from redis.client import Pipeline
    from rq import Queue
    from sqlalchemy import event

    from core.wechat_api import TOKEN_KEY
    from workers.queues import LeanSimpleWorker

    svc.redis.delete(TOKEN_KEY)
    file_and_move(svc, n, "profile")
    sql: Counter[str] = Counter()
    cmds: Counter[str] = Counter()

    def on_sql(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sql[statement.split()[0].upper()] += 1

    orig_exec, orig_pipe = Redis.execute_command, Pipeline.execute

    def counted_exec(self: Any, *args: Any, **kw: Any) -> Any:
        cmds[str(args[0])] += 1
        return orig_exec(self, *args, **kw)

    def counted_pipe(self: Any, *args: Any, **kw: Any) -> Any:
        cmds["<pipeline>"] += 1
        return orig_pipe(self, *args, **kw)

    event.listen(svc.db.engine, "before_cursor_execute", on_sql)
    Redis.execute_command = counted_exec  # type: ignore[method-assign]
    Pipeline.execute = counted_pipe  # type: ignore[method-assign]
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    try:
        LeanSimpleWorker([Queue("pushes", connection=svc.redis)], connection=svc.redis).work(
            burst=True, logging_level="WARNING")
    finally:
        prof.disable()
        Redis.execute_command = orig_exec  # type: ignore[method-assign]
        Pipeline.execute = orig_pipe  # type: ignore[method-assign]
        event.remove(svc.db.engine, "before_cursor_execute", on_sql)
    elapsed = time.perf_counter() - start
    print(f"\nprofile: {n} pushes by one in-process LeanSimpleWorker in {elapsed:.2f}s ({n / elapsed:.0f}/s)")
    print("SQL statements per push: " + ", ".join(f"{k} {v / n:.1f}" for k, v in sql.most_common()))
    total = sum(v for k, v in cmds.items() if k != "<pipeline>")
    print(f"Redis round trips per push: {(total + cmds['<pipeline>']) / n:.1f} "
          f"(commands outside pipelines: {total / n:.1f}; pipelines: {cmds['<pipeline>'] / n:.1f}); top: "
          + ", ".join(f"{k} {v / n:.1f}" for k, v in cmds.most_common(8)))
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
    print(out.getvalue())


# -- main ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="push pipeline load test")
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--modes", default="lean,simple,fork", help="comma-separated: lean, simple, fork, cli")
    parser.add_argument("--info-modes", default="simple,fork,cli", help="modes reported but not held to the bar")
    parser.add_argument("--bar", type=float, default=150.0, help="pushes per second required")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    info = {m.strip() for m in args.info_modes.split(",") if m.strip()}
    unknown = set(modes) - {"lean", "simple", "fork", "cli"}
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")

    import redis

    from core.config import Config
    from core.services import Services, use_services

    recreate_database()
    redis.Redis.from_url(REDIS_URL).flushdb()
    failed: list[str] = []
    summary: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pushbench-") as tmp, fake_wechat() as (api_base, fake_pid):
        env = bench_env(api_base, Path(tmp))
        svc = Services(Config.from_env(env, dotenv=None))
        use_services(svc)
        print(f"pushbench: {args.pushes} pushes, {args.workers} workers, PostgreSQL {DB_NAME}, Redis {REDIS_URL}, "
              f"fake WeChat at {api_base}, {os.cpu_count()} CPUs", flush=True)
        for mode in modes:
            r = run_mode(mode, svc, env, api_base, fake_pid, args.pushes, args.workers)
            ok_rate = r.rate >= args.bar
            ok = ok_rate and r.token_fetches == 1 and r.sent_rows == r.pushes and r.templates == r.pushes
            held = mode not in info
            verdict = "ok" if ok else ("MISSED" if held else "below bar (not held)")
            print(f"pushbench mode={mode} workers={args.workers} pushes={r.pushes} sent={r.sent_rows} "
                  f"templates={r.templates} elapsed={r.work_s:.2f}s rate={r.rate:.0f}/s "
                  f"(first-to-last send {r.span_s:.2f}s) token_fetches={r.token_fetches} "
                  f"enqueue={r.pushes / r.enqueue_s:.0f} changes/s bar>={args.bar:.0f}/s,1 token: {verdict}",
                  flush=True)
            print("  " + r.cpu_line(os.cpu_count() or 1), flush=True)
            summary.append(f"{mode} {r.rate:.0f}/s token_fetches={r.token_fetches}{'' if held else ' (info)'}")
            if not ok and held:
                failed.append(mode)
        if args.profile:
            profile(svc, api_base, min(args.pushes, 500))
        svc.close()
    verdict = f"MISSED by {', '.join(failed)}" if failed else "ok"
    print(f"pushbench summary: {args.pushes} pushes, {args.workers} workers: {'; '.join(summary)}; "
          f"bar >= {args.bar:.0f}/s and 1 token fetch: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
