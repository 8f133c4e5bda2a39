"""Canned replies staff pick from, per ticket status (editable by admins)."""

from __future__ import annotations

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base
from models.text import CleanText


class CannedReply(Base):
    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # None: for every category; else for that category's tickets only.
    category: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(CleanText)
    position: Mapped[int] = mapped_column(Integer, default=0)


def canned_for(session: Session, status: str) -> list[CannedReply]:
    q = select(CannedReply).where(CannedReply.status == status).order_by(CannedReply.position, CannedReply.id)
    return list(session.scalars(q))
