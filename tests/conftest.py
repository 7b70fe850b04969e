"""Shared fixtures: one local Ray per test session, a private PostgreSQL database per run, and per module a
fresh database of each backend with settings and an API client over it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from store.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """A bounded local Ray (2 CPUs, no dashboard, loopback) shared by the whole session."""
    import ray

    from workers.runtime import ensure_ray

    ensure_ray(2)
    yield
    ray.shutdown()


def _pg_connect(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh database created for this test run and dropped after it.

    Without a reachable server the tests that need it are skipped, except under CI=true, where that fails.
    """
    import psycopg

    name = f"nas_test_{uuid.uuid4().hex[:12]}"
    try:
        with _pg_connect(PG_ADMIN_URL) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {err}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {err}")
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with _pg_connect(PG_ADMIN_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'nas.db'}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL database beside this run's (dropped after the module).

    PostgreSQL goes through the shared ``postgres_url`` fixture, so a missing server skips (fails under CI=true).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api') / 'store.db'}"
        return
    import psycopg

    shared = request.getfixturevalue("postgres_url")
    base, run_db = shared.rsplit("/", 1)
    name = f"{run_db}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    from store.db import get_engine

    get_engine(f"{base}/{name}").dispose()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # read_cache_s=0: these tests read a search right after changing it from another "process" (a driver);
    # the cache itself is tested in tests/api/test_cache.py and runs in the end-to-end services.
    return Settings(database_url=database_url, max_trials=50, max_concurrent_searches=1000, max_phis=8,
                    max_body_bytes=64 * 1024, poll_s=0.2, heartbeat_s=0.5, stale_after_s=3.0, read_cache_s=0,
                    export_dir=tmp_path_factory.mktemp("exports"), artifacts_dir=tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    """The real app over the module's database (migrations at startup), no driver."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(settings)) as c:
        yield c
