"""通知公告: notices published by admins, optionally about a campus or some buildings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, UTCDateTime
from models.people import now


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    campus: Mapped[str | None] = mapped_column(String(64))
    # [[campus, building], ...] the notice concerns; empty means the whole campus (or school).
    buildings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Trade groups it concerns (停水 → 给水), so a repair for them is answered with the notice first.
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
