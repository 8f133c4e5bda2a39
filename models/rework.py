"""Whether a ticket is a rework (返修): sent back after 维修完成.

Two roads lead there: the reporter says 没修好 (completed → accepted by the reporter, with REWORK_NOTE on the
timeline), or an unsatisfied return visit reopens it; each counts in `tickets.reworks`.  Tickets sent back
before that counter was kept are known by the reporter's move on the timeline, so both are read here, and
the console asks only this module.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from models.tickets import Ticket, TicketEvent

REWORK_ZH = "返修"


def _sent_back_by_reporter() -> ColumnElement[bool]:
    # The reporter may move a ticket to `accepted` only from `completed` (models.tickets.TRANSITIONS).
    return exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "status",
                          TicketEvent.status == "accepted", TicketEvent.by.startswith("user:"))


def rework_condition() -> ColumnElement[bool]:
    """The SQL condition selecting the tickets that are reworks."""
    return (Ticket.reworks > 0) | _sent_back_by_reporter()


def is_rework(ticket: Ticket) -> bool:
    """The same rule for one ticket already read (its timeline is loaded if it was not)."""
    if (ticket.reworks or 0) > 0:
        return True
    return any(e.kind == "status" and e.status == "accepted" and e.by.startswith("user:") for e in ticket.events)


def rework_ids(session: Session, ids: Iterable[int]) -> set[int]:
    """Which of these tickets are reworks, in one query (for a page of the queue)."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(session.scalars(select(Ticket.id).where(Ticket.id.in_(wanted), rework_condition())))
