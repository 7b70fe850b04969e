"""The service as processes on 127.0.0.1, as users run it: the API (with the driver in-process when embedded,
else ``python -m jobs`` beside it), for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# The entry points the service runs with; docker-compose.yml runs the same (tests/api/test_compose.py).
API = [sys.executable, "-m", "api", "--host", "127.0.0.1"]
DRIVER = [sys.executable, "-m", "jobs"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    client: httpx.Client
    procs: list[subprocess.Popen]

    @property
    def driver(self) -> subprocess.Popen:
        """The process that runs the jobs: the API itself when embedded, else the separate driver."""
        return self.procs[-1]


@contextmanager
def running_service(url: str, embedded: bool, logs: Path,
                    extra_env: dict[str, str] | None = None) -> Iterator[Running]:
    """The API (with the driver in-process when ``embedded``, else a driver process beside it) until exit;
    ``extra_env`` adds to (or overrides) the processes' environment."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "NAS_HEARTBEAT_S": "0.5", "NAS_STALE_AFTER_S": "3",
           "NAS_POLL_S": "0.3", "NAS_RAY_CPUS": "2", "RAY_USAGE_STATS_ENABLED": "0", **(extra_env or {})}
    env.pop("RAY_ADDRESS", None)
    commands = [API + ["--port", str(port)] + (["--with-driver"] if embedded else [])]
    if not embedded:
        commands.append(DRIVER)
    log = logs.open("ab")
    procs = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
             for c in commands]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                assert all(p.poll() is None for p in procs), logs.read_text()[-3000:]
                try:
                    if client.get("/v1/healthz").json()["drivers"] >= 1:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "service not ready: " + logs.read_text()[-3000:]
                time.sleep(0.3)
            yield Running(client, procs)
    finally:
        for p in procs:  # the whole process group: the API, its Ray, the driver
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
        log.close()


@contextmanager
def service(url: str, embedded: bool, logs: Path) -> Iterator[httpx.Client]:
    with running_service(url, embedded, logs) as run:
        yield run.client


def wait_for(client: httpx.Client, search_id: str, done, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/v1/searches/{search_id}").raise_for_status().json()
        if done(body):
            return body
        time.sleep(0.5)
    raise AssertionError(f"timed out in state {body['state']} with {body['progress']}")
