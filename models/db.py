"""The database: engine, sessions and the declarative base."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONDoc = JSON


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# A pooled connection idle longer than this is pinged before use (the server may have dropped it);
# one used a moment ago is not, which spares a round trip on every busy request.
PING_AFTER_IDLE_S = 10.0


class Database:
    """One engine, its session factory, and a way to read outside any transaction."""

    def __init__(self, url: str, **engine_kw: Any) -> None:
        self.url = url
        if url.startswith("sqlite"):
            engine_kw.setdefault("connect_args", {"timeout": 30})
        self.engine: Engine = create_engine(url, **engine_kw)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Reads that need no transaction go through connections kept in autocommit: no BEGIN and COMMIT
        # around a single SELECT, and no switching a pooled connection back and forth (both cost more
        # than the SELECT).  The pool fills lazily: a process that never reads this way opens none.
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._reader: Engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            self._reader = create_engine(url, isolation_level="AUTOCOMMIT", **engine_kw)
            if not engine_kw.get("pool_pre_ping"):
                for engine in (self.engine, self._reader):
                    ping_when_idle(engine, PING_AFTER_IDLE_S)

    def reading(self) -> Connection:
        """Open a connection for a read that needs no transaction (use it in a ``with``)."""
        return self._reader.connect()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open a session that commits on success and rolls back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
        self._reader.dispose()


def after_commits(factory: sessionmaker[Session], key: str, note: Callable[[Session], set[str]],
                  on_commit: Callable[[set[str]], None]) -> None:
    """Collect what each flush changed (``note``) and hand it to ``on_commit`` once the transaction commits.

    A rollback keeps the notes: at worst a later commit of the same session reports a change that did
    not happen, which costs a cache one re-read.
    """
    def after_flush(session: Session, _flush: Any) -> None:
        found = note(session)
        if found:
            session.info.setdefault(key, set()).update(found)

    def after_commit(session: Session) -> None:
        changed = session.info.pop(key, None)
        if changed:
            on_commit(changed)

    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "after_commit", after_commit)


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection on checkout only when it sat idle for idle_s; a dead one is replaced."""
    @event.listens_for(engine.pool, "checkin")
    def _idle_since(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return  # new, or busy a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool throws this connection away and checks out another.
            raise DisconnectionError(f"stale pooled connection: {type(exc).__name__}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
