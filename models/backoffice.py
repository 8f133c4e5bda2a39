"""The office's records about tickets (台账): overdue stages with who held them (责任追究), phone return
visits (服务回访) and follow-up tasks after a poor rating.  Kept apart from the ticket rules so that the
ledger, the statistics and the SLA sweep share one definition of each record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.clock import now
from models.db import Base, UTCDateTime
from models.text import CleanText

# SLA stages, in the order a ticket passes them, and how people read them.
STAGES = ("accept", "assign", "complete")
STAGE_ZH = {"accept": "受理", "assign": "指派", "complete": "完成"}

# Outcomes of a phone return visit (服务回访).
VISIT_OUTCOMES = ("satisfied", "fair", "unsatisfied", "unreached")
VISIT_ZH = {"satisfied": "满意", "fair": "基本满意", "unsatisfied": "不满意", "unreached": "未接通"}


class Overdue(Base):
    """A ticket past a stage's limit: recorded once per ticket, stage and round (a rework is a new round of
    the completion stage), naming who held the ticket then; escalated to the admins once."""

    __tablename__ = "sla_overdue"
    __table_args__ = (UniqueConstraint("ticket_id", "stage", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    holder: Mapped[str] = mapped_column(String(200))
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(String(64))


class ReturnVisit(Base):
    """A phone return visit recorded by staff from the ticket page."""

    __tablename__ = "return_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(CleanText)
    by: Mapped[str] = mapped_column(String(96))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class FollowUp(Base):
    """A task for the dispatcher (after a 1–2 star rating): open in the queue until someone records what
    was done."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    done_by: Mapped[str | None] = mapped_column(String(96))
    note: Mapped[str | None] = mapped_column(CleanText)
