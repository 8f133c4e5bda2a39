"""The ticket queue: filters, ordering (new tickets first), the overdue marks, and what the page's poll reads.

Overdue thresholds (documented in the README and on the queue page):
- a ticket still 提交维修单 (submitted) 2 hours after it was filed has not been accepted in time;
- a ticket still open (submitted … on_hold) 48 hours after it was filed is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.console.perms import StaffUser, ticket_scope
from bot.console.text import OVERDUE_ACCEPT, OVERDUE_OPEN
from bot.ids import parse_day, parse_id, parse_page
from models.clock import LOCAL
from models.people import Person
from models.rework import rework_ids
from models.tickets import OPEN_STATUSES, STATUS_ZH, URGENT, Ticket

ACCEPT_WITHIN = timedelta(hours=2)
FINISH_WITHIN = timedelta(hours=48)
PAGE_SIZE = 50
# How often an open queue page asks whether anything changed (the app's CONSOLE_POLL_S overrides it).
POLL_S = 12
# Statuses whose changes the poll watches: the open ones, and 维修完成 (which is closed or sent back).
WATCHED = (*OPEN_STATUSES, "completed")
REPORTER = "报修人"


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


def filtered(user: StaffUser, f: Filters, now: datetime) -> Select[Any]:
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
        text = f.q
        q = q.where(or_(*(col.icontains(text, autoescape=True) for col in (
            Ticket.no, Ticket.description, Ticket.building, Ticket.room, Ticket.place_note, Ticket.phone,
            Ticket.group, Ticket.item, Ticket.category))))
    if f.overdue:
        q = q.where(overdue_condition(now))
    return q


def queue_page(session: Session, user: StaffUser, f: Filters,
               now: datetime | None = None) -> tuple[list[Ticket], int]:
    """One page of the queue (open urgent tickets first, then those waiting for acceptance, then newest first)
    and the total."""
    now = now or datetime.now(UTC)
    base = filtered(user, f, now)
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


@dataclass(frozen=True)
class Marks:
    """What a page of the queue shows beside the tickets: reporters' masked names, reworks, new since the
    page was first loaded (tickets numbered after `since`)."""

    names: dict[int, str]
    reworks: set[int]
    since: int

    def reporter(self, ticket: Ticket) -> str:
        return self.names.get(ticket.person_id or 0, REPORTER)

    def rework(self, ticket: Ticket) -> bool:
        return ticket.id in self.reworks

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
    return Marks(names, rework_ids(session, [t.id for t in tickets]), since)


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
