"""Fixtures for the service tests: a fresh database per module and backend, an app and a client over it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL database beside this run's (dropped after the module).

    PostgreSQL goes through the shared ``postgres_url`` fixture, so a missing server skips (fails under CI=true).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
        return
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    shared = request.getfixturevalue("postgres_url")
    base, run_db = shared.rsplit("/", 1)
    name = f"{run_db}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    from api.db import get_engine

    get_engine(f"{base}/{name}").dispose()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, max_trials=50, max_concurrent_searches=1000, max_phis=8,
                    max_body_bytes=64 * 1024, poll_s=0.2, heartbeat_s=0.5, stale_after_s=3.0)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c
