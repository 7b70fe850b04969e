"""One candidate's full evaluation, as a Ray worker runs it: analytic cost, proxy training, measured latency.

``evaluate`` is a pure top-level function of frozen, picklable dataclasses; its ``Evaluation`` turns into
plain JSON with ``to_dict()``.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from searchspace.checks import check_bool, check_choice, check_float, check_int
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from searchspace.latency_table import CLOCKS
from searchspace.spec import ArchSpec
from workers import cpu_lock
from workers.data import DatasetConfig, DatasetInfo
from workers.latency import LatencyResult, measure_latency
from workers.training import EpochCallback, TrainBudget, TrainResult, build_seeded, train_and_evaluate

DEVICE = re.compile(r"(cpu|cuda)(:\d{1,3})?")
PROFILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, kw_only=True)
class LatencyConfig:
    """How latency is obtained: measured on the worker (batch, threads, warm-up, timed passes, device), or
    predicted from an uploaded device profile when ``device`` names one."""

    batch_size: int = field(default=1, metadata=doc("images per timed forward pass"))
    threads: int = field(default=1, metadata=doc("torch threads while timing"))
    warmup: int = field(default=10, metadata=doc("untimed passes first"))
    repeats: int = field(default=50, metadata=doc(
        "timed passes at least, more while window_s lasts (the median and p90 are reported)"))
    device: str = field(default="cpu", metadata=doc(
        "cpu or cuda (optionally with an index, cuda:1): measured on the worker; or the id of a device profile "
        "(POST /v1/devices): predicted from its latency table"))
    clock: str = field(default="wall", metadata=doc(
        "wall: elapsed time; cpu: the timing thread's CPU time (leaves out other processes' turns on the core)"))
    exclusive: bool = field(default=True, metadata=doc(
        "measure with the node's CPUs to itself (waits for trainings on the node to pause); false: beside them"))
    window_s: float = field(default=2.0, metadata=doc(
        "seconds the timed passes go on for at least (a burst of load on a shared host spoils some passes, not "
        "the measurement); 0: repeats passes only"))
    reference: bool = field(default=True, metadata=doc(
        "time a fixed reference network after every pass and scale each pass by the node's reference level "
        "over it, so drift of the machine's speed (co-tenants, throttling) cancels (the level is timed once per "
        "node, over 10 s; a CUDA device is timed as it is)"))

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size, 1, 65_536)
        check_int("threads", self.threads, 1, 1024)
        check_int("warmup", self.warmup, 0, 100_000)
        check_int("repeats", self.repeats, 1, 100_000)
        if not isinstance(self.device, str) or not (DEVICE.fullmatch(self.device) or PROFILE_ID.fullmatch(self.device)):
            raise SpecError("device", f"must be cpu or cuda, optionally with an index (cuda:1), or a device "
                                      f"profile id (letters, digits, '_', '.', '-'); got {self.device!r:.80}")
        check_choice("clock", self.clock, CLOCKS)
        check_bool("exclusive", self.exclusive)
        check_float("window_s", self.window_s, 0, 600)
        check_bool("reference", self.reference)

    @property
    def profile_id(self) -> str | None:
        """The device profile latency is predicted from; None when it is measured on the worker."""
        return None if DEVICE.fullmatch(self.device) else self.device

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON; the fields added after studies were named (clock, exclusive) only when not default, so
        that every earlier config keeps its bytes and its study name."""
        data = as_dict(self)
        for name in _LATER_FIELDS:
            if data[name] == getattr(_DEFAULT, name):
                del data[name]
        return data


_LATER_FIELDS = ("clock", "exclusive", "window_s", "reference")
_DEFAULT = LatencyConfig()


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
        measured = {
            "accuracy": self.accuracy,
            "epoch_accuracies": list(self.train.epoch_accuracies),
            "stopped": self.train.stopped or None,
            "train_seconds": self.train.train_seconds,
            "eval_seconds": self.durations.total,
        }
        if self.latency is None:  # not measured here: predicted by the driver, or not asked for
            return measured
        info = self.latency.device_info
        scale = self.latency.scale
        scaled = "" if scale is None else f", scaled to the node's reference speed by {scale:.3f}"
        source = (f"measured on {info.device_name} ({info.device}, {info.threads} thread(s), {self.latency.clock} "
                  f"clock{scaled})")
        return {**measured, "latency_ms": self.latency_ms, "latency_p90_ms": self.latency.p90_ms,
                "device": info.to_dict(), "latency_source": source}

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
    """Count, train and time ``spec`` on ``data``; ``latency=None`` (or one naming a device profile) skips the
    latency measurement.

    Raises DatasetError for bad data and SpecError for a spec the data cannot feed; ``threads`` is the torch
    thread count for training (latency uses ``latency.threads``). Training holds the node's CPU lock shared and
    the measurement (``latency.exclusive``) holds it alone (``workers.cpu_lock``).
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
            timing = measure_latency(spec, batch_size=latency.batch_size, threads=latency.threads,
                                     warmup=latency.warmup, repeats=latency.repeats, device=latency.device,
                                     model=model, clock=latency.clock, window_s=latency.window_s,
                                     reference=latency.reference and latency.device == "cpu")
    end = time.perf_counter()
    durations = Durations(load=loaded - start, build=built - loaded, train=result.train_seconds,
                          validate=result.eval_seconds, latency=end - trained, total=end - start)
    return Evaluation(spec=spec, params=cost.params, macs=cost.macs, dataset=info, train=result, latency=timing,
                      durations=durations, seed=seed)
