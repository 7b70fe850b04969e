"""How a search's networks get their latency (LatencyConfig): measured on a worker or predicted from a device profile, with which runtime, threads and timing protocol."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from searchspace.checks import check_bool, check_choice, check_float, check_int
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from searchspace.latency_table import CLOCKS

DEVICE = re.compile(r"(cpu|cuda)(:\d{1,3})?")


LOOPS = ("scaled", "plain")

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
    loop: str | None = field(default=None, metadata=doc(
        "plain: the runtime's own benchmark loop on the network alone, the definition of latency (warmup runs, "
        "then the median of 7 rounds of 30 runs; what python -m workers measure reports; cpu only; repeats, "
        "window_s, reference and clock do not apply); scaled: passes beside a reference network for window_s, "
        "each scaled by it (steadier on a shared host, but not the figure a user measures); null: plain on the "
        "CPU, scaled on a CUDA device"))
    always: bool = field(default=False, metadata=doc(
        "time every candidate's latency even where the search does not use it (objective macs); by default "
        "latency is timed only for a latency objective, reward or constraint"))

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
        check_bool("always", self.always)
        if self.loop is not None:
            check_choice("loop", self.loop, LOOPS)
        if self.loop == "plain" and self.device.startswith("cuda"):
            raise SpecError("loop", "plain times on the CPU; use scaled for a CUDA device")

    @property
    def timing_loop(self) -> str:
        """The loop a worker times by: ``loop``, or where it names none, the plain loop (the definition of latency)
        on the CPU (and for a profiled device, which times nothing on the workers), scaled passes on CUDA."""
        if self.loop is not None:
            return self.loop
        return "scaled" if self.device.startswith("cuda") else "plain"

    @property
    def profile_id(self) -> str | None:
        """The device profile latency is predicted from; None when it is measured on the worker."""
        return None if DEVICE.fullmatch(self.device) else self.device

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON; the fields added after studies were named (clock, exclusive, ...) only when not default, so
        that every earlier config keeps its bytes and its study name."""
        data = as_dict(self)
        for name in _LATER_FIELDS:
            if data[name] == getattr(_DEFAULT, name):
                del data[name]
        return data


_LATER_FIELDS = ("clock", "exclusive", "window_s", "reference", "always", "loop")


_DEFAULT = LatencyConfig()
