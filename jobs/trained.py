"""What the full-fidelity kinds (``jobs.training``, ``jobs.finalize``) share: a network's progress, read from
the files its Ray task writes (``workers.training.network``) every few seconds from the engine's stop check and
recorded when it changed, and what an architecture records of a trained network (its product's report, the job
that trained it, its files relative to the artifacts directory)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers.runtime import StopCheck, StopReason, TrialState
from workers.training import FILES, read_progress

PROGRESS_EVERY_S = 2.0


def network_progress(directory: Path, epochs_total: int | None = None) -> dict[str, Any]:
    """A network's state (WAITING before its first epoch, RUNNING, COMPLETE once its product is written), its
    epochs so far and of its recipe (``epochs_total`` until its task writes it)."""
    progress = read_progress(directory)
    epochs = progress.get("epochs", [])
    if (directory / FILES["report"]).exists():
        state = TrialState.COMPLETE
    else:
        state = TrialState.RUNNING if epochs else TrialState.WAITING
    return {"name": directory.name, "state": state.value, "epochs_total": progress.get("epochs_total", epochs_total),
            "epochs": epochs}


class ProgressWatch:
    """Reads the progress of the networks in ``directories()`` (trained for ``epochs_total`` epochs) at most every
    ``every_s`` seconds (from the stop check the engine polls) and hands them to ``record`` (name -> progress)
    whenever they changed."""

    def __init__(self, directories: Callable[[], list[Path]], record: Callable[[dict[str, dict[str, Any]]], None],
                 epochs_total: int | None = None, every_s: float = PROGRESS_EVERY_S) -> None:
        self.directories, self.record, self.every_s = directories, record, every_s
        self.epochs_total = epochs_total
        self.seen: dict[str, dict[str, Any]] = {}
        self._next = 0.0

    def poll(self, force: bool = False) -> dict[str, dict[str, Any]]:
        """Read now; record when anything changed (or ``force``). The progress read."""
        current = {d.name: network_progress(d, self.epochs_total) for d in self.directories()}
        if force or current != self.seen:
            self.seen = current
            self.record(current)
        return current

    def stop_check(self, should_stop: StopCheck) -> StopCheck:
        """``should_stop`` that also polls the progress every ``every_s`` seconds."""

        def check() -> StopReason | None:
            reason = should_stop()
            now = time.monotonic()
            if reason is None and now >= self._next:
                self._next = now + self.every_s
                self.poll()
            return reason

        return check


def trained_record(directory: Path, artifacts: Path, kind: str, job_id: uuid.UUID,
                   **extra: Any) -> dict[str, Any]:
    """What an architecture records of the network trained into ``directory``: its product's report (curves,
    recipe, trained spec, validation and test accuracy, input statistics), the job, and its directory and files
    relative to ``artifacts``."""
    report = json.loads((directory / FILES["report"]).read_text())
    relative = directory.relative_to(artifacts).as_posix()
    files = report.pop("files", {})
    return {**report, **extra, "job": {"kind": kind, "id": str(job_id)}, "directory": relative,
            "files": {key: f"{relative}/{name}" for key, name in files.items()}}
