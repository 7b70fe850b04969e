"""Measured inference latency: eval mode, inference mode, fixed threads, warm-up, then timed repeats."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_choice, check_float, check_int
from searchspace.latency_table import CLOCKS
from searchspace.spec import ArchSpec
from workers.latency import cpu_lock
from workers.latency.heap import hold_freed_memory

if TYPE_CHECKING:
    from torch import nn

# reference networks, timed beside what is measured so that drift of the machine's speed cancels: several block
# kinds, 2-6 ms each in eager PyTorch on a 2020s x86 core; REFERENCE (the first) alone scales worker measurements
REFERENCE = ("arch:resolution=32,in_chans=1,num_classes=10 stem:c=16,s=1,a=swish mbconv:c=24,k=7,a=swish,se=0.25,"
             "e=4.0 mbconv:n=3,c=32,s=2,k=5,a=swish micro:n=2,c=40,s=2,k=7,a=hswish,e=3.0,se=0.25 "
             "ghost:n=2,c=80,s=2,k=5,a=hswish head:conv_chs=256,a=swish,dropout=0.1")
REFERENCES = (
    REFERENCE,
    ("arch:resolution=32,in_chans=1,num_classes=10 stem:c=16,s=1,a=swish mbconv:c=16,k=5,e=4.0 mbconv:c=32,s=2,"
    "a=swish,se=0.25,e=4.0 micro:c=48,s=2,a=swish,e=4.0 ghost:c=104,s=2,k=5,a=hswish,e=6.0 "
    "head:conv_chs=256,a=swish,dropout=0.1"),
    ("arch:resolution=32,in_chans=1,num_classes=10 stem:c=16,s=1,a=swish mbconv:n=2,c=16,k=7,a=swish,se=0.25,e=4.0 "
    "ghost:n=3,c=24,s=2,k=7,se=0.25,e=4.0 micro:n=2,c=48,s=2,k=5,a=hswish,e=6.0 "
    "ghost:n=3,c=104,s=2,k=5,a=hswish,se=0.25,e=3.0 head:conv_chs=256,a=swish,dropout=0.1"),
)
LEVEL_WINDOW_S = 10.0  # a node's reference level is the reference's median over this long a window


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
    window_s: float = 0.0  # the timed passes went on for at least this many seconds (0: ``repeats`` only)
    scale: float | None = None  # median of the passes' factors: level over the reference pass (None: not scaled)
    loop: str = ""  # the plain loop's description when timed by it (workers.latency.plain), else ""

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
                 window_s: float = 0.0, rewarm: int = 0) -> list[list[float]]:
    """Seconds of every timed call of each run: ``rounds`` passes over ``runs`` in turn, ``rewarm`` untimed then
    ``repeats`` timed calls of each per pass, and more passes until ``window_s`` seconds have gone by.
    Interleaved, a burst of load on the machine (another tenant, another process) spoils some rounds of many
    runs instead of every call of a few, and the runs' calls of one round saw the machine in the same state;
    the untimed calls bring a run's weights back into cache after the others evicted them, so a timed call does
    not depend on which runs preceded it."""
    times: list[list[float]] = [[] for _ in runs]
    end = time.perf_counter() + window_s
    r = 0
    while r < rounds or time.perf_counter() < end:
        for run, out in zip(runs, times, strict=True):
            for _ in range(rewarm):
                run()
            for _ in range(repeats):
                start = clock()
                run()
                out.append(clock() - start)
        r += 1
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
    reference: bool = False,
) -> LatencyResult:
    """Time at least ``repeats`` forward passes of a ``batch_size`` x ``spec``-shaped random input after
    ``warmup`` passes, and more until ``window_s`` seconds have gone by (so that a burst of load on the machine,
    a co-tenant of a shared host, spoils some passes, not the measurement; ``repeats`` records how many).
    Denormal floats are flushed to zero while timing (``flushed_denormals``) and glibc keeps freed memory mapped
    (``workers.latency.heap``: no page faults per pass). With ``reference`` (CPU only) a
    pass of the reference network follows every pass, and each pass is scaled by the node's reference level
    (``reference_level``) over the reference pass beside it: drift of the machine's speed (a co-tenant,
    thermal throttling) cancels pass by pass, and ``scale`` records the median factor.

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
    if reference and cuda:
        from searchspace.errors import SpecError

        raise SpecError("reference", "scales CPU measurements only; set it false for a CUDA device")
    level = reference_level(threads, clock) if reference else 0.0

    def forward() -> None:
        model(x)
        if cuda:
            torch.cuda.synchronize(dev)

    runs = [forward, _reference_run(generator)] if reference else [forward]

    hold_freed_memory()  # activations' pages stay mapped between passes (workers.latency.heap)
    torch.set_num_threads(threads)
    try:
        model.eval().to(dev)
        with torch.inference_mode(), flushed_denormals():
            for run in runs:  # the reference too: its first passes would read slow
                for _ in range(warmup):
                    run()
            now = time.thread_time if clock == "cpu" and not cuda else time.perf_counter
            times, *ref = timed_rounds(runs, repeats, 1, now, window_s)
    finally:
        torch.set_num_threads(previous_threads)
        model.train(was_training).to(previous_device)
    factors = level / (np.asarray(ref[0]) * 1e3) if ref else np.ones(len(times))
    ms = np.asarray(times) * 1e3 * factors
    scale = float(np.median(factors)) if ref else None
    return LatencyResult(
        median_ms=float(np.median(ms)), p90_ms=float(np.percentile(ms, 90)), mean_ms=float(ms.mean()),
        min_ms=float(ms.min()), repeats=len(ms), warmup=warmup, batch_size=batch_size, threads=threads,
        device_info=device_info(str(dev), threads), clock="wall" if cuda else clock,
        window_s=float(window_s), scale=scale,
    )


def _reference_run(generator: Any) -> Callable[[], Any]:
    """One forward pass of the reference network (built here, eval mode) on a fixed input."""
    import torch

    from searchspace.builder import build

    spec = ArchSpec.from_string(REFERENCE)
    model = build(spec).eval()
    x = torch.randn(1, spec.in_chans, spec.resolution, spec.resolution, generator=generator)
    return lambda: model(x)


def _timed_of() -> dict[str, str]:
    """What a kept level was timed of: the reference, the heap held (``workers.latency.heap``), the CPU."""
    return {"reference": REFERENCE, "heap": "held", "cpu": cpu_model()}


def reference_level(threads: int, clock: str) -> float:
    """This node's reference level (ms): the reference network's median over a ``LEVEL_WINDOW_S`` window, timed
    once per node, threads and clock, and kept beside the node's CPU lock so every measurement there scales to
    the same level (timed again when the file is corrupt or was timed of another reference or CPU; remove it to
    time it again)."""
    path = cpu_lock.lock_dir() / f"reference-t{threads}-{clock}.json"
    try:
        kept = json.loads(path.read_text())
        ms = float(kept["ms"])
        if math.isfinite(ms) and ms > 0 and {k: kept.get(k) for k in _timed_of()} == _timed_of():
            return ms
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    ms = measure_latency(ArchSpec.from_string(REFERENCE), threads=threads, warmup=10, repeats=200, clock=clock,
                         window_s=LEVEL_WINDOW_S).median_ms
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"ms": ms, **_timed_of()}))
    os.replace(tmp, path)
    return ms
