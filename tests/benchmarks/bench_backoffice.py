"""The office half at a whole university's size: the ledger's first page, a year's statistics, an export.

    python -m tests.benchmarks.bench_backoffice [--url URL] [--seed 1000000] [--redis URL]

On a PostgreSQL database filled by tests/benchmarks/seed_scale.py (``--seed N`` fills it first when it has
no tickets), the console app runs in this process and is asked as its admin would ask it; what is timed is
the request inside the server (Flask's test client: routing, queries, templates, no network):

- ``ledger_first_page_ms``: /console/ledger, every ticket, newest first (bar 500 ms);
- ``ledger_year_page_ms``: the same for one year's date range;
- ``stats_year_cold_ms`` / ``stats_year_warm_ms``: /console/stats for the last full year, its figures first
  computed, then from the cache (bar 500 ms);
- ``export_100k_csv_s`` / ``export_100k_xlsx_s`` and their ``…_rss_mb``: /console/ledger/export.* for the
  newest 100,000 tickets, read to the end, with how much the process's resident memory grew at its peak
  (bars 15 s and 100 MB).

Each figure ends as one line ``backoffice: NAME VALUE UNIT bar OP LIMIT ok|SHORT``, with the machine's load
average beside the run (on a shared machine the figures move with it).  Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psutil
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot import create_app
from core.config import Config
from models.clock import LOCAL
from models.schema import upgrade
from models.tickets import Ticket
from tests.benchmarks.seed_scale import ADMIN, SEED_PASSWORD, AlreadySeeded, seed

DEFAULT_URL = os.environ.get("BENCH_SCALE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/repairbot_scale")
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
EXPORT_ROWS = 100_000
RUNS = 5


def app_for(url: str, redis_url: str, instance: Path) -> Flask:
    env = {"REPAIRBOT_DATABASE_URL": url, "REPAIRBOT_REDIS_URL": redis_url, "REPAIRBOT_INSTANCE_PATH": str(instance),
           "REPAIRBOT_SECRET_KEY": "bench-secret", "REPAIRBOT_ID_PEPPER": "bench-pepper",
           "REPAIRBOT_LOG_LEVEL": "WARNING"}
    return create_app(Config.from_env(env, dotenv=None))


def logged_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    token = TOKEN_RE.search(client.get("/console/login").get_data(as_text=True))
    assert token, "the login page has a CSRF token"
    resp = client.post("/console/login", data={"name": ADMIN, "password": SEED_PASSWORD, "csrf_token": token.group(1)})
    assert resp.status_code in (302, 303), f"could not log in as {ADMIN}: {resp.status_code}"
    return client


def timed_ms(client: FlaskClient, url: str) -> float:
    began = time.perf_counter()
    resp = client.get(url)
    assert resp.status_code == 200, f"{url}: {resp.status_code}"
    return (time.perf_counter() - began) * 1000


def median_ms(client: FlaskClient, url: str, runs: int = RUNS) -> tuple[float, float]:
    """The first request's time and the median of the next ones."""
    first = timed_ms(client, url)
    return first, statistics.median(timed_ms(client, url) for _ in range(runs))


@contextmanager
def peak_rss_growth() -> Iterator[Callable[[], float]]:
    """Sample this process's resident memory every 20 ms; the callable gives the peak growth in MB."""
    proc = psutil.Process()
    base = proc.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: (peak[0] - base) / 2**20
    finally:
        done.set()
        thread.join()


def export(client: FlaskClient, fmt: str, since: str) -> tuple[float, float, float]:
    """Seconds to read the whole export, peak RSS growth (MB), and this process's CPU seconds for it (what it
    would take on an idle machine, less the database's share)."""
    with peak_rss_growth() as growth:
        began, cpu = time.perf_counter(), time.process_time()
        resp = client.get(f"/console/ledger/export.{fmt}?since={since}")
        for _ in resp.response:  # a streamed body is produced while it is read
            pass
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        resp.close()
        return seconds, growth(), cpu


