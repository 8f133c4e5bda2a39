"""People: the roster (campus cards), WeChat users bound to them, and staff accounts."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, false, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from models.clock import now
from models.db import Base, UTCDateTime, after_commits
from models.errors import NotFound, RosterError
from models.text import CleanString

ROLES = ("student", "teacher", "staff")
STAFF_ROLES = ("admin", "dispatcher", "worker")
CARD_RE = re.compile(r"^\d{8}$")
ID_LAST6_RE = re.compile(r"^\d{5}[\dX]$")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# A password a person chooses: 6 to 20 visible ASCII characters (letters, digits, symbols).
NEW_PASSWORD_RE = re.compile(r"^[!-~]{6,20}$")
# Campus-card passwords are six characters of an ID card: a slow salted hash keeps them unreadable. With
# only about a million possible values, a slow hash alone can be reversed from a leaked database in hours:
# the value is first keyed with a pepper that never enters the database (REPAIRBOT_ID_PEPPER).
HASH_METHOD = "pbkdf2:sha256:100000"
PEPPERED = "hmac-sha256$"


class Person(Base):
    """One entry of the people directory (the roster)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_no: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(CleanString(64))
    secret_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="student")
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def set_password(self, password: str, *, pepper: str) -> None:
        """Replace the campus-card password (the ID digits at first) with one the person chose."""
        self.secret_hash = id_secret_hash(password, pepper=pepper)

    def check_password(self, password: str, *, pepper: str) -> bool:
        """Check the ID digits; a hash of the older, unpeppered kind is upgraded when they match."""
        if self.secret_hash.startswith(PEPPERED):
            return check_password_hash(self.secret_hash.removeprefix(PEPPERED), _keyed(password, pepper))
        if not check_password_hash(self.secret_hash, normalize_password(password)):
            return False
        self.secret_hash = id_secret_hash(password, pepper=pepper)
        return True


class WechatUser(Base):
    """A follower of the official account, known by openid."""

    __tablename__ = "wechat_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # Default room, as register names: {"campus", "building", "floor", "room"}.
    default_place: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person | None] = relationship(lazy="joined")

    @property
    def bound(self) -> bool:
        return self.person_id is not None

    @property
    def contact_phone(self) -> str | None:
        return self.phone or (self.person.phone if self.person else None)


class Staff(Base):
    """A console account: admin, dispatcher or worker."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # 网上咨询 departments this account answers for (the register's `departments`).
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(20))
    openid: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # On duty now (a worker): told of an emergency in their categories at once.  When no worker of a
    # category is on duty, every worker of it is told.
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # Part of every console session of this account: bumped on logout and on a new password, it ends them all.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


def normalize_password(text: str) -> str:
    """Accept the ID card's check letter in either case."""
    return text.strip().upper()


def mask_card(card_no: str) -> str:
    return card_no[:2] + "****" + card_no[-2:] if len(card_no) >= 6 else "****"


# -- roster -------------------------------------------------------------------

@dataclass(frozen=True)
class RosterReport:
    added: int
    updated: int
    rejected: list[str]


def id_secret_hash(password: str, *, pepper: str) -> str:
    """What is stored of a campus-card password: a slow salted hash of the password keyed with the pepper."""
    return PEPPERED + generate_password_hash(_keyed(password, pepper), method=HASH_METHOD)


def password_digest(password: str, *, pepper: str) -> str:
    """A keyed digest of a password being chosen, to compare its confirmation without keeping it."""
    return _keyed(password, pepper)


def _keyed(password: str, pepper: str) -> str:
    if not pepper:
        raise ValueError("an ID pepper is needed (REPAIRBOT_ID_PEPPER, or the instance folder's id_pepper)")
    return hmac.new(pepper.encode(), normalize_password(password).encode(), hashlib.sha256).hexdigest()


