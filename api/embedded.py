"""The embedded default's driver: ``python -m api --with-driver`` runs ``python -m jobs`` as a child process.

A child, not a thread: the driver (its Ray, its trial bookkeeping) then never competes with request handling
for the API process's interpreter lock, and a Ray failure cannot take the API down. The child gets the API's
settings through the environment, dies with the API (Linux parent-death signal), and is stopped with SIGTERM
at shutdown, which hands its running jobs back to the queue.

The child is supervised: when it exits for any reason (a crash, an OOM kill, a stray SIGTERM) a watcher thread
starts it again after a backoff that doubles from ``restart_s`` up to ``max_restart_s`` and starts over once a
child has run for ``stable_s``. Until it is back, ``GET /v1/healthz`` says ``degraded`` when jobs are queued
(drivers are counted by their heartbeats in the database, so a driver elsewhere counts too).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from jobs.lifetime import PARENT_ENV
from store.settings import Settings

log = logging.getLogger(__name__)
COMMAND = (sys.executable, "-m", "jobs")


@dataclass(frozen=True)
class DriverState:
    """What the API knows of its embedded driver, for health checks."""

    alive: bool
    pid: int | None
    restarts: int
    last_exit_code: int | None


class DriverProcess:
    """``python -m jobs`` beside the API, for the API's lifetime, restarted with backoff whenever it exits."""

    def __init__(self, settings: Settings, *, command: tuple[str, ...] = COMMAND, restart_s: float = 1.0,
                 max_restart_s: float = 60.0, stable_s: float = 60.0) -> None:
        self.settings = settings
        self.command = command
        self.restart_s, self.max_restart_s, self.stable_s = restart_s, max_restart_s, stable_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.last_exit_code: int | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # stop() and a restart never interleave
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="nas-driver-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        env = {**os.environ, **self.settings.to_env(), PARENT_ENV: str(os.getpid())}
        self.proc = subprocess.Popen(list(self.command), env=env)
        log.info("embedded driver started (pid %d)", self.proc.pid)

    def _watch(self) -> None:
        delay = self.restart_s
        while (proc := self.proc) is not None:
            started = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            self.last_exit_code = code
            if time.monotonic() - started >= self.stable_s:
                delay = self.restart_s  # it ran well for a while: this is a new failure, not a crash loop
            log.error("embedded driver (pid %d) exited with code %s; restarting it in %.0f s", proc.pid, code, delay)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()
                self.restarts += 1
            delay = min(delay * 2, self.max_restart_s)

    def state(self) -> DriverState:
        proc = self.proc
        alive = proc is not None and proc.poll() is None
        return DriverState(alive=alive, pid=proc.pid if proc is not None else None, restarts=self.restarts,
                           last_exit_code=self.last_exit_code)

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """No more restarts; SIGTERM, then wait: the driver hands its jobs back and exits 0. Killed after
        ``timeout_s``."""
        with self._lock:
            self._stopping.set()
            proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("embedded driver did not stop within %.0f s; killing it", timeout_s)
                proc.kill()
                proc.wait()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        return proc.returncode
