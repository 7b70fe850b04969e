"""Stand-in candidate evaluations for grid tests: metrics from the analytic count, or a failure on cue.

Same signature as ``scaler.grid.evaluate_candidate``; they run in Ray workers without training.
"""

from __future__ import annotations

import os
import time
import zlib
from typing import Any

from searchspace.counter import count

RAISES = "a2_b1_g1"  # the candidate whose evaluation raises
CRASHES = "a1.25_b1.1_g1.15"  # the candidate whose worker dies


def fake_evaluate(spec: Any, data: Any, budget: Any, seed: int, latency: Any, threads: int,
                  sleep: float = 0.0) -> dict[str, Any]:
    """Metrics from the count, after ``sleep`` seconds (a slow candidate, to cancel while it runs)."""
    time.sleep(sleep)
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


# Candidates kept from B0's grid by ``SEEDED`` in test_grid (counted phi = 1 MACs ratio within 0.1 of 2: the
# grid's first three), and the mean accuracy each scores under ``seeded_evaluate``.
LEVELS = {"a2_b1_g1": 0.9, "a1.25_b1.1_g1.15": 0.8, "a1.25_b1.15_g1.1": 0.7}


def _wiggle(key: str, seed: int) -> float:
    """A fixed pseudo-random number in [-1, 1] per (candidate, seed), the same in every process."""
    return zlib.crc32(f"{key}/{seed}".encode()) / 0xFFFFFFFF * 2 - 1


def seeded_evaluate(spec: Any, data: Any, budget: Any, seed: int, latency: Any, threads: int, *,
                    gap: float = 1.0, noise: float = 0.0) -> dict[str, Any]:
    """``LEVELS`` scaled by ``gap`` around 0.5, plus ``noise`` times a per-seed wiggle: clear or noisy rankings."""
    key = spec.name.rsplit("-", 1)[-1]
    accuracy = 0.5 + gap * (LEVELS[key] - 0.5) + noise * _wiggle(key, seed)
    return {**fake_evaluate(spec, data, budget, seed, latency, threads), "accuracy": accuracy,
            "epoch_accuracies": [accuracy]}
