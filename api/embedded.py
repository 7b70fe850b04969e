"""The embedded default's driver: ``python -m api --with-driver`` runs ``python -m jobs`` as a child process.

A child, not a thread: the driver (its Ray, its trial bookkeeping) then never competes with request handling
for the API process's interpreter lock, and a Ray failure cannot take the API down. The child gets the API's
settings through the environment, dies with the API (Linux parent-death signal), and is stopped with SIGTERM
at shutdown, which hands its running jobs back to the queue.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

from jobs.lifetime import PARENT_ENV
from store.settings import Settings

log = logging.getLogger(__name__)
class DriverProcess:
    """``python -m jobs`` beside the API, for the API's lifetime."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **self.settings.to_env(), PARENT_ENV: str(os.getpid())}
        self.proc = subprocess.Popen([sys.executable, "-m", "jobs"], env=env)
        log.info("embedded driver started (pid %d)", self.proc.pid)

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM, then wait; the driver hands its jobs back and exits 0. Killed after ``timeout_s``."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("embedded driver did not stop within %.0f s; killing it", timeout_s)
            self.proc.kill()
            return self.proc.wait()
