#!/usr/bin/env python
"""What an open queue page costs the server: the poll every few seconds, unchanged and changed, and the page.

    .venv/bin/python tests/benchmarks/bench_queue_poll.py --url postgresql+psycopg://…/DBNAME [--tickets 200000]
        [--open 400] [--runs 30]

The database at --url is emptied (every table) and filled: the register, the roster, staff, and --tickets
tickets over three years in one INSERT … SELECT (PostgreSQL), --open of them still open, the rest closed.
Then, through Flask's test client (the server's own time, no network), for an admin and a dispatcher of one
category: the median and worst of --runs requests of the queue page, a poll when nothing changed (the answer
most polls get), and a poll after a ticket was moved (rows rendered again).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot import create_app  # noqa: E402
from core.config import Config  # noqa: E402
from core.services import Services  # noqa: E402
from models.db import Database  # noqa: E402
from models.schema import upgrade  # noqa: E402
from tests.support import database  # noqa: E402
from tests.support.console import Console  # noqa: E402
from tests.support.constants import DORM  # noqa: E402
from tests.support.people import CONSOLE_STAFF, seed_staff  # noqa: E402

FILL = """
INSERT INTO tickets (no, status, openid, category, "group", item, campus, building, floor, room, description,
                     phone, priority, created_at, updated_at, held_s, reworks)
SELECT 'B' || lpad(n::text, 9, '0'),
       CASE WHEN n > :total - :open THEN 'submitted' ELSE 'closed' END,
       'o-bench-' || (n % 5000), CASE WHEN n % 3 = 0 THEN :other ELSE :dorm END, '给水', '水龙头',
       '东环校区', '学生公寓' || (n % 30 + 1) || '栋', '5', '502', '水龙头关不紧', '13800000001', 'normal',
       now() - make_interval(secs => (:total - n) * (94608000.0 / :total)),
       now() - make_interval(secs => (:total - n) * (94608000.0 / :total)), 0, 0
FROM generate_series(1, :total) AS n
"""


def fill(db: Database, total: int, open_: int, other: str) -> None:
    database.empty_tables(db)
    database.seed(db)
    with db.engine.begin() as conn:
        conn.execute(text(FILL), {"total": total, "open": open_, "dorm": DORM, "other": other})
        conn.execute(text("ANALYZE tickets"))


def timed(c: Console, url: str, query: dict[str, str], runs: int) -> tuple[float, float]:
    """The median and worst time (ms) of `runs` GETs of a URL, the response read in full."""
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        assert c.get(url, query_string=query).status_code == 200
        took.append((time.perf_counter() - start) * 1000)
    return statistics.median(took), max(took)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="a PostgreSQL URL whose database may be emptied")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--tickets", type=int, default=200_000)
    ap.add_argument("--open", type=int, default=400)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    upgrade(args.url)
    cfg = Config.from_env({"REPAIRBOT_DATABASE_URL": args.url, "REPAIRBOT_REDIS_URL": args.redis,
                           "REPAIRBOT_SECRET_KEY": "bench", "WECHAT_TOKEN": "bench"}, dotenv=None)
    svc = Services(cfg)
    fill(svc.db, args.tickets, args.open, "箭盘校区维修")
    seed_staff(svc, CONSOLE_STAFF)
    app = create_app(cfg, svc)
    print(f"{args.tickets} tickets, {args.open} open; median / worst of {args.runs} requests (ms)")
    for name in ("管理员", "王调度"):
        c = Console.logged_in(app, name)
        page = c.get("/console/").get_data(as_text=True)
        since = page.split('data-since="')[1].split('"')[0]
        version = page.split('data-version="')[1].split('"')[0]
        same = timed(c, "/console/queue/poll", {"since": since, "v": version}, args.runs)
        changed = timed(c, "/console/queue/poll", {"since": since, "v": "old"}, args.runs)
        full = timed(c, "/console/", {}, args.runs)
        print(f"{name}: poll unchanged {same[0]:.1f} / {same[1]:.1f}; poll changed {changed[0]:.1f} / "
              f"{changed[1]:.1f}; queue page {full[0]:.1f} / {full[1]:.1f}")
    svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
