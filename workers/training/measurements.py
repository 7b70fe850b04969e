"""What one evaluation measured: the one record of measurements from a worker, through Ray and the ledger, to
the service's store. Its keys are its fields; ``to_dict`` and ``from_dict`` are the only (de)serialisation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from workers.training.budget import Stopped


@dataclass(frozen=True, kw_only=True)
class Measurements:
    """An evaluation's measurements: trained accuracy (per epoch too), why training stopped early, durations,
    latency (measured here, or left to the driver to predict), and where it ran (added by the executor)."""

    accuracy: float | None = None
    epoch_accuracies: list[float] = field(default_factory=list)
    stopped: Stopped | None = None  # why training ended early; None when it ran every epoch
    train_seconds: float | None = None
    eval_seconds: float | None = None
    latency_ms: float | None = None
    latency_p90_ms: float | None = None
    device: dict[str, Any] | None = None
    latency_source: str | None = None  # "predicted from device profile X ..." or "measured on Y ..."
    node_id: str | None = None  # the Ray node the evaluation ran on
    worker_pid: int | None = None
    cpu_seconds: float | None = None  # the evaluation's CPU time (every thread of its worker); None when copied

    def __post_init__(self) -> None:  # accepts the serialised forms too
        object.__setattr__(self, "epoch_accuracies", list(self.epoch_accuracies or []))
        if self.stopped is not None and not isinstance(self.stopped, Stopped):
            object.__setattr__(self, "stopped", Stopped(self.stopped) if self.stopped else None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with only what was measured (an absent key leaves a value predicted elsewhere in place)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["stopped"] = None if self.stopped is None else self.stopped.value
        return {k: v for k, v in data.items() if v is not None and v != []}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurements:
        """The measurements in ``data`` (a worker's result or a stored record; other keys are ignored)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
