"""The office's figures (统计): how many, how fast, who was late, were people satisfied — one home for them.

The console's statistics page and `repairbot stats --json` both call ``figures``.  Every figure is added up
from the roll-up of models/rollup.py (each ticket's share per day and per month): a period is its whole
months at the month grain and the days before and after them at the day grain, so a year is a few thousand
rows however many tickets it had, on PostgreSQL and SQLite alike.

Durations: time to accept and time to complete are counted from filing; a worker's completion time from
assignment.  They are kept in log-scale buckets (rollup.BASE apart), and a percentile is interpolated
between the middles of the buckets at its ranks as percentile_cont does between values: within about 2 %
of the exact figure.  The overdue rate of a stage is the share of the period's tickets with an overdue
record of that stage (``sla_overdue``, written by the SLA sweep).  Hot spots are a place (building and
floor) and a fault group that came back: a ticket filed within 30 days after the one before of that group
there (the one before may fall just before the period).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.engine import Connection, Engine

from models.backoffice import STAGES
from models.clock import local
from models.people import Staff
from models.rollup import DAY, MONTH, ROLLUP, middle, months_and_days
from models.tickets import STATUS_ZH

# The keys `repairbot stats --json` always has (more may follow).
KEYS = ("tickets", "by_category", "by_group", "by_campus", "by_status", "accept_p50_h", "complete_p50_h",
        "overdue_rate", "rating_avg", "by_worker", "hot_spots")
HOT_MIN = 2  # tickets of one group at one place, each within the window of the one before
HOT_SPOTS_SHOWN = 20
BUILDINGS_SHOWN = 30
Hist = dict[int, int]


@dataclass(frozen=True)
class StatsQuery:
    """A period (UTC, ``until`` exclusive, whole days on the school's clock), the viewer's categories (None:
    all) and a category filter."""

    since: datetime
    until: datetime
    categories: tuple[str, ...] | None = None
    category: str = ""


def conditions(q: StatsQuery) -> ColumnElement[bool]:
    """The roll-up's rows of the period (its whole months, the days around them) and the viewer's categories."""
    r = ROLLUP.c
    first = local(q.since).date()
    last = (local(q.until) - timedelta(microseconds=1)).date()
    months, days = months_and_days(first, last)
    spans = [and_(r.grain == DAY, r.period.between(a, b)) for a, b in days]
    if months is not None:
        spans.append(and_(r.grain == MONTH, r.period.between(*months)))
    scope: ColumnElement[bool] = true()
    if q.categories is not None:
        scope = r.category.in_(q.categories) if q.categories else false()
    own = r.category == q.category if q.category else true()
    return and_(or_(*spans) if spans else false(), scope, own)


def hours(value: float | None) -> float | None:
    return None if value is None else round(value / 3600, 2)


# -- percentiles ----------------------------------------------------------------------------------------

def percentile(hist: Hist, p: float) -> float | None:
    """percentile_cont over a histogram: the bucket middles at ranks floor(pos) and floor(pos)+1,
    interpolated."""
    n = sum(hist.values())
    if not n:
        return None
    pos = 1 + p * (n - 1)
    lo = int(pos)
    a, b = _at_rank(hist, lo), _at_rank(hist, min(lo + 1, n))
    return a + (pos - lo) * (b - a)


def _at_rank(hist: Hist, rank: int) -> float:
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return middle(b)
    raise ValueError(rank)


# -- the figures ----------------------------------------------------------------------------------------------

def figures(engine: Engine, q: StatsQuery) -> dict[str, Any]:
    """All the figures of a period, as plain JSON-ready values.

    The reads are independent: on PostgreSQL each runs on its own connection at the same time (the
    durations' buckets and the hot spots are most of the rows), elsewhere one after the other."""
    where = conditions(q)
    reads: tuple[Read, ...] = (
        lambda conn: _sums(conn, and_(where, ROLLUP.c.dim.in_(DURATIONS))),
        lambda conn: _sums(conn, and_(where, ROLLUP.c.dim.in_(COUNTED))),
        lambda conn: hot_spots(conn, where), lambda conn: _by_month(conn, where),
        lambda conn: _by_category(conn, where), _names)
    if engine.dialect.name == "postgresql":
        with ThreadPoolExecutor(len(reads)) as pool:
            durations, counted, spots, months, categories, names = pool.map(lambda read: _read(engine, read), reads)
    else:
        durations, counted, spots, months, categories, names = (_read(engine, read) for read in reads)
    sums: Sums = {**durations, **counted}
    out: dict[str, Any] = {"from": q.since.isoformat(), "until": q.until.isoformat(), "category": q.category or None}
    out.update(_counts(sums, months, categories))
    out.update(_times(sums))
    out.update(_overdue(sums, out["tickets"]))
    out.update(_ratings(out["ratings"]))
    out["by_worker"] = by_worker(sums, names)
    out["hot_spots"] = spots
    return out


Sums = dict[str, dict[tuple[str, ...], tuple[int, int]]]
Read = Callable[[Connection], Any]
DURATIONS = ("accept", "complete", "worker_done")
COUNTED = ("group", "campus", "building", "status", "rating", "worker", "worker_rated", "overdue")


def _read(engine: Engine, read: Read) -> Any:
    with engine.connect() as conn:
        return read(conn)


def _names(conn: Connection) -> dict[int, str]:
    return {i: name for i, name in conn.execute(select(Staff.id, Staff.name).where(Staff.role == "worker"))}


def _sums(conn: Connection, where: ColumnElement[bool]) -> Sums:
    """Per dimension: keys -> (tickets, total), over the period."""
    r = ROLLUP.c
    keys = (r.dim, r.k1, r.k2, r.k3)
    stmt = (select(*keys, func.sum(r.n), func.sum(r.total)).where(where).group_by(*keys))
    out: Sums = defaultdict(dict)
    for dim, k1, k2, k3, n, total in conn.execute(stmt):
        if n or total:
            out[dim][(k1, k2, k3)] = (int(n), int(total))
    return out


def _ones(sums: Sums, dim: str) -> list[tuple[str, int]]:
    return [(k[0], n) for k, (n, _) in sums.get(dim, {}).items() if n]


def _ranked(rows: list[tuple[str, int]]) -> dict[str, int]:
    return {str(k): int(n) for k, n in sorted(rows, key=lambda r: (-r[1], str(r[0])))}


def _by_category(conn: Connection, where: ColumnElement[bool]) -> list[tuple[str, int]]:
    r = ROLLUP.c
    stmt = select(r.category, func.sum(r.n)).where(where, r.dim == "status").group_by(r.category)
    return [(c, int(n)) for c, n in conn.execute(stmt) if n]


def _by_month(conn: Connection, where: ColumnElement[bool]) -> dict[str, int]:
    r = ROLLUP.c
    months: dict[str, int] = defaultdict(int)
    for period, n in conn.execute(select(r.period, func.sum(r.n)).where(where, r.dim == "status").group_by(r.period)):
        months[period[:7]] += int(n)
    return {m: n for m, n in sorted(months.items()) if n}


def _counts(sums: Sums, months: dict[str, int], categories: list[tuple[str, int]]) -> dict[str, Any]:
    status = _ones(sums, "status")
    buildings = [(k[0], k[1], n) for k, (n, _) in sums.get("building", {}).items() if n]
    buildings = sorted(buildings, key=lambda r: (-r[2], r[0], r[1]))[:BUILDINGS_SHOWN]
    ratings = {str(s): 0 for s in range(1, 6)}
    ratings.update({k: n for k, n in _ones(sums, "rating")})
    return {
        "tickets": sum(n for _, n in status), "by_category": _ranked(categories),
        "by_group": _ranked(_ones(sums, "group")), "by_campus": _ranked(_ones(sums, "campus")),
        "by_building": [{"campus": c, "building": b, "tickets": int(n)} for c, b, n in buildings],
        "by_month": months,
        "by_status": {s: n for s, n in _ranked(status).items() if s in STATUS_ZH},
        "ratings": ratings,
    }


def _hist(sums: Sums, dim: str, owner: str | None = None) -> Hist:
    """A duration's buckets (of one worker's, when `owner`)."""
    hist: Hist = defaultdict(int)
    for k, (n, _) in sums.get(dim, {}).items():
        if owner is None:
            hist[int(k[0])] += n
        elif k[0] == owner:
            hist[int(k[1])] += n
    return hist


def _times(sums: Sums) -> dict[str, Any]:
    accept, complete = _hist(sums, "accept"), _hist(sums, "complete")
    return {"accept_p50_h": hours(percentile(accept, 0.5)), "accept_p90_h": hours(percentile(accept, 0.9)),
            "complete_p50_h": hours(percentile(complete, 0.5)), "complete_p90_h": hours(percentile(complete, 0.9))}


def _overdue(sums: Sums, total: int) -> dict[str, Any]:
    """Per stage: how many of the period's tickets were late there, and the share; and at any stage."""
    late = {k[0]: n for k, n in _ones_keys(sums, "overdue")}

    def rate(n: int) -> float:
        return round(n / total, 4) if total else 0.0

    return {"overdue_tickets": late.get("any", 0), "overdue_rate": rate(late.get("any", 0)),
            "overdue_by_stage": {s: {"tickets": late.get(s, 0), "rate": rate(late.get(s, 0))} for s in STAGES}}


def _ones_keys(sums: Sums, dim: str) -> list[tuple[tuple[str, ...], int]]:
    return [(k, n) for k, (n, _) in sums.get(dim, {}).items()]


def _ratings(stars: dict[str, int]) -> dict[str, Any]:
    """The average and the number of ratings, from their distribution."""
    rated = sum(stars.values())
    total = sum(int(s) * n for s, n in stars.items())
    return {"rating_avg": round(total / rated, 2) if rated else None, "rated": rated}


def by_worker(sums: Sums, names: dict[int, str]) -> list[dict[str, Any]]:
    """Per worker: tickets assigned to them, median time from assignment to completion, rating, reworks."""
    mine = {k[0]: v for k, v in sums.get("worker", {}).items() if v[0]}
    rated = {k[0]: v for k, v in sums.get("worker_rated", {}).items()}
    out = [{"worker": names.get(int(w), w), "tickets": n,
            "complete_p50_h": hours(percentile(_hist(sums, "worker_done", w), 0.5)),
            "rating_avg": round(rated[w][1] / rated[w][0], 2) if rated.get(w, (0, 0))[0] else None,
            "reworks": reworks} for w, (n, reworks) in mine.items()]
    return sorted(out, key=lambda w: (-w["tickets"], w["worker"]))


def hot_spots(conn: Connection, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """Places (building and floor) where a fault group came back within the window (``repeats``: tickets
    filed within it after the one before), the places with most repeats first."""
    r = ROLLUP.c
    keys = (r.k1, r.k2, r.k3, r.k4)
    repeats = func.sum(r.total)
    stmt = (select(*keys, func.sum(r.n), repeats).where(where, r.dim == "hot").group_by(*keys)
            .having(repeats >= HOT_MIN - 1).order_by(repeats.desc(), *keys).limit(HOT_SPOTS_SHOWN))
    return [{"campus": c, "building": b, "floor": f or None, "group": g, "tickets": int(n), "repeats": int(rp)}
            for c, b, f, g, n, rp in conn.execute(stmt)]
