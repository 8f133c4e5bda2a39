"""Tickets, their timeline, and the status rules: the only place a status changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    union,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import rollup
from models.clock import local as local_time
from models.clock import now
from models.db import Base, UTCDateTime
from models.errors import IllegalMove, NotFound, RepairbotError
from models.people import Staff
from models.register import describe_place
from models.text import CleanString, CleanText

STATUS_ZH = {
    "submitted": "提交维修单",
    "accepted": "维修单受理",
    "assigned": "指派维修",
    "in_progress": "维修中",
    "on_hold": "暂时无法维修",
    "completed": "维修完成",
    "closed": "已销单",
    "rejected": "已驳回",
    "cancelled": "已撤销",
}
# The same in at most 5 characters: a template's phrase field shows no more (WeChat cuts the rest).
STATUS_PHRASE = {**STATUS_ZH, "on_hold": "暂缓维修"}
assert all(len(v) <= 5 for v in STATUS_PHRASE.values()), "a status phrase is longer than WeChat shows"
# Times are stored in UTC; people read them, and ticket numbers count days, on China's clock.
OPEN_STATUSES = ("submitted", "accepted", "assigned", "in_progress", "on_hold")
OPEN_SQL = "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN_STATUSES))  # the open tickets' partial index

# Who may move a ticket from which status to which.  "staff" covers the console and the shell;
# "reporter" is the user who filed it.
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "submitted": {"accepted": frozenset({"staff"}), "rejected": frozenset({"staff"}),
                  "cancelled": frozenset({"reporter"})},
    "accepted": {"assigned": frozenset({"staff"}), "in_progress": frozenset({"staff"}),
                 "on_hold": frozenset({"staff"}), "completed": frozenset({"staff"}),
                 "rejected": frozenset({"staff"})},
    "assigned": {"assigned": frozenset({"staff"}), "in_progress": frozenset({"staff"}),
                 "on_hold": frozenset({"staff"}), "completed": frozenset({"staff"}),
                 "accepted": frozenset({"staff"})},
    "in_progress": {"on_hold": frozenset({"staff"}), "completed": frozenset({"staff"})},
    "on_hold": {"in_progress": frozenset({"staff"}), "assigned": frozenset({"staff"}),
                "rejected": frozenset({"staff"})},
    "completed": {"closed": frozenset({"staff", "reporter"}), "accepted": frozenset({"reporter", "staff"})},
    "closed": {},
    "rejected": {},
    "cancelled": {},
}
REASON_REQUIRED = frozenset({"on_hold", "rejected"})
# Status changes the reporter hears about as a push (a cancel is their own doing).
NOTIFY = frozenset({"accepted", "assigned", "in_progress", "on_hold", "completed", "closed", "rejected"})


# A ticket's priority: an emergency (电梯困人, 冒烟 …, the lexicon's `emergencies`) is filed urgent and
# heads the console's queue; staff may downgrade a false alarm to normal (recorded on the timeline).
NORMAL, URGENT = "normal", "urgent"
PRIORITIES = (NORMAL, URGENT)
PRIORITY_ZH = {NORMAL: "普通", URGENT: "紧急"}
DOWNGRADE_NOTE = "紧急改为普通"


# How the reporter's words are kept on the timeline when they send a completed ticket back.
REWORK_NOTE = "还没修好：{text}"
# A ticket merged into another is `rejected` in the rules, but people read 已合并: nothing of theirs was refused.
MERGED_ZH = "已合并"

# Why a ticket was closed (Ticket.close_reason): the reporter rated it, nobody rated it in time (the sweep),
# staff closed it (销单), or a satisfied phone return visit did.
CLOSED_RATED, CLOSED_UNRATED, CLOSED_STAFF, CLOSED_VISIT = "rated", "unrated", "staff", "visit"
UNRATED_NOTE = "已销单（未评价）"


def sla_stage(status: str, reworks: int = 0) -> str | None:
    """The SLA stage a ticket in this status is in (models.backoffice.STAGES), None when its clock has stopped:
    waiting to be accepted, to be assigned, or to be completed.  A reworked ticket back at `accepted` is in a
    new completion stage for the same worker (round = reworks), not waiting for an assignment again."""
    if status == "submitted":
        return "accept"
    if status == "accepted":
        return "complete" if reworks else "assign"
    if status in ("assigned", "in_progress", "on_hold"):
        return "complete"
    return None


def sla_round(stage: str | None, reworks: int) -> int:
    """Which round of a stage: a rework is a new round of the completion stage only."""
    return reworks if stage == "complete" else 0


def fault_of(group: str, item: str | None) -> str:
    """Name a fault as people read it: 给水/水龙头, or just the group."""
    return f"{group}/{item}" if item else group


class Ticket(Base):
    __tablename__ = "tickets"
    # For a million tickets (migration 0010; the plans are in tests/benchmarks/README.md): a user's list,
    # the duplicate check over open tickets only, a worker's tickets.  PostgreSQL also has the search index.
    __table_args__ = (
        Index("ix_tickets_openid_created_at", "openid", "created_at"),
        # The card's tickets (they follow the card), newest first (migration 0012).
        Index("ix_tickets_person_created_at", "person_id", "created_at"),
        Index("ix_tickets_open_place", "building", "group", "created_at",
              postgresql_where=text(OPEN_SQL), sqlite_where=text(OPEN_SQL)),
        Index("ix_tickets_worker_id", "worker_id"),
        # The ledger pages newest first by keyset on (created_at, id) (migration 0009).
        Index("ix_tickets_created_at_id", "created_at", "id"),
        # A hot-spot repeat is asked at filing by place and fault group (migration 0011).
        Index("ix_tickets_place_group", "campus", "building", "floor", "group", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    no: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    category: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(32))
    item: Mapped[str | None] = mapped_column(String(32))
    campus: Mapped[str] = mapped_column(String(64))
    building: Mapped[str] = mapped_column(String(64))
    floor: Mapped[str | None] = mapped_column(CleanString(8))
    room: Mapped[str | None] = mapped_column(CleanString(16))
    place_note: Mapped[str | None] = mapped_column(CleanString(200))
    description: Mapped[str] = mapped_column(CleanText)
    phone: Mapped[str] = mapped_column(String(20))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The reporter's rating after completion (1-5 stars; a comment is required for 1-2).
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(CleanText)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when staff merged this ticket into another: the reporter follows that one.
    merged_into: Mapped[str | None] = mapped_column(String(20))
    # normal | urgent (an emergency in the reporter's words; staff may downgrade it)
    priority: Mapped[str] = mapped_column(String(8), default=NORMAL, server_default=NORMAL)
    # The WeChat message that confirmed it, so a retried confirmation cannot file twice.
    source_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # The office half (台账, 服务回访, 销单, 责任追究): each stage's first time, kept on the row so the ledger
    # and the statistics read one table at a million tickets.  The events stay the full story.
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[str | None] = mapped_column(String(96))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(16))  # rated | unrated | staff | visit
    # The SLA clock of the stage the ticket is in: when it started, and the seconds spent on hold since
    # (暂时无法维修 with a reason does not count against the worker); a rework starts a new completion stage.
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    hold_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reworks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")
    photos: Mapped[list[TicketPhoto]] = relationship(back_populates="ticket", order_by="TicketPhoto.id")
    worker: Mapped[Staff | None] = relationship(lazy="joined")

    @property
    def status_zh(self) -> str:
        return self.status_words(self.status)

    def status_words(self, status: str) -> str:
        """A status of this ticket (its own, or one on its timeline) in Chinese: 已合并 for its merge."""
        return MERGED_ZH if status == "rejected" and self.merged_into else STATUS_ZH[status]

    @property
    def place(self) -> str:
        return describe_place(self.campus, self.building, self.floor, self.room, self.place_note)

    @property
    def fault(self) -> str:
        return fault_of(self.group, self.item)

    @property
    def urgent(self) -> bool:
        return self.priority == URGENT

    @property
    def priority_zh(self) -> str:
        return PRIORITY_ZH.get(self.priority, self.priority)

    def to_json(self) -> dict[str, Any]:
        return {
            "no": self.no, "status": self.status, "category": self.category, "group": self.group,
            "item": self.item, "campus": self.campus, "building": self.building, "floor": self.floor,
            "room": self.room, "place_note": self.place_note, "description": self.description,
            "phone": self.phone, "photos": [p.path for p in self.photos if p.path],
            "openid": self.openid, "worker": self.worker.name if self.worker else None, "priority": self.priority,
            "created_at": self.created_at.isoformat(),
            "events": [e.to_json() for e in self.events],
        }


class TicketEvent(Base):
    """One line of a ticket's timeline: a status change or a message."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="status")  # status | message
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    by: Mapped[str] = mapped_column(String(96))
    note: Mapped[str | None] = mapped_column(CleanText)
    # Where a reporter's message came from (the WeChat message, or the page's form), so a replay adds nothing.
    source_key: Mapped[str | None] = mapped_column(String(96), unique=True)

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "at": self.at.isoformat(),
                "by": self.by, "note": self.note}


