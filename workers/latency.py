"""Measured inference latency: eval mode, inference mode, fixed threads, warm-up, then timed repeats."""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_choice, check_int, check_float
from searchspace.latency_table import CLOCKS
from searchspace.spec import ArchSpec

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True, kw_only=True)
class DeviceInfo:
    """What a latency was measured on."""

    device: str
    device_name: str
    cpu: str
    machine: str
    cpu_count: int
    threads: int
    torch: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class LatencyResult:
    """Milliseconds per forward pass of a batch: median, 90th percentile, mean and min over ``repeats``."""

    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    repeats: int
    warmup: int
    batch_size: int
    threads: int
    device_info: DeviceInfo
    clock: str = "wall"  # wall: elapsed time; cpu: the timing thread's CPU time
    window_s: float = 0.0  # seconds the timed passes were spread over (0: back to back)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["device_info"] = self.device_info.to_dict()
        return data


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Processor", "cpu model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@contextmanager
def flushed_denormals() -> Iterator[None]:
    """Denormal floats flushed to zero on this thread while timing (x86 FTZ/DAZ): a network's speed then
    depends on its architecture, not on whether its weights happen to make tiny activations; off afterwards."""
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def timed_rounds(runs: Sequence[Callable[[], Any]], rounds: int, repeats: int, clock: Callable[[], float],
                 gap_s: float = 0.0) -> list[list[float]]:
    """Seconds of every timed call of each run: ``rounds`` passes over ``runs`` in turn, ``repeats`` calls of
    each per pass, ``gap_s`` apart. Interleaved and spread out, a burst of load on the machine (another tenant,
    another process) spoils some rounds of many runs instead of every call of a few."""
    times: list[list[float]] = [[] for _ in runs]
    for r in range(rounds):
        for run, out in zip(runs, times, strict=True):
            for _ in range(repeats):
                start = clock()
                run()
                out.append(clock() - start)
        if gap_s and r < rounds - 1:
            time.sleep(gap_s)
    return times


def device_info(device: str, threads: int) -> DeviceInfo:
    """A record of the machine, device, thread count and torch version."""
    import torch

    name = cpu_model()
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    return DeviceInfo(device=device, device_name=name, cpu=cpu_model(), machine=platform.machine(),
                      cpu_count=os.cpu_count() or 0, threads=threads, torch=torch.__version__)


def measure_latency(
    spec: ArchSpec,
    batch_size: int = 1,
    threads: int = 1,
    warmup: int = 10,
    repeats: int = 50,
    device: str = "cpu",
    model: nn.Module | None = None,
    clock: str = "wall",
    window_s: float = 0.0,
) -> LatencyResult:
    """Time ``repeats`` forward passes of a ``batch_size`` x ``spec``-shaped random input after ``warmup`` passes.

    With ``window_s`` the timed passes run in up to 10 rounds spread evenly over that many seconds, so that a
    burst of load on the machine (a co-tenant of a shared host) spoils some rounds, not the measurement.
    Denormal floats are flushed to zero while timing (``flushed_denormals``).

    ``model`` is measured instead of building ``spec`` when given (its train/eval mode and device are restored
    afterwards); torch's thread count is set to ``threads`` for the measurement and restored afterwards.
    ``clock='cpu'`` times the calling thread's CPU time instead of elapsed time: on a CPU shared with other
    processes it leaves out the time they had the core (CPU device, one thread: torch runs on this thread).
    """
    import numpy as np
    import torch

    check_int("batch_size", batch_size, 1, 65_536)
    check_int("threads", threads, 1, 1024)
    check_int("warmup", warmup, 0, 100_000)
    check_int("repeats", repeats, 1, 100_000)
    check_choice("clock", clock, CLOCKS)
    check_float("window_s", window_s, 0, 3600)
    if model is None:
        from searchspace.builder import build

        model = build(spec)
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    previous_threads = torch.get_num_threads()
    was_training = model.training
    previous_device = next(iter(model.parameters()), torch.empty(0)).device
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, spec.in_chans, spec.resolution, spec.resolution, generator=generator).to(dev)
    rounds = min(10, repeats) if window_s else 1

    def forward() -> None:
        model(x)
        if cuda:
            torch.cuda.synchronize(dev)

    torch.set_num_threads(threads)
    try:
        model.eval().to(dev)
        with torch.inference_mode(), flushed_denormals():
            for _ in range(warmup):
                forward()
            now = time.thread_time if clock == "cpu" and not cuda else time.perf_counter
            per_round = math.ceil(repeats / rounds)
            [times] = timed_rounds([forward], rounds, per_round, now, window_s / rounds)
            times = times[:repeats]
    finally:
        torch.set_num_threads(previous_threads)
        model.train(was_training).to(previous_device)
    ms = np.asarray(times) * 1e3
    return LatencyResult(
        median_ms=float(np.median(ms)), p90_ms=float(np.percentile(ms, 90)), mean_ms=float(ms.mean()),
        min_ms=float(ms.min()), repeats=repeats, warmup=warmup, batch_size=batch_size, threads=threads,
        device_info=device_info(str(dev), threads), clock="wall" if cuda else clock,
        window_s=float(window_s),
    )
