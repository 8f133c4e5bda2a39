"""WeChat's customer-service window, by Tencent's rules (since 2023-06): what a user does lets the account
send them customer-service messages for a while, a few at a time. A message the user sends allows 5 within
48 hours; a menu click (click, scancode_push, scancode_waitmsg), a follow or a scan allows 3 within one
minute. Windows do not add up: each action sets the limit and the deadline to the larger of what is left
and what the action allows. Pushes go as template messages; only inside a window may one go as text.

One home for the rules, the Redis key and the scripts that keep it: the dialog store opens the window in
the same command that saves the turn (``OPEN_LUA``); the push worker spends it (``spend``).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis


@dataclass(frozen=True)
class Window:
    seconds: int  # how long it lasts, less a margin for our clock against WeChat's
    messages: int  # how many customer-service messages it allows


WINDOWS = {
    "message": Window(48 * 3600 - 300, 5),
    "action": Window(60 - 10, 3),
}
# What each kind of incoming opens ("" or absent: none — an unfollow, a delivery report, another event).
OPENED_BY = {"text": "message", "image": "message", "voice": "message", "location": "message", "other": "message",
             "click": "action", "subscribe": "action", "scan": "action"}
# Kept a little past the longest window, so that a later, shorter action still sees what is left of it.
KEY_TTL_S = 3 * 24 * 3600


def window_key(openid: str) -> str:
    """A hash: `until` (epoch seconds) and `left` (messages still allowed)."""
    return f"cswin:{openid}"


# Lua, for a script with the window's key as KEYS[k] and (until, messages, now) as ARGV[a..a+2]; an empty
# `until` opens nothing. A window still open keeps the larger deadline and the larger number left.
def open_lua(k: int, a: int) -> str:
    return f"""
if ARGV[{a}] ~= '' then
  local u, q, t = tonumber(ARGV[{a}]), tonumber(ARGV[{a + 1}]), tonumber(ARGV[{a + 2}])
  local old = redis.call('HMGET', KEYS[{k}], 'until', 'left')
  if old[1] and tonumber(old[1]) > t then
    u = math.max(u, tonumber(old[1])); q = math.max(q, tonumber(old[2]))
  end
  redis.call('HSET', KEYS[{k}], 'until', u, 'left', q)
  redis.call('EXPIRE', KEYS[{k}], {KEY_TTL_S})
end
"""


def open_args(kind: str, at: float) -> list[str | int]:
    """The three arguments of ``open_lua`` for an incoming of this kind at this time."""
    window = WINDOWS.get(OPENED_BY.get(kind, ""))
    if window is None:
        return ["", "", ""]
    return [int(at) + window.seconds, window.messages, int(at)]


_SPEND = """
local w = redis.call('HMGET', KEYS[1], 'until', 'left')
if not w[1] or tonumber(w[1]) <= tonumber(ARGV[1]) or tonumber(w[2]) <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'left', -1)
return 1
"""
_OPEN_ONLY = open_lua(1, 1) + "return 1"


def spend(conn: Redis, openid: str, at: float) -> bool:
    """Take one customer-service message from the user's window; False when none is open or none is left."""
    return bool(conn.register_script(_SPEND)(keys=[window_key(openid)], args=[int(at)]))


def record(conn: Redis, openid: str, kind: str, at: float) -> None:
    """Open the window an incoming of this kind opens (the dialog store does the same inside its save)."""
    conn.register_script(_OPEN_ONLY)(keys=[window_key(openid)], args=open_args(kind, at))
