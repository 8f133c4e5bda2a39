"""Alembic environment: the URL comes from the caller, the metadata from the models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

import models.all  # noqa: F401  (registers every table on the metadata)
from models.db import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "the caller sets sqlalchemy.url"


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(str(url))
    with engine.connect() as connection:
        _migrate(connection)
    engine.dispose()


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
