"""The plans of the queries the figures at scale rest on: EXPLAIN ANALYZE of the product's own statements.

``python -m tests.benchmarks.scale_data --url URL --tickets N --explain`` prints them; tests/benchmarks/README.md
quotes them.  The statements are the product's (built by its functions and run through its code), with EXPLAIN put
in front of each as it goes to the server, so that what is shown is what runs.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select


@contextmanager
def explaining(db: Any, out: list[str]) -> Iterator[None]:
    """While inside, every SELECT the engines send is explained instead, its plan added to `out`."""
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> tuple[str, Any]:
        if statement.lstrip().upper().startswith("SELECT") and conn.info.get("explain", True):
            statement = "EXPLAIN (ANALYZE, COSTS OFF) " + statement
        return statement, parameters

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.startswith("EXPLAIN"):
            out.extend("    " + row[0] for row in cursor.fetchall())

    engines = (db.engine, db._reader)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before, retval=True)
        event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)


def plan(db: Any, title: str, run: Callable[[], object]) -> None:
    out: list[str] = []
    # The rows were plans, not tickets: what reads them may stumble.
    with explaining(db, out), contextlib.suppress(Exception):
        run()
    print(f"== {title}")
    print("\n".join(out))


def print_plans(url: str) -> None:
    from bot.console.perms import StaffUser
    from bot.console.queue import Filters, queue_page
    from models.tickets import Ticket, completed_for, find_duplicate, user_tickets
    from tests.benchmarks.scale_data import HEAVY_OPENID, database, duplicate_places, heavy_user

    with database(url) as db:
        openid, person_id = heavy_user(db, random.Random(7))
        p = duplicate_places(db)[0]
        admin = StaffUser(0, "plans", "admin", (), "")
        with db.session() as s:
            no = s.execute(select(Ticket.no).limit(1)).scalar_one()
            phone = s.execute(select(Ticket.phone).offset(1000).limit(1)).scalar_one()
        with db.session() as s:
            plan(db, f"我的报修 (user_tickets) of a bound user with 200 tickets ({HEAVY_OPENID})",
                 lambda: user_tickets(s, openid, person_id))
            plan(db, "the rating list (completed_for)", lambda: completed_for(s, openid, person_id))
        with db.reading() as conn:
            plan(db, f"the duplicate check (find_duplicate) at {p.building} {p.floor} {p.group}",
                 lambda: find_duplicate(conn, p.campus, p.building, p.floor, p.group))
        now = datetime.now(UTC)
        for title, args in (("the console's queue (open tickets)", {}),
                            (f"a search for a ticket number ({no})", {"q": no, "status": "all"}),
                            (f"a search for a phone ({phone[:3]}…)", {"q": phone, "status": "all"}),
                            ("a search for words (水龙头)", {"q": "水龙头", "status": "all"}),
                            ("a search for two characters (漏水)", {"q": "漏水", "status": "all"}),
                            ("a search for two characters (门锁)", {"q": "门锁", "status": "all"}),
                            ("a search for two characters found nowhere (闪烁)", {"q": "闪烁", "status": "all"}),
                            ("all tickets, newest first", {"status": "all"})):
            f = Filters.from_args(args)
            with db.session() as s:
                plan(db, title, lambda: queue_page(s, admin, f, now))  # noqa: B023 (called at once)
