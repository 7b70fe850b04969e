"""Micro-caching of hot reads: many clients polling one search cost one database read per ``ttl_s``.

A dashboard polls ``GET /v1/searches/{id}`` about once a second per viewer; two hundred viewers would otherwise
be two hundred database round trips and response renderings a second on the cores that train. The rendered
JSON is kept for ``ttl_s`` (``NAS_READ_CACHE_S``, 1 s by default; 0 turns it off), one computation per key runs
at a time (the others wait for it), and this process's own writes to a search drop its entry at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from starlette.concurrency import run_in_threadpool


class ReadCache:
    """Rendered responses, at most ``ttl_s`` old, at most ``max_entries`` of them (least recent dropped)."""

    def __init__(self, ttl_s: float, max_entries: int = 4096) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def _fresh(self, key: Hashable) -> bytes | None:
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.ttl_s:
            return None
        self._entries.move_to_end(key)
        return hit[1]

    async def get(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The cached rendering of ``key``, or ``render()`` run in the thread pool (errors propagate)."""
        if self.ttl_s <= 0:
            return await run_in_threadpool(render)
        cached = self._fresh(key)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._fresh(key)
            if cached is None:
                cached = await run_in_threadpool(render)
                self._entries[key] = (time.monotonic(), cached)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    old, _ = self._entries.popitem(last=False)
                    self._locks.pop(old, None)
        return cached

    def invalidate(self, key: Hashable) -> None:
        self._entries.pop(key, None)
