"""Timing parts and networks for a device profile: interleaved rounds scaled by reference networks.

Each part (stem, block configuration, head; ``searchspace.latency_keys``) is built alone and timed at its input
shape in the chosen runtime (eager PyTorch, or ONNX Runtime on its exported graph) with fixed threads and
denormals flushed to zero. Parts are timed a chunk at a time, interleaved: ``rounds`` passes over the chunk,
``repeats`` timed runs of each part per pass (200 rounds of 1 by default), so a part's runs are spread over the
whole chunk's time and a burst of load on the machine (a co-tenant of a shared host, which on a cloud VM can
slow every core by 1.8x for seconds at a time) spoils some rounds of many parts instead of every run of a few.
Every round also times fixed reference networks (``workers.latency.measure.REFERENCES``), and each run is scaled by
the profile's reference level (``DeviceProfile.reference_ms``: the references' median level in the first
chunk) over the references' level in its own round, so that drift of the machine's speed while profiling
(thermal throttling, co-tenant load) cancels round by round: every entry reads as if timed at that level. The
entry is the ``quantile`` of a part's scaled runs (the median by default) and the spread their median absolute
deviation. In ONNX Runtime a part other than the stem is timed behind a 1x1 convolution (its entry: that pair
minus the convolution alone, in the same rounds), so that it takes its input in the layout a neighbour leaves,
as inside a network (``Timer.chunk``). Whole networks (the correction's calibration, benchmarks) are timed the
same way. The partial table is written atomically after every chunk, so an interrupted run resumes there, at
the same reference level.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_choice, check_float, check_int
from searchspace.fields import doc
from searchspace.latency_keys import Part
from searchspace.latency_table import (
    CLOCKS,
    RUNTIMES,
    DeviceDescription,
    LatencyEntry,
)
from searchspace.spec import ArchSpec
from workers.latency.heap import hold_freed_memory
from workers.latency.measure import REFERENCES, flushed_denormals, timed_rounds
from workers.latency.plain import device_description

if TYPE_CHECKING:
    from torch import nn


Run = Callable[[], Any]


CHUNK = 200  # parts timed interleaved (and built, kept alive) at once; the partial file is saved after each


@dataclass(frozen=True, kw_only=True)
class Timing:
    """How every part (and network) is timed."""

    runtime: str = field(default="eager", metadata=doc(
        "eager (PyTorch), onnxruntime, or int8 (ONNX Runtime on the statically quantized graph)"))
    threads: int = field(default=1, metadata=doc("runtime threads while timing"))
    warmup: int = field(default=3, metadata=doc("untimed runs of each part first"))
    rewarm: int | None = field(default=None, metadata=doc(
        "untimed runs of each part per round before its timed ones, so its weights are back in cache "
        "(none: 1 in onnxruntime and int8, where it makes entries add up, 0 in eager)"))
    repeats: int = field(default=1, metadata=doc("timed runs of each part per round"))
    rounds: int = field(default=200, metadata=doc(
        "rounds: passes over a chunk of parts, interleaved, so a part's runs are spread over time"))
    quantile: float = field(default=0.5, metadata=doc(
        "the entry is this quantile of a part's (scaled) timed runs (0.5: the median; without reference "
        "scaling, 0.05 resists load from others)"))
    reference: bool = field(default=True, metadata=doc(
        "time reference networks in every round and scale the round's runs by them, so drift of the machine's "
        "speed cancels"))
    clock: str = field(default="wall", metadata=doc(
        "wall: elapsed time (the latency, on a device kept for profiling); cpu: the timing thread's CPU time "
        "(robust to other processes on a shared machine; runtimes run on the calling thread at 1 thread)"))

    def __post_init__(self) -> None:
        check_choice("runtime", self.runtime, RUNTIMES)
        check_int("threads", self.threads, 1, 1024)
        check_int("warmup", self.warmup, 0, 10_000)
        if self.rewarm is not None:
            check_int("rewarm", self.rewarm, 0, 10_000)
        check_int("repeats", self.repeats, 1, 10_000)
        check_int("rounds", self.rounds, 1, 100_000)
        check_choice("clock", self.clock, CLOCKS)
        check_float("quantile", self.quantile, 0, 1)

    @property
    def rewarm_calls(self) -> int:
        """``rewarm``, or the runtime's default for it."""
        return self.rewarm if self.rewarm is not None else int(self.runtime != "eager")

    def clock_fn(self) -> Callable[[], float]:
        return time.perf_counter if self.clock == "wall" else time.thread_time