class TicketPhoto(Base):
    """A photo sent by the reporter; its file is fetched from WeChat by a job.

    Up to PHOTOS_PER_MESSAGE come with the report; one sent later belongs to a message of the timeline (its
    event), which carries up to as many again."""

    __tablename__ = "ticket_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"), index=True)
    # The WeChat message that sent it after filing, so a replay adds nothing.
    source_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    media_id: Mapped[str] = mapped_column(String(128))
    pic_url: Mapped[str | None] = mapped_column(String(512))
    path: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | saved | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255))

    ticket: Mapped[Ticket] = relationship(back_populates="photos")


class TicketFollower(Base):
    """A user who chose to follow an existing ticket instead of filing a duplicate."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "openid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Counter(Base):
    """Named counters, used for the per-day ticket sequence."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# The tables themselves, for the plain statements of the busiest paths.
TICKETS = cast(Table, Ticket.__table__)
EVENTS = cast(Table, TicketEvent.__table__)
PHOTOS = cast(Table, TicketPhoto.__table__)


# -- creating -----------------------------------------------------------------

@dataclass(frozen=True)
class NewTicket:
    openid: str
    person_id: int | None
    category: str
    group: str
    item: str | None
    campus: str
    building: str
    floor: str | None
    room: str | None
    place_note: str | None
    description: str
    phone: str
    media_ids: tuple[tuple[str, str | None], ...] = ()
    source_key: str | None = None
    priority: str = NORMAL
    note: str | None = None  # on the first event of the timeline (an emergency's kind: 「紧急：电梯困人」)


