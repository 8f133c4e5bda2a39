"""Create or migrate the database with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")
    fill_rollup(url)


def fill_rollup(url: str) -> None:
    """Add up the statistics' roll-up from the tickets when it is empty and tickets exist (a database from
    before migration 0011, or one whose tickets were written around the ticket rules)."""
    from models.rollup import rebuild

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            empty = conn.execute(text("SELECT 1 FROM stats_rollup LIMIT 1")).first() is None
            tickets = conn.execute(text("SELECT 1 FROM tickets LIMIT 1")).first() is not None
        if empty and tickets:
            rebuild(engine)
    finally:
        engine.dispose()
