"""Dialog state, the user's turn and WeChat-retry memory in Redis: two commands per message, one to open
the message and one to save what it left, each a Lua script (nothing else can come between its steps)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis

from core.who import WHO_TTL_S, who_key
from core.window import open_args, open_lua, window_key
from models.notices import NOTICES_VERSION_KEY

log = logging.getLogger(__name__)

PENDING = b"\x00"

# Claim the message; if it is new, take the user's turn (one message of a user at a time) and read the
# state, profile and the notices' version.  Returns {claimed, seen, turn taken, state, who, notices}.
_OPEN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return {0, redis.call('GET', KEYS[1])}
end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then
  return {1, false, 0}
end
return {1, false, 1, redis.call('GET', KEYS[3]), redis.call('GET', KEYS[4]), redis.call('GET', KEYS[5])}
"""
# Take the user's turn once the message before has finished, and read what it left.
_TAKE_TURN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
return {1, redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3]), redis.call('GET', KEYS[4])}
"""
# Keep what a message left (state, reply, a freshly read profile; an empty argument: nothing to keep), give
# the turn back, and open the customer-service window the message opens (core/window.py).  One command,
# where a pipeline would send five.
_SAVE = """
if ARGV[1] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6]) end
if redis.call('GET', KEYS[5]) == ARGV[7] then redis.call('DEL', KEYS[5]) end
""" + open_lua(3, 8) + "return 1"
# Forget a claimed message, and give back the user's turn if (and only if) this message holds it.
_RELEASE = """
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
# A turn is held at most this long (gunicorn's timeout is 10 s; WeChat gives up after 5 s).
TURN_MS = 10_000


@dataclass(frozen=True)
class Opened:
    """What Redis knows when a message arrives."""

    duplicate: bool
    reply: dict[str, Any] | None  # the reply already given to this message, if it is a retry
    state: dict[str, Any] | None
    who: dict[str, Any] | None = None  # the user's remembered profile (core/who.py)
    notices_version: Any = None  # moves whenever a notice changes (models.notices.NOTICES_VERSION_KEY)
    busy: bool = False  # the user's message before this one was still being answered after turn_wait_s


class DialogStore:
    """Per user: the dialog state, the turn (one message at a time), and the replies given, for retries."""

    def __init__(self, redis: Redis, state_ttl_s: int, dedupe_ttl_s: int, turn_wait_s: float = 3.0) -> None:
        self.redis = redis
        self.state_ttl_s = state_ttl_s
        self.dedupe_ttl_s = dedupe_ttl_s
        self.turn_wait_s = turn_wait_s
        self._open = redis.register_script(_OPEN)
        self._take_turn = redis.register_script(_TAKE_TURN)
        self._save = redis.register_script(_SAVE)
        self._release = redis.register_script(_RELEASE)

    @staticmethod
    def state_key(openid: str) -> str:
        return f"dlg:{openid}"

    @staticmethod
    def msg_key(key: str) -> str:
        return f"msg:{key}"

    @staticmethod
    def turn_key(openid: str) -> str:
        return f"turn:{openid}"

    def open(self, openid: str, msg_key: str) -> Opened:
        """Claim a message (or learn it is a retry), take the user's turn, read their state and profile.

        Two messages a user sends at once (a photo and a line of text) are answered one after the other,
        the second from the state the first left. When the first is still going after turn_wait_s, the
        second is not answered from a state about to be overwritten: it comes back `busy`.
        """
        keys = [self.msg_key(msg_key), self.turn_key(openid), self.state_key(openid), who_key(openid),
                NOTICES_VERSION_KEY]
        got = self._open(keys=keys, args=[PENDING, self.dedupe_ttl_s, msg_key, TURN_MS])
        if not got[0]:
            return Opened(True, _reply(got[1]), None)
        if not got[2]:  # another message of the user's is being answered: wait for its turn
            turn = self._wait_turn(openid, msg_key)
            if turn is None:
                return Opened(False, None, None, busy=True)
            got = [*got[:2], *turn]
        return Opened(False, None, _json(got[3]), _json(got[4]), got[5])

    def _wait_turn(self, openid: str, msg_key: str) -> list[Any] | None:
        keys = [self.turn_key(openid), self.state_key(openid), who_key(openid), NOTICES_VERSION_KEY]
        deadline = time.monotonic() + self.turn_wait_s
        while time.monotonic() < deadline:
            time.sleep(0.02)
            got = self._take_turn(keys=keys, args=[msg_key, TURN_MS])
            if got[0]:
                return list(got)
        log.warning("the turn of %s was still taken after %.1f s; asked to send again", msg_key, self.turn_wait_s)
        return None

    def wait_reply(self, msg_key: str, timeout_s: float = 3.0) -> dict[str, Any] | None:
        """Wait for the first delivery of a retried message to finish, and return its reply."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reply = _reply(self.redis.get(self.msg_key(msg_key)))
            if reply is not None:
                return reply
            time.sleep(0.05)
        return None

    def save(self, openid: str, msg_key: str, state: dict[str, Any] | None, reply: dict[str, Any],
             kind: str, at: float, who: dict[str, Any] | None = None) -> None:
        """Store the new state, the reply given and a freshly read profile, give the turn back, and open the
        window an incoming of this kind opens."""
        keys = [self.state_key(openid), self.msg_key(msg_key), window_key(openid), who_key(openid),
                self.turn_key(openid)]
        self._save(keys=keys, args=[
            "" if state is None else json.dumps(state, ensure_ascii=False), self.state_ttl_s,
            json.dumps(reply, ensure_ascii=False), self.dedupe_ttl_s,
            "" if who is None else json.dumps(who, ensure_ascii=False), WHO_TTL_S, msg_key, *open_args(kind, at)])

    def release(self, openid: str, msg_key: str) -> None:
        """Forget a claimed message that was not handled, so WeChat's retry (or the user's resend) is handled
        afresh; the user's turn is given back only if this message held it."""
        self._release(keys=[self.msg_key(msg_key), self.turn_key(openid)], args=[msg_key])


def _json(raw: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _reply(raw: Any) -> dict[str, Any] | None:
    if not raw or raw == PENDING:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else None