COUNTERS = cast(Table, Counter.__table__)
# Built once: building a statement costs more CPU than running it.
_BUMP = (update(COUNTERS).where(COUNTERS.c.name == bindparam("counter")).values(value=COUNTERS.c.value + 1)
         .returning(COUNTERS.c.value))
_START = insert(COUNTERS).values(name=bindparam("counter"), value=1)
_BY_SOURCE = select(TICKETS.c.id, TICKETS.c.no, TICKETS.c.category).where(TICKETS.c.source_key == bindparam("key"))
_INSERT_TICKET = insert(TICKETS).returning(TICKETS.c.id)
_INSERT_EVENT = insert(EVENTS)
_INSERT_PHOTO = insert(PHOTOS).returning(PHOTOS.c.id)


def next_number(session: Session, at: datetime | None = None, series: str = "ticket", prefix: str = "R") -> str:
    """Return the next human-friendly number of a series for the day, e.g. R261127003."""
    day = local_time(at or now()).strftime("%y%m%d")
    name = f"{series}:{day}"
    conn = session.connection()
    for _ in range(5):
        value = conn.execute(_BUMP, {"counter": name}).scalar()
        if value is not None:
            break
        try:
            # The connection's own savepoint: the session's is begun lazily, on the session's next statement, so
            # a duplicate here (another filing created the day's counter first) would abort the transaction.
            with conn.begin_nested():
                conn.execute(_START, {"counter": name})
            value = 1
            break
        except IntegrityError:
            continue
    else:
        raise RepairbotError(f"counter {name} could be neither bumped nor created")
    return f"{prefix}{day}{value:03d}"


