"""Where the profiled worker's time went: the cProfile stats and the SIGPROF samples, per message.

``profiling`` collects inside the worker; this module reads what it handed back, in the bench, and
prints the round trips per message, the share of each package or layer, the top functions and
the entry points of the project and its libraries.
"""

from __future__ import annotations

import collections
import pstats
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .profiling import package_of
from .settings import ROOT

Key = tuple[str, int, str]  # (file, first line, function), as cProfile and the sampler name code

IDLE_FUNCTIONS = ("select.select", "<method 'accept' of '_socket.socket' objects>", "<built-in method time.sleep>",
                  "<method 'poll' of 'select.poll' objects>", "<method 'select' of 'select.epoll' objects>",
                  "<built-in method select.select>")
ENTRY_POINTS = ("bot/webhook.py", "bot/conversations.py", "bot/wechat.py", "bot/services.py", "dialogs/", "models/",
                "workers/queues.py", "gunicorn/workers/sync.py", "gunicorn/glogging.py", "gunicorn/http/",
                "flask/app.py", "werkzeug/", "wechatpy/", "redis/client.py", "redis/connection.py",
                "sqlalchemy/orm/session.py", "sqlalchemy/engine/base.py", "sqlalchemy/pool/", "psycopg/", "rq/",
                "json/", "logging/", "xmltodict.py")
CPROFILE_ENTRY_POINTS = ("bot/webhook.py", "bot/conversations.py", "bot/wechat.py", "dialogs/", "models/",
                         "workers/queues.py", "gunicorn/workers/sync.py", "gunicorn/glogging.py", "flask/app.py",
                         "wechatpy/", "redis/client.py", "sqlalchemy/orm/session.py", "json/")


def fname(key: Key) -> str:
    filename, line, func = key
    if filename.startswith("~"):
        return func
    short = filename.split("site-packages/", 1)[-1].replace(str(ROOT) + "/", "")
    return f"{short}:{line}({func})"


def _is_idle(key: Key) -> bool:
    name = fname(key)
    return any(f in name for f in IDLE_FUNCTIONS)


def _shares(values: Iterable[tuple[Key, float]], total: float) -> str:
    """The 14 packages with the most of `values`, each with its share of `total`."""
    by_pkg: dict[str, float] = collections.defaultdict(float)
    for key, v in values:
        by_pkg[package_of(key[0])] += v
    top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:14]
    return ", ".join(f"{pkg} {v / total:.0%}" for pkg, v in top)


def print_profile(mode: str, meta: dict[str, Any], out: Path, users: int, concurrency: int, rate: float,
                  errors: int) -> None:
    """The line about a profiled run, then the report of its profiler."""
    n = max(1, meta["messages"])
    what = (f"cProfile ({meta['timer']} timer)" if mode == "cprofile"
            else f"SIGPROF stack sampling every 1 ms of CPU ({meta['sampled']['samples']} samples)")
    print(f"\nprofile: 1 worker, {users} users, {concurrency} in flight, {what} on after the warm-up: "
          f"{rate:.0f} msg/s, errors {errors}; {meta['messages']} messages profiled, "
          f"{meta['db_turns'] / n:.1%} opened a database session; worker cpu {meta['cpu_s'] / n * 1000:.2f} "
          f"ms/msg over {meta['wall_s']:.1f} s wall (profiler included)"
          + (f"; stats in {out}" if mode == "cprofile" else ""))
    if mode == "cprofile":
        report_profile(out, meta)
    else:
        report_samples(meta)


