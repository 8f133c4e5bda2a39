"""The office's figures (统计): how many, how fast, who was late, were people satisfied — one home for them.

The console's statistics page and `repairbot stats --json` both call ``figures``.  Every figure is an
aggregate computed by the database (GROUP BY, and on PostgreSQL GROUPING SETS and percentile_cont), never a
loop over ticket rows in Python: a year of a big school is a third of a million tickets.  SQLite has no
percentile aggregate; there the same percentiles come from window functions (row_number over the sorted
durations, interpolated as percentile_cont does), so both databases give the same numbers.

Durations: time to accept and time to complete are counted from filing; a worker's completion time from
assignment.  The overdue rate of a stage is the share of the period's tickets with an overdue record of
that stage (``sla_overdue``, written by the SLA sweep).  Hot spots are a place (building and floor) and a
fault group that came back: a ticket filed within 30 days of the previous one of that group there.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.engine import Connection, Engine

from models.backoffice import STAGES, Overdue
from models.clock import LOCAL
from models.people import Staff
from models.tickets import STATUS_ZH, Ticket

# The keys `repairbot stats --json` always has (more may follow).
KEYS = ("tickets", "by_category", "by_group", "by_campus", "by_status", "accept_p50_h", "complete_p50_h",
        "overdue_rate", "rating_avg", "by_worker", "hot_spots")
HOT_WINDOW_DAYS = 30
HOT_MIN = 2  # tickets of one group at one place, each within the window of the one before
HOT_SPOTS_SHOWN = 20
BUILDINGS_SHOWN = 30
# Sorting a year's durations needs more than the default working memory; given to the statistics' own
# transaction only.
WORK_MEM = "64MB"


@dataclass(frozen=True)
class StatsQuery:
    """A period (UTC, ``until`` exclusive), the viewer's categories (None: all) and a category filter."""

    since: datetime
    until: datetime
    categories: tuple[str, ...] | None = None
    category: str = ""


def conditions(q: StatsQuery) -> ColumnElement[bool]:
    t = Ticket
    scope: ColumnElement[bool] = true()
    if q.categories is not None:
        scope = t.category.in_(q.categories) if q.categories else false()
    own = t.category == q.category if q.category else true()
    return and_(t.created_at >= q.since, t.created_at < q.until, scope, own)


# -- dialect helpers -----------------------------------------------------------------------------------

def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def seconds_between(conn: Connection, start: Any, end: Any) -> ColumnElement[Any]:
    if _pg(conn):
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def month_of(conn: Connection, at: Any) -> ColumnElement[str]:
    """The month a time falls in on the school's clock, as 2026-11."""
    if _pg(conn):
        return func.to_char(func.timezone(LOCAL.key, at), "YYYY-MM")
    offset = datetime.now(UTC).astimezone(LOCAL).utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset else 0
    return func.strftime("%Y-%m", at, f"{hours:+d} hours")


def bytewise(conn: Connection, column: Any) -> Any:
    """A text column compared byte by byte: PostgreSQL sorts such keys several times faster (a C collation
    has abbreviated keys); only grouping needs them, not an order people read."""
    return column.collate("C") if _pg(conn) else column


def hours(value: Any) -> float | None:
    return None if value is None else round(float(value) / 3600, 2)


# -- percentiles ----------------------------------------------------------------------------------------

def percentiles(conn: Connection, value: Any, where: ColumnElement[bool], ps: tuple[float, ...],
                key: Any = None) -> dict[Any, list[float | None]]:
    """percentile_cont of `value` at each p, per `key` (None: one group, under the key None)."""
    if _pg(conn):
        return _pg_percentiles(conn, value, where, ps, key)
    return _window_percentiles(conn, value, where, ps, key)


def _pg_percentiles(conn: Connection, value: Any, where: ColumnElement[bool], ps: tuple[float, ...],
                    key: Any) -> dict[Any, list[float | None]]:
    k = key if key is not None else literal(None)
    cols = [func.percentile_cont(p).within_group(value) for p in ps]
    stmt = select(k, *cols).where(where, value.is_not(None))
    if key is not None:
        stmt = stmt.group_by(key)
    return {row[0]: [None if v is None else float(v) for v in row[1:]] for row in conn.execute(stmt)}


