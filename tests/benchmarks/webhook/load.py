"""The load generator: one epoll loop over blocking loopback sockets, one connection per message.

It keeps ``concurrency`` messages in flight, times them, and counts what happened in the measured
window (``Window``).  The users judge their own replies (``users``); this module only moves bytes.
gunicorn's sync worker closes every connection and then lingers until the client closes
(``gunicorn.util.close_graceful``), so the generator closes as soon as it has the body.
"""

from __future__ import annotations

import collections
import math
import random
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .users import User

CONTENT_OPEN = b"<Content><![CDATA["
CONTENT_CLOSE = b"]]></Content>"


@dataclass
class Window:
    """What happened in the measured window (and the whole phase, for errors)."""

    seconds: float = 0.0
    messages: int = 0
    db_messages: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    db_latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0  # whole phase, warm-up and drain included
    error_samples: collections.Counter[str] = field(default_factory=collections.Counter)
    total_messages: int = 0  # whole phase
    warmup_s: float = 0.0
    tail_messages: int = 0
    filed: int = 0  # whole phase: replies saying a ticket was filed
    cpu: dict[str, float] = field(default_factory=dict)

    def error(self, why: str) -> None:
        self.errors += 1
        self.error_samples[why] += 1


class _Conn:
    __slots__ = ("buf", "sock", "t0", "user")

    def __init__(self, sock: socket.socket, user: User, t0: float) -> None:
        self.sock, self.user, self.t0, self.buf = sock, user, t0, b""