def load_roster(session: Session, text: str, *, pepper: str) -> RosterReport:
    """Load `card_no,name,id_last6,role,phone` rows; report rows refused and why."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    need = {"card_no", "name", "id_last6", "role", "phone"}
    if reader.fieldnames is None or not need <= {f.strip() for f in reader.fieldnames}:
        raise RosterError("roster header must be: card_no,name,id_last6,role,phone")
    existing = {p.card_no: p for p in session.scalars(select(Person))}
    added = updated = 0
    rejected: list[str] = []
    for lineno, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        problem = _roster_problem(row)
        if problem:
            # Never echo the ID digits back, not even into a report.
            rejected.append(f"line {lineno}: {problem}")
            continue
        secret = id_secret_hash(row["id_last6"], pepper=pepper)
        person = existing.get(row["card_no"])
        if person is None:
            person = Person(card_no=row["card_no"])
            session.add(person)
            existing[row["card_no"]] = person
            added += 1
        else:
            updated += 1
        person.name = row["name"]
        person.secret_hash = secret
        person.role = row["role"] or "student"
        person.phone = row["phone"] or None
        person.active = True
    session.flush()
    return RosterReport(added, updated, rejected)


def _roster_problem(row: dict[str, str]) -> str | None:
    if not CARD_RE.match(row.get("card_no", "")):
        return "card_no must be 8 digits"
    if not row.get("name"):
        return "name is empty"
    if not ID_LAST6_RE.match(normalize_password(row.get("id_last6", ""))):
        return "id_last6 must be the last six characters of an ID card"
    if (row.get("role") or "student") not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    if row.get("phone") and not PHONE_RE.match(row["phone"]):
        return "phone is not a mobile number"
    return None


# -- users ----------------------------------------------------------------------

def get_user(session: Session, openid: str) -> WechatUser | None:
    return session.scalars(select(WechatUser).where(WechatUser.openid == openid)).first()


def ensure_user(session: Session, openid: str) -> WechatUser:
    user = get_user(session, openid)
    if user is None:
        user = WechatUser(openid=openid, subscribed=True)
        session.add(user)
        session.flush()
    return user


def find_person(session: Session, card_no: str) -> Person | None:
    return session.scalars(select(Person).where(Person.card_no == card_no, Person.active.is_(True))).first()


def bind(session: Session, openid: str, person: Person) -> WechatUser:
    """Bind an openid to a person; a card is bound to one openid at a time."""
    for other in session.scalars(select(WechatUser).where(WechatUser.person_id == person.id)):
        if other.openid != openid:
            other.person_id = None
            other.bound_at = None
    user = ensure_user(session, openid)
    user.person_id = person.id
    user.person = person
    user.bound_at = now()
    if not user.phone and person.phone:
        user.phone = person.phone
    return user


def bound_elsewhere(session: Session, person: Person, openid: str) -> list[str]:
    """The other WeChat users this card is bound to now: binding it here takes it from them."""
    return list(session.scalars(select(WechatUser.openid).where(WechatUser.person_id == person.id,
                                                                WechatUser.openid != openid)))


def unbind(session: Session, openid: str) -> None:
    user = get_user(session, openid)
    if user is not None:
        user.person_id = None
        user.person = None
        user.bound_at = None


# Someone who unfollows keeps their binding this long (following again finds everything as it was);
# then the binding, phone and default room are forgotten. Their tickets keep what was filed.
FORGET_UNFOLLOWED_AFTER = timedelta(days=30)


def forget_unfollowed(session: Session, after: timedelta = FORGET_UNFOLLOWED_AFTER) -> list[str]:
    """Forget who the users are who unfollowed longer ago than `after`; return their openids."""
    cutoff = now() - after
    users = list(session.scalars(select(WechatUser).where(
        WechatUser.subscribed.is_(False), WechatUser.unsubscribed_at < cutoff,
        WechatUser.person_id.is_not(None) | WechatUser.phone.is_not(None))))
    for user in users:
        user.person_id, user.person, user.bound_at, user.phone, user.default_place = None, None, None, None, None
    return [u.openid for u in users]


def set_subscribed(session: Session, openid: str, subscribed: bool) -> WechatUser:
    user = ensure_user(session, openid)
    user.subscribed = subscribed
    user.unsubscribed_at = None if subscribed else now()
    return user


# -- watching profile changes ------------------------------------------------------

# A user's profile as the dialogs see it also shows these facts of their roster entry.
PERSON_PROFILE_FIELDS = ("name", "phone", "active")


def watch_profiles(factory: sessionmaker[Session], on_commit: Callable[[set[str]], None]) -> None:
    """Call on_commit with the openids whose binding, name, phone or room a committed session changed."""
    after_commits(factory, "profiles_changed", _changed_openids, on_commit)


def _changed_openids(session: Session) -> set[str]:
    changed: set[str] = set()
    people: list[int] = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, WechatUser):
            changed.add(obj.openid)
        elif isinstance(obj, Person) and obj.id is not None and _profile_changed(obj):
            people.append(obj.id)
    for start in range(0, len(people), 500):
        chunk = people[start:start + 500]
        # Core, not the ORM session: no autoflush inside a flush.
        changed.update(session.connection().scalars(select(WechatUser.openid).where(WechatUser.person_id.in_(chunk))))
    return changed


def _profile_changed(person: Person) -> bool:
    attrs = inspect(person).attrs
    return any(attrs[f].history.has_changes() for f in PERSON_PROFILE_FIELDS)


# -- staff ------------------------------------------------------------------------

def add_staff(session: Session, name: str, role: str, password: str,
              categories: list[str] | None = None, phone: str | None = None, *,
              openid: str | None = None, departments: list[str] | None = None) -> Staff:
    """Create or update a console account (an existing name gets the new values)."""
    if role not in STAFF_ROLES:
        raise RosterError(f"role must be one of {', '.join(STAFF_ROLES)}", code="staff_role")
    if len(password) < 8:
        raise RosterError("password must have at least 8 characters", code="staff_password")
    staff = session.scalars(select(Staff).where(Staff.name == name)).first()
    if staff is None:
        staff = Staff(name=name)
        session.add(staff)
    staff.role = role
    staff.password_hash = generate_password_hash(password)
    staff.session_version = (staff.session_version or 0) + 1  # a new password ends the old sessions
    staff.categories = list(categories or [])
    staff.departments = list(departments or [])
    staff.phone = phone
    staff.openid = openid or staff.openid
    session.flush()
    return staff


def end_sessions(session: Session, staff_id: int) -> None:
    """End every console session of a staff account (its session version moves on, in one statement)."""
    session.execute(update(Staff).where(Staff.id == staff_id).values(session_version=Staff.session_version + 1))


def get_staff(session: Session, name: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.name == name)).first()
    if staff is None:
        raise NotFound(f"no staff account named {name!r}")
    return staff


def set_on_duty(session: Session, name: str, on: bool) -> Staff:
    """Put a staff account on duty or off it (emergencies reach the workers on duty of their categories)."""
    staff = get_staff(session, name)
    staff.on_duty = on
    session.flush()
    return staff


def emergency_staff(session: Session, category: str) -> list[Staff]:
    """Who an emergency of a category reaches at once: every active dispatcher of the category, and its
    workers on duty (every worker of it when none is on duty); only accounts bound to a WeChat openid."""
    staff = [s for s in session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))
             if category in (s.categories or [])]
    workers = [s for s in staff if s.role == "worker"]
    on_duty = [s for s in workers if s.on_duty] or workers
    return [s for s in staff if (s.role == "dispatcher" or s in on_duty) and s.openid]


# A WeChat openid: what a staff account may be bound to.
OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def staff_for_openid(session: Session, openid: str) -> Staff | None:
    """The active staff account bound to a WeChat openid, if any."""
    return session.scalars(select(Staff).where(Staff.openid == openid, Staff.active.is_(True))
                           .order_by(Staff.id)).first()


def bind_openid(session: Session, name: str, openid: str | None) -> Staff:
    """Bind a staff account to a WeChat openid (None unbinds); an openid belongs to one account."""
    staff = get_staff(session, name)
    if openid is not None and not OPENID_RE.match(openid):
        raise RosterError(f"{openid!r} does not look like a WeChat openid", code="openid")
    if openid:
        for other in session.scalars(select(Staff).where(Staff.openid == openid, Staff.id != staff.id)):
            other.openid = None
    staff.openid = openid or None
    session.flush()
    return staff
