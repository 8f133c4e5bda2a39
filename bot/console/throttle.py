"""Login limits that slow a guesser down without letting anyone lock staff out of the console.

Two layers, both fixed windows counted in Redis by `limits` (the library flask-limiter counts with):

1. Login POSTs per address: at most 20 a minute.  It bounds the password-hash work one machine can make
   the server do; a one-minute window only slows.
2. Failed logins, in 15-minute windows:
   - per (name, address): 10, then that name is refused from that address until the window ends.  A
     guesser on another machine does not lock the real person out;
   - per address: 30 over all names (one machine trying many names);
   - per name: 50 over all addresses (guessing spread over many machines).
   The last two do not apply from a known-good address of the name (one the account logged in from within
   90 days): during a spread attack the person at their usual desk still gets in.

Counting is INCR-then-compare: an attempt takes its place in its counters before its password is checked,
and is refused when that took a counter over its limit.  Concurrent wrong passwords cannot all slip under
a limit, as they could if each read the count first and added to it after.  A refused attempt gives its
places back (it checked no password); a successful login gives back its address and name places, clears
its (name, address) counter and marks the address known-good for the name.

Why not flask-limiter itself: its hooks run before every request of the app, the webhook's too (tens of
microseconds a message even when exempt), and it counts failures only by testing before the view and
adding after it, which concurrent attempts slip past.  So the login view counts, with the same library.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import cast

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis import Redis

LOGIN_RATE = "20 per minute"
PER_PAIR = parse("10 per 15 minutes")
PER_ADDRESS = parse("30 per 15 minutes")
PER_NAME = parse("50 per 15 minutes")
KNOWN_GOOD_S = 90 * 24 * 3600
GOOD_KEY = "console:good-ips:{name}"

Place = tuple[RateLimitItem, tuple[str, ...]]


def client_ip() -> str:
    """The client's address (behind nginx, as ProxyFix read it from X-Forwarded-For: REPAIRBOT_TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def _h(text: str) -> str:
    """Names and addresses are kept in Redis keys only as short hashes."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Attempt:
    """One login attempt: a name from an address."""

    name: str
    ip: str

    def places(self, known_good: bool) -> list[Place]:
        pair: Place = (PER_PAIR, ("pair", _h(self.name), _h(self.ip)))
        if known_good:
            return [pair]
        return [pair, (PER_ADDRESS, ("ip", _h(self.ip))), (PER_NAME, ("name", _h(self.name)))]


class LoginThrottle:
    """The counters of one app, in its Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        storage = RedisStorage("redis://", connection_pool=redis.connection_pool, key_prefix="console-login")
        self.counter = FixedWindowRateLimiter(storage)

    def too_fast(self, ip: str) -> bool:
        """Count a login POST from the address; True when it is over the per-minute limit."""
        rate = parse(str(current_app.config.get("CONSOLE_LOGIN_RATE", LOGIN_RATE)))
        return not self.counter.hit(rate, "post", _h(ip))

    def admit(self, attempt: Attempt) -> list[Place] | None:
        """Take the attempt's places; the places taken, or None (nothing kept) when a limit refuses it."""
        taken: list[Place] = []
        for item, ids in attempt.places(self.known_good(attempt)):
            taken.append((item, ids))
            if not self.counter.hit(item, *ids):
                self.give_back(taken)
                return None
        return taken

    def give_back(self, places: list[Place]) -> None:
        for item, ids in places:
            self.counter.hit(item, *ids, cost=-1)

    def succeeded(self, attempt: Attempt, places: list[Place]) -> None:
        """The password was right: its failures from this address are forgotten, the address is known-good."""
        for item, ids in places:
            if item is PER_PAIR:
                self.counter.clear(item, *ids)
            else:
                self.give_back([(item, ids)])
        key = GOOD_KEY.format(name=_h(attempt.name))
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.zadd(key, {_h(attempt.ip): now})
        pipe.zremrangebyscore(key, 0, now - KNOWN_GOOD_S)
        pipe.expire(key, KNOWN_GOOD_S)
        pipe.execute()

    def known_good(self, attempt: Attempt) -> bool:
        seen = cast(float | None, self.redis.zscore(GOOD_KEY.format(name=_h(attempt.name)), _h(attempt.ip)))
        return seen is not None and seen > time.time() - KNOWN_GOOD_S