@dataclass(frozen=True)
class Filed:
    """What filing a ticket gives back: enough to answer the user and queue its photos."""

    id: int
    no: str
    category: str
    photo_ids: tuple[int, ...]
    repeated: bool = False  # the same source_key had filed it already


def file_ticket(session: Session, new: NewTicket) -> Filed:
    """File a ticket with its first event and photos, in the session's transaction.

    Plain statements rather than the ORM's unit of work: filing is the busiest write of the webhook,
    and this way costs a quarter of the CPU.  A repeated source_key returns the first ticket.
    """
    conn = session.connection()
    if new.source_key:
        row = conn.execute(_BY_SOURCE, {"key": new.source_key}).first()
        if row is not None:
            return Filed(row.id, row.no, row.category, (), repeated=True)
    no = next_number(session)
    at = now()
    ticket_id = conn.execute(_INSERT_TICKET, {
        "no": no, "openid": new.openid, "person_id": new.person_id, "category": new.category,
        "group": new.group, "item": new.item, "campus": new.campus, "building": new.building,
        "floor": new.floor, "room": new.room, "place_note": new.place_note, "description": new.description,
        "phone": new.phone, "source_key": new.source_key, "priority": new.priority,
        "created_at": at, "updated_at": at, "stage_started_at": at,  # the clock of the accept stage starts
    }).scalar_one()
    conn.execute(_INSERT_EVENT, {"ticket_id": ticket_id, "status": "submitted", "by": f"user:{new.openid}",
                                 "note": new.note, "at": at})
    photo_ids = tuple(conn.execute(_INSERT_PHOTO, {"ticket_id": ticket_id, "media_id": m, "pic_url": u}).scalar_one()
                      for m, u in new.media_ids)
    facts = rollup.Facts(new.category, new.group, new.campus, new.building, new.floor, "submitted", at)
    rollup.changed(conn, None, facts, repeat=came_back(conn, facts, ticket_id))
    return Filed(ticket_id, no, new.category, photo_ids)


def came_back(conn: Connection, f: rollup.Facts, ticket_id: int) -> bool:
    """Whether a ticket of the same fault group was filed at the same building and floor within the hot-spot
    window before this one (rollup.HOT_WINDOW_DAYS)."""
    since = f.created_at - timedelta(days=rollup.HOT_WINDOW_DAYS)
    return conn.execute(_CAME_BACK[bool(f.floor)], {
        "campus": f.campus, "building": f.building, "floor": f.floor, "group": f.group, "since": since,
        "at": f.created_at, "id": ticket_id}).first() is not None


def _came_back_query(with_floor: bool) -> Select[Any]:
    t = TICKETS.c
    floor = t.floor == bindparam("floor") if with_floor else or_(t.floor.is_(None), t.floor == "")
    return select(t.id).where(t.campus == bindparam("campus"), t.building == bindparam("building"), floor,
                              t.group == bindparam("group"), t.created_at >= bindparam("since"),
                              t.created_at <= bindparam("at"), t.id != bindparam("id")).limit(1)


_CAME_BACK = {True: _came_back_query(True), False: _came_back_query(False)}


# -- reading --------------------------------------------------------------------

