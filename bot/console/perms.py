"""Who may see and do what in the console; checked on the server for every request.

- admin: every ticket and every action, the staff accounts and the canned replies.
- dispatcher: the tickets of their categories; every staff action on them.
- worker: the tickets assigned to them; start, hold, resume, complete and reply — never accept,
  assign, reject, merge or close.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import UserMixin
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from models.people import Staff
from models.tickets import Ticket, allowed_moves

WORKER_MOVES = frozenset({"in_progress", "on_hold", "completed"})


@dataclass(frozen=True)
class StaffUser(UserMixin):
    """The logged-in staff account, as a detached snapshot (no session needed to read it)."""

    id: int
    name: str
    role: str
    categories: tuple[str, ...]
    fingerprint: str

    def get_id(self) -> str:
        # The password's fingerprint is part of the id: a new password ends the old sessions.
        return f"{self.id}.{self.fingerprint}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def manages(self) -> bool:
        """Admins and dispatchers run the queue; workers only do their own tickets."""
        return self.role in ("admin", "dispatcher")


def ticket_scope(user: StaffUser) -> ColumnElement[bool]:
    """The SQL condition selecting the tickets a user may see."""
    if user.role == "admin":
        return true()
    if user.role == "dispatcher":
        return Ticket.category.in_(user.categories) if user.categories else false()
    if user.role == "worker":
        return Ticket.worker_id == user.id
    return false()


def can_see(user: StaffUser, ticket: Ticket) -> bool:
    if user.role == "admin":
        return True
    if user.role == "dispatcher":
        return ticket.category in user.categories
    if user.role == "worker":
        return ticket.worker_id == user.id
    return False


def role_may_move(user: StaffUser, to: str) -> bool:
    """Whether the user's role may make a move to `to` at all (whatever the ticket's status)."""
    return user.manages or (user.role == "worker" and to in WORKER_MOVES)


def moves_for(user: StaffUser, ticket: Ticket) -> list[str]:
    """The moves the ticket's status allows and the user may make."""
    if not can_see(user, ticket):
        return []
    return [to for to in allowed_moves(ticket.status) if role_may_move(user, to)]


def may_merge(user: StaffUser, ticket: Ticket) -> bool:
    return user.manages and can_see(user, ticket) and "rejected" in allowed_moves(ticket.status)


def may_reply(user: StaffUser, ticket: Ticket) -> bool:
    return can_see(user, ticket)


def may_see_failed_pushes(user: StaffUser) -> bool:
    return user.manages


def workers_for(session: Session, category: str) -> list[Staff]:
    """The active workers whose categories include `category`, by name."""
    rows = session.scalars(select(Staff).where(Staff.role == "worker", Staff.active.is_(True))
                           .order_by(Staff.name))
    return [w for w in rows if category in (w.categories or [])]
