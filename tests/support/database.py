"""The database every test starts from: empty, but for the school's register and the roster.

Loading them the application's way costs about 0.1 s a test (the register's YAML is parsed and checked,
and each of the roster's ID digits gets a deliberately slow salted hash).  So the first test of a run
loads them with `store_register` and `load_roster`, and the rows they wrote are kept; every later test
gets the same rows inserted again, in the same order, so ids, hashes and documents are as loaded.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from sqlalchemy import Table, event, select, text
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

import models.all  # noqa: F401  (every table on the metadata, for emptying them between tests)
from models.db import Base, Database
from models.people import Person, load_roster
from models.register import RegisterDoc, store_register
from tests.support.constants import ID_PEPPER, REGISTER_FILE, ROSTER

# The tables the seed fills, in the order their rows are inserted; each row as {column: value}.
_SEEDED = (RegisterDoc, Person)
_seed_rows: dict[str, list[dict[str, Any]]] = {}


def empty_tables(db: Database) -> None:
    """Delete every row of every table (numbering starts again from 1)."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if db.url.startswith("postgresql"):
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


def _copied_columns(table: Table) -> list[str]:
    """The columns a re-insert repeats: all but the key (numbered again) and the times set when written."""
    return [c.key for c in table.columns
            if not c.primary_key and not (c.default is not None and c.default.is_callable)]


def seed(db: Database) -> None:
    """Store the register and load the roster (the application's way the first time, then from the copy)."""
    with db.session() as s:
        if not _seed_rows:
            _load(s)
            return
        for model in _SEEDED:
            s.add_all(model(**copy.deepcopy(row)) for row in _seed_rows[model.__tablename__])


def _load(s: Session) -> None:
    store_register(s, REGISTER_FILE.read_text(encoding="utf-8"), str(REGISTER_FILE))
    load_roster(s, ROSTER, pepper=ID_PEPPER)
    s.flush()
    for model in _SEEDED:
        table = model.__table__
        assert isinstance(table, Table)
        names = _copied_columns(table)
        rows = s.scalars(select(model).order_by(table.primary_key.columns.values()[0]))
        _seed_rows[model.__tablename__] = [{n: getattr(r, n) for n in names} for r in rows]


def reset(db: Database) -> None:
    """Empty the database and seed it: the state every test begins in."""
    empty_tables(db)
    seed(db)


def release(db: Database) -> None:
    """Unhook the listeners the application hooked on this database's sessions, so its Services can be freed.

    SQLAlchemy keeps session listeners per class in a table whose keys are weak, but a listener that
    reaches its own sessionmaker (as the application's do, through the Services) keeps its key alive.
    Without this every test's Services, engines and statement caches stay in memory to the end of the
    run: the suite peaked at about 475 MB instead of 260 MB, and spent about 10 s more CPU, mostly in the
    garbage collector walking them again and again.
    """
    factory = db.sessionmaker
    with factory() as session:  # a session's dispatch lists the listeners of its class (no connection is made)
        hooked = {name: list(getattr(session.dispatch, name)) for name in ("after_flush", "after_commit")}
    for name, fns in hooked.items():
        for fn in fns:
            with contextlib.suppress(InvalidRequestError):  # one hooked on Session itself, not ours
                event.remove(factory, name, fn)


def on_server(url: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE, which no transaction may hold) on the PostgreSQL server of `url`."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for sql in statements:
                conn.execute(text(sql))
    finally:
        admin.dispose()
