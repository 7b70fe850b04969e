"""Alembic environment: runs on the connection ``store.db.migrate`` passes, or on ``sqlalchemy.url``/DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store.db import VERSION_TABLE
from store.models import Base

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        include_name=lambda name, type_, parent: type_ != "table" or name in Base.metadata.tables,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from store.settings import Settings

    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    with create_engine(url).connect() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_online()
