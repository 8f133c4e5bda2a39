"""网上咨询: complaints, suggestions, questions and praise, addressed to a department."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.clock import now
from models.db import Base, UTCDateTime
from models.errors import IllegalMove, NotFound
from models.text import CleanString, CleanText
from models.tickets import next_number

KINDS = ("投诉", "建议", "咨询", "表扬")
CONSULT_STATUS_ZH = {"open": "待处理", "replied": "已回复", "closed": "已办结"}


class Consult(Base):
    __tablename__ = "consults"
    __table_args__ = (Index("ix_consults_created_at_id", "created_at", "id"),)  # the ledger's keyset

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    no: Mapped[str] = mapped_column(String(20), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(CleanString(100))
    kind: Mapped[str] = mapped_column(String(8))
    department: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(CleanText)
    suggestion: Mapped[str | None] = mapped_column(CleanText)
    # Staff do not see the name and phone of an anonymous sender; replies still reach them.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    source_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    events: Mapped[list[ConsultEvent]] = relationship(back_populates="consult", order_by="ConsultEvent.id")

    @property
    def status_zh(self) -> str:
        return CONSULT_STATUS_ZH[self.status]


class ConsultEvent(Base):
    """A reply, a message or the closing of a consult."""

    __tablename__ = "consult_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consult_id: Mapped[int] = mapped_column(ForeignKey("consults.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # submitted | reply | message | closed
    by: Mapped[str] = mapped_column(String(96))
    note: Mapped[str | None] = mapped_column(CleanText)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    consult: Mapped[Consult] = relationship(back_populates="events")


# -- rules and queries --------------------------------------------------------------------

@dataclass(frozen=True)
class NewConsult:
    openid: str
    person_id: int | None
    title: str
    kind: str
    department: str
    description: str
    suggestion: str | None
    anonymous: bool
    source_key: str | None = None


def create_consult(session: Session, new: NewConsult) -> Consult:
    """File a consult; a repeated source_key (a WeChat retry) returns the first one."""
    if new.kind not in KINDS:
        raise IllegalMove(f"kind must be one of {', '.join(KINDS)}", code="consult_kind")
    if new.source_key:
        existing = session.scalars(select(Consult).where(Consult.source_key == new.source_key)).first()
        if existing is not None:
            return existing
    consult = Consult(no=next_number(session, series="consult", prefix="C"), openid=new.openid,
                      person_id=new.person_id, title=new.title, kind=new.kind, department=new.department,
                      description=new.description, suggestion=new.suggestion, anonymous=new.anonymous,
                      source_key=new.source_key)
    session.add(consult)
    session.flush()
    session.add(ConsultEvent(consult_id=consult.id, kind="submitted", by=f"user:{new.openid}"))
    session.flush()
    return consult


def get_consult(session: Session, no: str) -> Consult:
    consult = session.scalars(select(Consult).where(Consult.no == no.strip().upper())).first()
    if consult is None:
        raise NotFound(f"no consult numbered {no!r}", code="no_consult", no=no)
    return consult


def user_consults(session: Session, openid: str, since: datetime, until: datetime,
                  person_id: int | None = None) -> list[Consult]:
    """List a user's consults filed in [since, until), newest first: those of the card the user is bound to now
    (they follow the card to another WeChat), and those this WeChat filed with no card."""
    mine = (Consult.openid == openid) & Consult.person_id.is_(None)
    if person_id is not None:
        mine = mine | (Consult.person_id == person_id)
    q = (select(Consult).where(mine, Consult.created_at >= since, Consult.created_at < until)
         .order_by(Consult.created_at.desc(), Consult.id.desc()))
    return list(session.scalars(q))


def reply_consult(session: Session, consult: Consult, text: str, by: str) -> ConsultEvent:
    """Record a staff reply; the consult is then `replied` (unless already closed)."""
    text = text.strip()
    if not text:
        raise IllegalMove("a reply needs some text", code="reply_empty")
    if consult.status == "closed":
        raise IllegalMove(f"{consult.no} is closed", code="consult_closed", no=consult.no)
    event = ConsultEvent(consult_id=consult.id, kind="reply", by=by, note=text)
    session.add(event)
    consult.status, consult.updated_at = "replied", now()
    session.flush()
    return event


def close_consult(session: Session, consult: Consult, by: str, note: str | None = None) -> ConsultEvent:
    if consult.status == "closed":
        raise IllegalMove(f"{consult.no} is already closed", code="consult_closed", no=consult.no)
    event = ConsultEvent(consult_id=consult.id, kind="closed", by=by, note=(note or "").strip() or None)
    session.add(event)
    consult.status, consult.updated_at = "closed", now()
    session.flush()
    return event
