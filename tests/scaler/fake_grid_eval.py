"""Stand-in candidate evaluations for grid tests: metrics from the analytic count, or a failure on cue.

Same signature as ``scaler.grid.evaluate_candidate``; they run in Ray workers without training.
"""

from __future__ import annotations

import os
import time
from typing import Any

from searchspace.counter import count

RAISES = "a2_b1_g1"  # the candidate whose evaluation raises
CRASHES = "a1.25_b1.1_g1.15"  # the candidate whose worker dies


def fake_evaluate(spec: Any, data: Any, budget: Any, seed: int, latency: Any, threads: int) -> dict[str, Any]:
    c = count(spec)
    accuracy = 0.5 + (c.params % 997) / 2000
    return {"accuracy": accuracy, "epoch_accuracies": [accuracy], "latency_ms": c.macs / 1e6,
            "train_seconds": 0.0, "eval_seconds": 0.0, "stopped": None}


def failing_evaluate(spec: Any, data: Any, budget: Any, seed: int, latency: Any, threads: int) -> dict[str, Any]:
    if spec.name.endswith(RAISES):
        raise ValueError("boom: the evaluation failed")
    if spec.name.endswith(CRASHES):
        os._exit(1)
    return fake_evaluate(spec, data, budget, seed, latency, threads)


def slow_evaluate(spec: Any, data: Any, budget: Any, seed: int, latency: Any, threads: int) -> dict[str, Any]:
    time.sleep(120)
    return fake_evaluate(spec, data, budget, seed, latency, threads)


def forbidden_evaluate(spec: Any, data: Any, budget: Any, seed: int, latency: Any, threads: int) -> dict[str, Any]:
    raise AssertionError(f"{spec.name} was evaluated again")
