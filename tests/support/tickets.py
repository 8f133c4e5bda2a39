"""One way to make a ticket in a test, whatever the test is about.

The console, the reporter's page, the command line, the chats and the push tests all need tickets that
exist before the test begins.  They are filed here, through the model (`create_ticket`) as the repair
dialog would file them, and then put where the test needs them:

- `moved_to="completed"` walks the ticket there through `core.actions.move_ticket`, as staff would, so
  the timeline and the pushes owed are the real ones;
- `status="assigned"` writes the status (and a `worker`) straight into the row, with no history;
- `age=timedelta(...)` makes it look filed that long ago (its timeline too).

Filing a ticket through the chat itself is tests/support/chat.py's file_repair.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.actions import move_ticket
from core.services import Services
from models.people import ensure_user, get_staff
from models.tickets import NewTicket, Ticket, TicketEvent, TicketPhoto, file_ticket, get_ticket
from tests.support.constants import DORM
from tests.support.people import make_staff, staff_exists

REPORTER = "o-reporter"
DESCRIPTION = "水龙头关不紧，一直在滴水"
PHONE = "13800000001"
WORKER = "刘师傅"
# The moves that bring a new ticket to a status, as staff would make them.
PATH = ("accepted", "assigned", "in_progress", "completed")
MOVED_BY = "staff:王调度"


def ticket_fields(openid: str = REPORTER, **changes: Any) -> NewTicket:
    """What the repair dialog would file for a dripping tap in 东环校区 学生公寓12栋 5楼 502, with changes."""
    new = NewTicket(openid=openid, person_id=None, category=DORM, group="给水", item="水龙头", campus="东环校区",
                    building="学生公寓12栋", floor="5", room="502", place_note=None, description=DESCRIPTION,
                    phone=PHONE)
    return replace(new, **changes)


def add_ticket(session: Session, openid: str = REPORTER, *, status: str | None = None, worker: str | None = None,
               age: timedelta | None = None, media: tuple[str, ...] = (), **fields: Any) -> Ticket:
    """File a ticket in an open session (nothing is committed here); return it.

    `status` and `worker` (a staff name that must exist) are written straight into the row; `age` moves
    its filing time and its timeline back.  Other keywords are NewTicket fields (building, room, …).
    """
    ensure_user(session, openid)
    ticket, _ = create_ticket(session, ticket_fields(openid, media_ids=tuple((m, None) for m in media), **fields))
    values: dict[str, Any] = {}
    if status:
        values["status"] = status
    if worker:
        values["worker_id"] = get_staff(session, worker).id
    if age is not None:
        values["created_at"] = ticket.created_at - age
        values["stage_started_at"] = ticket.created_at - age
        for event in ticket.events:
            session.execute(update(TicketEvent).where(TicketEvent.id == event.id).values(at=event.at - age))
    if values:
        session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
        session.expire_all()  # the objects read before show what the statements changed
    return ticket


def make_ticket(services: Services, openid: str = REPORTER, *, moved_to: str | None = None,
                status: str | None = None, worker: str | None = None, age: timedelta | None = None,
                media: tuple[str, ...] = (), **fields: Any) -> str:
    """File a ticket for `openid` and return its number.

    moved_to: a status of PATH (or "submitted") reached through staff moves (core.actions), each by 王调度;
        `worker` (default 刘师傅) is the one assigned, and gets an account if there is none.
    status, worker (without moved_to): written straight into the row; the worker's account must exist.
    age: how long ago it was filed.  media: WeChat media ids of its photos.
    Other keywords are NewTicket fields: category, campus, building, floor, room, group, item, description.
    """
    if moved_to is not None and status is not None:
        raise ValueError("give moved_to (through the moves) or status (straight into the row), not both")
    if moved_to is not None and moved_to not in ("submitted", *PATH):
        raise ValueError(f"moved_to must be submitted or one of {PATH}")
    walk = list(PATH[:PATH.index(moved_to) + 1]) if moved_to in PATH else []
    assignee = (worker or WORKER) if "assigned" in walk else None
    with services.db.session() as s:
        if assignee and not staff_exists(s, assignee):
            make_staff(services, assignee, "worker", categories=[fields.get("category", DORM)],
                       phone="13900000009", session=s)
        no = add_ticket(s, openid, status=status, worker=None if walk else worker, age=age, media=media,
                        **fields).no
    for to in walk:
        move_ticket(services, no, to, by=MOVED_BY, worker=assignee if to == "assigned" else None,
                    note="换了阀芯" if to == "completed" else None)
    return no


def stored(services: Services, no: str) -> Ticket:
    """The ticket as stored, with its timeline and photos loaded (usable after the session closes)."""
    with services.db.session() as s:
        t = get_ticket(s, no)
        _ = t.events, t.photos
        return t


def count_tickets(services: Services) -> int:
    with services.db.session() as s:
        return int(s.scalar(select(func.count(Ticket.id))) or 0)


def filed_ticket(services: Services, openid: str) -> Ticket:
    """The one ticket a user filed."""
    with services.db.session() as s:
        return s.scalars(select(Ticket).where(Ticket.openid == openid)).one()


def create_ticket(session: Session, new: NewTicket) -> tuple[Ticket, list[TicketPhoto]]:
    """File a ticket as the repair dialog does (models.tickets.file_ticket) and return it and its new photos
    as ORM objects, for tests and benchmarks that look at them."""
    filed = file_ticket(session, new)
    ticket = session.get_one(Ticket, filed.id)
    return ticket, [p for p in ticket.photos if p.id in filed.photo_ids]
