"""Proxy training on digits (real training, real accuracy) and the full evaluate() a worker runs."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import pytest
import torch

import searchspace
from searchspace.errors import SpecError
from tests.workers import tiny_spec
from workers.data import DatasetConfig, SplitData
from workers.latency import LatencyConfig
from workers.training import Stopped, TrainBudget, evaluate, train_and_evaluate
from workers.training.loop import cosine_lrs

DIGITS = DatasetConfig(subset=0.4, seed=0)
BUDGET = TrainBudget(epochs=3, batch_size=32, lr=0.1)


@pytest.fixture(scope="module")
def digits() -> SplitData:
    return DIGITS.load(16, 1)


def test_training_on_digits_beats_chance_clearly(digits: SplitData) -> None:
    result = train_and_evaluate(tiny_spec(), digits, BUDGET, seed=0, threads=1)
    assert result.accuracy > 0.8  # chance is 0.1; about 0.95 on three seeds
    assert result.epochs_run == 3 and len(result.epoch_accuracies) == 3 and result.stopped is None
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert result.accuracy == result.epoch_accuracies[-1]
    assert result.train_size == len(digits.y_train) and result.val_size == len(digits.y_val)
    assert result.images_seen == 3 * (result.train_size // 32) * 32
    assert result.images_per_second == pytest.approx(result.images_seen / result.train_seconds)


def test_same_seed_same_result_and_thread_count_restored(digits: SplitData) -> None:
    before = torch.get_num_threads()
    budget = replace(BUDGET, epochs=1, subset=0.5)
    first = train_and_evaluate(tiny_spec(), digits, budget, seed=7, threads=1)
    second = train_and_evaluate(tiny_spec(), digits, budget, seed=7, threads=1)
    other = train_and_evaluate(tiny_spec(), digits, budget, seed=8, threads=1)
    assert first.epoch_accuracies == second.epoch_accuracies
    assert first.epoch_losses == second.epoch_losses
    assert other.epoch_losses != first.epoch_losses
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("optimizer, lr", [("adam", 3e-3), ("adamw", 3e-3)])
def test_adaptive_optimizers_train(digits: SplitData, optimizer: str, lr: float) -> None:
    budget = replace(BUDGET, epochs=2, optimizer=optimizer, lr=lr, label_smoothing=0.1)
    assert train_and_evaluate(tiny_spec(), digits, budget, seed=0, threads=1).accuracy > 0.6


def test_callback_stops_training(digits: SplitData) -> None:
    seen: list[tuple[int, float]] = []

    def on_epoch(epoch: int, accuracy: float) -> bool:
        seen.append((epoch, accuracy))
        return epoch < 1

    result = train_and_evaluate(tiny_spec(), digits, replace(BUDGET, subset=0.3), seed=0, on_epoch=on_epoch, threads=1)
    assert [e for e, _ in seen] == [0, 1]
    assert result.stopped is Stopped.CALLBACK and result.epochs_run == 2
    assert [a for _, a in seen] == list(result.epoch_accuracies)


def test_time_budget_stops_after_one_step(digits: SplitData) -> None:
    result = train_and_evaluate(tiny_spec(), digits, replace(BUDGET, max_seconds=1e-3), seed=0, threads=1)
    assert result.stopped is Stopped.TIME and result.epochs_run == 1 and result.images_seen == 32


def test_cosine_schedule() -> None:
    lrs = cosine_lrs(0.2, 4)
    assert lrs[0] == 0.2 and lrs[2] == pytest.approx(0.1) and lrs == sorted(lrs, reverse=True)


def test_budget_and_spec_mismatches_are_spec_errors(digits: SplitData) -> None:
    with pytest.raises(SpecError, match="optimizer"):
        TrainBudget(optimizer="rmsprop")
    with pytest.raises(SpecError, match="batch_size"):
        TrainBudget(batch_size=1)
    with pytest.raises(SpecError, match="resolution"):
        train_and_evaluate(tiny_spec(resolution=24), digits, BUDGET)
    with pytest.raises(SpecError, match="num_classes"):
        train_and_evaluate(tiny_spec(num_classes=5), digits, BUDGET)


def test_evaluate_combines_count_training_and_latency() -> None:
    spec = tiny_spec(in_chans=3, num_classes=1000)  # adapted to the dataset's 10 classes
    budget = replace(BUDGET, epochs=2)
    result = evaluate(spec, DIGITS, budget, seed=0, latency=LatencyConfig(repeats=5, warmup=2), threads=1)
    assert result.spec == replace(spec, num_classes=10)
    cost = searchspace.count(result.spec)
    assert (result.params, result.macs) == (cost.params, cost.macs)
    assert result.accuracy > 0.5
    assert result.latency is not None and result.latency_ms == result.latency.median_ms > 0
    assert result.durations.total >= result.durations.train + result.durations.latency
    assert pickle.loads(pickle.dumps(result)) == result  # what a Ray worker sends back
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert searchspace.ArchSpec.from_dict(data["spec"]) == result.spec
    assert data["train"]["epoch_accuracies"] == list(result.train.epoch_accuracies)
    assert data["dataset"]["num_classes"] == 10 and data["latency"]["device_info"]["torch"] == torch.__version__
    # The same seed gives the same accuracy through evaluate() as through train_and_evaluate().
    direct = train_and_evaluate(result.spec, DIGITS, budget, seed=0, threads=1)
    assert direct.epoch_accuracies == result.train.epoch_accuracies
    assert evaluate(spec, DIGITS, replace(budget, epochs=1), latency=None, threads=1).latency is None
