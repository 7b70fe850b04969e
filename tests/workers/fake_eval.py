"""Stand-in evaluations for driver tests: deterministic metrics from the analytic count, optional crash/sleep.

They exercise the driver, Ray and the storage without training; real training is covered elsewhere.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from searchspace.counter import count


def fake_evaluate(spec: Any, config: Any, referee: Any = None, sleep: float = 0.0) -> dict[str, Any]:
    c = count(spec)
    time.sleep(sleep)
    accuracy = 0.5 + (c.params % 997) / 2000
    latency = c.macs / 1e6
    return {"accuracy": accuracy, "epoch_accuracies": [accuracy], "latency_ms": latency,
            "latency_p90_ms": latency, "train_seconds": 0.0, "eval_seconds": 0.0,
            "device": {"device": "fake"}, "stopped": None}


def crash_once_evaluate(spec: Any, config: Any, referee: Any = None, marker: str = "") -> dict[str, Any]:
    """Kills its own worker process the first time it runs (the marker file remembers), then behaves."""
    if not Path(marker).exists():
        Path(marker).write_text("crashed")
        os._exit(1)
    return fake_evaluate(spec, config, referee)


def raising_evaluate(spec: Any, config: Any, referee: Any = None) -> dict[str, Any]:
    raise RuntimeError("boom: evaluation failed")


def refereed_evaluate(spec: Any, config: Any, referee: Any = None, sleep: float = 0.0) -> dict[str, Any]:
    """Reports three epochs to the referee, as real training does, and stops when it says so."""
    from workers.search.trial import epoch_check

    measured = fake_evaluate(spec, config, referee)
    on_epoch = epoch_check(referee)
    for epoch in range(3):
        time.sleep(sleep / 3)
        if not on_epoch(epoch, measured["accuracy"] - 0.01 * (2 - epoch)):
            return {**measured, "stopped": "callback"}
    return measured


def busy_evaluate(spec: Any, config: Any, referee: Any = None, cpu_s: float = 0.3) -> dict[str, Any]:
    """Spends ``cpu_s`` of CPU time (a busy loop) before answering, like training does."""
    start = time.process_time()
    while time.process_time() - start < cpu_s:
        pass
    return fake_evaluate(spec, config, referee)


def rung_evaluate(spec: Any, config: Any, referee: Any = None) -> dict[str, Any]:
    """Trains ``config.budget.epochs`` stand-in epochs, asking the referee after each; the curve it ran."""
    from workers.search.trial import epoch_check

    measured = fake_evaluate(spec, config, referee)
    on_epoch = epoch_check(referee)
    curve: list[float] = []
    epochs = config.budget.epochs
    for epoch in range(epochs):
        curve.append(measured["accuracy"] - 0.01 * (epochs - 1 - epoch))
        if not on_epoch(epoch, curve[-1]) and epoch + 1 < epochs:
            return {**measured, "accuracy": curve[-1], "epoch_accuracies": curve, "stopped": "callback"}
    return {**measured, "epoch_accuracies": curve}
