"""Engines, sessions and schema migrations for the service database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from store.errors import DatabaseUnavailable
from workers.runtime import UNAVAILABLE, make_engine

VERSION_TABLE = "nas_alembic_version"  # Optuna keeps its own revision in ``alembic_version``
_MIGRATION_LOCK = 0x6E61735F  # PostgreSQL advisory lock key held while migrating


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, stored naive (UTC) so that SQLite and PostgreSQL compare alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use store.db.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Role(enum.Enum):
    """Who uses an engine: each role has its own pool and timeouts, so readers never starve the driver."""

    API = "api"  # request handlers: fail fast (503) rather than hang while the database is away
    DRIVER = "driver"  # queue, heartbeats and trial writes: waits longer on locks, retries outages


# role -> (pool size, overflow, pool wait s, connect timeout s, statement timeout ms, lock/busy timeout ms)
_LIMITS = {Role.API: (20, 30, 1.5, 1, 1_800, 1_500), Role.DRIVER: (4, 4, 30.0, 5, 60_000, 20_000)}


@functools.cache
def get_engine(url: str, role: Role = Role.DRIVER) -> Engine:
    """One engine per URL, role and process (``workers.runtime.make_engine``): SQLite waits on locks for the
    role's busy timeout; PostgreSQL bounds every connect, statement and lock wait by the role's timeouts."""
    pool, overflow, wait_s, connect_s, statement_ms, lock_ms = _LIMITS[role]
    return make_engine(url, busy_ms=lock_ms, connect_s=connect_s, statement_ms=statement_ms, lock_ms=lock_ms,
                       pool_size=pool, max_overflow=overflow, pool_timeout=wait_s)


@functools.cache
def session_factory(url: str, role: Role = Role.DRIVER) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url, role), expire_on_commit=False)


@contextmanager
def session_scope(url: str, role: Role = Role.DRIVER) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error (the one place that does); the database
    being away (refused, timed out, locked, read-only, pool exhausted) becomes DatabaseUnavailable."""
    with unavailable_as_domain_error(), session_factory(url, role)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def unavailable_as_domain_error() -> Iterator[None]:
    try:
        yield
    except UNAVAILABLE as err:
        raise DatabaseUnavailable(_reason(err)) from err


def _reason(err: Exception) -> str:
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def check_writable(session: Session) -> None:
    """Raise DatabaseUnavailable unless the database takes writes now: SQLite's write lock can be taken and the
    file is writable (rewrites its user_version unchanged); PostgreSQL is not read-only or in recovery."""
    with unavailable_as_domain_error():
        if session.get_bind().dialect.name == "sqlite":
            version = session.execute(text("PRAGMA user_version")).scalar_one()
            session.execute(text(f"PRAGMA user_version = {int(version)}"))
            return
        read_only = session.execute(text("SELECT current_setting('transaction_read_only') = 'on' "
                                         "OR pg_is_in_recovery()")).scalar_one()
    if read_only:
        raise DatabaseUnavailable("the database is read-only")


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision (PostgreSQL: under an advisory lock, so that an API
    and drivers starting together migrate once)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    engine = get_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                connection.commit()