def get_ticket(session: Session, no: str) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.no == no.strip().upper())).first()
    if ticket is None:
        raise NotFound(f"no ticket numbered {no!r}", code="no_ticket", no=no)
    return ticket


def list_tickets(session: Session, status: str | None = None, openid: str | None = None,
                 limit: int = 100) -> list[Ticket]:
    """List tickets, newest first."""
    q = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    if status:
        q = q.where(Ticket.status == status)
    if openid:
        q = q.where(Ticket.openid == openid)
    return list(session.scalars(q))


def count_tickets(session: Session, status: str | None = None, openid: str | None = None) -> int:
    q = select(func.count(Ticket.id))
    if status:
        q = q.where(Ticket.status == status)
    if openid:
        q = q.where(Ticket.openid == openid)
    return int(session.scalar(q) or 0)


def filed_by(openid: str, person_id: int | None) -> ColumnElement[bool]:
    """The tickets of the card a WeChat user is bound to now, and those it filed with no card.

    A ticket filed while bound to a card is the card's (报修记录跟着校园卡走): after 解除绑定 the list no
    longer shows it, binding the card again shows it again, and a card bound on another WeChat (a new
    phone) shows it there.  A ticket filed with no card is the openid's alone.
    """
    own: ColumnElement[bool] = (Ticket.openid == openid) & Ticket.person_id.is_(None)
    return own | (Ticket.person_id == person_id) if person_id is not None else own


def is_filed_by(ticket: Ticket, openid: str, person_id: int | None) -> bool:
    """The same rule as ``filed_by``, for one ticket already read."""
    if ticket.person_id is None:
        return ticket.openid == openid
    return ticket.person_id == person_id


def user_tickets(session: Session, openid: str, person_id: int | None = None, limit: int = 9) -> list[Ticket]:
    """List a user's own tickets (``filed_by``) and, while bound, those they follow, newest first.

    Each kind (filed with no card by this WeChat, the card's — ``filed_by`` — and followed) is read apart,
    newest first off its own index, and merged: one condition with an OR made PostgreSQL walk every ticket's
    date backwards (half a second at a million tickets)."""
    recent = (Ticket.created_at.desc(), Ticket.id.desc())

    def newest(q: Select[Any]) -> Select[Any]:
        return select(q.order_by(*recent).limit(limit).subquery().c.id)

    parts = [newest(select(Ticket.id).where(Ticket.openid == openid, Ticket.person_id.is_(None)))]
    if person_id is not None:
        parts.append(newest(select(Ticket.id).where(Ticket.person_id == person_id)))
        parts.append(newest(select(Ticket.id).join(TicketFollower, TicketFollower.ticket_id == Ticket.id)
                            .where(TicketFollower.openid == openid)))
    ids = select(union(*parts).subquery().c.id)
    q = select(Ticket).where(Ticket.id.in_(ids)).order_by(*recent).limit(limit)
    return list(session.scalars(q))


@dataclass(frozen=True)
class Duplicate:
    """An open ticket that a new report at the same place may be about."""

    no: str
    place: str
    fault: str
    status_zh: str

    @classmethod
    def of(cls, ticket: Ticket) -> Duplicate:
        return cls(ticket.no, ticket.place, ticket.fault, ticket.status_zh)

    def to_dict(self) -> dict[str, str]:
        return {"no": self.no, "place": self.place, "fault": self.fault, "status_zh": self.status_zh}


def _duplicate_query(with_floor: bool) -> Select[Any]:
    t = TICKETS.c
    q = (select(t.no, t.status, t.campus, t.building, t.floor, t.room, t.place_note, t.group, t.item)
         .where(t.campus == bindparam("campus"), t.building == bindparam("building"), t.group == bindparam("group"),
                t.status.in_(OPEN_STATUSES), t.created_at >= bindparam("since"))
         .order_by(t.created_at.desc()).limit(1))
    return q.where(t.floor == bindparam("floor")) if with_floor else q


