"""The database layer: reads outside a transaction, and pooled connections the server dropped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

import models.db
from models.db import Database


@pytest.fixture
def postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (CI's second run): SQLite has no server to drop connections")
    return database_url


def _drop_server_side(db: Database, pid: int) -> None:
    """Do what a database restart or an idle timeout does to one pooled connection (from outside its pool)."""
    outside = create_engine(db.url, poolclass=NullPool)
    with outside.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    outside.dispose()


@pytest.fixture
def pinging(postgres: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setattr(models.db, "PING_AFTER_IDLE_S", 0.0)
    db = Database(postgres)
    yield db
    db.dispose()


@pytest.mark.parametrize("opener", ["session", "reading"])
def test_after_a_dropped_connection_the_next_use_still_works(pinging: Database, opener: str) -> None:
    """A pooled connection the server closed while idle is replaced before use, not failed on: for sessions
    and for reads outside a transaction."""
    open_one = getattr(pinging, opener)
    with open_one() as db:
        pid = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
    _drop_server_side(pinging, pid)
    with open_one() as db:
        assert db.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_without_the_ping_a_dropped_connection_fails(postgres: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter-check: a connection used a moment ago is trusted, so the ping is what saves the above."""
    monkeypatch.setattr(models.db, "PING_AFTER_IDLE_S", 3600.0)
    db = Database(postgres)
    try:
        with db.session() as s:
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _drop_server_side(db, pid)
        with pytest.raises(OperationalError), db.session() as s:
            s.execute(text("SELECT 1"))
        # SQLAlchemy saw the disconnect and threw the pool away: the next use works.
        with db.session() as s:
            assert s.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        db.dispose()


def test_reads_leave_no_transaction_open(database_url: str) -> None:
    """A read through reading() opens no transaction: nothing is left open on the server, and a commit made
    meanwhile by someone else is seen."""
    db = Database(database_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS read_probe (n INTEGER)"))
            conn.execute(text("DELETE FROM read_probe"))
        with db.reading() as reader:
            assert reader.execute(text("SELECT count(*) FROM read_probe")).scalar_one() == 0
            with db.session() as s:
                s.execute(text("INSERT INTO read_probe VALUES (1)"))
            assert reader.execute(text("SELECT count(*) FROM read_probe")).scalar_one() == 1
            raw = reader.connection.dbapi_connection
            if db.url.startswith("postgresql"):
                assert raw.info.transaction_status.name == "IDLE"  # type: ignore[union-attr]
            else:
                assert not raw.in_transaction  # type: ignore[union-attr]
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE read_probe"))
        db.dispose()
