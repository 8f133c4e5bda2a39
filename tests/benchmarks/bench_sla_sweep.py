#!/usr/bin/env python
"""How long the SLA sweep takes over many open tickets (PostgreSQL, a real Redis).

    .venv/bin/python tests/benchmarks/bench_sla_sweep.py [--tickets 20000] [--late 0.2]
        [--db postgresql+psycopg://postgres@127.0.0.1:5432/repairbot_slabench] [--redis redis://127.0.0.1:6379/13]

Setup (not measured): empties the database's schema (use a database of its own), migrates it, loads the bundled
register, a dispatcher and an admin bound to WeChat, and inserts ``--tickets`` open tickets in plain INSERTs,
spread over the open statuses, a share ``--late`` of them ten minutes past twice their stage's limit (the rest
well within).
Then it times three passes of ``workers.sla.run_sla_sweep`` (pushes are recorded and queued, not sent):

1. the first pass: every late stage recorded, its dispatcher and then its admin pushed (a category with
   longer limits of its own is late, not yet escalated);
2. the second pass: nothing new (what every 5-minute run costs once the late tickets are dealt with);
3. after 1 % of the tickets got a new stage (moved on), a pass that records those.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import insert, text, update  # noqa: E402

from core.config import Config  # noqa: E402
from core.services import Services, use_services  # noqa: E402
from models.clock import now  # noqa: E402
from models.people import add_staff  # noqa: E402
from models.register import store_register  # noqa: E402
from models.schema import upgrade  # noqa: E402
from models.tickets import TICKETS  # noqa: E402
from workers.sla import run_sla_sweep  # noqa: E402

REGISTER = ROOT / "bot" / "data" / "register.yaml"
STATUSES = ("submitted", "accepted", "assigned", "in_progress")


def prepare(db_url: str, redis_url: str, n: int, late: float) -> Services:
    from models.db import Database

    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.dispose()
    upgrade(db_url)
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    cfg = Config.from_env({"REPAIRBOT_DATABASE_URL": db_url, "REPAIRBOT_REDIS_URL": redis_url,
                           "REPAIRBOT_SECRET_KEY": "bench", "REPAIRBOT_ID_PEPPER": "bench",
                           "WECHAT_TEMPLATE_TICKET": "T"}, dotenv=None)
    svc = Services(cfg, redis_conn=conn)
    use_services(svc)
    with svc.db.session() as s:
        reg = store_register(s, REGISTER.read_text(encoding="utf-8"), "bench")
        categories = [c.name for c in reg.categories]
        add_staff(s, "调度", "dispatcher", "bench-password", categories, openid="o-dispatcher")
        add_staff(s, "管理员", "admin", "bench-password", openid="o-admin")
    rng = random.Random(13)
    at = now()
    rows = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        limit = reg.sla.limit({"submitted": "accept", "accepted": "assign"}.get(status, "complete"))
        started = at - (2 * limit + timedelta(minutes=10) if rng.random() < late else timedelta(minutes=5))
        rows.append({"no": f"B{i:09d}", "status": status, "openid": f"o-{i}",
                     "category": rng.choice(categories), "group": "给水", "item": "水龙头", "campus": "东环校区",
                     "building": "学生公寓12栋", "floor": "5", "room": "502", "description": "滴水",
                     "phone": "13800000001", "priority": "normal", "created_at": started, "updated_at": started,
                     "stage_started_at": started, "held_s": 0, "reworks": 0})
    with svc.db.engine.begin() as c:
        for start in range(0, n, 5000):
            c.execute(insert(TICKETS), rows[start:start + 5000])
    return svc


def timed(label: str, svc: Services) -> None:
    started = time.perf_counter()
    report = run_sla_sweep(svc)
    print(f"{label:<34} {time.perf_counter() - started:7.2f} s   {report.summary()}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tickets", type=int, default=20000)
    p.add_argument("--late", type=float, default=0.2)
    p.add_argument("--db", default="postgresql+psycopg://postgres@127.0.0.1:5432/repairbot_slabench")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = p.parse_args()
    svc = prepare(args.db, args.redis, args.tickets, args.late)
    print(f"{args.tickets} open tickets, {args.late:.0%} of them late by more than twice their limit")
    timed("first pass (records, pushes)", svc)
    timed("second pass (nothing new)", svc)
    with svc.db.engine.begin() as c:
        c.execute(update(TICKETS).where(TICKETS.c.id % 100 == 1)
                  .values(status="accepted", stage_started_at=now() - timedelta(days=1)))
    timed("after 1 % moved on", svc)
    svc.redis.flushdb()
    svc.close()


if __name__ == "__main__":
    main()
