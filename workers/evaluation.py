"""One candidate's full evaluation, as a Ray worker runs it: analytic cost, proxy training, measured latency.

``evaluate`` is a pure top-level function of frozen, picklable dataclasses; its ``Evaluation`` turns into
plain JSON with ``to_dict()``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from searchspace.checks import check_int
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig, DatasetInfo
from workers.latency import LatencyResult, measure_latency
from workers.training import EpochCallback, TrainBudget, TrainResult, build_seeded, train_and_evaluate

DEVICE = re.compile(r"(cpu|cuda)(:\d{1,3})?")


@dataclass(frozen=True, kw_only=True)
class LatencyConfig:
    """How latency is measured: batch, threads, warm-up and timed passes, device."""

    batch_size: int = field(default=1, metadata=doc("images per timed forward pass"))
    threads: int = field(default=1, metadata=doc("torch threads while timing"))
    warmup: int = field(default=10, metadata=doc("untimed passes first"))
    repeats: int = field(default=50, metadata=doc("timed passes (the median and p90 are reported)"))
    device: str = field(default="cpu", metadata=doc("cpu or cuda, optionally with an index (cuda:1)"))

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size, 1, 65_536)
        check_int("threads", self.threads, 1, 1024)
        check_int("warmup", self.warmup, 0, 100_000)
        check_int("repeats", self.repeats, 1, 100_000)
        if not isinstance(self.device, str) or not DEVICE.fullmatch(self.device):
            raise SpecError("device", f"must be cpu or cuda, optionally with an index (cuda:1); "
                                      f"got {self.device!r:.80}")

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


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
        """The flat, JSON-ready measurements a trial records (the one evaluation -> record mapping)."""
        return {
            "accuracy": self.accuracy,
            "epoch_accuracies": list(self.train.epoch_accuracies),
            "stopped": self.train.stopped or None,
            "train_seconds": self.train.train_seconds,
            "eval_seconds": self.durations.total,
            "latency_ms": self.latency_ms,
            "latency_p90_ms": None if self.latency is None else self.latency.p90_ms,
            "device": None if self.latency is None else self.latency.device_info.to_dict(),
        }

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


def adapt(spec: ArchSpec, info: DatasetInfo) -> ArchSpec:
    """``spec`` with the dataset's number of classes (the input channels and resolution stay the spec's)."""
    return spec if spec.num_classes == info.num_classes else replace(spec, num_classes=info.num_classes)


def evaluate(
    spec: ArchSpec,
    data: DatasetConfig,
    budget: TrainBudget,
    seed: int = 0,
    latency: LatencyConfig | None = LatencyConfig(),
    threads: int | None = None,
    on_epoch: EpochCallback | None = None,
) -> Evaluation:
    """Count, train and time ``spec`` on ``data``; ``latency=None`` skips the latency measurement.

    Raises DatasetError for bad data and SpecError for a spec the data cannot feed; ``threads`` is the torch
    thread count for training (latency uses ``latency.threads``).
    """
    start = time.perf_counter()
    info = data.validate()
    spec = adapt(spec, info)
    cost = count(spec)
    split = data.load(spec.resolution, spec.in_chans)
    loaded = time.perf_counter()
    model = build_seeded(spec, seed)
    built = time.perf_counter()
    result = train_and_evaluate(spec, split, budget, seed, on_epoch=on_epoch, threads=threads, model=model)
    trained = time.perf_counter()
    timing = None
    if latency is not None:
        timing = measure_latency(spec, batch_size=latency.batch_size, threads=latency.threads,
                                 warmup=latency.warmup, repeats=latency.repeats, device=latency.device, model=model)
    end = time.perf_counter()
    durations = Durations(load=loaded - start, build=built - loaded, train=result.train_seconds,
                          validate=result.eval_seconds, latency=end - trained, total=end - start)
    return Evaluation(spec=spec, params=cost.params, macs=cost.macs, dataset=info, train=result, latency=timing,
                      durations=durations, seed=seed)