_DUPLICATE = {True: _duplicate_query(True), False: _duplicate_query(False)}


def find_duplicate(conn: Connection, campus: str, building: str, floor: str | None, group: str,
                   hours: int = 48) -> Duplicate | None:
    """Return the newest open ticket for the same building, floor and group from the last hours."""
    row = conn.execute(_DUPLICATE[bool(floor)], {
        "campus": campus, "building": building, "group": group, "floor": floor,
        "since": now() - timedelta(hours=hours)}).first()
    if row is None:
        return None
    return Duplicate(row.no, describe_place(row.campus, row.building, row.floor, row.room, row.place_note),
                     fault_of(row.group, row.item), STATUS_ZH[row.status])


def follow(session: Session, ticket: Ticket, openid: str) -> bool:
    """Make a user follow a ticket; return False when they already do or filed it."""
    if ticket.openid == openid:
        return False
    exists = session.scalars(select(TicketFollower).where(
        TicketFollower.ticket_id == ticket.id, TicketFollower.openid == openid)).first()
    if exists:
        return False
    session.add(TicketFollower(ticket_id=ticket.id, openid=openid))
    session.flush()
    return True


def followers(session: Session, ticket: Ticket) -> list[str]:
    return list(session.scalars(select(TicketFollower.openid).where(TicketFollower.ticket_id == ticket.id)))


# -- moving -------------------------------------------------------------------------

def allowed_moves(status: str, role: str = "staff") -> list[str]:
    return [to for to, who in TRANSITIONS.get(status, {}).items() if role in who]


def move(session: Session, ticket: Ticket, to: str, *, by: str, role: str = "staff",
         note: str | None = None, worker: Staff | None = None, close_reason: str | None = None) -> TicketEvent:
    """Move a ticket to a new status, or raise IllegalMove saying why not; keep its stage times (a rework:
    completed → accepted; ``close_reason`` when closing, else rated by the reporter or closed by staff)."""
    if to not in STATUS_ZH:
        raise IllegalMove(f"unknown status {to!r}; statuses: {', '.join(STATUS_ZH)}", code="unknown_status", to=to)
    who = TRANSITIONS.get(ticket.status, {}).get(to)
    if who is None:
        finished = not TRANSITIONS.get(ticket.status)
        allowed = allowed_moves(ticket.status, role) or [
            "(none: the ticket is finished)" if finished else f"(none that a {role} may make)"]
        raise IllegalMove(f"ticket {ticket.no} is {ticket.status}; it can move to: {', '.join(allowed)}",
                          code="not_from_here", no=ticket.no, status=ticket.status, to=to)
    if role not in who:
        raise IllegalMove(f"a {role} may not move ticket {ticket.no} from {ticket.status} to {to}",
                          code="not_for_role", no=ticket.no, status=ticket.status, to=to)
    note = (note or "").strip() or None
    if to in REASON_REQUIRED and not note:
        raise IllegalMove(f"moving ticket {ticket.no} to {to} needs a reason (--note)", code="reason_needed",
                          no=ticket.no, to=to)
    before = rollup.Facts.of(ticket)
    if to == "assigned":
        if worker is None:
            raise IllegalMove(f"assigning ticket {ticket.no} needs a worker (--worker)", code="worker_needed",
                              no=ticket.no)
        if worker.role != "worker":
            raise IllegalMove(f"{worker.name} is not a worker", code="not_a_worker", name=worker.name)
        if worker.categories and ticket.category not in worker.categories:
            raise IllegalMove(f"{worker.name} does not work for {ticket.category}", code="wrong_category",
                              name=worker.name, category=ticket.category)
        ticket.worker_id = worker.id
        ticket.worker = worker
    at = now()
    times = stage_times(ticket, to, at, by, close_reason or (CLOSED_RATED if role == "reporter" else CLOSED_STAFF))
    # Guard against a concurrent move: only the status we read may be replaced.
    result = session.execute(update(Ticket).where(Ticket.id == ticket.id, Ticket.status == ticket.status)
                             .values(status=to, updated_at=at, worker_id=ticket.worker_id, **times))
    if not getattr(result, "rowcount", 1):
        raise IllegalMove(f"ticket {ticket.no} was changed by someone else; look again", code="changed", no=ticket.no)
    ticket.status = to
    for name, value in times.items():
        setattr(ticket, name, value)
    rollup.changed(session.connection(), before, rollup.Facts.of(ticket))
    event = TicketEvent(ticket_id=ticket.id, kind="status", status=to, by=by, note=note)
    session.add(event)
    session.flush()
    return event


