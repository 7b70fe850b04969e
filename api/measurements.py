"""Schemas of the latencies users measured of an architecture (``/v1/architectures/{id}/measurements``): the
request derives from ``workers.latency.LatencyMeasurement``; each stored one is answered beside the
architecture's own latency (predicted from a device profile, or measured by its search) as their ratio."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.derive import config_model
from api.device_schemas import DeviceDescriptionIn
from api.schemas import ArchitecturePublic
from workers.latency import LatencyMeasurement

MeasurementIn = config_model(LatencyMeasurement, "MeasurementIn", nested=(DeviceDescriptionIn,))
SHOWN = 10  # measurements an architecture's response carries (the newest; the rest: GET .../measurements)


class MeasurementPublic(BaseModel):
    """A stored measurement, and the architecture's latency over it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    architecture_id: uuid.UUID
    runtime: str = Field(description="eager, onnxruntime or int8")
    threads: int
    batch_size: int
    latency_ms: float = Field(description="measured: the median round of the plain loop (or the poster's figure)")
    min_round_ms: float | None
    max_round_ms: float | None
    spread: float | None = Field(description="the slowest round over the fastest, minus 1 (null: not known)")
    device: dict[str, Any] = Field(description="the machine and runtime it was measured on")
    loop: str
    source: str
    measured_at: datetime
    created_at: datetime
    ratio: float | None = Field(description=(
        "the architecture's latency_ms (predicted from a device profile or measured by its search: its "
        "details.latency_source) over this measurement; null when the architecture has no latency"))


class MeasurementsPublic(BaseModel):
    data: list[MeasurementPublic]
    count: int


class ArchitectureDetail(ArchitecturePublic):
    """One architecture with the latencies users measured of it beside its own (``latency_ms``)."""

    latency_source: str | None = Field(
        description="how latency_ms came about: predicted from a device profile, or measured on a worker")
    measurements: list[MeasurementPublic] = Field(
        description=f"the newest {SHOWN} latencies measured of it (POST .../measurements), each with the ratio")
    measurement_count: int


def public_measurement(row: Any, latency_ms: float | None) -> MeasurementPublic:
    """A stored measurement as answered, with ``latency_ms`` (the architecture's) over it."""
    fields = {name: getattr(row, name) for name in MeasurementPublic.model_fields if name not in ("spread", "ratio")}
    low, high = row.min_round_ms, row.max_round_ms
    return MeasurementPublic(**fields, spread=None if low is None or high is None else high / low - 1,
                             ratio=None if latency_ms is None else latency_ms / row.latency_ms)


def architecture_detail(arch: ArchitecturePublic, rows: list[Any], count: int) -> ArchitectureDetail:
    """``arch`` with its newest measurements (``rows``) of ``count``."""
    source = arch.details.get("latency_source") if isinstance(arch.details, dict) else None
    return ArchitectureDetail(**dict(arch), latency_source=source if isinstance(source, str) else None,
                              measurements=[public_measurement(r, arch.latency_ms) for r in rows],
                              measurement_count=count)
