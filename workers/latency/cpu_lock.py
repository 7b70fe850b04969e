"""A per-node readers-writer lock over the CPU: training holds it shared, a latency measurement exclusively.

So no measurement overlaps training on the same cores (the same architecture then reads alike from trial to
trial), while trainings still run beside each other. It is two ``flock`` files in one directory per Ray node and
service (``lock_dir``), so it holds across the Ray worker processes of one node and the searches they run, and
the kernel drops a dead worker's hold; processes of another service (another Ray cluster) on the same host, or
outside Ray, neither wait for it nor hold it. A measurement first takes the gate, so trainings that start after it
waits queue behind it (no writer starvation); a training passes the gate, then holds the CPU lock shared. A lock
is never held across machines: each node measures on its own cores.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "NAS_CPU_LOCK_DIR"


@functools.cache
def _private_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="nas-cpu-lock-"))


def ray_node_dir() -> Path | None:
    """``<Ray temp dir>/<session>/nas-cpu-lock-<node id>`` when this process is a Ray driver or worker (Ray already
    imported and connected; never starts one), else None."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    return Path(context.get_temp_dir()) / context.get_session_name() / f"nas-cpu-lock-{context.get_node_id()[:16]}"


def lock_dir() -> Path:
    """Where this node's lock lives: ``NAS_CPU_LOCK_DIR`` when set (a service passes its own directory down to
    its workers); else, in a Ray driver or worker, a directory of the Ray session on this node
    (``ray_node_dir``): one per Ray node and cluster; else one private to this process (nothing to share)."""
    explicit = os.environ.get(ENV)
    path = Path(explicit) if explicit else ray_node_dir() or _private_dir()
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
