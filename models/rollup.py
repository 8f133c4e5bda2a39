"""The statistics' daily roll-up: each ticket's share of the figures, added up per day and per month.

A year of a big school is a third of a million tickets; counting, sorting and windowing them for every look
at the statistics took seconds.  Instead each ticket adds its share of each figure to a few rows of
``stats_rollup`` (the day it was filed on the school's clock, its category, a dimension and its keys), once
at the day grain and once at the month grain, and the statistics add up a few thousand of those rows.

Each share is worked out by one function, ``shares``, from the ticket's facts; the ticket rules call
``changed`` with the facts before and after a change (filing, every move, a rating) and the difference is
written as one INSERT … ON CONFLICT per row.  ``rebuild`` adds up every ticket from scratch with the same
function (for existing data, the generator, and after a direct write to tickets).

Durations are kept as counts per log-scale bucket (BASE apart, about ±2 %), so medians and 90th
percentiles come from the buckets' middles.  Facts that a move does not change are added once: a hot-spot
repeat (a ticket filed within HOT_WINDOW_DAYS after one of the same fault group at the same building and
floor) at filing; an overdue stage when the SLA sweep first records it for the ticket.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, String, Table, column, delete, func, select, table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from models.clock import local
from models.db import Base, UTCDateTime

BASE = 1.04  # a duration's bucket spans a factor of BASE: its middle is within 2 % of any value in it
HOT_WINDOW_DAYS = 30
DAY, MONTH = "d", "m"
# (day, category, dim, k1, k2, k3, k4) -> [tickets, total]
Key = tuple[str, str, str, str, str, str, str]
Sums = dict[Key, list[int]]
CHUNK = 5000
KEY = ("grain", "dim", "period", "category", "k1", "k2", "k3", "k4")  # the table's key, in its order


class StatsRollup(Base):
    """Per grain (d: a day, m: a month starting on `period`), category, dimension and keys: how many tickets
    (``n``) and a sum beside them (``total``: reworks, stars, hot-spot repeats)."""

    __tablename__ = "stats_rollup"

    # The key in this order (migration 0011): a read of the statistics is a dimension over a range of periods.
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    k1: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    k2: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    k3: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    k4: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    n: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)


ROLLUP = cast(Table, StatsRollup.__table__)
# The columns read from scratch, as plain tables (models.tickets writes through this module).
_TICKETS = table("tickets", column("id", Integer), column("category", String), column("group", String),
                 column("campus", String), column("building", String), column("floor", String),
                 column("status", String), column("created_at", UTCDateTime), column("accepted_at", UTCDateTime),
                 column("assigned_at", UTCDateTime), column("completed_at", UTCDateTime),
                 column("worker_id", Integer), column("rating", Integer), column("reworks", Integer))
_OVERDUE = table("sla_overdue", column("ticket_id", Integer), column("stage", String))


@dataclass(frozen=True)
class Facts:
    """What the figures read of a ticket."""

    category: str
    group: str
    campus: str
    building: str
    floor: str | None
    status: str
    created_at: datetime
    accepted_at: datetime | None = None
    assigned_at: datetime | None = None
    completed_at: datetime | None = None
    worker_id: int | None = None
    rating: int | None = None
    reworks: int = 0

    @classmethod
    def of(cls, ticket: Any) -> Facts:
        return cls(**{f.name: getattr(ticket, f.name) for f in fields(cls)})


FACT_NAMES = tuple(f.name for f in fields(Facts))


# -- buckets ---------------------------------------------------------------------------------------

def bucket(seconds: float) -> int:
    """0 for under a second, else b for [BASE^(b-1), BASE^b)."""
    return 0 if seconds < 1 else math.floor(math.log(seconds) / math.log(BASE)) + 1


def middle(b: int) -> float:
    return 0.0 if b <= 0 else BASE ** (b - 0.5)


def _span(start: datetime | None, end: datetime | None) -> str | None:
    return None if start is None or end is None else str(bucket((end - start).total_seconds()))


# -- a ticket's shares ---------------------------------------------------------------------------------

def day_of(at: datetime) -> str:
    return local(at).date().isoformat()


def shares(f: Facts) -> Iterator[tuple[tuple[str, ...], int, int]]:
    """(dim and keys, tickets, total) of each figure the ticket counts in."""
    yield ("group", f.group), 1, 0
    yield ("campus", f.campus), 1, 0
    yield ("building", f.campus, f.building), 1, 0
    yield ("status", f.status), 1, 0
    if f.rating is not None:
        yield ("rating", str(f.rating)), 1, 0
    spans = (("accept", _span(f.created_at, f.accepted_at)), ("complete", _span(f.created_at, f.completed_at)))
    for dim, span in spans:
        if span is not None:
            yield (dim, span), 1, 0
    if f.worker_id is not None:
        yield from _worker_shares(f, str(f.worker_id))


def _worker_shares(f: Facts, worker: str) -> Iterator[tuple[tuple[str, ...], int, int]]:
    yield ("worker", worker), 1, f.reworks or 0
    if f.rating is not None:
        yield ("worker_rated", worker), 1, f.rating
    done = _span(f.assigned_at, f.completed_at)
    if done is not None:
        yield ("worker_done", worker, done), 1, 0


def hot_share(f: Facts, repeat: bool) -> tuple[tuple[str, ...], int, int]:
    return ("hot", f.campus, f.building, f.floor or "", f.group), 1, int(repeat)


def _key(f: Facts, dims: tuple[str, ...]) -> Key:
    padded = (*dims, "", "", "", "")[:5]
    return (day_of(f.created_at), f.category, *padded)  # type: ignore[return-value]


def add(sums: Sums, f: Facts, part: Iterable[tuple[tuple[str, ...], int, int]], sign: int = 1) -> None:
    for dims, n, total in part:
        row = sums[_key(f, dims)]
        row[0] += sign * n
        row[1] += sign * total


def new_sums() -> Sums:
    return defaultdict(lambda: [0, 0])


# -- writing -----------------------------------------------------------------------------------------------

def changed(conn: Connection, before: Facts | None, after: Facts, *, repeat: bool | None = None) -> None:
    """Write the difference a change made (before None: a new ticket, whose hot-spot share is `repeat`)."""
    sums = new_sums()
    add(sums, after, shares(after))
    if before is not None:
        add(sums, before, shares(before), -1)
    if repeat is not None:
        add(sums, after, [hot_share(after, repeat)])
    write(conn, sums)


def overdue(conn: Connection, f: Facts, stage: str, first_of_ticket: bool) -> None:
    """A stage of the ticket recorded late for the first time (and whether it is its first late stage)."""
    sums = new_sums()
    add(sums, f, [(("overdue", stage), 1, 0)] + ([(("overdue", "any"), 1, 0)] if first_of_ticket else []))
    write(conn, sums)


def write(conn: Connection, sums: Sums) -> None:
    """Add the sums to their day's rows and their month's rows."""
    months = new_sums()
    for key, v in sums.items():
        month = months[(key[0][:8] + "01", *key[1:])]
        month[0] += v[0]
        month[1] += v[1]
    rows = [_row(grain, key, v) for grain, part in ((DAY, sums), (MONTH, months)) for key, v in part.items()
            if v != [0, 0]]
    rows.sort(key=_order)  # every writer locks rows in the key's order: two moves never wait on each other in a ring
    for i in range(0, len(rows), CHUNK):
        conn.execute(_upsert(conn), rows[i:i + CHUNK])


def _row(grain: str, key: Key, v: list[int]) -> dict[str, Any]:
    period, category, dim, k1, k2, k3, k4 = key
    return {"grain": grain, "period": period, "category": category, "dim": dim, "k1": k1[:64], "k2": k2[:64],
            "k3": k3[:64], "k4": k4[:64], "n": v[0], "total": v[1]}


def _order(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(row[k] for k in KEY)


def _upsert(conn: Connection) -> Any:
    name = conn.dialect.name
    if name not in _UPSERTS:  # built once: filing and every move write through it
        stmt = (postgresql if name == "postgresql" else sqlite).insert(ROLLUP)
        _UPSERTS[name] = stmt.on_conflict_do_update(index_elements=KEY, set_={
            "n": ROLLUP.c.n + stmt.excluded.n, "total": ROLLUP.c.total + stmt.excluded.total})
    return _UPSERTS[name]


_UPSERTS: dict[str, Any] = {}


# -- from scratch --------------------------------------------------------------------------------------------

def repeated_soon(previous: Facts | None, f: Facts) -> bool:
    """Whether `previous` (the ticket filed before `f` of the same group at the same place) came within the
    window."""
    return (previous is not None and _place(previous) == _place(f)
            and f.created_at - previous.created_at <= timedelta(days=HOT_WINDOW_DAYS))


def _place(f: Facts) -> tuple[str, str, str, str]:
    return f.campus, f.building, f.floor or "", f.group


def rebuild(engine: Engine) -> int:
    """Add up every ticket and overdue record from scratch; returns how many rows the roll-up has."""
    sums = new_sums()
    with engine.connect() as conn, conn.begin():
        _tickets_into(conn, sums)
        _overdue_into(conn, sums)
        conn.execute(delete(ROLLUP))
        write(conn, sums)
        count: int = conn.execute(text("SELECT count(*) FROM stats_rollup")).scalar_one()
    return count


def _tickets_into(conn: Connection, sums: Sums) -> None:
    t = _TICKETS
    order = (t.c.campus, t.c.building, func.coalesce(t.c.floor, ""), t.c.group, t.c.created_at, t.c.id)
    previous: Facts | None = None
    stmt = select(*(t.c[n] for n in FACT_NAMES)).order_by(*order).execution_options(yield_per=CHUNK)
    for row in conn.execute(stmt):
        f = Facts(*row)
        add(sums, f, shares(f))
        add(sums, f, [hot_share(f, repeated_soon(previous, f))])
        previous = f


def _overdue_into(conn: Connection, sums: Sums) -> None:
    t, o = _TICKETS, _OVERDUE
    query = (select(o.c.ticket_id, t.c.category, t.c.created_at, o.c.stage).join(t, t.c.id == o.c.ticket_id)
             .group_by(o.c.ticket_id, t.c.category, t.c.created_at, o.c.stage).order_by(o.c.ticket_id)
             .execution_options(yield_per=CHUNK))
    last = None
    for ticket_id, category, created_at, stage in conn.execute(query):
        key = (day_of(created_at), category)
        sums[(*key, "overdue", stage, "", "", "")][0] += 1
        if ticket_id != last:  # ordered by ticket: the first stage of a ticket
            sums[(*key, "overdue", "any", "", "", "")][0] += 1
        last = ticket_id


def months_and_days(first: date, last: date) -> tuple[tuple[str, str] | None, list[tuple[str, str]]]:
    """The whole months within [first, last] (first and last month start, or None) and the day ranges
    before and after them (inclusive ISO days)."""
    start = first if first.day == 1 else _next_month(first)
    end = _next_month(last) if last == _next_month(last) - timedelta(days=1) else last.replace(day=1)
    if start >= end:
        return None, [(first.isoformat(), last.isoformat())]
    edges = [(a.isoformat(), b.isoformat()) for a, b in ((first, start - timedelta(days=1)), (end, last)) if a <= b]
    last_month = (end - timedelta(days=1)).replace(day=1)
    return (start.isoformat(), last_month.isoformat()), edges


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)
