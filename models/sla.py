"""The SLA rules (责任追究): which tickets are past their stage's limit, who held them then, and the records
that say so — one Overdue per ticket, stage and round, escalated to the admins once; and the timers after a
completion (one rating reminder, then 已销单（未评价）).

The clock of a stage starts when the ticket enters it (``Ticket.stage_started_at``, kept by
``models.tickets.move``) and does not run while the ticket is 暂时无法维修 (``held_s``, ``hold_started_at``).
Everything here is safe to run twice and concurrently: the unique key of ``sla_overdue`` and guarded UPDATEs
decide who records, escalates or reminds, and the caller pushes only what it recorded itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import rollup
from models.backoffice import Overdue
from models.people import Staff
from models.register import DEFAULT_SLA, DEFAULT_SLA_URGENT, Register, Sla
from models.tickets import OPEN_STATUSES, Ticket, sla_round, sla_stage

# A stage found late (or escalatable) longer ago than this is recorded, not pushed: the news is old.
STALE_AFTER = timedelta(days=1)
# What the holder of a stage is called when the category has no dispatcher account.
NO_DISPATCHER = "（无调度员）"


@dataclass(frozen=True)
class Due:
    """Where a ticket's SLA clock stands: its stage and round, the limit, and when it was (or will be) reached."""

    stage: str
    round: int
    limit: timedelta
    due_at: datetime
    spent: timedelta  # time counted against the stage so far (on-hold time left out)

    @property
    def late(self) -> bool:
        return self.spent > self.limit

    @property
    def escalate(self) -> bool:
        """Still overdue one more limit later: the admins are told."""
        return self.spent > 2 * self.limit

    def news(self, escalation: bool = False) -> bool:
        """Whether being late (or a limit later, escalated) happened recently enough to push about it: a sweep
        catching up on old tickets (the first after an upgrade, or after the workers were down for days)
        records them without a flood of stale pushes."""
        crossed = self.limit * (2 if escalation else 1)
        return self.spent - crossed <= STALE_AFTER


def limits_for(reg: Register | None, ticket: Ticket) -> Sla:
    """The limits of a ticket's category (urgent tickets have their own), the school's when it is unknown."""
    category = reg.category(ticket.category) if reg is not None else None
    if category is not None:
        return category.limits(ticket.urgent)
    school = (reg.sla, reg.sla_urgent) if reg is not None else (DEFAULT_SLA, DEFAULT_SLA_URGENT)
    return school[1] if ticket.urgent else school[0]


def held(ticket: Ticket, at: datetime) -> timedelta:
    """Time on hold in this stage, the pause going on now included."""
    pause = (at - ticket.hold_started_at) if ticket.hold_started_at is not None else timedelta(0)
    return timedelta(seconds=ticket.held_s or 0) + max(pause, timedelta(0))


def due(ticket: Ticket, reg: Register | None, at: datetime) -> Due | None:
    """Where the ticket's clock stands at `at`; None when it is in no SLA stage (finished) or has no clock."""
    stage = sla_stage(ticket.status, ticket.reworks or 0)
    if stage is None or ticket.stage_started_at is None:
        return None
    limit = limits_for(reg, ticket).limit(stage)
    paused = held(ticket, at)
    return Due(stage, sla_round(stage, ticket.reworks or 0), limit, ticket.stage_started_at + paused + limit,
               at - ticket.stage_started_at - paused)


def shortest_limit(reg: Register | None) -> timedelta:
    """No ticket is late before this: the open tickets whose stage began earlier are all that need a look."""
    if reg is None:
        return timedelta(minutes=1)
    sets = [reg.sla, reg.sla_urgent, *(s for c in reg.categories for s in (c.sla, c.sla_urgent))]
    return min(s.limit(stage) for s in sets for stage in ("accept", "assign", "complete"))


def late_candidates(session: Session, reg: Register | None, at: datetime) -> list[int]:
    """Ids of the open tickets whose stage began longer ago than the shortest limit, but for those whose lateness
    in this stage was recorded and escalated already: nothing is left to do about them (the sweep looks closer
    at the rest)."""
    done = (select(Overdue.id).where(Overdue.ticket_id == Ticket.id, Overdue.stage == _STAGE, Overdue.round == _ROUND,
                                     Overdue.escalated_at.is_not(None)).exists())
    q = (select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES), Ticket.stage_started_at <= at - shortest_limit(reg),
                                 ~done).order_by(Ticket.id))
    return list(session.scalars(q))


# ``sla_stage`` and ``sla_round`` of an open ticket, in SQL.
_WAITING_ASSIGNMENT = and_(Ticket.status == "accepted", Ticket.reworks == 0)
_STAGE = case((Ticket.status == "submitted", "accept"), (_WAITING_ASSIGNMENT, "assign"), else_="complete")
_ROUND = case((Ticket.status == "submitted", 0), (_WAITING_ASSIGNMENT, 0), else_=Ticket.reworks)


def late_now() -> ColumnElement[bool]:
    """An open ticket the sweep recorded late in the stage (and round) it is in now: what the console marks
    超时 — the same record the office holds people to account by, so the queue and the ledger agree."""
    recorded = select(Overdue.id).where(Overdue.ticket_id == Ticket.id, Overdue.stage == _STAGE,
                                        Overdue.round == _ROUND).exists()
    return and_(Ticket.status.in_(OPEN_STATUSES), recorded)


