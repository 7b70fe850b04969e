"""The one definition of how this project opens its database: engines, SQLite's pragmas, which errors mean the
database is away. The service's own tables (``store.db``) and the Optuna studies (the ``Ledger``) share it.

SQLite runs in WAL mode (readers never wait on the driver's writes; commits skip the per-transaction fsync),
with foreign keys enforced and a busy timeout per user; PostgreSQL connections are pre-pinged and bounded by a
connect timeout (and, where given, statement and lock timeouts).
"""

from __future__ import annotations

from typing import Any

from optuna.exceptions import StorageInternalError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# the database is away (refused, timed out, locked, read-only, pool exhausted), not the request wrong
UNAVAILABLE: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, PoolTimeout)
# the same through Optuna's storage, which wraps them
TRANSIENT: tuple[type[BaseException], ...] = (*UNAVAILABLE, StorageInternalError)
OPTUNA_BUSY_MS = 60_000  # how long an Optuna write waits on SQLite's lock
OPTUNA_CONNECT_S = 5


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_pragmas(engine: Engine, busy_ms: int) -> None:
    """Set SQLite's pragmas on every new connection of ``engine`` (WAL, synchronous NORMAL, foreign keys,
    ``busy_ms`` lock wait)."""

    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()

    event.listen(engine, "connect", pragmas)


def engine_options(url: str, *, busy_ms: int, connect_s: float, statement_ms: int | None = None,
                   lock_ms: int | None = None) -> dict[str, Any]:
    """``create_engine`` keyword arguments for ``url``: SQLite waits ``busy_ms`` on locks and is shared by
    threads; PostgreSQL is pre-pinged, connects within ``connect_s`` and bounds statements and lock waits."""
    if is_sqlite(url):
        return {"connect_args": {"timeout": busy_ms / 1000, "check_same_thread": False}}
    options = " ".join(f"-c {name}={ms}" for name, ms in (("statement_timeout", statement_ms),
                                                           ("lock_timeout", lock_ms)) if ms is not None)
    connect: dict[str, Any] = {"connect_timeout": max(1, round(connect_s))}
    if options:
        connect["options"] = options
    return {"pool_pre_ping": True, "connect_args": connect}


def make_engine(url: str, *, busy_ms: int, connect_s: float, statement_ms: int | None = None,
                lock_ms: int | None = None, **pool: Any) -> Engine:
    """An engine for ``url`` with ``engine_options`` and, for SQLite, ``sqlite_pragmas``; ``pool`` goes to
    ``create_engine`` (pool_size, max_overflow, pool_timeout)."""
    engine = create_engine(url, **engine_options(url, busy_ms=busy_ms, connect_s=connect_s,
                                                 statement_ms=statement_ms, lock_ms=lock_ms), **pool)
    if is_sqlite(url):
        sqlite_pragmas(engine, busy_ms)
    return engine


def open_storage(url: str) -> Any:
    """Optuna's RDB storage over ``url`` with the same engine settings (an ``optuna.storages.RDBStorage``)."""
    import optuna

    storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_options(url, busy_ms=OPTUNA_BUSY_MS,
                                                                           connect_s=OPTUNA_CONNECT_S))
    if is_sqlite(url):
        sqlite_pragmas(storage.engine, OPTUNA_BUSY_MS)
        storage.engine.dispose()  # connections opened while Optuna set up its schema had no pragmas
    return storage


def checkpoint(url: str) -> None:
    """Fold SQLite's write-ahead log into the database file, so that the ``.db`` file alone holds every study
    (a copy of it without the ``-wal`` file loses nothing). Nothing to do for PostgreSQL."""
    if not is_sqlite(url):
        return
    engine = open_storage(url).engine
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def drop_studies(url: str, names: list[str]) -> None:
    """Delete the Optuna studies ``names`` with their trials, where they were ever created."""
    import optuna

    storage = open_storage(url)
    for name in names:
        try:
            optuna.delete_study(study_name=name, storage=storage)
        except KeyError:
            pass
