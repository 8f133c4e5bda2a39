"""One way to make the people a test needs: console staff, and residents the bot knows the room of.

Staff accounts get their password hashed with the application's own hash, but each password is hashed
once per test run: hashing is slow on purpose (about 0.1 s), and the console tests create six accounts
each.  The rows written are what `models.people.add_staff` writes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any, NamedTuple
from unittest import mock

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.services import Services
from models.people import Staff, WechatUser, add_staff, ensure_user, get_staff
from tests.support.constants import DORM, DORMS, ESTATE, FOOD, JIANPAN, PASSWORD


class StaffSeed(NamedTuple):
    name: str
    role: str
    categories: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    phone: str | None = None


# The repair console's people: an admin, a dispatcher and workers per category.
CONSOLE_STAFF = (
    StaffSeed("管理员", "admin"),
    StaffSeed("王调度", "dispatcher", (DORM,), phone="13900000010"),
    StaffSeed("赵调度", "dispatcher", (JIANPAN,)),
    StaffSeed("李师傅", "worker", (DORM,), phone="13900000001"),
    StaffSeed("孙师傅", "worker", (DORM,), phone="13900000002"),
    StaffSeed("钱师傅", "worker", (JIANPAN,), phone="13900000003"),
)
# The 网上咨询 desk's people: dispatchers by department.
DESK_STAFF = (
    StaffSeed("管理员", "admin"),
    StaffSeed("饮食调度", "dispatcher", departments=(FOOD,)),
    StaffSeed("物业调度", "dispatcher", departments=(ESTATE, DORMS)),
    StaffSeed("无部门调度", "dispatcher"),
    StaffSeed("李师傅", "worker"),
)

_hashes: dict[tuple[Any, ...], str] = {}


def _hashed_once(original: Callable[..., str]) -> Callable[..., str]:
    def hashed(password: str, *args: Any, **kwargs: Any) -> str:
        key = (original, password, args, tuple(sorted(kwargs.items())))
        if key not in _hashes:
            _hashes[key] = original(password, *args, **kwargs)
        return _hashes[key]

    return hashed


def make_staff(services: Services, name: str, role: str = "worker", *, password: str = PASSWORD,
               categories: Iterable[str] = (), departments: Iterable[str] = (), phone: str | None = None,
               openid: str | None = None, session: Session | None = None) -> int:
    """Create (or update) a console account through add_staff; return its id.

    In `session` when given (committed with it), else in a session of its own.
    """
    module = sys.modules[add_staff.__module__]
    original = getattr(module, "generate_password_hash", None)
    patch = mock.patch.object(module, "generate_password_hash", _hashed_once(original)) if original else nullcontext()
    with patch, (nullcontext(session) if session is not None else services.db.session()) as s:
        staff = add_staff(s, name, role, password, list(categories), phone, openid=openid,
                          departments=list(departments))
        return staff.id


def seed_staff(services: Services, staff: Iterable[StaffSeed] = CONSOLE_STAFF) -> None:
    """Create a team of accounts (CONSOLE_STAFF by default, or DESK_STAFF), all with PASSWORD."""
    with services.db.session() as s:
        for seed in staff:
            make_staff(services, seed.name, seed.role, categories=seed.categories, departments=seed.departments,
                       phone=seed.phone, session=s)


def staff_id(services: Services, name: str) -> int:
    with services.db.session() as s:
        return get_staff(s, name).id


def staff_exists(session: Session, name: str) -> bool:
    return session.scalar(select(Staff.id).where(Staff.name == name)) is not None


def make_resident(services: Services, openid: str, building: str, *, subscribed: bool = True,
                  campus: str = "东环校区", floor: str = "5", room: str = "502") -> None:
    """A WeChat user whose room the bot knows (as after a repair), subscribed or not: a notice's audience."""
    with services.db.session() as s:
        user = ensure_user(s, openid)
        user.default_place = {"campus": campus, "building": building, "floor": floor, "room": room}
        user.subscribed = subscribed


def user_row(services: Services, openid: str) -> WechatUser | None:
    """A follower's row, as stored."""
    with services.db.session() as s:
        return s.scalars(select(WechatUser).where(WechatUser.openid == openid)).first()
