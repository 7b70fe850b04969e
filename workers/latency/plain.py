"""Latency as a user measures it: the runtime's own benchmark loop, on the whole network alone.

The one definition of latency the product reports and predicts: batch 1 (or the given batch), the given threads,
``warmup`` untimed runs, then ``rounds`` rounds of ``runs`` back-to-back runs, each round's mean; the figure is
the median over the rounds, its spread their range. Nothing else runs in between (no reference networks, no
interleaving, no denormal flushing, no heap tuning): in eager PyTorch the built module in eval mode under
``torch.inference_mode`` with ``torch.set_num_threads(threads)``; in ONNX Runtime an ``InferenceSession`` with
``intra_op_num_threads = threads`` and its default graph optimisations, fed one random input.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_choice, check_int
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from searchspace.latency_table import RUNTIMES, DeviceDescription
from searchspace.spec import ArchSpec
from workers.latency.measure import LatencyResult, cpu_model, device_info

if TYPE_CHECKING:
    from torch import nn

Run = Callable[[], Any]


@dataclass(frozen=True, kw_only=True)
class PlainLoop:
    """How a whole network is timed: the runtime's benchmark loop (the module docstring)."""

    runtime: str = field(default="eager", metadata=doc(
        "eager (PyTorch), onnxruntime, or int8 (ONNX Runtime on the graph statically quantized, calibrated on "
        "training images: workers.latency.quantize)"))
    threads: int = field(default=1, metadata=doc("runtime threads (torch.set_num_threads / intra_op_num_threads)"))
    batch_size: int = field(default=1, metadata=doc("images per run"))
    warmup: int = field(default=20, metadata=doc("untimed runs first"))
    rounds: int = field(default=7, metadata=doc("timed rounds; the latency is the median of their means"))
    runs: int = field(default=30, metadata=doc("back-to-back runs per round"))

    def __post_init__(self) -> None:
        check_choice("runtime", self.runtime, RUNTIMES)
        check_int("threads", self.threads, 1, 1024)
        check_int("batch_size", self.batch_size, 1, 65_536)
        check_int("warmup", self.warmup, 0, 100_000)
        check_int("rounds", self.rounds, 1, 10_000)
        check_int("runs", self.runs, 1, 100_000)

    def describe(self) -> str:
        return (f"batch {self.batch_size}, {self.threads} thread(s), {self.warmup} warm-up runs, then the median of "
                f"{self.rounds} rounds of {self.runs} runs")


@dataclass(frozen=True, kw_only=True)
class PlainLatency:
    """A network's latency (ms per run) by the plain loop: the median round, the fastest and slowest rounds."""

    median_ms: float
    min_ms: float
    max_ms: float
    round_ms: tuple[float, ...]
    loop: PlainLoop
    device: DeviceDescription

    @property
    def spread(self) -> float:
        """The slowest round over the fastest, minus 1 (0.03: the rounds lie within 3% of each other)."""
        return self.max_ms / self.min_ms - 1

    def to_dict(self) -> dict[str, Any]:
        return {"latency_ms": self.median_ms, "min_round_ms": self.min_ms, "max_round_ms": self.max_ms,
                "spread": self.spread, "round_ms": list(self.round_ms), "loop": asdict(self.loop),
                "device": as_dict(self.device)}


def as_result(figure: PlainLatency) -> LatencyResult:
    """A plain-loop figure as a worker's latency record: the rounds' median, 90th percentile, mean and minimum."""
    import numpy as np

    rounds, loop = np.asarray(figure.round_ms), figure.loop
    return LatencyResult(median_ms=figure.median_ms, p90_ms=float(np.percentile(rounds, 90)),
                         mean_ms=float(rounds.mean()), min_ms=figure.min_ms, repeats=loop.rounds * loop.runs,
                         warmup=loop.warmup, batch_size=loop.batch_size, threads=loop.threads,
                         device_info=device_info("cpu", loop.threads), loop=loop.describe())


def runtime_version(runtime: str) -> str:
    import torch

    if runtime == "eager":
        return torch.__version__
    import onnxruntime

    return onnxruntime.__version__


def device_description(runtime: str, threads: int, batch_size: int = 1, name: str = "") -> DeviceDescription:
    """This machine, its torch and ``runtime``, as a profile's (or a measurement's) device description."""
    import torch

    return DeviceDescription(name=name, cpu=cpu_model()[:200], machine=platform.machine(), cores=os.cpu_count() or 1,
                             threads=threads, torch=torch.__version__, runtime=runtime,
                             runtime_version=runtime_version(runtime), batch_size=batch_size)


def eager_run(module: nn.Module, x: Any) -> Run:
    """One forward pass of ``module`` on ``x`` (no grad, as under the loop's ``torch.inference_mode``)."""
    return lambda: module(x)


