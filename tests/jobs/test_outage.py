"""The database going away under a running search, on both backends: PostgreSQL refusing every connection
(``ALLOW_CONNECTIONS false`` and its backends terminated), then its tables locked by another session, and
SQLite locked by another writer. Every request
answers within 2 s (503 with Retry-After while the database is away), the driver survives, and the search
completes afterwards with no trial lost."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fastapi.testclient import TestClient

from store.settings import Settings
from tests.conftest import PG_ADMIN_URL
from tests.jobs.test_service import _create, _trials, running, wait_for
from tests.workers import fake_eval

pytestmark = pytest.mark.usefixtures("ray_session")
OUTAGE_S = 8.0


@contextmanager
def postgres_refusing(url: str) -> Iterator[None]:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                      "AND pid <> pg_backend_pid()", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@contextmanager
def postgres_locked(url: str) -> Iterator[None]:
    """Another session holds an exclusive lock on the searches and architectures tables."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as conn:
        conn.execute("LOCK TABLE searches, architectures IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()


@contextmanager
def sqlite_locked(url: str) -> Iterator[None]:
    """Another process's writer holds the database's write lock (readers go on in WAL mode)."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _timed(call) -> tuple[float, object]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def test_a_search_survives_the_database_going_away(client: TestClient, settings: Settings) -> None:
    postgres = settings.backend == "postgresql"
    search_id = _create(client, n_trials=8, n_workers=2)
    slow = functools.partial(fake_eval.fake_evaluate, sleep=1.0)
    with running(settings, evaluate=slow, name="outage"):
        wait_for(client, search_id, lambda b: b["progress"]["complete"] >= 2)
        outages = [postgres_refusing, postgres_locked] if postgres else [sqlite_locked]
        answers: list[tuple[float, int, str | None]] = []
        health: list[int] = []
        for outage in outages:
            with outage(settings.database_url):
                deadline = time.monotonic() + OUTAGE_S
                while time.monotonic() < deadline:
                    for call in (lambda: client.get(f"/v1/searches/{search_id}"), lambda: client.get("/v1/healthz"),
                                 lambda: client.post("/v1/searches", json={"n_trials": 1})):
                        seconds, response = _timed(call)
                        answers.append((seconds, response.status_code, response.headers.get("retry-after")))
                    health.append(answers[-2][1])
                    time.sleep(0.5)
        body = wait_for(client, search_id, lambda b: b["state"] != "running", timeout_s=120)
    assert max(seconds for seconds, _, _ in answers) < 2.0, answers
    assert all(code != 500 for _, code, _ in answers), answers
    unavailable = [(code, retry) for _, code, retry in answers if code == 503]
    assert unavailable and all(retry for _, retry in unavailable), answers
    assert set(health) == {503}, health  # healthz says the database is down, also when only writes fail
    assert client.get("/v1/healthz").status_code == 200
    if postgres:  # nothing answers from a database that refuses connections
        assert {code for _, code, _ in answers} == {503}, answers
    assert body["state"] == "succeeded", body
    trials = _trials(client, search_id)
    assert body["progress"]["complete"] == 8 and not [t for t in trials if t["state"] == "FAIL"], trials