def describe(timing: Timing, name: str = "") -> DeviceDescription:
    """This machine, its torch and the runtime, as a profile's device description."""
    return replace(device_description(timing.runtime, timing.threads, name=name), clock=timing.clock,
                   quantile=timing.quantile, rewarm=timing.rewarm_calls)


def part_module(part: Part) -> nn.Module:
    """The part alone, as the network builder would build it (eval mode)."""
    from searchspace.assembly import block_plan, head_plan, stem_plan
    from searchspace.nn.context import BuildContext

    ctx = BuildContext()
    chs = part.shape[0]
    if part.role == "stem":
        plan = stem_plan(part.spec, chs, ctx)  # type: ignore[arg-type]
    elif part.role == "head":
        plan = head_plan(part.spec, chs, part.classes, ctx)  # type: ignore[arg-type]
    else:
        plan = block_plan(part.spec, chs, ctx)  # type: ignore[arg-type]
    return plan.build().eval()


ADAPTER_CHS = 16  # input channels of the adapter a part is timed behind in ONNX Runtime (Timer.chunk)


def adapter_module(shape: Sequence[int]) -> nn.Module:
    """A 1x1 convolution from ``ADAPTER_CHS`` channels to ``shape``'s, at its size: a stand-in neighbour."""
    from torch import nn

    return nn.Conv2d(ADAPTER_CHS, shape[0], 1).eval()


def adapted(shape: Sequence[int]) -> tuple[int, ...]:
    """The adapter's input shape for a part taking ``shape``."""
    return (ADAPTER_CHS, *shape[1:])


def behind_adapter(part: Part) -> nn.Module:
    """The part after its ``adapter_module``: what ``Timer.chunk`` times in ONNX Runtime."""
    from torch import nn

    return nn.Sequential(adapter_module(part.shape), part_module(part)).eval()


def runner(module: nn.Module, shape: Sequence[int], timing: Timing) -> Run:
    """One forward pass of a batch-1 ``shape`` input through ``module`` in ``timing.runtime``."""
    import torch

    torch.set_num_threads(timing.threads)
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
    if timing.runtime == "eager":
        def forward() -> Any:
            with torch.inference_mode():
                return module(x)

        return forward
    import onnxruntime as ort

    from searchspace.export.onnx import export_module

    options = ort.SessionOptions()
    options.intra_op_num_threads = timing.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    model = export_module(module, x)
    if timing.runtime == "int8":  # a part's input is no image: calibrated on normal draws
        from workers.latency.quantize import quantize, random_inputs

        model = quantize(model, random_inputs(tuple(shape)))
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    feed = {name: x.numpy()}
    return lambda: session.run(None, feed)


def entry(times: Sequence[float], quantile: float) -> LatencyEntry:
    """A part's (or network's) entry from its timed runs in seconds: the quantile and the MAD, in ms."""
    import numpy as np

    ms = np.asarray(times) * 1e3
    spread = float(np.median(np.abs(ms - np.median(ms))))
    return LatencyEntry(ms=max(float(np.quantile(ms, quantile)), 1e-6), spread_ms=spread, repeats=len(ms))


def timed(runs: Sequence[Run], timing: Timing) -> list[list[float]]:
    """Warm-up of each, then ``rounds`` interleaved passes of ``repeats`` timed calls: each run's seconds."""
    import torch

    torch.set_num_threads(timing.threads)
    hold_freed_memory()  # as measure_latency: no page faults per pass (workers.latency.heap)
    with flushed_denormals():
        for run in runs:
            for _ in range(timing.warmup):
                run()
        return timed_rounds(runs, timing.rounds, timing.repeats, timing.clock_fn(), rewarm=timing.rewarm_calls)


def time_runs(runs: Sequence[Run], timing: Timing) -> list[LatencyEntry]:
    """One entry per run, as timed (``timed``)."""
    return [entry(t, timing.quantile) for t in timed(runs, timing)]


def round_levels(references: Any, repeats: int) -> Any:
    """The machine's level in each round (seconds, one per timed call): the geometric mean over the reference
    networks of their median call in that round."""
    import numpy as np

    refs = np.asarray(references, dtype=float)
    per_round = np.median(refs.reshape(len(refs), -1, repeats), axis=2)
    return np.repeat(np.exp(np.mean(np.log(per_round), axis=0)), repeats)