def stage_times(ticket: Ticket, to: str, at: datetime, by: str, close_reason: str) -> dict[str, Any]:
    """The stage columns a move from the ticket's status to `to` changes (the first acceptance and assignment,
    the latest completion, the close; the SLA clock of the stage, paused on hold)."""
    values: dict[str, Any] = {}
    reworks = ticket.reworks or 0
    if ticket.status == "completed" and to == "accepted":
        reworks = values["reworks"] = reworks + 1
        values["completed_at"] = values["rating_reminded_at"] = None
    if to == "accepted" and ticket.accepted_at is None:
        values["accepted_at"], values["accepted_by"] = at, by[:96]
    if to == "assigned" and ticket.assigned_at is None:
        values["assigned_at"] = at
    if to == "completed":
        values["completed_at"] = at
    if to == "closed":
        values["closed_at"], values["close_reason"] = at, close_reason
    values.update(_clock(ticket, to, reworks, at))
    return values


def _clock(ticket: Ticket, to: str, reworks: int, at: datetime) -> dict[str, Any]:
    """The SLA clock: a new stage (or round) starts it again; 暂时无法维修 pauses it (held_s counts the pause)."""
    values: dict[str, Any] = {}
    held = ticket.held_s or 0
    if ticket.status == "on_hold" and ticket.hold_started_at is not None:
        held += max(0, int((at - ticket.hold_started_at).total_seconds()))
        values["held_s"], values["hold_started_at"] = held, None
    before = sla_stage(ticket.status, ticket.reworks or 0)
    after = sla_stage(to, reworks)
    if after is not None and (after, sla_round(after, reworks)) != (before, sla_round(before, ticket.reworks or 0)):
        values["stage_started_at"], values["held_s"], values["hold_started_at"] = at, 0, None
    if to == "on_hold":
        values["hold_started_at"] = at
    return values


def add_message(session: Session, ticket: Ticket, text: str, by: str, *,
                source_key: str | None = None) -> TicketEvent:
    """Add a message to a ticket's timeline without changing its status.

    With a source_key (the WeChat message, a page's form) the message is added once: a replay of the same
    source returns the message it added, even one racing the first.
    """
    event = TicketEvent(ticket_id=ticket.id, kind="message", status=ticket.status, by=by, note=text,
                        source_key=source_key or None)
    if source_key:
        known = _message_from(session, source_key) or _add_once(session, event)
        if known is not event:
            return known
    else:
        session.add(event)
    ticket.updated_at = now()
    session.flush()
    return event


# WeChat sends an album's pictures one message each: a report, and each later message, keeps this many.
PHOTOS_PER_MESSAGE = 3


@dataclass(frozen=True)
class AddedPhoto:
    """What adding a photo after filing did: the message it belongs to and how many it has now; ``photo_id``
    is None when that message had PHOTOS_PER_MESSAGE already, ``new`` False when the source had added it."""

    photo_id: int | None
    message_id: int
    count: int
    new: bool = True


