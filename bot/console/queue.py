"""The ticket queue: filters, ordering (new tickets first), the overdue marks, and what the page's poll reads.

Overdue marks (受理超时, 指派超时, 完成超时) are the SLA sweep's records for the stage a ticket is in now: the
register's limits per category, urgent tickets' own, the clock paused on hold — one truth for the queue, the
ticket page and the ledger.

At a million tickets: a search lists the newest page of matches, a view of finished tickets the newest 1000 (the
last week first, then further back; from the trigram indexes of migration 0010 on PostgreSQL), so that neither
counts nor sorts the whole table; the open queue is small and listed whole.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from bot.console.perms import StaffUser, ticket_scope
from bot.console.text import LATE_MARK
from bot.ids import parse_day, parse_id, parse_page
from models.backoffice import STAGE_ZH
from models.clock import LOCAL
from models.people import Person
from models.rework import rework_ids
from models.sla import late_now, late_stages
from models.tickets import OPEN_STATUSES, STATUS_ZH, URGENT, Ticket

PAGE_SIZE = 50
# How often an open queue page asks whether anything changed (the app's CONSOLE_POLL_S overrides it).
POLL_S = 12
# Statuses whose changes the poll watches: the open ones, and 维修完成 (which is closed or sent back).
WATCHED = (*OPEN_STATUSES, "completed")
REPORTER = "报修人"
SEARCH_CAP = PAGE_SIZE  # a search lists the newest page of matches
HISTORY_CAP = 1000  # a view of finished tickets, the newest 1000
WINDOWS = (timedelta(days=7), timedelta(days=30), timedelta(days=365))  # where newest() looks first


def late_marks(session: Session, tickets: list[Ticket]) -> dict[int, str]:
    """The overdue mark of each of these tickets that is late now (受理超时 …), in one read."""
    stages = late_stages(session, [t.id for t in tickets])
    return {ticket_id: LATE_MARK.format(stage=STAGE_ZH[stage]) for ticket_id, stage in stages.items()}


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
        q = q.where(late_now())
    return q


SEARCHED = (Ticket.no, Ticket.phone, Ticket.description, Ticket.building, Ticket.room, Ticket.place_note,
            Ticket.group, Ticket.item, Ticket.category)


def search(text: str, dialect: str = "", pairs: bool = True) -> ColumnElement[bool]:
    """Tickets whose number, phone, description, place, fault or category contain the text.

    On PostgreSQL (``dialect``) one expression holds them all (``ticket_search_text``, migration 0010),
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


def status_counts(session: Session, user: StaffUser) -> dict[str, int]:
    """How many visible tickets are in each open status, and how many are overdue (the SLA sweep's records)."""
    rows = session.execute(select(Ticket.status, func.count()).where(ticket_scope(user),
                                                                     Ticket.status.in_(OPEN_STATUSES))
                           .group_by(Ticket.status))
    counts = {status: int(n) for status, n in rows}
    counts["overdue"] = int(session.scalar(select(func.count(Ticket.id)).where(
        ticket_scope(user), late_now())) or 0)
    return counts


@dataclass(frozen=True)
class Marks:
    """What a page of the queue shows beside the tickets: reporters' masked names, reworks, new since the
    page was first loaded (tickets numbered after `since`)."""

    names: dict[int, str]
    reworks: set[int]
    since: int
    late: dict[int, str]

    def reporter(self, ticket: Ticket) -> str:
        return self.names.get(ticket.person_id or 0, REPORTER)

    def rework(self, ticket: Ticket) -> bool:
        return ticket.id in self.reworks

    def overdue(self, ticket: Ticket) -> str | None:
        return self.late.get(ticket.id)

    def fresh(self, ticket: Ticket) -> bool:
        return ticket.id > self.since


def mask_name(name: str) -> str:
    """A reporter's name as the queue shows it: 张*, 王*明, 欧阳**锋 (the ticket's own page shows it whole)."""
    name = name.strip()
    if len(name) <= 1:
        return name or REPORTER
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def marks_for(session: Session, tickets: list[Ticket], since: int) -> Marks:
    person_ids = {t.person_id for t in tickets if t.person_id}
    names = {pid: mask_name(name) for pid, name in session.execute(
        select(Person.id, Person.name).where(Person.id.in_(person_ids)))} if person_ids else {}
    return Marks(names, rework_ids(session, [t.id for t in tickets]), since, late_marks(session, tickets))


def last_id(session: Session, user: StaffUser) -> int:
    """The newest ticket the user may see (the page's "new since" mark)."""
    return int(session.scalar(select(func.max(Ticket.id)).where(ticket_scope(user))) or 0)


def new_since(session: Session, user: StaffUser, since: int) -> int:
    """How many tickets the user may see were filed after ticket `since`: one range read on the key."""
    return int(session.scalar(select(func.count(Ticket.id)).where(ticket_scope(user), Ticket.id > since)) or 0)


def version(session: Session, user: StaffUser, now: datetime) -> str:
    """A short fingerprint of the user's live tickets: it changes when one is filed or moved, and each
    minute (the ages and overdue marks on the page move on), so an unchanged queue is not rendered again."""
    count, newest, changed = session.execute(
        select(func.count(Ticket.id), func.max(Ticket.id), func.max(Ticket.updated_at))
        .where(ticket_scope(user), Ticket.status.in_(WATCHED))).one()
    stamp = changed.isoformat() if changed is not None else ""
    return f"{count}.{newest or 0}.{stamp}.{now:%Y%m%d%H%M}"