def late_by_stage(session: Session) -> dict[str, int]:
    """How many open tickets are late in the stage they are in now, by stage (the operators' gauge)."""
    rows = session.execute(select(_STAGE, func.count(Ticket.id)).where(late_now()).group_by(_STAGE))
    return {str(stage): int(n) for stage, n in rows}


def late_stages(session: Session, ticket_ids: list[int]) -> dict[int, str]:
    """The stage each of these tickets is late in now (those that are), in one read."""
    if not ticket_ids:
        return {}
    rows = session.execute(select(Ticket.id, _STAGE).where(Ticket.id.in_(ticket_ids), late_now()))
    return {ticket_id: stage for ticket_id, stage in rows}


@dataclass(frozen=True)
class Contact:
    """A staff member as the sweep needs them: who they are, where a push reaches them, what they answer for."""

    id: int
    name: str
    openid: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Desk:
    """The active dispatchers and admins, read once per sweep (the staff table is small, the sweep's tickets many).
    Dispatchers hold a ticket until it is assigned and hear of every delay in their categories; admins hear
    of a delay one limit later."""

    dispatchers: tuple[Contact, ...]
    admins: tuple[Contact, ...]

    def of(self, category: str) -> tuple[Contact, ...]:
        return tuple(d for d in self.dispatchers if category in d.categories)


def desk(session: Session) -> Desk:
    rows = session.scalars(select(Staff).where(Staff.active.is_(True), Staff.role.in_(("dispatcher", "admin")))
                           .order_by(Staff.id))
    people = [(s.role, Contact(s.id, s.name, s.openid, tuple(s.categories or ()))) for s in rows]
    return Desk(tuple(c for role, c in people if role == "dispatcher"),
                tuple(c for role, c in people if role == "admin"))


def holder(ticket: Ticket, stage: str, people: Desk) -> tuple[str, int | None]:
    """Who held the ticket in this stage (the accountability record): its worker for the completion stage,
    else the category's dispatchers (by id when there is only one)."""
    if stage == "complete" and ticket.worker is not None:
        return ticket.worker.name, ticket.worker.id
    mine = people.of(ticket.category)
    names = "、".join(p.name for p in mine) or NO_DISPATCHER
    return names[:200], mine[0].id if len(mine) == 1 else None


def record_overdue(session: Session, ticket: Ticket, late: Due, at: datetime, people: Desk) -> Overdue | None:
    """Record that the ticket is past its stage's limit; None when this stage and round were recorded before
    (by an earlier sweep, or by one running at the same moment)."""
    known = session.scalar(select(Overdue.id).where(Overdue.ticket_id == ticket.id, Overdue.stage == late.stage,
                                                    Overdue.round == late.round))
    if known is not None:
        return None
    name, holder_id = holder(ticket, late.stage, people)
    row = Overdue(ticket_id=ticket.id, stage=late.stage, round=late.round, due_at=late.due_at, at=at,
                  holder=name, holder_id=holder_id, category=ticket.category)
    earlier = set(session.scalars(select(Overdue.stage).where(Overdue.ticket_id == ticket.id)))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    if late.stage not in earlier:  # the figures count tickets late at a stage, not rounds
        rollup.overdue(session.connection(), rollup.Facts.of(ticket), late.stage, first_of_ticket=not earlier)
    return row


def unescalated(session: Session, ticket_id: int, stage: str, round_: int) -> Overdue | None:
    """The ticket's overdue record of this stage and round, if the admins have not been told of it."""
    return session.scalars(select(Overdue).where(Overdue.ticket_id == ticket_id, Overdue.stage == stage,
                                                 Overdue.round == round_, Overdue.escalated_at.is_(None))).first()


def claim_escalation(session: Session, overdue_id: int, at: datetime) -> bool:
    """Mark an overdue record escalated; False when another sweep did it first."""
    result = session.execute(update(Overdue).where(Overdue.id == overdue_id, Overdue.escalated_at.is_(None))
                             .values(escalated_at=at).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


# -- after a completion: one reminder to rate, then closed unrated ----------------------------------------

def to_remind(session: Session, at: datetime, after: timedelta) -> list[int]:
    """Completed tickets unrated for `after` whose reporter was not reminded yet."""
    return list(session.scalars(select(Ticket.id).where(
        Ticket.status == "completed", Ticket.completed_at <= at - after, Ticket.rating_reminded_at.is_(None))
        .order_by(Ticket.id)))


def claim_reminder(session: Session, ticket_id: int, at: datetime) -> bool:
    """Note the reminder as sent; False when the ticket moved on or another sweep reminded first."""
    result = session.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.status == "completed",
                                                  Ticket.rating_reminded_at.is_(None))
                             .values(rating_reminded_at=at).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


def to_close(session: Session, at: datetime, after: timedelta) -> list[int]:
    """Completed tickets nobody rated (nor sent back) for `after`: closed as 已销单（未评价）."""
    return list(session.scalars(select(Ticket.id).where(Ticket.status == "completed",
                                                        Ticket.completed_at <= at - after).order_by(Ticket.id)))
