"""How fast every worker together may send to WeChat: one schedule in Redis for the whole account.

WeChat limits what an account sends (a daily quota, a per-minute rate; 45009, 45011, 45047 are its "too
many" answers).  So the senders share two Redis keys:

- ``push:pace:next``: when the next message may go out (milliseconds).  A sender reserves ``n`` sends at
  once: it gets how long to wait before the first, and the next sends follow every ``1/REPAIRBOT_PUSH_RATE``
  seconds; the key moves on by ``n`` such steps.  One round trip per batch, whoever sends.
- ``push:pace:pause``: until when nobody sends, after a "too many" answer.  Each answer that comes after the
  pause ended doubles the next pause (1 s, 2 s, 4 s … 5 min); a quiet quarter of an hour forgets the strikes.

The clock is each sender's own (``time.time()``): the workers of one deployment share a machine or NTP.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import NoScriptError

NEXT_KEY = "push:pace:next"
PAUSE_KEY = "push:pace:pause"
STRIKES_KEY = "push:pace:strikes"
FIRST_PAUSE_MS = 1000
LONGEST_PAUSE_MS = 300_000
STRIKES_KEPT_S = 900

# KEYS: next, pause[, a key to read too]. ARGV: now (ms), sends, step (ms). Returns the wait before the first
# send (ms), and the value of the third key (the access_token: no second round trip for it).
_RESERVE = """
local now = tonumber(ARGV[1])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'))
local after = start + tonumber(ARGV[2]) * tonumber(ARGV[3])
redis.call('SET', KEYS[1], tostring(after), 'PX', math.max(1000, math.ceil(after - now) + 1000))
local also = false
if #KEYS > 2 then also = redis.call('GET', KEYS[3]) end
return {tostring(start - now), also}
"""

# KEYS: pause, strikes. ARGV: now (ms), first pause, longest pause, strikes kept (s). Returns the pause left (ms).
_SLOW_DOWN = """
local now = tonumber(ARGV[1])
local till = tonumber(redis.call('GET', KEYS[1]) or '0')
if till > now then return tostring(till - now) end
local strikes = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
local pause = math.min(tonumber(ARGV[2]) * 2 ^ (strikes - 1), tonumber(ARGV[3]))
redis.call('SET', KEYS[1], tostring(now + pause), 'PX', math.ceil(pause))
return tostring(pause)
"""


def _ms() -> float:
    return time.time() * 1000.0


def _run(conn: redis.Redis, source: str, keys: list[str], args: list[Any]) -> Any:
    """Run a script by its digest (EVALSHA), sending it whole only when Redis does not know it yet."""
    digest = hashlib.sha1(source.encode()).hexdigest()
    try:
        return conn.evalsha(digest, len(keys), *keys, *args)
    except NoScriptError:
        return conn.eval(source, len(keys), *keys, *args)


@dataclass(frozen=True)
class Places:
    """Reserved places in the pace: the wait before the first send, the seconds between sends, and the value of
    the key read along (None when there is none)."""

    wait_s: float
    step_s: float
    also: str | None = None


def reserve(conn: redis.Redis, sends: int, rate: float, also_read: str | None = None) -> Places:
    """Reserve `sends` messages of the account's rate (and read `also_read` in the same round trip)."""
    step_ms = 1000.0 / rate if rate > 0 else 0.0
    keys = [NEXT_KEY, PAUSE_KEY, *([also_read] if also_read else [])]
    wait_ms, also = _run(conn, _RESERVE, keys, [f"{_ms():.3f}", sends, f"{step_ms:.6f}"])
    value = also.decode() if isinstance(also, bytes) else (also or None)
    return Places(max(0.0, float(wait_ms) / 1000.0), step_ms / 1000.0, value)


def slow_down(conn: redis.Redis) -> float:
    """WeChat said "too many": pause every sender (longer after each new strike); return the seconds left."""
    left = _run(conn, _SLOW_DOWN, [PAUSE_KEY, STRIKES_KEY],
                [f"{_ms():.3f}", FIRST_PAUSE_MS, LONGEST_PAUSE_MS, STRIKES_KEPT_S])
    return float(left) / 1000.0


def paused_for(conn: redis.Redis) -> float:
    """Seconds every sender still waits after a "too many" answer (0 when none)."""
    till: Any = conn.get(PAUSE_KEY)
    return max(0.0, (float(till) - _ms()) / 1000.0) if till is not None else 0.0
