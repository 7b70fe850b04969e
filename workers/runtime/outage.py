"""Riding out a database outage: a write that finds the database away is retried until it is back.

A trial that finishes while PostgreSQL is down (or SQLite is locked or read-only) must not be lost, and the
job that ran it must not die: the driver keeps its result in memory and writes it when the database returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from workers.runtime.database import TRANSIENT

log = logging.getLogger(__name__)
T = TypeVar("T")
PATIENCE_S = 900.0  # then the error propagates and the job fails with it


def until_available(fn: Callable[[], T], *, what: str, errors: tuple[type[BaseException], ...] = TRANSIENT,
                    patience_s: float = PATIENCE_S) -> T:
    """``fn()``, retried with backoff (0.5 s doubling to 5 s) while it raises one of ``errors``."""
    deadline = time.monotonic() + patience_s
    delay = 0.5
    while True:
        try:
            return fn()
        except errors as err:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s: database unavailable (%s); retrying in %.1f s", what, str(err).splitlines()[0][:200],
                        delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