def newest_day(app: Flask, rows: int) -> str:
    """The day (school clock) from which on about `rows` tickets were filed."""
    db = app.extensions["repairbot.services"].db
    with db.reading() as conn:
        at = conn.execute(select(Ticket.created_at).order_by(Ticket.created_at.desc()).offset(rows).limit(1)).scalar()
    return (at or datetime.now(UTC)).astimezone(LOCAL).date().isoformat()


def forget_figures(app: Flask) -> None:
    """Drop the statistics page's cached figures, so that the first request computes them."""
    from bot.console.stats import STATS_KEY

    redis = app.extensions["repairbot.services"].redis
    for key in redis.scan_iter(STATS_KEY.format(digest="*")):
        redis.delete(key)


def last_full_year() -> tuple[str, str]:
    year = datetime.now(UTC).astimezone(LOCAL).year - 1
    return f"{year}-01-01", f"{year}-12-31"


def line(name: str, value: float, unit: str, limit: float | None) -> str:
    verdict = "" if limit is None else f" bar <= {limit:g} {'ok' if value <= limit else 'SHORT'}"
    return f"backoffice: {name} {value:.1f} {unit}{verdict}"


def run(url: str, redis_url: str) -> list[str]:
    with tempfile.TemporaryDirectory() as instance:
        app = app_for(url, redis_url, Path(instance))
        client = logged_in(app)
        db = app.extensions["repairbot.services"].db
        with db.reading() as conn:
            tickets = conn.execute(select(func.count(Ticket.id))).scalar_one()
        first, last = last_full_year()
        out = [f"# {tickets:,} tickets; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at start"]
        forget_figures(app)
        cold = timed_ms(client, f"/console/stats?from={first}&to={last}")
        warm = statistics.median(timed_ms(client, f"/console/stats?from={first}&to={last}") for _ in range(RUNS))
        page_first, page = median_ms(client, "/console/ledger")
        year_first, year = median_ms(client, f"/console/ledger?since={first}&until={last}")
        since = newest_day(app, EXPORT_ROWS)
        csv_s, csv_mb, csv_cpu = export(client, "csv", since)
        xlsx_s, xlsx_mb, xlsx_cpu = export(client, "xlsx", since)
        out += [line("ledger_first_page_ms", page, "ms", 500),
                line("ledger_first_page_first_ms", page_first, "ms", None),
                line("ledger_year_page_ms", year, "ms", 500),
                line("ledger_year_page_first_ms", year_first, "ms", None),
                line("stats_year_cold_ms", cold, "ms", 500), line("stats_year_warm_ms", warm, "ms", 500),
                line("export_100k_csv_s", csv_s, "s", 15), line("export_100k_csv_rss_mb", csv_mb, "MB", 100),
                line("export_100k_csv_cpu_s", csv_cpu, "s", None),
                line("export_100k_xlsx_s", xlsx_s, "s", 15), line("export_100k_xlsx_rss_mb", xlsx_mb, "MB", 100),
                line("export_100k_xlsx_cpu_s", xlsx_cpu, "s", None),
                f"# export from {since} (about {EXPORT_ROWS:,} rows); load average {os.getloadavg()[0]:.1f} at end"]
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=DEFAULT_URL, help="SQLAlchemy URL of the PostgreSQL database")
    ap.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    ap.add_argument("--seed", type=int, default=0, help="fill the database with this many tickets when it has none")
    args = ap.parse_args(argv)
    upgrade(args.url)
    if args.seed:
        try:
            print(seed(args.url, tickets=args.seed), file=sys.stderr)
        except AlreadySeeded as exc:
            print(f"not seeded: {exc}", file=sys.stderr)
    lines = run(args.url, args.redis)
    print("\n".join(lines))
    return 1 if any(ln.endswith("SHORT") for ln in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
