"""Dialog state and WeChat-retry memory in Redis, two pipelined round trips per message."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis

from dialogs.who import WHO_TTL_S, who_key

PENDING = b"\x00"


@dataclass(frozen=True)
class Opened:
    """What Redis knows when a message arrives."""

    duplicate: bool
    reply: dict[str, Any] | None  # the reply already given to this message, if it is a retry
    state: dict[str, Any] | None
    who: dict[str, Any] | None = None  # the user's remembered profile (dialogs/who.py)


class DialogStore:
    def __init__(self, redis: Redis, state_ttl_s: int, dedupe_ttl_s: int) -> None:
        self.redis = redis
        self.state_ttl_s = state_ttl_s
        self.dedupe_ttl_s = dedupe_ttl_s

    @staticmethod
    def state_key(openid: str) -> str:
        return f"dlg:{openid}"

    @staticmethod
    def msg_key(key: str) -> str:
        return f"msg:{key}"

    def open(self, openid: str, msg_key: str) -> Opened:
        """Claim a message (or learn it is a retry), read the user's state and profile in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.msg_key(msg_key), PENDING, nx=True, ex=self.dedupe_ttl_s)
        pipe.get(self.msg_key(msg_key))
        pipe.get(self.state_key(openid))
        pipe.get(who_key(openid))
        claimed, seen, state, who = pipe.execute()
        if not claimed:
            return Opened(True, _reply(seen), None)
        return Opened(False, None, json.loads(state) if state else None, _json(who))

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
             last_seen: float | None, who: dict[str, Any] | None = None) -> None:
        """Store the new state, the reply given and a freshly read profile, in one round trip."""
        # No MULTI/EXEC: a retry that looks between these writes sees PENDING and waits for the reply.
        pipe = self.redis.pipeline(transaction=False)
        if state is None:
            pipe.delete(self.state_key(openid))
        else:
            pipe.set(self.state_key(openid), json.dumps(state, ensure_ascii=False), ex=self.state_ttl_s)
        pipe.set(self.msg_key(msg_key), json.dumps(reply, ensure_ascii=False), ex=self.dedupe_ttl_s)
        # When the user last wrote: customer-service messages are allowed for 48 hours after it.
        if last_seen is not None:
            pipe.set(f"seen:{openid}", int(last_seen), ex=3 * 24 * 3600)
        if who is not None:
            pipe.set(who_key(openid), json.dumps(who, ensure_ascii=False), ex=WHO_TTL_S)
        pipe.execute()

    def release(self, msg_key: str) -> None:
        """Forget a claimed message whose handling failed, so WeChat's retry is handled afresh."""
        self.redis.delete(self.msg_key(msg_key))


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
