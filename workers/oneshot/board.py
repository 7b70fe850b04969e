"""Between a supernet's trainer and whoever started it: the ``Board`` (a Ray actor the trainer reports its steps
and epochs to, and that the caller reads and asks to stop), and ``Trained``, what a finished training hands
back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workers.oneshot.sandwich import SupernetResult


class Board:
    """Between a supernet's trainer and its caller (runs as a Ray actor of no CPU)."""

    def __init__(self) -> None:
        self.step, self.steps, self.stopping = 0, 0, False
        self.result: dict[str, Any] | None = None
        self.final: dict[str, Any] | None = None  # Ray Train: the run's result and rank 0's listeners

    def plan(self, steps: int) -> None:
        self.steps = steps

    def post_step(self, step: int) -> bool:
        """Record the step reached; whether to train on."""
        self.step = step
        return not self.stopping

    def post_epoch(self, result: dict[str, Any]) -> None:
        self.result = result

    def post_final(self, result: dict[str, Any], listening: list[str]) -> None:
        self.final = {"result": result, "listening": listening}

    def read(self) -> dict[str, Any]:
        return {"step": self.step, "steps": self.steps, "result": self.result, "final": self.final}

    def stop(self) -> None:
        self.stopping = True


def board_callbacks(board: Any) -> dict[str, Any]:
    """``train_supernet``'s ``on_step`` and ``on_epoch`` reporting to ``board`` (a Ray actor handle)."""
    import ray

    return {"on_step": lambda step: ray.get(board.post_step.remote(step)),
            "on_epoch": lambda epoch, result: board.post_epoch.remote(result.to_dict())}


@dataclass
class Trained:
    """A finished training: its result, its weights as a reference in Ray's object store, and (Ray Train) the
    TCP addresses its rank 0 listened on."""

    result: SupernetResult
    weights: Any
    listening: list[str] = field(default_factory=list)
