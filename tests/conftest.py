"""Session-wide fixtures: one local Ray per test session, and a private PostgreSQL database per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """A bounded local Ray (2 CPUs, no dashboard, loopback) shared by the whole session."""
    import ray

    from workers.cluster import ensure_ray

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