def _window_percentiles(conn: Connection, value: Any, where: ColumnElement[bool], ps: tuple[float, ...],
                        key: Any) -> dict[Any, list[float | None]]:
    """percentile_cont from window functions: the rows at ranks floor(pos) and floor(pos)+1, interpolated."""
    k = key if key is not None else literal(0)
    ranked = select(k.label("k"), value.label("v"),
                    func.row_number().over(partition_by=k, order_by=value).label("rn"),
                    func.count().over(partition_by=k).label("n")).where(where, value.is_not(None)).subquery()
    cols = []
    for p in ps:
        pos = 1 + p * (ranked.c.n - 1)
        lo = cast(pos, Integer)
        frac = cast(pos, Float) - lo
        cols.append(func.sum(case((ranked.c.rn == lo, ranked.c.v * (1 - frac)), else_=0.0)
                             + case((ranked.c.rn == lo + 1, ranked.c.v * frac), else_=0.0)))
    rows = conn.execute(select(ranked.c.k, *cols).group_by(ranked.c.k))
    return {(row[0] if key is not None else None): [float(v) for v in row[1:]] for row in rows}


# -- counts ------------------------------------------------------------------------------------------------

def grouped_counts(conn: Connection, where: ColumnElement[bool], sets: dict[str, tuple[Any, ...]]
                   ) -> dict[str, list[tuple[Any, ...]]]:
    """Ticket counts for several groupings: (key columns …, count) rows per named set.  On PostgreSQL one
    pass over the tickets (GROUPING SETS); elsewhere one GROUP BY per set."""
    if not _pg(conn):
        return {name: [tuple(r) for r in conn.execute(select(*cols, func.count()).where(where).group_by(*cols))]
                for name, cols in sets.items()}
    columns = list(dict.fromkeys(c for cols in sets.values() for c in cols))
    labels = {id(c): f"c{i}" for i, c in enumerate(columns)}
    flags = [func.grouping(c) for c in columns]
    stmt = (select(*(c.label(labels[id(c)]) for c in columns), *(f.label(f"g{i}") for i, f in enumerate(flags)),
                   func.count().label("n"))
            .where(where).group_by(func.grouping_sets(*(tuple_(*cols) for cols in sets.values()))))
    out: dict[str, list[tuple[Any, ...]]] = {name: [] for name in sets}
    owners = {frozenset(labels[id(c)] for c in cols): name for name, cols in sets.items()}
    for row in conn.execute(stmt).mappings():
        grouped = frozenset(labels[id(c)] for i, c in enumerate(columns) if row[f"g{i}"] == 0)
        name = owners.get(grouped)
        if name is not None:
            out[name].append((*(row[labels[id(c)]] for c in sets[name]), row["n"]))
    return out


