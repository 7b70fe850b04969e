"""A per-node readers-writer lock over the CPU: training holds it shared, a latency measurement exclusively.

So no measurement overlaps training on the same cores (the same architecture then reads alike from trial to
trial), while trainings still run beside each other. It is two ``flock`` files in one directory per machine
(``NAS_CPU_LOCK_DIR``, default the temp dir), so it holds across Ray worker processes and across searches on a
node, and the kernel drops a dead worker's hold. A measurement first takes the gate, so trainings that start
after it waits queue behind it (no writer starvation); a training passes the gate, then holds the CPU lock
shared. A lock is never held across machines: each node measures on its own cores.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_dir() -> Path:
    path = Path(os.environ.get("NAS_CPU_LOCK_DIR") or Path(tempfile.gettempdir()) / f"nas-cpu-lock-{os.getuid()}")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _flock(name: str, mode: int) -> Iterator[None]:
    fd = os.open(lock_dir() / name, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def training() -> Iterator[None]:
    """Held while a worker trains: many at once, none while a measurement runs or waits."""
    fd = os.open(lock_dir() / "cpu", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with _flock("gate", fcntl.LOCK_EX):
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextmanager
def measuring() -> Iterator[None]:
    """Held while a latency is timed: waits for the running trainings to end, holds new ones back."""
    with _flock("gate", fcntl.LOCK_EX), _flock("cpu", fcntl.LOCK_EX):
        yield