def body_complete(buf: bytes) -> bool:
    """The response in `buf` is whole (by its Content-Length; without one, only the close tells)."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = buf[:head_end].lower()
    k = head.find(b"\r\ncontent-length:")
    if k < 0:
        return False  # read until the server closes
    end = head.find(b"\r\n", k + 2)
    length = int(head[k + 17:end if end > 0 else None])
    return len(buf) >= head_end + 4 + length


def parse_reply(buf: bytes) -> tuple[int, bytes]:
    """(HTTP status or 0, the text of the TextReply in the body or b"")."""
    head_end = buf.find(b"\r\n\r\n")
    status = int(buf[9:12]) if buf.startswith(b"HTTP/1.") else 0
    i = buf.find(CONTENT_OPEN, head_end)
    j = buf.rfind(CONTENT_CLOSE)
    return status, buf[i + len(CONTENT_OPEN):j] if i >= 0 and j > i else b""


@dataclass
class _Clock:
    """When the window starts and ends, and whether the loop is in it (or in the tail after it)."""

    start: float
    t_measure: float
    t_end: float
    t_tail_end: float = math.inf
    measuring: bool = False
    tailing: bool = False


class _Loop:
    """The sockets in flight, the users waiting to speak, and what came back."""

    def __init__(self, port: int, users: list[User], concurrency: int, filed_marker: bytes, seed: int,
                 timeout_s: float, clock: _Clock) -> None:
        self.addr = ("127.0.0.1", port)
        self.sel = selectors.EpollSelector()
        self.idle = list(users)
        self.pick_rng = random.Random(seed)
        self.concurrency = min(concurrency, len(users))
        self.filed_marker = filed_marker
        self.timeout_s = timeout_s
        self.clock = clock
        self.in_flight = 0
        self.w = Window()

    def fill(self) -> None:
        while self.in_flight < self.concurrency and self.idle:
            self.launch()

    def launch(self) -> None:
        """Send the next message of a user drawn at random from those not waiting for a reply."""
        idle = self.idle
        i = self.pick_rng.randrange(len(idle))
        idle[i], idle[-1] = idle[-1], idle[i]
        user = idle.pop()
        req = user.request()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(self.addr)  # loopback: returns once the kernel has the connection queued
            sock.sendall(req)
        except OSError as exc:
            sock.close()
            self.fail(user, f"connect/send: {exc}")
            time.sleep(0.01)
            return
        self.sel.register(sock, selectors.EVENT_READ, _Conn(sock, user, time.perf_counter()))
        self.in_flight += 1

    def fail(self, user: User, why: str) -> None:
        self.w.error(why)
        user.on_failure()
        self.idle.append(user)

    def _close(self, c: _Conn) -> None:
        self.sel.unregister(c.sock)
        c.sock.close()
        self.in_flight -= 1

    def drop(self, c: _Conn, why: str) -> None:
        """Give up on a message in flight: an error, and its user starts over."""
        self._close(c)
        self.fail(c.user, why)

    def receive(self, timeout: float) -> None:
        """Read what the ready sockets have; finish each message whose reply is whole."""
        for key, _ in self.sel.select(timeout=timeout):
            c: _Conn = key.data
            try:
                chunk = c.sock.recv(65536)
            except OSError as exc:
                self.drop(c, f"recv: {exc}")
                continue
            if chunk:
                c.buf += chunk
                if body_complete(c.buf):
                    self.finish(c, time.perf_counter())
            elif c.buf:
                self.finish(c, time.perf_counter())
            else:
                self.drop(c, "connection closed without a reply")

    def finish(self, c: _Conn, now: float) -> None:
        """A whole reply: let the user judge it, and count it (timed if it lies in the window)."""
        self._close(c)
        status, content = parse_reply(c.buf)
        user, w, clock = c.user, self.w, self.clock
        db = user.turn.db
        problem = user.on_reply(status, content)
        w.total_messages += 1
        if problem is not None:
            w.error(problem)
        elif self.filed_marker in content:
            w.filed += 1
        if clock.tailing and c.t0 >= clock.t_end:
            w.tail_messages += 1
        if clock.measuring and c.t0 >= clock.t_measure and now <= clock.t_end:
            ms = (now - c.t0) * 1000.0
            w.messages += 1
            w.latencies_ms.append(ms)
            if db:
                w.db_messages += 1
                w.db_latencies_ms.append(ms)
        self.idle.append(c.user)

    def expire(self, now: float) -> None:
        for key in list(self.sel.get_map().values()):
            c = key.data
            if now - c.t0 > self.timeout_s:
                self.drop(c, f"no reply within {self.timeout_s:.0f} s")

    def drain(self) -> None:
        """Wait (not measured) for what is still in flight, then count whatever never came back."""
        until = time.perf_counter() + self.timeout_s
        while self.in_flight and time.perf_counter() < until:
            self.receive(0.1)
        for key in list(self.sel.get_map().values()):
            key.data.sock.close()
            self.w.error("still in flight at the end of the drain")
        self.sel.close()


def run_load(port: int, users: list[User], concurrency: int, warmup: float, seconds: float,
             on_window: Callable[[str], None], filed_marker: bytes, warm_turns: int = 12,
             max_warmup: float = 30.0, timeout_s: float = 10.0, seed: int = 1, tail_seconds: float = 0.0) -> Window:
    """Keep `concurrency` messages in flight, each from a different user; measure after the warm-up.

    The warm-up lasts `warmup` seconds and until the users have sent `warm_turns` messages each on
    average (about one dialog), so that the window sees users spread over every step of their
    dialogs rather than all starting with 报修 together.  The next user to speak is drawn at random
    from those not waiting for a reply (random think times), which keeps them spread.

    After the window, the load goes on for `tail_seconds` (not measured) between
    on_window("end") and on_window("tail_end"), for samples that would disturb the window.
    """
    start = time.perf_counter()
    clock = _Clock(start, t_measure=start + max_warmup + seconds, t_end=start + max_warmup + seconds)
    loop = _Loop(port, users, concurrency, filed_marker, seed, timeout_s, clock)
    w = loop.w
    warm_target = warm_turns * len(users)
    next_timeout_scan = start + 1.0
    while True:
        now = time.perf_counter()
        if not clock.measuring and now - start >= warmup and (w.total_messages >= warm_target
                                                               or now - start >= max_warmup):
            clock.measuring = True
            on_window("start")
            now = time.perf_counter()
            clock.t_measure, clock.t_end = now, now + seconds
            clock.t_tail_end = clock.t_end + tail_seconds
            w.warmup_s = now - start
        if now >= clock.t_end and not clock.tailing:
            clock.tailing = True
            on_window("end")
        if now >= clock.t_tail_end:
            break
        loop.fill()
        loop.receive(0.05)
        if now >= next_timeout_scan:
            next_timeout_scan = now + 0.5
            loop.expire(now)
    if tail_seconds:
        on_window("tail_end")
    w.seconds = seconds
    loop.drain()
    return w
