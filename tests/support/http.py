"""Serving over real loopback HTTP, and stopping at once.

`socketserver`'s serve_forever() looks for shutdown() only every poll_interval (0.5 s by default), so a
test that served something waited about half a second at teardown.  Every server the tests start goes
through `running`, which polls every 10 ms and closes the listening socket afterwards.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import Flask
from werkzeug.serving import make_server

from core.services import Services, use_services

POLL_S = 0.01


@contextlib.contextmanager
def running(server: socketserver.BaseServer) -> Iterator[socketserver.BaseServer]:
    """Serve on a background thread for the duration of the block; then stop and close the socket."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@contextlib.contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve an app over real HTTP on a free loopback port; yield its base URL."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    with running(srv):
        yield f"http://127.0.0.1:{srv.port}"


# The test's own Redis connection (the default of other_app's redis_conn).
SAME_REDIS: Any = object()


@contextlib.contextmanager
def other_app(services: Services, redis_conn: redis.Redis | Any | None = SAME_REDIS, **changes: Any) -> Iterator[str]:
    """Serve a second app on the test's database with some settings changed; yield its base URL.

    redis_conn: the test's Redis (default), another connection, or None to connect as the settings say.
    """
    from bot import create_app

    cfg = services.config.override(**changes)
    svc = Services(cfg, redis_conn=services.redis if redis_conn is SAME_REDIS else redis_conn)
    try:
        with serve(create_app(cfg, svc)) as url:
            yield url
    finally:
        svc.close()
        use_services(services)


def eventually(check: Callable[[], Any], seconds: float) -> Any:
    """Poll `check` until it gives something true or `seconds` pass; return its last answer (for processes
    started by a test, which get ready in their own time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    return check()
