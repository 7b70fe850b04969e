"""Read load on a running service: 200 clients polling ``GET /v1/searches/{id}`` while that search trains.

    .venv/bin/python benchmarks/read_load.py [--clients 200] [--seconds 20] [--interval 1.0] \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB]

Starts the service as users run it (embedded driver on a fresh SQLite file by default; with a PostgreSQL URL,
the API and a separate ``python -m jobs``), queues a real search (digits, 16 px, proxy training), and once it
runs, has ``--clients`` concurrent clients each poll the search every ``--interval`` seconds (a dashboard's
polling, each on its own keep-alive connection) for ``--seconds``. Prints latency percentiles, errors, how
stale the driver's heartbeat got during the load, and whether the search then succeeded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.service_process import running_service, wait_for

SEARCH = {"n_trials": 6, "n_workers": 2, "sampler": "random", "pruner": "none", "seed": 1,
          "space": {"resolutions": [16]}, "dataset": {"subset": 0.3}, "training": {"epochs": 2, "batch_size": 32},
          "latency": {"warmup": 2, "repeats": 5}}


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One keep-alive HTTP/1.1 GET on an open connection; its status code (the body is read and dropped).

    A hand-written client: httpx costs about a millisecond of CPU per request, which on two shared cores
    would load the machine more than the server under test does."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    await reader.readexactly(length)
    return status


async def _client(host: str, port: int, path: str, until: float, interval_s: float, out: LoadResult,
                  offset: float) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
    await asyncio.sleep(offset)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(_get(reader, writer, request), timeout=10)
                if status != 200:
                    out.errors.append(f"HTTP {status}")
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as err:
                out.errors.append(type(err).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            out.latencies_ms.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(max(0.0, interval_s - (time.perf_counter() - started)))
    finally:
        writer.close()


def read_load(base_url: str, path: str, clients: int = 200, seconds: float = 20.0,
              interval_s: float = 1.0) -> LoadResult:
    """``clients`` concurrent pollers of ``path`` (one connection each), spread evenly over the first
    interval, for ``seconds``."""
    out = LoadResult()
    url = httpx.URL(base_url)

    async def main() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(url.host, url.port, path, until, interval_s, out, i * interval_s / clients)
                               for i in range(clients)))

    asyncio.run(main())
    return out


class HeartbeatWatch:
    """Samples, in a thread, how stale the newest driver heartbeat in the database is."""

    def __init__(self, url: str) -> None:
        from store.db import get_engine

        self.engine, self.ages, self.stop = get_engine(url), [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from sqlalchemy import func, select

        from store.db import utcnow
        from store.models import Driver

        while not self.stop.wait(0.5):
            with self.engine.connect() as conn:
                newest = conn.scalar(select(func.max(Driver.heartbeat_at)))
            if newest is not None:
                self.ages.append((utcnow() - newest).total_seconds())

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/load.db"
        embedded = url.startswith("sqlite")
        logs = Path(tmp) / "service.log"
        with running_service(url, embedded, logs) as run:
            search_id = run.client.post("/v1/searches", json=SEARCH).raise_for_status().json()["id"]
            wait_for(run.client, search_id, lambda b: b["state"] == "running", timeout_s=120)
            started = time.monotonic()
            with HeartbeatWatch(url) as beats:
                result = read_load(str(run.client.base_url), f"/v1/searches/{search_id}", args.clients,
                                   args.seconds, args.interval)
            elapsed = time.monotonic() - started
            body = wait_for(run.client, search_id, lambda b: b["state"] not in ("queued", "running"), timeout_s=600)
    n = len(result.latencies_ms)
    print(f"{args.clients} clients x GET /v1/searches/{{id}} every {args.interval:g} s for {elapsed:.1f} s "
          f"({'SQLite, embedded driver' if embedded else 'PostgreSQL, separate driver'}), a search training beside")
    print(f"requests {n} ({n / elapsed:.0f}/s), errors {len(result.errors)} {sorted(set(result.errors))[:5]}")
    print(f"latency ms: p50 {result.percentile(0.5):.1f}, p95 {result.percentile(0.95):.1f}, "
          f"p99 {result.percentile(0.99):.1f}, max {max(result.latencies_ms, default=0):.1f}, "
          f"mean {statistics.fmean(result.latencies_ms) if n else 0:.1f}")
    print(f"driver heartbeat age during the load: max {max(beats.ages, default=float('nan')):.1f} s "
          f"(beats every 0.5 s here, a job is re-claimed after 3 s without)")
    print(f"search afterwards: {body['state']} ({body['progress']})")
    print("command: .venv/bin/python benchmarks/read_load.py " + " ".join(sys.argv[1:]))
    return 0 if not result.errors and body["state"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