def add_photo(session: Session, ticket: Ticket, media_id: str, pic_url: str | None, *, by: str, note: str,
              message_id: int | None = None, source_key: str | None = None) -> AddedPhoto:
    """Add a photo sent after filing to a reporter's message: to ``message_id`` (the album it is part of) when
    that is a message of this ticket, else to a new message saying ``note``.  Once per source_key."""
    if source_key:
        known = session.scalars(select(TicketPhoto).where(TicketPhoto.source_key == source_key)).first()
        if known is not None and known.event_id is not None:
            return AddedPhoto(known.id, known.event_id, _photos_of(session, known.event_id), new=False)
    event = session.get(TicketEvent, message_id) if message_id is not None else None
    if event is None or event.ticket_id != ticket.id or event.kind != "message":
        event = add_message(session, ticket, note, by=by)
    count = _photos_of(session, event.id)
    if count >= PHOTOS_PER_MESSAGE:
        return AddedPhoto(None, event.id, count)
    photo = TicketPhoto(ticket_id=ticket.id, event_id=event.id, media_id=media_id, pic_url=pic_url,
                        source_key=source_key or None)
    session.add(photo)
    ticket.updated_at = now()
    session.flush()
    return AddedPhoto(photo.id, event.id, count + 1)


def _photos_of(session: Session, event_id: int) -> int:
    return int(session.scalar(select(func.count(TicketPhoto.id)).where(TicketPhoto.event_id == event_id)) or 0)


def _message_from(session: Session, source_key: str) -> TicketEvent | None:
    return session.scalars(select(TicketEvent).where(TicketEvent.source_key == source_key)).first()


def _add_once(session: Session, event: TicketEvent) -> TicketEvent:
    """Add an event with a source_key; if a concurrent one with the same key won, that one."""
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        known = _message_from(session, event.source_key or "")
        if known is None:
            raise
        return known
    return event


# The statuses in which a ticket is on its worker's list.
OPEN_FOR_WORKER = ("accepted", "assigned", "in_progress", "on_hold")


def worker_tasks(session: Session, staff_id: int, limit: int = 20) -> list[Ticket]:
    """A worker's open tickets, oldest first."""
    q = (select(Ticket).where(Ticket.worker_id == staff_id, Ticket.status.in_(OPEN_FOR_WORKER))
         .order_by(Ticket.created_at, Ticket.id).limit(limit))
    return list(session.scalars(q))


def completed_since(conn: Connection, openid: str, person_id: int | None, since: datetime) -> bool:
    """Whether a reporter has a ticket completed (or changed while completed) since then: one indexed read,
    so that the common message — a new report from someone with nothing just completed — needs no session."""
    q = (select(Ticket.id).where(filed_by(openid, person_id), Ticket.status == "completed",
                                 Ticket.updated_at >= since).limit(1))
    return conn.execute(q).first() is not None


def completed_for(session: Session, openid: str, person_id: int | None = None, limit: int = 9) -> list[Ticket]:
    """A reporter's completed tickets (``filed_by``), the most recently completed first.

    Each ticket's last completion is looked up by its own id (a grouped read of every completion in the
    table took a second at a million tickets)."""
    last = (select(func.max(TicketEvent.id))
            .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "status", TicketEvent.status == "completed")
            .correlate(Ticket).scalar_subquery())
    q = (select(Ticket).where(filed_by(openid, person_id), Ticket.status == "completed", last.is_not(None))
         .order_by(last.desc()).limit(limit))
    return list(session.scalars(q))


def downgrade(session: Session, ticket: Ticket, *, by: str, note: str | None = None) -> TicketEvent:
    """Make an urgent ticket normal (a false alarm), recorded on the timeline; its status does not change."""
    if ticket.priority != URGENT:
        raise IllegalMove(f"{ticket.no} is not urgent", code="not_urgent", no=ticket.no)
    ticket.priority = NORMAL
    ticket.updated_at = now()
    text = f"{DOWNGRADE_NOTE}：{note.strip()}" if note and note.strip() else DOWNGRADE_NOTE
    event = TicketEvent(ticket_id=ticket.id, kind="priority", status=ticket.status, by=by, note=text)
    session.add(event)
    session.flush()
    return event
