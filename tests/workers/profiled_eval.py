"""A worker evaluation that must not time anything: real training, with ``measure_latency`` made to raise."""

from __future__ import annotations

from typing import Any


def untimed_evaluate(spec: Any, config: Any, referee: Any = None) -> dict[str, Any]:
    """``evaluate_trial`` with every latency measurement on the worker turned into an error."""
    from unittest import mock

    from workers.latency import measure as latency
    from workers.search import evaluate_trial
    from workers.training import evaluation

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a forward pass was timed on the worker")

    with mock.patch.object(evaluation, "measure_latency", refuse), mock.patch.object(latency, "measure_latency", refuse):
        return evaluate_trial(spec, config, referee)
