"""The database: engine, sessions and the declarative base."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine
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


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **engine_kw: Any) -> None:
        self.url = url
        if url.startswith("sqlite"):
            engine_kw.setdefault("connect_args", {"timeout": 30})
        else:
            engine_kw.setdefault("pool_pre_ping", True)
        self.engine: Engine = create_engine(url, **engine_kw)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
