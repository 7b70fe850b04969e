"""A latency measurement as the service stores it against an architecture (LatencyMeasurement): the figure of
the plain loop (``workers.latency.plain``, or a user's own benchmark loop), its spread, the device, when and by
what. ``python -m workers measure --architecture ID --service URL`` posts one; the API's request model derives
from the fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from searchspace.checks import check_float
from searchspace.codec import from_dict, to_dict
from searchspace.errors import SpecError
from searchspace.fields import doc
from searchspace.latency_table import MAX_MS, DeviceDescription

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _ms(name: str, value: Any) -> float:
    """A latency in (0, MAX_MS] ms, as a float."""
    check_float(name, value, 0, MAX_MS)
    if value == 0:
        raise SpecError(name, f"must be in (0, {MAX_MS:g}] ms, got 0")
    return float(value)


def _label(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 200 or not value.isprintable():
        raise SpecError(name, "must be printable text of at most 200 characters")
    return value


def parse_when(name: str, value: Any) -> datetime:
    """An ISO 8601 time (no zone: UTC) from 2000 to a day from now, timezone-aware."""
    if not isinstance(value, str) or len(value) > 40:
        raise SpecError(name, "must be an ISO 8601 time such as 2026-12-07T11:20:00Z")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise SpecError(name, f"must be an ISO 8601 time such as 2026-12-07T11:20:00Z; got {value!r:.40}") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    latest = datetime.now(UTC).timestamp() + 86_400
    if not EARLIEST <= when or when.timestamp() > latest:
        raise SpecError(name, f"must lie between 2000-01-01 and a day from now; got {value!r:.40}")
    return when.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class LatencyMeasurement:
    """One measured latency of an architecture on a device (the runtime, threads and batch are the device's)."""

    latency_ms: float = field(metadata=doc(
        "ms per run of a batch: the median over the rounds of the plain loop (python -m workers measure), or "
        "your benchmark loop's figure"))
    min_round_ms: float | None = field(default=None, metadata=doc("the fastest round (null: not known)"))
    max_round_ms: float | None = field(default=None, metadata=doc("the slowest round (null: not known)"))
    device: DeviceDescription = field(default_factory=DeviceDescription, metadata=doc(
        "the machine, its runtime (eager, onnxruntime or int8), threads and batch size"))
    loop: str = field(default="", metadata=doc("how it was timed, e.g. the plain loop's warm-up runs and rounds"))
    measured_at: str = field(default="", metadata=doc(
        "when it was measured, ISO 8601 (no zone: UTC); empty: when the service receives it"))
    source: str = field(default="", metadata=doc("what measured it (a command, a host, a person)"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "latency_ms", _ms("latency_ms", self.latency_ms))
        for name in ("min_round_ms", "max_round_ms"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _ms(name, getattr(self, name)))
        if self.min_round_ms is not None and self.min_round_ms > self.latency_ms:
            raise SpecError("min_round_ms", f"must be at most latency_ms ({self.latency_ms:g}); got "
                                            f"{self.min_round_ms:g}")
        if self.max_round_ms is not None and self.max_round_ms < self.latency_ms:
            raise SpecError("max_round_ms", f"must be at least latency_ms ({self.latency_ms:g}); got "
                                            f"{self.max_round_ms:g}")
        if isinstance(self.device, dict):
            object.__setattr__(self, "device", from_dict(DeviceDescription, self.device, "device"))
        if not isinstance(self.device, DeviceDescription):
            raise SpecError("device", "must be a JSON object (a device description)")
        _label("loop", self.loop)
        _label("source", self.source)
        if self.measured_at:
            parse_when("measured_at", self.measured_at)

    @property
    def spread(self) -> float | None:
        """The slowest round over the fastest, minus 1 (None when either is unknown)."""
        if self.min_round_ms is None or self.max_round_ms is None:
            return None
        return self.max_round_ms / self.min_round_ms - 1

    def when(self, received: datetime) -> datetime:
        """When it was measured: ``measured_at``, else ``received``."""
        return parse_when("measured_at", self.measured_at) if self.measured_at else received

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> LatencyMeasurement:
        return from_dict(cls, data)


def from_figure(figure: Any, source: str = "", measured_at: datetime | None = None) -> LatencyMeasurement:
    """A plain-loop figure (``PlainLatency``) as a measurement to store, measured now unless ``measured_at``."""
    when = (measured_at or datetime.now(UTC)).astimezone(UTC)
    return LatencyMeasurement(latency_ms=figure.median_ms, min_round_ms=figure.min_ms, max_round_ms=figure.max_ms,
                              device=figure.device, loop=figure.loop.describe(), source=source,
                              measured_at=when.isoformat(timespec="seconds"))
