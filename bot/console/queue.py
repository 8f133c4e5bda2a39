"""The ticket queue: filters, ordering (new tickets first) and the overdue marks.

Overdue thresholds (documented in the README and on the queue page):
- a ticket still 提交维修单 (submitted) 2 hours after it was filed has not been accepted in time;
- a ticket still open (submitted … on_hold) 48 hours after it was filed is overdue.

At a million tickets: a search lists the newest page of matches, a view of finished tickets the newest 1000 (the
last week first, then further back; from the trigram indexes of migration 0008_scale on PostgreSQL), so that neither
counts nor sorts the whole table; the open queue is small and listed whole.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from bot.console.perms import StaffUser, ticket_scope
from bot.console.text import OVERDUE_ACCEPT, OVERDUE_OPEN
from bot.ids import parse_day, parse_id, parse_page
from models.clock import LOCAL
from models.tickets import OPEN_STATUSES, STATUS_ZH, URGENT, Ticket

ACCEPT_WITHIN = timedelta(hours=2)
FINISH_WITHIN = timedelta(hours=48)
PAGE_SIZE = 50
SEARCH_CAP = PAGE_SIZE  # a search lists the newest page of matches
HISTORY_CAP = 1000  # a view of finished tickets, the newest 1000
WINDOWS = (timedelta(days=7), timedelta(days=30), timedelta(days=365))  # where newest() looks first


def overdue(ticket: Ticket, now: datetime | None = None) -> str | None:
    """The overdue mark of a ticket, or None."""
    now = now or datetime.now(UTC)
    waited = now - ticket.created_at
    if ticket.status == "submitted" and waited > ACCEPT_WITHIN:
        return OVERDUE_ACCEPT
    if ticket.status in OPEN_STATUSES and waited > FINISH_WITHIN:
        return OVERDUE_OPEN
    return None


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    return or_(and_(Ticket.status == "submitted", Ticket.created_at < now - ACCEPT_WITHIN),
               and_(Ticket.status.in_(OPEN_STATUSES), Ticket.created_at < now - FINISH_WITHIN))


@dataclass
class Filters:
    """The queue's filters, read from the query string; empty means "any"."""

    status: str = "open"
    category: str = ""
    campus: str = ""
    building: str = ""
    since: date | None = None
    until: date | None = None
    worker: str = ""  # a staff id, "none" (not assigned) or ""
    q: str = ""
    overdue: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        status = args.get("status", "open")
        worker = args.get("worker", "").strip()
        return cls(
            status=status if status in ("open", "all", *STATUS_ZH) else "open",
            category=args.get("category", "").strip(), campus=args.get("campus", "").strip(),
            building=args.get("building", "").strip(), since=parse_day(args.get("since")),
            until=parse_day(args.get("until")),
            worker=worker if worker == "none" or parse_id(worker) else "", q=args.get("q", "").strip()[:50],
            overdue=args.get("overdue") in ("1", "on", "true"), page=parse_page(args.get("page")),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """These filters as query-string arguments (for links that change one of them)."""
        values = {"status": self.status, "category": self.category, "campus": self.campus,
                  "building": self.building, "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else "", "worker": self.worker,
                  "q": self.q, "overdue": "1" if self.overdue else "", "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, 1) or k == "status"}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL).astimezone(UTC)


def filtered(user: StaffUser, f: Filters, now: datetime, dialect: str = "") -> Select[Any]:
    q = select(Ticket).where(ticket_scope(user))
    if f.status == "open":
        q = q.where(Ticket.status.in_(OPEN_STATUSES))
    elif f.status != "all":
        q = q.where(Ticket.status == f.status)
    if f.category:
        q = q.where(Ticket.category == f.category)
    if f.campus:
        q = q.where(Ticket.campus == f.campus)
    if f.building:
        q = q.where(Ticket.building.contains(f.building, autoescape=True))
    if f.since:
        q = q.where(Ticket.created_at >= _start_of(f.since))
    if f.until:
        q = q.where(Ticket.created_at < _start_of(f.until + timedelta(days=1)))
    if f.worker == "none":
        q = q.where(Ticket.worker_id.is_(None))
    elif (worker_id := parse_id(f.worker)) is not None:
        q = q.where(Ticket.worker_id == worker_id)
    if f.q:
        q = q.where(search(f.q, dialect))
    if f.overdue:
        q = q.where(overdue_condition(now))
    return q


SEARCHED = (Ticket.no, Ticket.phone, Ticket.description, Ticket.building, Ticket.room, Ticket.place_note,
            Ticket.group, Ticket.item, Ticket.category)


def search(text: str, dialect: str = "", pairs: bool = True) -> ColumnElement[bool]:
    """Tickets whose number, phone, description, place, fault or category contain the text.

    On PostgreSQL (``dialect``) one expression holds them all (``ticket_search_text``, migration 0008_scale),
    which its trigram index answers for three characters or more, and the same with every character doubled
    for two (漏漏水水 holds 漏水 and nothing else does: ``pairs``, whose rows cost a regular expression each to
    check, so a search of recent tickets goes without it); the patterns are spelled out for the planner."""
    if dialect != "postgresql":
        return or_(*(col.icontains(text, autoescape=True) for col in SEARCHED))
    found = func.ticket_search_text(*SEARCHED)
    cond: ColumnElement[bool] = found.like(_contains(text.lower()), escape="/")
    if pairs and len(text) == 2:
        doubled = func.regexp_replace(found, literal_column("'(.)'"), literal_column(r"'\1\1'"), literal_column("'g'"))
        cond = doubled.like(_contains("".join(ch * 2 for ch in text.lower())), escape="/") & cond
    return cond


def _contains(text: str) -> BindParameter[str]:
    """A LIKE pattern for text anywhere, written into the statement (quoted) so that each search is planned for
    its own words, never from a plan cached for others."""
    pattern = "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    return bindparam(None, pattern, literal_execute=True)


def cap_of(f: Filters) -> int | None:
    """How many a view lists at most: a search its newest SEARCH_CAP matches, a view of finished tickets the
    newest HISTORY_CAP; the open queue is listed whole (None)."""
    if f.q:
        return SEARCH_CAP
    return None if f.status in ("open", *OPEN_STATUSES) else HISTORY_CAP


def newest(session: Session, base: Select[Any], now: datetime, cap: int, text: str = "",
           dialect: str = "") -> list[int]:
    """The ids of the newest cap + 1 tickets `base` selects (and the search finds): from the last week, else
    month, else year, else all time, so that a common word stops early and a rare one reads its few rows from
    the index.  Two characters skip the year: only the index of all time answers them without a scan."""
    ids: list[int] = []
    windows = WINDOWS[:2] if len(text) == 2 and dialect == "postgresql" else WINDOWS
    # A search is ordered by an expression no index gives (later filed, larger id), so that its rows come from
    # the search index: walking the dates backwards looking for a word the planner thinks common but is not
    # there (a dispatcher's category) read a year of tickets.
    order = ((Ticket.id + 0).desc(),) if text else (Ticket.created_at.desc(), Ticket.id.desc())
    for window in (*windows, None):
        q = base.with_only_columns(Ticket.id)
        if text:
            q = q.where(search(text, dialect, pairs=window is None))
        if window is not None:
            q = q.where(Ticket.created_at >= now - window)
        ids = list(session.scalars(q.order_by(*order).limit(cap + 1)))
        if len(ids) > cap:
            break
    return ids


def queue_page(session: Session, user: StaffUser, f: Filters,
               now: datetime | None = None) -> tuple[list[Ticket], int]:
    """One page of the queue (open urgent tickets first, then those waiting for acceptance, then newest first)
    and the total (cap_of(f) + 1 standing for "more")."""
    now = now or datetime.now(UTC)
    dialect = session.get_bind().dialect.name
    base = filtered(user, f, now, dialect)
    cap = cap_of(f)
    if cap is not None:
        ids = newest(session, filtered(user, replace(f, q=""), now), now, cap, f.q, dialect)
        total = len(ids)
        base = select(Ticket).where(Ticket.id.in_(ids[:cap]))
    else:
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    # An open urgent ticket (an emergency) heads the queue; then those waiting for acceptance.
    urgent_first = case((and_(Ticket.priority == URGENT, Ticket.status.in_(OPEN_STATUSES)), 0), else_=1)
    new_first = case((Ticket.status == "submitted", 0), else_=1)
    rows = session.scalars(base.order_by(urgent_first, new_first, Ticket.created_at.desc(), Ticket.id.desc())
                           .limit(PAGE_SIZE).offset((f.page - 1) * PAGE_SIZE))
    return list(rows.unique()), int(total)


def status_counts(session: Session, user: StaffUser, now: datetime | None = None) -> dict[str, int]:
    """How many visible tickets are in each open status, and how many are overdue."""
    now = now or datetime.now(UTC)
    rows = session.execute(select(Ticket.status, func.count()).where(ticket_scope(user),
                                                                     Ticket.status.in_(OPEN_STATUSES))
                           .group_by(Ticket.status))
    counts = {status: int(n) for status, n in rows}
    counts["overdue"] = int(session.scalar(select(func.count(Ticket.id)).where(
        ticket_scope(user), overdue_condition(now))) or 0)
    return counts
