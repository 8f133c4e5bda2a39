"""The SLA sweep (an RQ job every SLA_SWEEP_EVERY_S, and `repairbot sla sweep` by hand): late stages recorded and
told to the category's dispatchers, told to the admins one limit later, and the timers after a completion — one
reminder to rate, then 已销单（未评价）.

The rules are in models/sla.py.  Each ticket is dealt with in a transaction of its own, and its pushes are
queued after the commit; a sweep run twice, or two at once, record and push each thing once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy.orm import Session

from core.actions import auto_closing, queue_pushes
from core.jobs import enqueue
from core.services import Services, process_services
from models.backoffice import Overdue
from models.clock import now
from models.pushes import Push, overdue_pushes, rate_remind_push
from models.register import Register
from models.sla import (
    Contact,
    Desk,
    Due,
    claim_escalation,
    claim_reminder,
    desk,
    due,
    late_candidates,
    record_overdue,
    to_close,
    to_remind,
    unescalated,
)
from models.tickets import Ticket

SLA_SWEEP = "workers.sla.sla_sweep"
SLA_SWEEP_EVERY_S = 300


@dataclass
class SlaReport:
    overdue: int = 0  # late stages recorded (each pushed to the category's dispatchers)
    escalated: int = 0  # of those, told to the admins one limit later
    reminded: int = 0  # reporters reminded to rate
    closed: int = 0  # tickets closed as 已销单（未评价）
    pushes: int = 0

    def summary(self) -> str:
        return (f"overdue recorded: {self.overdue}, escalated to admins: {self.escalated}, "
                f"rating reminders: {self.reminded}, closed unrated: {self.closed}, pushes queued: {self.pushes}")


def run_sla_sweep(svc: Services, at: datetime | None = None) -> SlaReport:
    """One pass of the sweep over every open and every completed ticket that may need it."""
    at = at or now()
    report = SlaReport()
    reg = svc.register()
    with svc.db.session() as s:
        late = late_candidates(s, reg, at)
        people = desk(s)
    for ticket_id in late:
        _late_stage(svc, reg, people, ticket_id, at, report)
    _reminders(svc, at, report)
    _auto_close(svc, at, report)
    return report


def _late_stage(svc: Services, reg: Register | None, people: Desk, ticket_id: int, at: datetime,
                report: SlaReport) -> None:
    """Record a late stage (and push the dispatchers), or escalate one recorded a limit ago (and push the admins);
    what became late more than a day ago is recorded without a push (models.sla.STALE_AFTER)."""
    with svc.db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        clock = due(ticket, reg, at) if ticket is not None else None
        if ticket is None or clock is None or not clock.late:
            return
        pushes: list[Push] = []
        row = record_overdue(s, ticket, clock, at, people)
        if row is not None:
            report.overdue += 1
            if clock.news():
                pushes += _told(svc, s, ticket, row, clock, people.of(ticket.category), "overdue")
        escalated = _escalated(s, ticket, row, clock, at) if clock.escalate else None
        if escalated is not None:
            report.escalated += 1
            if clock.news(escalation=True):
                pushes += _told(svc, s, ticket, escalated, clock, people.admins, "escalate")
    _queued(svc, pushes, report)


def _escalated(s: Session, ticket: Ticket, row: Overdue | None, clock: Due, at: datetime) -> Overdue | None:
    """The late stage's record, marked escalated now; None when it was escalated before (or by a sweep at the
    same moment)."""
    row = row or unescalated(s, ticket.id, clock.stage, clock.round)
    return row if row is not None and claim_escalation(s, row.id, at) else None


def _told(svc: Services, s: Session, ticket: Ticket, row: Overdue, clock: Due, staff: tuple[Contact, ...],
          kind: str) -> list[Push]:
    return overdue_pushes(s, ticket, row, [c.openid for c in staff], clock.limit, kind,
                          svc.config.template_id("sla_overdue"))


def _reminders(svc: Services, at: datetime, report: SlaReport) -> None:
    """One reminder to each reporter whose completed ticket is still unrated after REPAIRBOT_RATE_REMIND_AFTER."""
    with svc.db.session() as s:
        ids = to_remind(s, at, svc.config.rate_remind_after)
    for ticket_id in ids:
        with svc.db.session() as s:
            ticket = s.get(Ticket, ticket_id)
            if ticket is None or not claim_reminder(s, ticket_id, at):
                continue
            pushes = [rate_remind_push(s, ticket, svc.config.template_id("ticket_status"))]
        report.reminded += 1
        _queued(svc, pushes, report)


def _auto_close(svc: Services, at: datetime, report: SlaReport) -> None:
    """Close as 已销单（未评价） what nobody rated (nor sent back) within REPAIRBOT_AUTO_CLOSE_AFTER."""
    with svc.db.session() as s:
        ids = to_close(s, at, svc.config.auto_close_after)
    for ticket_id in ids:
        with svc.db.session() as s:
            closed, pushes = auto_closing(s, svc.config, ticket_id)
        if closed is not None:
            report.closed += 1
            _queued(svc, pushes, report)


def _queued(svc: Services, pushes: list[Push], report: SlaReport) -> None:
    queue_pushes(svc.redis, pushes, svc.config)
    report.pushes += sum(1 for p in pushes if p.status == "pending")


# -- on a schedule ----------------------------------------------------------------------------------------------

def sla_sweep() -> str:
    """The scheduled SLA sweep (an RQ job)."""
    return run_sla_sweep(process_services()).summary()


def schedule_sla_sweep(conn: redis.Redis, every_s: int = SLA_SWEEP_EVERY_S) -> bool:
    """Queue this period's SLA sweep unless a worker already did (every worker calls this as it beats)."""
    slot = int(time.time() // every_s)
    if not conn.set(f"sla:slot:{slot}", 1, nx=True, ex=2 * every_s):
        return False
    enqueue(conn, "default", SLA_SWEEP, job_id=f"sla-sweep-{slot}", fresh=True)
    return True
