"""The bench's own PostgreSQL database and Redis db: set up before the phases, counted around them.

Setup is not measured: the database ``repairbot_bench`` is recreated and filled (register, roster,
bound users) and Redis db 14 flushed, never the ``test`` database or db 15 of the test suite.  The
counters (transactions, tickets, Redis commands) turn each dialog phase into per-message figures.
"""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .settings import DB_NAME, PG_SERVER, REDIS_URL, REGISTER_FILE
from .users import card_of, openid_of


def sqlalchemy_url() -> str:
    return "postgresql+psycopg://" + PG_SERVER.split("://", 1)[1] + "/" + DB_NAME


def prepare(users: int) -> Any:
    """Recreate the bench database and fill it; return the register in force."""
    import psycopg

    from models.schema import upgrade

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    url = sqlalchemy_url()
    upgrade(url)
    return _fill(url, users)


def _fill(url: str, users: int) -> Any:
    """The register, a roster of `users` people, and one bound openid for each."""
    from sqlalchemy import select

    import models.all  # noqa: F401  (every table on the metadata)
    import models.people as people
    from models.db import Database
    from models.register import store_register

    rows = ["card_no,name,id_last6,role,phone"]
    rows += [f"{card_of(i)},用户{i},{100000 + i % 900000:06d},student,139{i:08d}" for i in range(users)]
    # Nobody binds with a password here (openids are bound directly below), so the roster's
    # salted hash can be cheap: the product's 100,000 PBKDF2 rounds would take minutes for 1,000 users.
    people.HASH_METHOD = "pbkdf2:sha256:1"
    db = Database(url)
    try:
        with db.session() as s:
            register = store_register(s, REGISTER_FILE.read_text(encoding="utf-8"), str(REGISTER_FILE))
            report = people.load_roster(s, "\n".join(rows) + "\n", pepper="bench-pepper")
            if report.rejected or report.added != users:
                raise SystemExit(f"roster not loaded as expected: {report}")
        with db.session() as s:
            persons = {p.card_no: p for p in s.scalars(select(people.Person))}
            for i in range(users):
                people.bind(s, openid_of(i), persons[card_of(i)])
    finally:
        db.dispose()
    return register


@contextmanager
def _redis() -> Iterator[Any]:
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    try:
        yield conn
    finally:
        conn.close()


def flush_redis() -> None:
    with _redis() as conn:
        conn.flushdb()


def redis_commandstats() -> dict[str, int]:
    with _redis() as conn:
        info = conn.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def pg_counts(db_name: str = DB_NAME) -> dict[str, int]:
    """Transactions on the bench database (server-side) and tickets in it."""
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (db_name,)).fetchone()
    with psycopg.connect(f"{PG_SERVER}/{db_name}", autocommit=True) as conn:
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()
    return {"xacts": int(row[0]) if row else 0, "tickets": int(tickets[0]) if tickets else 0}


class RedisMonitor:
    """Count the commands Redis runs on the bench's database, with MONITOR, from a thread."""

    def __init__(self, url: str) -> None:
        import redis

        kw = redis.connection.parse_url(url)
        self.addr = (kw.get("host", "127.0.0.1"), int(kw.get("port", 6379)))
        self.db = str(kw.get("db", 0))
        self.commands: collections.Counter[str] = collections.Counter()
        self.other_dbs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        with socket.create_connection(self.addr, timeout=0.2) as sock:
            sock.sendall(b"MONITOR\r\n")
            buf = b""
            while not self._stop.is_set():
                try:
                    chunk = sock.recv(1 << 16)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                buf += chunk
                *lines, buf = buf.split(b"\r\n")
                for line in lines:
                    self._count(line)

    def _count(self, line: bytes) -> None:
        # +1795818476.123456 [14 127.0.0.1:54321] "SET" "msg:m:1" ...
        if not line.startswith(b"+") or b" [" not in line:
            return
        db = line.split(b" [", 1)[1].split(b" ", 1)[0].decode()
        if db != self.db:
            self.other_dbs += 1
            return
        parts = line.split(b'] "', 1)
        if len(parts) == 2:
            self.commands[parts[1].split(b'"', 1)[0].decode().lower()] += 1
