"""通知公告: notices published by admins, optionally about a campus or some buildings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from models.clock import local, now
from models.db import Base, UTCDateTime, after_commits
from models.errors import IllegalMove
from models.text import CleanString, CleanText


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(CleanString(100))
    body: Mapped[str] = mapped_column(CleanText)
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


def current_notices(session: Session, at: datetime | None = None, limit: int = 8) -> list[Notice]:
    """List the notices in force now, newest first."""
    at = at or now()
    q = (select(Notice).where(Notice.starts_at <= at, or_(Notice.ends_at.is_(None), Notice.ends_at > at))
         .order_by(Notice.starts_at.desc(), Notice.id.desc()).limit(limit))
    return list(session.scalars(q))


def all_notices(session: Session, limit: int = 100) -> list[Notice]:
    return list(session.scalars(select(Notice).order_by(Notice.starts_at.desc(), Notice.id.desc()).limit(limit)))


def concerns(notice: Notice | NoticeFacts, campus: str, building: str) -> bool:
    """Tell whether a notice concerns a building (its campus, or the building itself)."""
    if notice.buildings:
        return [campus, building] in [list(b) for b in notice.buildings]
    return notice.campus in (None, campus)


# Bumped in Redis after every commit that changes a notice, so each process re-reads its copy.
NOTICES_VERSION_KEY = "notices:v"


@dataclass(frozen=True)
class NoticeFacts:
    """What the repair dialog needs of a notice; kept per process until a notice changes."""

    id: int
    title: str
    body: str
    campus: str | None
    buildings: tuple[tuple[str, ...], ...]
    groups: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime | None

    def live(self, at: datetime) -> bool:
        return self.starts_at <= at and (self.ends_at is None or self.ends_at > at)


def unfinished_notices(session: Session, at: datetime | None = None) -> list[NoticeFacts]:
    """List the notices that have not ended (some may start later), newest first."""
    q = (select(Notice).where(or_(Notice.ends_at.is_(None), Notice.ends_at > (at or now())))
         .order_by(Notice.starts_at.desc(), Notice.id.desc()))
    return [NoticeFacts(n.id, n.title, n.body, n.campus, tuple(tuple(b) for b in n.buildings or ()),
                        tuple(n.groups or ()), n.starts_at, n.ends_at) for n in session.scalars(q)]


# A notice that gives no end answers repairs only this long after its start: a 停水 notice someone forgot
# to end must not turn away every report of its building for ever.
OPEN_ENDED_DEFLECTS = timedelta(days=3)


def deflects(notice: NoticeFacts, at: datetime) -> bool:
    """Tell whether a notice still answers repairs: live, and if it has no end, started within 3 days."""
    return notice.live(at) and (notice.ends_at is not None or at - notice.starts_at < OPEN_ENDED_DEFLECTS)


def live_notice_for(notices: Iterable[NoticeFacts], campus: str, building: str, group: str | None,
                    at: datetime | None = None) -> NoticeFacts | None:
    """Return a notice in force about this building and trade group (e.g. 停水 for 给水), if any.

    Whether the fault is one the notice would cause (no water, not a dripping tap) is the caller's to say:
    the words of a fault are the language's, not the notice's."""
    at = at or now()
    for notice in notices:
        if deflects(notice, at) and group in notice.groups and concerns(notice, campus, building):
            return notice
    return None


def watch_notices(factory: sessionmaker[Session], on_commit: Callable[[], None]) -> None:
    """Call on_commit after every commit that added, changed or removed a notice."""
    after_commits(factory, "notices_changed", _notices_touched, lambda _: on_commit())


def _notices_touched(session: Session) -> set[str]:
    touched = any(isinstance(o, Notice) for o in (*session.new, *session.dirty, *session.deleted))
    return {"notices"} if touched else set()


def publish(session: Session, title: str, body: str, by: str, *, campus: str | None = None,
            buildings: list[list[str]] | None = None, groups: list[str] | None = None,
            starts_at: datetime | None = None, ends_at: datetime | None = None) -> Notice:
    """Publish a notice; the end must come after the start."""
    title, body = title.strip(), body.strip()
    if not title or not body:
        raise IllegalMove("a notice needs a title and a body", code="notice_empty")
    start = starts_at or now()
    if ends_at is not None and ends_at <= start:
        raise IllegalMove("a notice must end after it starts", code="notice_dates")
    notice = Notice(title=title[:100], body=body, campus=campus or None, buildings=buildings or [],
                    groups=groups or [], starts_at=start, ends_at=ends_at, created_by=by)
    session.add(notice)
    session.flush()
    return notice


def notice_audience(session: Session, notice: Notice) -> list[str]:
    """List the subscribed users whose default room is in a building the notice concerns (two columns read,
    not whole users: a school has tens of thousands)."""
    from models.people import WechatUser

    rows = session.execute(select(WechatUser.openid, WechatUser.default_place).where(
        WechatUser.subscribed.is_(True), WechatUser.default_place.is_not(None)))
    return [openid for openid, place in rows if place and place.get("building")
            and concerns(notice, str(place.get("campus")), str(place["building"]))]


def notice_payload(notice: Notice) -> dict[str, Any]:
    """The fields of a notice push (the notice template: number, title, place, start)."""
    return {"template": "notice", "fields": {
        "notice_no": f"N{notice.id}", "notice_title": notice.title, "place": notice.campus or "全校",
        "time": local(notice.starts_at).strftime("%Y-%m-%d %H:%M")}}
