"""Who a user is (bound? name, phone, default room), remembered in Redis so most turns skip the database."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from models.people import WechatUser

log = logging.getLogger(__name__)

# Every commit that changes a user or their roster entry forgets the copy (see models.people.watch_profiles),
# so it may live long; the limit bounds how long a change made outside the application could go unseen.
WHO_TTL_S = 7 * 24 * 3600


def who_key(openid: str) -> str:
    return f"who:{openid}"


@dataclass(frozen=True)
class Who:
    """The profile facts the dialogs read on their hot paths."""

    bound: bool
    person_id: int | None = None
    name: str | None = None
    phone: str | None = None
    place: dict[str, Any] | None = None

    @classmethod
    def of(cls, user: WechatUser) -> Who:
        person = user.person if user.person_id is not None else None
        return cls(bound=user.bound, person_id=user.person_id, name=person.name if person else None,
                   phone=user.contact_phone, place=dict(user.default_place) if user.default_place else None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> Who | None:
        """Read a remembered copy; anything unexpected counts as not remembered."""
        if not isinstance(raw, dict) or not isinstance(raw.get("bound"), bool):
            return None
        try:
            return cls(**raw)
        except TypeError:
            return None


def forget(redis: Redis, openids: Iterable[str]) -> None:
    """Drop the remembered profiles of these users (called after a commit that changed them)."""
    keys = [who_key(o) for o in openids]
    if not keys:
        return
    try:
        redis.delete(*keys)
    except RedisError as exc:
        # The commit has happened; a stale copy lives at most WHO_TTL_S.
        log.warning("could not forget %d cached profiles: %s", len(keys), type(exc).__name__)
