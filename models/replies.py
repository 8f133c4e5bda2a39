"""Canned replies staff pick from, per ticket status and category (editable by admins).

A reply with no category is offered for every category's tickets; one with a category only for that
category's.  Within a status they are offered in the admins' order (position, then age).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import ColumnElement, Integer, String, func, or_, select
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


ORDER = (CannedReply.position, CannedReply.id)


def for_category(category: str | None) -> ColumnElement[bool]:
    """The replies offered for a category's tickets: its own and those for every category."""
    if category is None:
        return CannedReply.category.is_(None)
    return or_(CannedReply.category.is_(None), CannedReply.category == category)


def canned_for(session: Session, status: str, category: str | None = None) -> list[CannedReply]:
    """The replies offered for a ticket in `status` of `category` (None: the ones for every category)."""
    q = select(CannedReply).where(CannedReply.status == status, for_category(category)).order_by(*ORDER)
    return list(session.scalars(q))


def siblings(session: Session, row: CannedReply) -> list[CannedReply]:
    """The replies listed with `row` on the admin page (same status), in their order."""
    q = select(CannedReply).where(CannedReply.status == row.status).order_by(*ORDER)
    return list(session.scalars(q))


def shift(session: Session, row: CannedReply, step: int) -> bool:
    """Move a reply one place up (-1) or down (+1) among its status's replies; False at either end.

    The positions are renumbered 1..n, so replies added with equal positions get an order of their own."""
    rows = siblings(session, row)
    i = rows.index(row)
    j = i + step
    if not 0 <= j < len(rows):
        return False
    rows[i], rows[j] = rows[j], rows[i]
    for n, r in enumerate(rows, start=1):
        r.position = n
    return True


def seed_canned(session: Session, rows: Iterable[Mapping[str, object]]) -> int:
    """Add a set of replies (status, text, optional category) when there are none yet; return how many."""
    if session.scalar(select(func.count(CannedReply.id))):
        return 0
    added = [CannedReply(status=str(r["status"]), text=str(r["text"]),
                         category=str(r["category"]) if r.get("category") else None, position=n)
             for n, r in enumerate(rows, start=1)]
    session.add_all(added)
    return len(added)
