"""网上咨询: complaints, suggestions, questions and praise, addressed to a department."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.db import Base, UTCDateTime
from models.people import now

KINDS = ("投诉", "建议", "咨询", "表扬")
CONSULT_STATUS_ZH = {"open": "待处理", "replied": "已回复", "closed": "已办结"}


class Consult(Base):
    __tablename__ = "consults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    no: Mapped[str] = mapped_column(String(20), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    department: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str | None] = mapped_column(Text)
    # Staff do not see the name and phone of an anonymous sender; replies still reach them.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    source_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    events: Mapped[list[ConsultEvent]] = relationship(back_populates="consult", order_by="ConsultEvent.id")


class ConsultEvent(Base):
    """A reply, a message or the closing of a consult."""

    __tablename__ = "consult_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consult_id: Mapped[int] = mapped_column(ForeignKey("consults.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # submitted | reply | message | closed
    by: Mapped[str] = mapped_column(String(96))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    consult: Mapped[Consult] = relationship(back_populates="events")
