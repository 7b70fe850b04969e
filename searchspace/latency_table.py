"""A device's latency lookup table and the prediction of a whole network's latency from it (no torch).

A ``DeviceProfile`` holds, for one device and runtime, the measured latency (a quantile of timed runs, and their
spread) of every part
key (``searchspace.latency_keys``) a search space can produce, and a linear ``Correction`` fitted on whole
networks (``measured ~ scale * sum_of_entries ** exponent + offset_ms``: what a pure sum misses, such as weights
that stay in cache when a part is timed alone but not in a whole network, or fusion across blocks). ``predict(spec, profile)`` walks the spec's parts and sums.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from searchspace.checks import check_choice, check_float, check_int
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from searchspace.latency_keys import network_parts, space_parts
from searchspace.space import SearchSpace
from searchspace.spec import ArchSpec

PROFILE_SCHEMA = 2  # 1: entries named their latency median_ms (read, converted); nothing else is a version
RUNTIMES = ("eager", "onnxruntime", "int8")  # int8: ONNX Runtime on the statically quantized graph
CLOCKS = ("wall", "cpu")
CALIBRATIONS = ("interleaved", "plain")
MAX_ENTRIES = 200_000
MAX_MS = 3.6e6  # an hour per forward pass: anything above is not a measurement
_TEXT = re.compile(r"[\x20-\x7e]{0,200}")
_KEY = re.compile(r"[\x21-\x7e]{1,400}")


class MissingEntryError(SpecError):
    """The profile has no entry for a part of the network: profile a space that contains it."""

    def __init__(self, profile: str, where: str, key: str) -> None:
        self.key = key
        super().__init__("latency.device", f"device profile {profile!r} has no entry for {where} ({key}); "
                                           "profile a search space containing it (python -m workers profile)")


def _positive(name: str, value: Any, allow_zero: bool = False) -> float:
    """A number in (0, MAX_MS] ([0, MAX_MS] with ``allow_zero``), as a float: range-checked before it is converted,
    so that an integer too large for a float is a SpecError like any other value out of range."""
    check_float(name, value, 0, MAX_MS)
    if value == 0 and not allow_zero:
        raise SpecError(name, f"must be in (0, {MAX_MS:g}] ms, got 0")
    return float(value)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _TEXT.fullmatch(value):
        raise SpecError(name, "must be printable ASCII text of at most 200 characters")
    return value


@dataclass(frozen=True, kw_only=True)
class DeviceDescription:
    """The machine and runtime a profile was measured on."""

    name: str = field(default="", metadata=doc("a label for the device (e.g. 'rpi4', 'edge-x86')"))
    cpu: str = field(default="", metadata=doc("CPU (or accelerator) model"))
    machine: str = field(default="", metadata=doc("architecture, e.g. x86_64 or aarch64"))
    cores: int = field(default=1, metadata=doc("logical CPUs of the machine"))
    threads: int = field(default=1, metadata=doc("threads the runtime was given while timing"))
    torch: str = field(default="", metadata=doc("torch version"))
    runtime: str = field(default="eager", metadata=doc(
        "eager (PyTorch), onnxruntime, or int8 (ONNX Runtime on the statically quantized graph)"))
    runtime_version: str = field(default="", metadata=doc("version of the runtime"))
    batch_size: int = field(default=1, metadata=doc("images per timed forward pass"))
    clock: str = field(default="wall", metadata=doc("wall: elapsed time; cpu: the timing thread's CPU time"))
    quantile: float = field(default=0.5, metadata=doc("an entry is this quantile of the part's timed runs"))
    rewarm: int = field(default=0, metadata=doc("untimed runs of a part before its timed ones in every round"))
    calibration: str = field(default="interleaved", metadata=doc(
        "how the correction's networks were timed: plain (each whole network alone by the runtime's benchmark "
        "loop, in a fresh process: the latency a user measures) or interleaved (among the parts, by the "
        "profiler's rounds)"))

    def __post_init__(self) -> None:
        for name in ("name", "cpu", "machine", "torch", "runtime_version"):
            _text(name, getattr(self, name))
        check_int("cores", self.cores, 1, 65_536)
        check_int("threads", self.threads, 1, 65_536)
        check_choice("runtime", self.runtime, RUNTIMES)
        check_int("batch_size", self.batch_size, 1, 65_536)
        check_choice("clock", self.clock, CLOCKS)
        check_float("quantile", self.quantile, 0, 1)
        check_int("rewarm", self.rewarm, 0, 10_000)
        check_choice("calibration", self.calibration, CALIBRATIONS)


@dataclass(frozen=True, kw_only=True)
class LatencyEntry:
    """One part's measured latency: the profile's quantile of ``repeats`` timed runs, and their median
    absolute deviation."""

    ms: float
    spread_ms: float = 0.0
    repeats: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "ms", _positive("ms", self.ms))
        object.__setattr__(self, "spread_ms", _positive("spread_ms", self.spread_ms, allow_zero=True))
        check_int("repeats", self.repeats, 1, 1_000_000)


@dataclass(frozen=True, kw_only=True)
class Correction:
    """``predicted = scale * (sum(entries) + per_part_ms * parts) ** exponent + offset_ms``, fitted on
    ``fitted_on`` whole networks (1, 0, 1, 0, 0: none). ``per_part_ms`` takes what a part timed alone pays at its
    boundaries and a whole network does not (a runtime's call, layout reorders of its input and output), the
    exponent what grows with the network (weights that no longer stay in cache, fusion across blocks), the
    scale what every network pays alike."""

    scale: float = 1.0
    offset_ms: float = 0.0
    fitted_on: int = 0
    exponent: float = 1.0
    per_part_ms: float = 0.0
    round_spread: float = 0.0  # calibration networks' median slowest-over-fastest round - 1 (plain loop; 0: unknown)

    def __post_init__(self) -> None:
        for name, lo, hi in (("scale", 0.05, 20), ("offset_ms", -MAX_MS, MAX_MS), ("exponent", 0.25, 4),
                             ("per_part_ms", -MAX_MS, MAX_MS)):  # range-checked before any float conversion
            object.__setattr__(self, name, float(check_float(name, getattr(self, name), lo, hi)))
        check_int("fitted_on", self.fitted_on, 0, 1_000_000)
        object.__setattr__(self, "round_spread", float(check_float("round_spread", self.round_spread, 0, 1e6)))

    def apply(self, total_ms: float, parts: int = 0) -> float:
        base = max(total_ms + self.per_part_ms * parts, 1e-6)
        return max(self.scale * base ** self.exponent + self.offset_ms, 1e-6)


@dataclass(frozen=True, kw_only=True, eq=False)
class DeviceProfile:
    """A device's latency lookup table (see the module docstring); JSON round-trips with to/from_dict."""

    device: DeviceDescription
    entries: Mapping[str, LatencyEntry]
    correction: Correction = Correction()
    reference_ms: float = 0.0  # the reference network's latency every entry is scaled to (0: entries as timed)
    schema_version: int = PROFILE_SCHEMA

    def __post_init__(self) -> None:
        check_choice("schema_version", self.schema_version, (PROFILE_SCHEMA,))  # an integer: 2.0 is not 2
        if not isinstance(self.device, DeviceDescription):
            raise SpecError("device", "must be a device description")
        if not isinstance(self.correction, Correction):
            raise SpecError("correction", "must be a correction")
        object.__setattr__(self, "reference_ms", _positive("reference_ms", self.reference_ms, allow_zero=True))
        if not isinstance(self.entries, Mapping) or len(self.entries) > MAX_ENTRIES:
            raise SpecError("entries", f"must be an object of at most {MAX_ENTRIES:,} entries")
        for key, entry in self.entries.items():
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise SpecError("entries", f"keys must be 1 to 400 printable characters, got {key!r:.60}")
            if not isinstance(entry, LatencyEntry):
                raise SpecError(f"entries[{key}]", "must be a latency entry")
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    @property
    def label(self) -> str:
        return self.device.name or f"{self.device.cpu} ({self.device.runtime})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "device": as_dict(self.device),
            "correction": as_dict(self.correction),
            "reference_ms": self.reference_ms,
            "entries": {key: as_dict(entry) for key, entry in sorted(self.entries.items())},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: Any) -> DeviceProfile:
        from searchspace.codec import from_dict

        if not isinstance(data, dict):
            raise SpecError("profile", "must be a JSON object")
        fields = ("schema_version", "device", "correction", "reference_ms", "entries")
        unknown = sorted(set(map(str, data)) - set(fields))
        if unknown:
            raise SpecError(unknown[0][:60], f"unknown field; allowed: {', '.join(fields)}")
        for name in ("device", "entries"):
            if name not in data:
                raise SpecError(name, "is required")
        raw = data["entries"]
        if not isinstance(raw, dict) or len(raw) > MAX_ENTRIES:
            raise SpecError("entries", f"must be an object of at most {MAX_ENTRIES:,} entries")
        version = check_choice("schema_version", data.get("schema_version", PROFILE_SCHEMA), (1, PROFILE_SCHEMA))
        if version == 1:  # its entries said median_ms
            raw = {key: _schema_1_entry(key, value) for key, value in raw.items()}
            version = PROFILE_SCHEMA
        entries = {key: from_dict(LatencyEntry, value, f"entries[{key!s:.400}]") for key, value in raw.items()}
        return cls(
            schema_version=version,
            device=from_dict(DeviceDescription, data["device"], "device"),
            correction=from_dict(Correction, data.get("correction", {}), "correction"),
            reference_ms=data.get("reference_ms", 0.0),
            entries=entries,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> DeviceProfile:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise SpecError("profile", f"is not valid JSON: {err}") from None
        return cls.from_dict(data)


def _schema_1_entry(key: str, value: Any) -> Any:
    """A schema 1 entry in schema 2's form: its ``median_ms`` named ``ms``; an entry already saying ``ms`` is a
    schema 2 entry under the wrong version, refused."""
    if isinstance(value, dict) and "ms" in value:
        raise SpecError(f"entries[{key!s:.400}].ms", "is schema 2's name: a schema_version 1 profile says median_ms "
                                                     "(set schema_version to 2)")
    if isinstance(value, dict) and "median_ms" in value:
        return {("ms" if name == "median_ms" else name): v for name, v in value.items()}
    return value


def table_terms(spec: ArchSpec, profile: DeviceProfile, name: str = "") -> tuple[float, int]:
    """The sum of the table entries of ``spec``'s parts (ms) and how many parts; MissingEntryError names the
    first one absent."""
    total = 0.0
    entries = profile.entries
    parts = network_parts(spec)
    for part in parts:
        key = part.key
        entry = entries.get(key)
        if entry is None:
            raise MissingEntryError(name or profile.label, part.where, key)
        total += entry.ms
    return total, len(parts)


def table_sum(spec: ArchSpec, profile: DeviceProfile, name: str = "") -> float:
    """The sum of the table entries of ``spec``'s parts (ms): the prediction before the correction."""
    return table_terms(spec, profile, name)[0]


def predict(spec: ArchSpec, profile: DeviceProfile, name: str = "") -> float:
    """``spec``'s latency on the profiled device in ms: the corrected sum of its parts' entries."""
    return profile.correction.apply(*table_terms(spec, profile, name))


def uncovered(space: SearchSpace, profile: DeviceProfile) -> list[str]:
    """The keys of parts ``space`` can produce that ``profile`` has no entry for (empty: it covers the space)."""
    return [key for key in space_parts(space) if key not in profile.entries]


def check_covers(space: SearchSpace, profile: DeviceProfile, name: str, field: str = "latency.device") -> None:
    """SpecError on ``field`` unless ``profile`` has an entry for every part ``space`` can produce."""
    missing = uncovered(space, profile)
    if missing:
        raise SpecError(field, f"device profile {name!r} lacks {len(missing):,} of the search space's "
                               f"{len(space_parts(space)):,} parts (first: {missing[0]}); profile this space "
                               "with python -m workers profile --space SPACE.json")
