"""One trial's evaluation as a worker runs it: proxy training on real data, then latency (measured or predicted) and counted MACs."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from typing import Any

from searchspace.counter import count
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig, DatasetInfo
from workers.latency import (
    LatencyConfig,
    LatencyResult,
    PlainLoop,
    as_result,
    cpu_lock,
    measure_latency,
    time_module,
)
from workers.training.budget import EpochCallback, TrainBudget, TrainResult
from workers.training.loop import build_seeded, train_and_evaluate
from workers.training.measurements import Measurements


@dataclass(frozen=True, kw_only=True)
class Durations:
    """Wall-clock seconds of each phase of an evaluation."""

    load: float
    build: float
    train: float
    validate: float
    latency: float
    total: float

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """Everything measured for one architecture; ``spec`` is the candidate adapted to the dataset's classes."""

    spec: ArchSpec
    params: int
    macs: int
    dataset: DatasetInfo
    train: TrainResult
    latency: LatencyResult | None
    durations: Durations
    seed: int

    @property
    def accuracy(self) -> float:
        return self.train.accuracy

    @property
    def latency_ms(self) -> float | None:
        return None if self.latency is None else self.latency.median_ms

    def measurements(self) -> dict[str, Any]:
        """The JSON-ready ``Measurements`` a trial records (the one evaluation -> record mapping)."""
        measured = Measurements(accuracy=self.accuracy, epoch_accuracies=list(self.train.epoch_accuracies),
                                stopped=self.train.stopped, train_seconds=self.train.train_seconds,
                                eval_seconds=self.durations.total)
        if self.latency is None:  # not measured here: predicted by the driver, or not asked for
            return measured.to_dict()
        return with_latency(measured, self.latency).to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "params": self.params,
            "macs": self.macs,
            "accuracy": self.accuracy,
            "latency_ms": self.latency_ms,
            "seed": self.seed,
            "dataset": self.dataset.to_dict(),
            "train": self.train.to_dict(),
            "latency": None if self.latency is None else self.latency.to_dict(),
            "durations": self.durations.to_dict(),
        }


def with_latency(measurements: Measurements, latency: LatencyResult) -> Measurements:
    """``measurements`` with a measured latency: median, p90, the device and how it was measured."""
    info = latency.device_info
    scaled = "" if latency.scale is None else f", scaled to the node's reference speed by {latency.scale:.3f}"
    how = f"plain loop: {latency.loop}" if latency.loop else f"{latency.clock} clock{scaled}"
    source = f"measured on {info.device_name} ({info.device}, {info.threads} thread(s), {how})"
    return replace(measurements, latency_ms=latency.median_ms, latency_p90_ms=latency.p90_ms,
                   device=info.to_dict(), latency_source=source)


def adapt(spec: ArchSpec, info: DatasetInfo) -> ArchSpec:
    """``spec`` with the dataset's number of classes (the input channels and resolution stay the spec's)."""
    return spec if spec.num_classes == info.num_classes else replace(spec, num_classes=info.num_classes)


def measured(spec: ArchSpec, model: Any, latency: LatencyConfig) -> LatencyResult:
    """``model``'s latency as ``latency`` says: the plain loop (``workers.latency.plain``) or scaled passes."""
    if latency.timing_loop == "plain":
        loop = PlainLoop(threads=latency.threads, batch_size=latency.batch_size, warmup=latency.warmup)
        return as_result(time_module(model.cpu(), (spec.in_chans, spec.resolution, spec.resolution), loop))
    return measure_latency(spec, batch_size=latency.batch_size, threads=latency.threads, warmup=latency.warmup,
                           repeats=latency.repeats, device=latency.device, model=model, clock=latency.clock,
                           window_s=latency.window_s, reference=latency.reference and latency.device == "cpu")


def evaluate(
    spec: ArchSpec,
    data: DatasetConfig,
    budget: TrainBudget,
    seed: int = 0,
    latency: LatencyConfig | None = LatencyConfig(),
    threads: int | None = None,
    on_epoch: EpochCallback | None = None,
) -> Evaluation:
    """Count, train and time ``spec`` on ``data``; ``latency=None`` (or one naming a device profile) skips the
    latency measurement.

    Raises DatasetError for bad data and SpecError for a spec the data cannot feed; ``threads`` is the torch
    thread count for training (latency uses ``latency.threads``). Training holds the node's CPU lock shared and
    the measurement (``latency.exclusive``) holds it alone (``workers.latency.cpu_lock``).
    """
    start = time.perf_counter()
    info = data.validate()
    spec = adapt(spec, info)
    cost = count(spec)
    split = data.load(spec.resolution, spec.in_chans)
    loaded = time.perf_counter()
    model = build_seeded(spec, seed)
    built = time.perf_counter()
    with cpu_lock.training():
        result = train_and_evaluate(spec, split, budget, seed, on_epoch=on_epoch, threads=threads, model=model)
    trained = time.perf_counter()
    timing = None
    if latency is not None and latency.profile_id is None:  # a profiled device: the driver predicts it
        with cpu_lock.measuring() if latency.exclusive else contextlib.nullcontext():
            timing = measured(spec, model, latency)
    end = time.perf_counter()
    durations = Durations(load=loaded - start, build=built - loaded, train=result.train_seconds,
                          validate=result.eval_seconds, latency=end - trained, total=end - start)
    return Evaluation(spec=spec, params=cost.params, macs=cost.macs, dataset=info, train=result, latency=timing,
                      durations=durations, seed=seed)
