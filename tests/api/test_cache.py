"""The read cache: at most ``ttl_s`` old, one render per key at a time, own writes invalidate."""

from __future__ import annotations

import asyncio
import threading
import time

from fastapi.testclient import TestClient

from api.cache import ReadCache
from api.main import create_app
from store.settings import Settings


def test_renders_once_per_period_for_many_concurrent_readers() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def render() -> bytes:
        with lock:
            calls.append(1)
        time.sleep(0.05)
        return f"v{len(calls)}".encode()

    async def scenario() -> None:
        cache = ReadCache(ttl_s=0.3)

        async def burst() -> set[bytes]:
            return set(await asyncio.gather(*(cache.get("k", render) for _ in range(100))))

        assert await burst() == {b"v1"} and len(calls) == 1
        assert await burst() == {b"v1"} and len(calls) == 1  # still fresh
        await asyncio.sleep(0.35)
        assert await burst() == {b"v2"} and len(calls) == 2
        cache.invalidate("k")
        assert await cache.get("k", render) == b"v3"

    asyncio.run(scenario())


def test_errors_are_not_cached_and_ttl_zero_is_off() -> None:
    attempts: list[int] = []

    def failing() -> bytes:
        attempts.append(1)
        raise LookupError("gone")

    async def scenario() -> list[bytes]:
        cache = ReadCache(ttl_s=10)
        for _ in range(2):
            try:
                await cache.get("k", failing)
            except LookupError:
                pass
        off = ReadCache(ttl_s=0)
        return [await off.get("k", lambda i=i: str(i).encode()) for i in range(3)]

    assert asyncio.run(scenario()) == [b"0", b"1", b"2"]
    assert len(attempts) == 2


def test_a_cached_search_is_fresh_after_this_service_cancels_it(tmp_path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", read_cache_s=30)
    with TestClient(create_app(settings)) as client:
        search_id = client.post("/v1/searches", json={"n_trials": 1}).json()["id"]
        assert client.get(f"/v1/searches/{search_id}").json()["state"] == "queued"
        client.post(f"/v1/searches/{search_id}/cancel")
        assert client.get(f"/v1/searches/{search_id}").json()["state"] == "cancelled"