def onnx_session(model: bytes | str | Path, threads: int) -> Any:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and otherwise default options."""
    import onnxruntime as ort
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except (state.Fail, state.InvalidGraph, state.NoSuchFile, state.InvalidProtobuf, state.InvalidArgument,
            state.NotImplemented, state.RuntimeException) as err:
        raise SpecError("model", f"ONNX Runtime cannot load it: {str(err)[:300]}") from None


ORT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
             "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(uint8)": "uint8", "tensor(int8)": "int8"}


def onnx_feed(session: Any, batch_size: int, shape: Sequence[int] | None = None) -> dict[str, Any]:
    """A random input for every input of ``session``: a symbolic first axis takes ``batch_size``, other symbolic
    axes ``shape`` (the input's shape without the batch axis); fixed axes stay as the graph says."""
    import numpy as np

    rng = np.random.default_rng(0)
    feed = {}
    for i, arg in enumerate(session.get_inputs()):
        dims = list(arg.shape)
        if dims and not isinstance(dims[0], int):
            dims[0] = batch_size
        if any(not isinstance(d, int) for d in dims[1:]):
            if shape is None or len(shape) != len(dims) - 1:
                raise SpecError("--shape", f"input {arg.name!r} has symbolic axes {arg.shape}; give its shape "
                                           "without the batch axis, e.g. --shape 3,224,224")
            dims[1:] = [d if isinstance(d, int) else s for d, s in zip(dims[1:], shape, strict=True)]
        dtype = ORT_TYPES.get(arg.type)
        if dtype is None:
            raise SpecError(f"inputs[{i}]", f"input {arg.name!r} has type {arg.type}; the loop feeds "
                                            f"{', '.join(ORT_TYPES)}")
        if dtype.startswith("float"):
            feed[arg.name] = rng.standard_normal(dims).astype(dtype)
        else:
            feed[arg.name] = np.zeros(dims, dtype=dtype)
    return feed


def time_loop(run: Run, loop: PlainLoop) -> list[float]:
    """``loop.warmup`` untimed calls of ``run``, then each round's mean ms over ``loop.runs`` calls."""
    for _ in range(loop.warmup):
        run()
    rounds = []
    for _ in range(loop.rounds):
        start = time.perf_counter()
        for _ in range(loop.runs):
            run()
        rounds.append((time.perf_counter() - start) * 1e3 / loop.runs)
    return rounds


def result(rounds: Sequence[float], loop: PlainLoop) -> PlainLatency:
    import statistics

    return PlainLatency(median_ms=statistics.median(rounds), min_ms=min(rounds), max_ms=max(rounds),
                        round_ms=tuple(rounds), loop=loop,
                        device=device_description(loop.runtime, loop.threads, loop.batch_size))


def time_module(module: nn.Module, shape: Sequence[int], loop: PlainLoop) -> PlainLatency:
    """``module`` (eval mode) on a random ``(batch, *shape)`` input by the plain loop in ``loop.runtime`` (in ONNX
    Runtime: exported first, fixed shapes)."""
    import torch

    module = module.eval()
    x = torch.randn(loop.batch_size, *shape, generator=torch.Generator().manual_seed(0))
    if loop.runtime != "eager":
        from searchspace.export.onnx import export_module

        return time_onnx(export_module(module, x), loop, tuple(shape))
    previous = torch.get_num_threads()
    torch.set_num_threads(loop.threads)
    try:
        with torch.inference_mode():
            return result(time_loop(eager_run(module, x), loop), loop)
    finally:
        torch.set_num_threads(previous)


def time_onnx(model: bytes | str | Path, loop: PlainLoop, shape: Sequence[int] | None = None) -> PlainLatency:
    """An ONNX model (bytes or a file) by the plain loop in ONNX Runtime (``onnx_feed`` for ``shape``); in int8 the
    float model is statically quantized first, calibrated on training images of its input's shape."""
    if loop.runtime == "eager":
        raise SpecError("runtime", "an ONNX model runs in onnxruntime or int8, not 'eager'")
    session = onnx_session(model, loop.threads)
    feed = onnx_feed(session, loop.batch_size, shape)
    if loop.runtime == "int8":
        from workers.latency.quantize import quantize, training_images

        image = next(iter(feed.values())).shape[1:]
        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        session = onnx_session(quantize(data, training_images(image)), loop.threads)
    return result(time_loop(lambda: session.run(None, feed), loop), loop)


def time_spec(spec: ArchSpec, loop: PlainLoop) -> PlainLatency:
    """``spec`` built (eval mode, default initialisation) and timed by the plain loop."""
    from searchspace.builder import build

    return time_module(build(spec), (spec.in_chans, spec.resolution, spec.resolution), loop)


def _time_specs(lines: Sequence[str], loop: PlainLoop) -> list[PlainLatency]:
    return [time_spec(ArchSpec.from_string(line), loop) for line in lines]


def time_specs_fresh(specs: Sequence[ArchSpec], loop: PlainLoop) -> list[PlainLatency]:
    """Each spec timed by the plain loop, one after the other in a freshly spawned process, as a user's own
    script would time it: nothing of this process (thread settings, denormal flushing, heap tuning, other
    sessions) carries over."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if not specs:
        return []
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_time_specs, [s.to_string() for s in specs], loop).result()
