"""The command line's terminal: only what the command means to say reaches it.

Ray and Optuna write notices (Optuna's "A new study created", Ray's startup lines, a core worker's "Task ...
failed ... actor is dead") to the process's standard output and error, from Python, from C++ and from child
processes that inherit the descriptors. ``console`` points file descriptors 1 and 2 at a log file while a
command runs (or, with ``verbose``, both at standard error), so every such line lands there whoever writes it,
and hands the command streams to the real terminal: ``out`` for the result (the one JSON document under
``--json``) and ``err`` for the progress bar and messages.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

DEFAULT_LOG = "nas-search.log"


@dataclass(frozen=True)
class Console:
    out: TextIO  # the terminal's standard output
    err: TextIO  # the terminal's standard error
    log: Path | None  # where everything else went (None: to standard error, with verbose)


def log_path_for(storage_url: str) -> Path:
    """The default log file: beside a SQLite database (its name with ``.log``), else ``./nas-search.log``."""
    prefix = "sqlite:///"
    if storage_url.startswith(prefix) and storage_url[len(prefix):] not in ("", ":memory:"):
        return Path(storage_url[len(prefix):]).with_suffix(".log")
    return Path(DEFAULT_LOG)


@contextmanager
def console(log: Path | None, verbose: bool = False) -> Iterator[Console]:
    """While inside, descriptors 1 and 2 and Python's ``sys.stdout``/``sys.stderr`` write to ``log`` (appended),
    or all to standard error when ``verbose`` or ``log`` is None; Python's logging (INFO and up) goes the same
    way. The yielded streams reach the terminal. Everything is restored on the way out."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    out = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    err = os.fdopen(os.dup(saved[2]), "w", buffering=1)
    quiet = log is not None and not verbose
    if quiet:
        log.parent.mkdir(parents=True, exist_ok=True)
        target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    else:
        target = os.dup(saved[2])
    elsewhere = os.fdopen(os.dup(target), "w", buffering=1)
    handler = logging.StreamHandler(elsewhere)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level, streams = root.level, (sys.stdout, sys.stderr)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        sys.stdout = sys.stderr = elsewhere
        root.addHandler(handler)
        root.setLevel(min(level, logging.INFO) if level else logging.INFO)
        yield Console(out, err, log if quiet else None)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        sys.stdout, sys.stderr = streams
        for stream in (elsewhere, out, err, *streams):
            stream.flush()
        os.dup2(saved[1], 1)
        os.dup2(saved[2], 2)
        for fd in (*saved.values(), target):
            os.close(fd)
        for stream in (elsewhere, out, err):
            stream.close()