def report_samples(meta: dict[str, Any]) -> None:
    sampled = meta["sampled"]
    n = max(1, int(meta["messages"]))
    # Each sample stands for an equal share of the CPU the worker used while sampling.
    per_sample = meta["cpu_s"] / max(1, sampled["samples"])
    total = per_sample * sampled["samples"] or 1e-9
    own = [(_key(row), row[3] * per_sample) for row in sampled["own"]]
    incl = [(_key(row), row[3] * per_sample) for row in sampled["inclusive"]]
    print(f"  worker CPU {total:.2f} s = {total / n * 1000:.2f} ms/msg, shared out by {sampled['samples']} samples")
    print("  own CPU by package (C calls charged to their Python caller): " + _shares(own, total))
    layers = sorted(sampled["layers"].items(), key=lambda kv: -kv[1])
    print("  CPU by layer (a library's share includes what it calls, e.g. psycopg under sqlalchemy):")
    for name, count in layers[:16]:
        print(f"    {count * per_sample / n * 1000:6.3f} ms {count / max(1, sampled['samples']):5.1%}  {name}")
    print("  top functions by own CPU (ms per message, share):")
    for key, v in own[:22]:
        print(f"    {v / n * 1000:6.3f} ms {v / total:5.1%}  {fname(key)}")
    print("  project and library entry points by inclusive CPU (ms per message, share):")
    shown = [(k, v) for k, v in incl if any(w in k[0] for w in ENTRY_POINTS) and v / n * 1000 >= 0.02]
    for key, v in shown[:45]:
        print(f"    {v / n * 1000:6.3f} ms {v / total:5.1%}  {fname(key)}")


def _key(row: list[Any]) -> Key:
    return row[0], row[1], row[2]


def report_profile(path: Path, meta: dict[str, Any]) -> None:
    stats = pstats.Stats(str(path))
    raw: dict[Key, tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    n = max(1, int(meta["messages"]))
    idle = sum(tt for key, (_, _, tt, _, _) in raw.items() if _is_idle(key))
    busy = sum(tt for _, _, tt, _, _ in raw.values()) - idle
    print(f"  profiled time {busy:.2f} s for {n} messages = {busy / n * 1000:.2f} ms/msg, profiler overhead "
          f"included (idle in select/accept {idle:.2f} s, left out)")
    rows = [(key, v) for key, v in raw.items() if not _is_idle(key)]
    print("  own time by package: " + _shares(((key, v[2]) for key, v in rows), busy))
    _print_round_trips(raw, n)
    print("  top functions by own time (ms per message, share of busy time, calls per message):")
    for key, (_, nc, tt, _, _) in sorted(rows, key=lambda kv: -kv[1][2])[:25]:
        print(f"    {tt / n * 1000:6.3f} ms {tt / busy:5.1%} {nc / n:7.2f}  {fname(key)}")
    print("  project and library entry points by cumulative time (ms per message, calls per message):")
    cum = [(key, v) for key, v in rows
           if any(w in key[0] for w in CPROFILE_ENTRY_POINTS) and not key[2].startswith("<")]
    for key, (_, nc, _, ct, _) in sorted(cum, key=lambda kv: -kv[1][3])[:40]:
        if ct / n * 1000 < 0.02:
            break
        print(f"    {ct / n * 1000:6.3f} ms {nc / n:7.2f}  {fname(key)}")


def _print_round_trips(raw: dict[Key, tuple[int, int, float, float, Any]], n: int) -> None:
    """Redis and PostgreSQL round trips per message, from the calls of the client functions that make them."""
    def calls(pred: Callable[[Key], bool]) -> int:
        return sum(nc for key, (_, nc, _, _, _) in raw.items() if pred(key))

    redis_trips = calls(lambda k: k[0].endswith("redis/connection.py") and k[2] == "send_packed_command")
    pg_exec = calls(lambda k: k[0].endswith("psycopg/cursor.py") and k[2] == "execute")
    pg_commit = calls(lambda k: k[0].endswith("psycopg/connection.py") and k[2] == "commit")
    pg_rollback = calls(lambda k: k[0].endswith("psycopg/connection.py") and k[2] == "rollback")
    print(f"  round trips per message: Redis {redis_trips / n:.2f} (send_packed_command), PostgreSQL "
          f"{(pg_exec + pg_commit) / n:.2f} (execute {pg_exec / n:.2f} + commit {pg_commit / n:.2f}; "
          f"rollback calls {pg_rollback / n:.2f})")
