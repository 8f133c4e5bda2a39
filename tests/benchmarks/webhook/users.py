"""A simulated WeChat user on the wire: the signed request it posts and the check of the reply.

``script`` says what a user says next; this module turns a turn into the bytes of an HTTP request
as WeChat would post it (signed query, XML body, a unique MsgId) and judges the reply against the
turn, so that the load generator only moves bytes and counts.
"""

from __future__ import annotations

import itertools
import random
import time

from .script import Behaviour, Turn
from .settings import ACCOUNT, TOKEN

_msg_ids = itertools.count(int(time.time() * 1000) * 1000)


def openid_of(i: int) -> str:
    return f"o-bench-{i:06d}"


def card_of(i: int) -> str:
    return f"{30_000_000 + i:08d}"


class User:
    """One WeChat user: a signed request line, a script, and the turn it is on."""

    __slots__ = ("behaviour", "echo", "gen", "head", "openid", "prefix", "rng", "turn")

    def __init__(self, openid: str, port: int, behaviour: Behaviour, rng: random.Random, echo: bool) -> None:
        self.openid = openid
        self.behaviour = behaviour
        self.rng = rng
        self.echo = echo
        self.head = (f"HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\nContent-Length: ").encode()
        self.prefix = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                       f"<FromUserName><![CDATA[{openid}]]></FromUserName>")
        self.gen = behaviour.session(rng)
        self.turn = next(self.gen)

    def signed_line(self) -> bytes:
        """The request line, signed afresh as WeChat signs every request (a timestamp+nonce is used once)."""
        from bot.wechat import new_nonce, signature

        ts, nonce = str(int(time.time())), new_nonce()
        query = f"signature={signature(TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid={self.openid}"
        return f"POST /wechat?{query} ".encode()

    def request(self) -> bytes:
        t = self.turn
        msg_id = next(_msg_ids)
        if t.image:
            media = f"bench-{msg_id}"
            fields = (f"<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/{media}]]></PicUrl>"
                      f"<MediaId><![CDATA[{media}]]></MediaId>")
        else:
            fields = f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{t.text}]]></Content>"
        body = f"{self.prefix}<CreateTime>{int(time.time())}</CreateTime>{fields}<MsgId>{msg_id}</MsgId></xml>"
        data = body.encode()
        return self.signed_line() + self.head + str(len(data)).encode() + b"\r\n\r\n" + data

    def on_reply(self, status: int, content: bytes) -> str | None:
        """Check the reply to the current turn and move on; return what was wrong, if anything."""
        t = self.turn
        kind, problem = self._judge(t, status, content)
        if problem is None:
            self.turn = self.gen.send(kind)
            problem = self._offered(content)
        if problem is None:
            return None
        self.on_failure()
        return f"{problem} after {t.text or '[image]'!r}: got {content.decode(errors='replace')[:160]!r}"

    def on_failure(self) -> None:
        """The exchange failed (at the transport, or the reply was wrong): start over with a cancel."""
        self.gen = self.behaviour.resync(self.rng)
        self.turn = next(self.gen)

    def _judge(self, t: Turn, status: int, content: bytes) -> tuple[str, str | None]:
        """(The prompt kind the reply carries, what is wrong with it or None)."""
        kind = t.expect[0][0]
        if status != 200:
            return kind, f"HTTP {status}"
        if self.echo:
            return kind, None if content == (b"[image]" if t.image else t.text.encode()) else "echo mismatch"
        for k, marker in t.expect:
            if marker in content:
                kind = k
                break
        else:
            return kind, f"expected {'/'.join(k for k, _ in t.expect)}"
        if t.also and t.also not in content:
            return kind, f"expected {kind} with {t.also.decode()!r}"
        return kind, None

    def _offered(self, content: bytes) -> str | None:
        """The next turn picks a numbered line: the reply just received must offer it."""
        label = self.turn.label
        if not self.echo and label and label not in content + b"\n":
            return f"the list does not offer {label.decode().strip()!r} (bench and bot disagree)"
        return None


def make_users(n: int, port: int, behaviour: Behaviour, seed: int, echo: bool) -> list[User]:
    return [User(openid_of(i), port, behaviour, random.Random(seed * 1_000_003 + i), echo) for i in range(n)]
