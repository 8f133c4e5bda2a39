"""Who may see and do what in the console; checked on the server for every request.

- admin: every ticket and every action, the staff accounts and the canned replies.
- dispatcher: the tickets of their categories; every staff action on them.
- worker: the tickets assigned to them; start, hold, resume, complete and reply — never accept,
  assign, reject, merge or close.
- 网上咨询 and 通知公告: see the section at the end (consults by `Staff.departments`; notices for admins).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import UserMixin
from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from models.consult import Consult
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
    session_key: str  # the account's session version and password fingerprint (bot.console.auth.session_key)

    def get_id(self) -> str:
        # Checked against the account on every request: a logout or a new password ends the old sessions.
        return f"{self.id}.{self.session_key}"

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


def may_downgrade(user: StaffUser, ticket: Ticket) -> bool:
    """A dispatcher (or admin) who sees an urgent ticket may make it normal: a false alarm."""
    return user.manages and can_see(user, ticket) and ticket.urgent


def may_reply(user: StaffUser, ticket: Ticket) -> bool:
    return can_see(user, ticket)


def may_see_failed_pushes(user: StaffUser) -> bool:
    return user.manages


def workers_for(session: Session, category: str) -> list[Staff]:
    """The active workers whose categories include `category`, by name."""
    rows = session.scalars(select(Staff).where(Staff.role == "worker", Staff.active.is_(True))
                           .order_by(Staff.name))
    return [w for w in rows if category in (w.categories or [])]


# -- 网上咨询 and 通知公告 -------------------------------------------------------------------------
#
# - admin: every consult (complaint, suggestion, question, praise), and the notices.
# - any other account: the consults addressed to the departments in its `Staff.departments` (none when
#   it has none); it may reply to them and close them (办结).  Notices are for admins only.
#
# The departments are read from the database on each request (not from the login snapshot), so an
# admin's change takes effect at once.

def consult_departments(session: Session, user: StaffUser) -> tuple[str, ...] | None:
    """The departments whose consults the user may see; None means all of them (an admin)."""
    if user.is_admin:
        return None
    staff = session.get(Staff, user.id)
    if staff is None or not staff.active:
        return ()
    return tuple(staff.departments or ())


def consult_scope(departments: tuple[str, ...] | None) -> ColumnElement[bool]:
    """The SQL condition selecting the consults of these departments (None: all)."""
    if departments is None:
        return true()
    return Consult.department.in_(departments) if departments else false()


def can_see_consult(departments: tuple[str, ...] | None, consult: Consult) -> bool:
    return departments is None or consult.department in departments


def may_manage_notices(user: StaffUser) -> bool:
    return user.is_admin