def in_chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    return (items[i:i + size] for i in range(0, len(items), size))


def network_runner(spec: ArchSpec, timing: Timing) -> Run:
    from searchspace.builder import build

    return runner(build(spec).eval(), (spec.in_chans, spec.resolution, spec.resolution), timing)


@dataclass
class Timer:
    """Times chunks of runs with ``timing``, each scaled to ``reference_ms`` (set by the first chunk when None)
    through the reference networks timed among them; ``timing.reference=False`` leaves entries as timed."""

    timing: Timing
    reference_ms: float | None = None
    _references: list[Run] = field(default_factory=list, repr=False)

    def time(self, runs: Sequence[Run]) -> list[LatencyEntry]:
        """The runs timed interleaved with the references; every call scaled by ``reference_ms`` over the level
        of its round (``round_levels``), so the machine's speed moving from round to round cancels."""
        if not self.timing.reference:
            return time_runs(runs, self.timing)
        return [entry(t, self.timing.quantile) for t in self.seconds(runs)]

    def seconds(self, runs: Sequence[Run]) -> Any:
        """Every timed call of each run (an array, one row per run), scaled as ``time`` describes."""
        import numpy as np

        if not self.timing.reference:
            return np.asarray(timed(runs, self.timing), dtype=float)
        if not self._references:
            self._references = [network_runner(ArchSpec.from_string(s), self.timing) for s in REFERENCES]
        times = np.asarray(timed([*runs, *self._references], self.timing), dtype=float)
        level = round_levels(times[len(runs):], self.timing.repeats)
        if self.reference_ms is None:
            self.reference_ms = float(np.median(level)) * 1e3
        return times[:len(runs)] * (self.reference_ms / (level * 1e3))

    def chunk(self, parts: Sequence[Part], networks: Sequence[ArchSpec]) -> list[LatencyEntry]:
        """One chunk of parts (then the networks) timed interleaved. In ONNX Runtime every part but the stem
        runs behind an adapter (``adapter_module``) and its entry is the adapter-and-part's calls minus the
        adapter alone's in the same rounds: a part then takes its input in the layout a neighbour leaves it
        (NCHWc), not reordered from NCHW at its own boundary, as a part timed alone does."""
        nets = [network_runner(spec, self.timing) for spec in networks]
        if self.timing.runtime == "eager":
            return self.time([*(runner(part_module(p), p.shape, self.timing) for p in parts), *nets])
        shapes = sorted({p.shape for p in parts if p.role != "stem"})
        bases = [runner(adapter_module(s), adapted(s), self.timing) for s in shapes]
        runs = [runner(part_module(p), p.shape, self.timing) if p.role == "stem" else
                runner(behind_adapter(p), adapted(p.shape), self.timing)
                for p in parts]
        times = self.seconds([*runs, *bases, *nets])
        base = dict(zip(shapes, times[len(runs):len(runs) + len(bases)], strict=True))
        q = self.timing.quantile
        out = [entry(t if p.role == "stem" else t - base[p.shape], q) for p, t in zip(parts, times, strict=False)]
        return out + [entry(t, q) for t in times[len(runs) + len(bases):]]

    def parts(self, parts: Sequence[Part], networks: Sequence[ArchSpec] = ()) -> list[LatencyEntry]:
        """Every part built and timed (``chunk``), a chunk of them interleaved at a time; then ``networks`` whole,
        when given timed in the same rounds as the parts (one chunk of parts at most)."""
        out: list[LatencyEntry] = []
        for chunk in in_chunks(parts):
            out += self.chunk(chunk, networks[:CHUNK // 4])
            networks = networks[CHUNK // 4:]
        return out + (self.networks(networks) if networks else [])

    def networks(self, specs: Sequence[ArchSpec]) -> list[LatencyEntry]:
        """End to end: each whole built network, timed like the parts (a chunk of networks interleaved)."""
        out: list[LatencyEntry] = []
        for chunk in in_chunks(specs, CHUNK // 4):
            out += self.time([network_runner(spec, self.timing) for spec in chunk])
        return out


def time_part(part: Part, timing: Timing) -> LatencyEntry:
    return Timer(timing).parts([part])[0]


def time_networks(specs: Sequence[ArchSpec], timing: Timing, reference_ms: float | None = None
                  ) -> list[LatencyEntry]:
    return Timer(timing, reference_ms).networks(specs)