def _ranked(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    return {str(k): int(n) for k, n in sorted(rows, key=lambda r: (-r[1], str(r[0])))}


# -- the figures ----------------------------------------------------------------------------------------------

Part = Callable[[Connection, ColumnElement[bool]], dict[str, Any]]


def figures(engine: Engine, q: StatsQuery) -> dict[str, Any]:
    """All the figures of a period, as plain JSON-ready values.

    The parts are independent aggregates: on PostgreSQL each runs on its own connection at the same time
    (a year's statistics are five scans of a third of a million rows; side by side they take as long as
    the slowest), elsewhere one after the other."""
    where = conditions(q)
    parts: tuple[Part, ...] = (_counts, _times, _overdue, _workers, _hot_spots)
    if engine.dialect.name == "postgresql":
        with ThreadPoolExecutor(len(parts)) as pool:
            found = list(pool.map(lambda part: _run(engine, part, where), parts))
    else:
        found = [_run(engine, part, where) for part in parts]
    out: dict[str, Any] = {"from": q.since.isoformat(), "until": q.until.isoformat(), "category": q.category or None}
    for part in found:
        out.update(part)
    out.update(_rates(out))
    out.update(_ratings(out["ratings"]))
    return out


def _run(engine: Engine, part: Part, where: ColumnElement[bool]) -> dict[str, Any]:
    with engine.connect() as conn, conn.begin():
        if _pg(conn):
            conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        return part(conn, where)


def _counts(conn: Connection, where: ColumnElement[bool]) -> dict[str, Any]:
    t = Ticket
    month = month_of(conn, t.created_at)
    sets = {"category": (t.category,), "group": (t.group,), "campus": (t.campus,), "building": (t.campus, t.building),
            "month": (month,), "status": (t.status,), "rating": (t.rating,), "all": ()}
    got = grouped_counts(conn, where, sets)
    total = int(got["all"][0][0]) if got["all"] else 0
    buildings = sorted(got["building"], key=lambda r: (-r[2], r[0], r[1]))[:BUILDINGS_SHOWN]
    ratings = {str(s): 0 for s in range(1, 6)}
    ratings.update({str(r): int(n) for r, n in got["rating"] if r is not None})
    return {
        "tickets": total, "by_category": _ranked(got["category"]), "by_group": _ranked(got["group"]),
        "by_campus": _ranked(got["campus"]),
        "by_building": [{"campus": c, "building": b, "tickets": int(n)} for c, b, n in buildings],
        "by_month": {str(m): int(n) for m, n in sorted(got["month"], key=lambda r: str(r[0]))},
        "by_status": {s: n for s, n in _ranked(got["status"]).items() if s in STATUS_ZH},
        "ratings": ratings,
    }


def _times(conn: Connection, where: ColumnElement[bool]) -> dict[str, Any]:
    t = Ticket
    accept = percentiles(conn, seconds_between(conn, t.created_at, t.accepted_at), where, (0.5, 0.9))
    complete = percentiles(conn, seconds_between(conn, t.created_at, t.completed_at), where, (0.5, 0.9))
    a = accept.get(None) or [None, None]
    c = complete.get(None) or [None, None]
    return {"accept_p50_h": hours(a[0]), "accept_p90_h": hours(a[1]),
            "complete_p50_h": hours(c[0]), "complete_p90_h": hours(c[1])}


def _overdue(conn: Connection, where: ColumnElement[bool]) -> dict[str, Any]:
    """Per stage: how many of the period's tickets were late there; and at any stage at all."""
    joined = select(Overdue.stage, func.count(distinct(Overdue.ticket_id))).join(Ticket, Ticket.id == Overdue.ticket_id)
    per = {stage: n for stage, n in conn.execute(joined.where(where).group_by(Overdue.stage))}
    anywhere = conn.execute(select(func.count(distinct(Overdue.ticket_id))).join(Ticket, Ticket.id == Overdue.ticket_id)
                            .where(where)).scalar_one()
    return {"overdue_tickets": int(anywhere), "overdue_by_stage": {s: {"tickets": int(per.get(s, 0))} for s in STAGES}}


def _rates(out: dict[str, Any]) -> dict[str, Any]:
    """The overdue counts as shares of the period's tickets."""
    total = out["tickets"]

    def rate(n: int) -> float:
        return round(n / total, 4) if total else 0.0

    for stage in out["overdue_by_stage"].values():
        stage["rate"] = rate(stage["tickets"])
    return {"overdue_rate": rate(out["overdue_tickets"])}


def _ratings(stars: dict[str, int]) -> dict[str, Any]:
    """The average and the number of ratings, from their distribution (counted with the other groupings)."""
    rated = sum(stars.values())
    total = sum(int(s) * n for s, n in stars.items())
    return {"rating_avg": round(total / rated, 2) if rated else None, "rated": rated}


def _workers(conn: Connection, where: ColumnElement[bool]) -> dict[str, Any]:
    return {"by_worker": by_worker(conn, where)}


def _hot_spots(conn: Connection, where: ColumnElement[bool]) -> dict[str, Any]:
    return {"hot_spots": hot_spots(conn, where)}


def by_worker(conn: Connection, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """Per worker: tickets assigned to them, median time from assignment to completion, rating, reworks."""
    t = Ticket
    mine = and_(where, t.worker_id.is_not(None))
    rows = conn.execute(select(t.worker_id, Staff.name, func.count(), func.avg(t.rating), func.sum(t.reworks))
                        .join(Staff, Staff.id == t.worker_id).where(mine).group_by(t.worker_id, Staff.name))
    medians = percentiles(conn, seconds_between(conn, t.assigned_at, t.completed_at), mine, (0.5,), key=t.worker_id)
    out = [{"worker": name, "tickets": int(n), "complete_p50_h": hours((medians.get(wid) or [None])[0]),
            "rating_avg": None if avg is None else round(float(avg), 2), "reworks": int(reworks or 0)}
           for wid, name, n, avg, reworks in rows]
    return sorted(out, key=lambda w: (-w["tickets"], w["worker"]))


def hot_spots(conn: Connection, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """Places (building and floor) where a fault group came back: tickets filed within HOT_WINDOW_DAYS of the
    previous one of the same group there (``repeats``), the places with most repeats first."""
    t = Ticket
    place = (t.campus, t.building, t.floor, t.group)
    prev = func.lag(t.created_at).over(partition_by=[bytewise(conn, c) for c in place], order_by=t.created_at)
    seq = select(*place, t.created_at, prev.label("prev")).where(where).subquery()
    soon = and_(seq.c.prev.is_not(None),
                seconds_between(conn, seq.c.prev, seq.c.created_at) <= HOT_WINDOW_DAYS * 86400)
    repeats = func.sum(case((soon, 1), else_=0))
    keys = (seq.c.campus, seq.c.building, seq.c.floor, seq.c.group)
    stmt = (select(*keys, func.count().label("n"), repeats.label("repeats")).group_by(*keys)
            .having(repeats >= HOT_MIN - 1).order_by(repeats.desc(), *keys).limit(HOT_SPOTS_SHOWN))
    return [{"campus": c, "building": b, "floor": f, "group": g, "tickets": int(n), "repeats": int(r)}
            for c, b, f, g, n, r in conn.execute(stmt)]
