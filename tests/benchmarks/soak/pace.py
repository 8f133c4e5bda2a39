"""The soak's load: the webhook bench's users (whole repair dialogs, signed as WeChat signs), sent at a fixed
rate instead of as fast as the server answers.  A message is due every 1/rate seconds; it goes to a user not
waiting for a reply, drawn at random.  When no user is free or `max_in_flight` are out, the message waits (and
the achieved rate, printed at the end, shows it).  Every reply's latency and every error is kept with the time
it happened, so that the report can say when things went wrong."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.benchmarks.webhook.load import Window, _Clock, _Conn, _Loop
from tests.benchmarks.webhook.users import User


class _Timed(_Loop):
    """The bench's loop, noting (seconds since the start, latency in ms or None for an error) per message."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.started = self.clock.start
        self.events: list[tuple[float, float | None]] = []

    def fail(self, user: User, why: str) -> None:
        self.events.append((time.perf_counter() - self.started, None))
        super().fail(user, why)

    def finish(self, c: _Conn, now: float) -> None:
        errors = self.w.errors
        super().finish(c, now)
        if self.w.errors == errors:
            self.events.append((c.t0 - self.started, (now - c.t0) * 1000.0))
        else:
            self.events.append((c.t0 - self.started, None))


def paced(port: int, users: list[User], rate: float, seconds: float, filed_marker: bytes,
          tick: Callable[[float], None], max_in_flight: int = 200,
          seed: int = 2) -> tuple[Window, list[tuple[float, float | None]]]:
    """Send `rate` messages a second for `seconds`; call tick(elapsed) about ten times a second."""
    start = time.perf_counter()
    loop = _Timed(port, users, max_in_flight, filed_marker, seed, timeout_s=10.0,
                  clock=_Clock(start, t_measure=start, t_end=start + seconds))
    sent = 0
    next_tick = next_scan = start
    while True:
        now = time.perf_counter()
        elapsed = now - start
        if elapsed >= seconds:
            break
        due = int(elapsed * rate)
        while sent < due and loop.idle and loop.in_flight < max_in_flight:
            loop.launch()
            sent += 1
        loop.receive(0.005)
        if now >= next_scan:
            next_scan = now + 0.5
            loop.expire(now)
        if now >= next_tick:
            next_tick = now + 0.1
            tick(elapsed)
    loop.drain()
    loop.w.seconds = seconds
    loop.w.messages = sent
    return loop.w, loop.events
