"""Measured inference latency: eval mode, inference mode, fixed threads, warm-up, then timed repeats."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_choice, check_int
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
) -> LatencyResult:
    """Time ``repeats`` forward passes of a ``batch_size`` x ``spec``-shaped random input after ``warmup`` passes.

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
    times = []
    torch.set_num_threads(threads)
    try:
        model.eval().to(dev)
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            if cuda:
                torch.cuda.synchronize(dev)
            now = time.thread_time if clock == "cpu" and not cuda else time.perf_counter
            for _ in range(repeats):
                start = now()
                model(x)
                if cuda:
                    torch.cuda.synchronize(dev)
                times.append(now() - start)
    finally:
        torch.set_num_threads(previous_threads)
        model.train(was_training).to(previous_device)
    ms = np.asarray(times) * 1e3
    return LatencyResult(
        median_ms=float(np.median(ms)), p90_ms=float(np.percentile(ms, 90)), mean_ms=float(ms.mean()),
        min_ms=float(ms.min()), repeats=repeats, warmup=warmup, batch_size=batch_size, threads=threads,
        device_info=device_info(str(dev), threads), clock="wall" if cuda else clock,
    )
