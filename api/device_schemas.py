"""Request and response schemas of device profiles (``/v1/devices``) and of the device a latency measurement
names; derived from ``searchspace.latency_table``'s dataclasses (``api.derive``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.derive import config_model
from searchspace.latency_table import (
    PROFILE_SCHEMA,
    Correction,
    DeviceDescription,
    DeviceProfile,
    LatencyEntry,
)

DeviceDescriptionIn = config_model(DeviceDescription, "DeviceDescriptionIn")
_LatencyEntryIn = config_model(LatencyEntry, "LatencyEntryIn")
_CorrectionIn = config_model(Correction, "CorrectionIn")
# The body of POST /v1/devices as the OpenAPI document shows it; the route reads it with DeviceProfile.from_json
# (the same dataclasses, so the same fields), which also converts a schema_version 1 profile.
DeviceProfileIn = config_model(DeviceProfile, "DeviceProfileIn", nested=(DeviceDescriptionIn, _LatencyEntryIn,
                                                                         _CorrectionIn), docs={
    "schema_version": f"{PROFILE_SCHEMA}; 1 is an older profile whose entries say median_ms instead of ms (read "
                      "and converted)",
    "entries": "part key (searchspace.latency_keys) -> its measured latency",
    "reference_ms": "the reference networks' latency every entry is scaled to (0: entries as timed)"})


class DevicePublic(BaseModel):
    """An uploaded device profile without its table: name it as a search's ``latency.device``."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="the profile id a search names in latency.device")
    name: str | None
    device: dict[str, Any] = Field(description="CPU, cores, threads, torch and runtime it was measured with")
    correction: dict[str, Any] = Field(
        description="predicted = scale * (sum of entries + per_part_ms * parts) ** exponent + offset_ms")
    reference_ms: float = Field(description="the reference networks' latency every entry is scaled to (0: as timed)")
    num_entries: int
    created_at: datetime


class DeviceDetail(DevicePublic):
    entries: dict[str, Any] = Field(
        description="part key -> ms (the profile's quantile of its timed runs), spread_ms, repeats")

    @model_validator(mode="before")
    @classmethod
    def _entries(cls, data: Any) -> Any:
        if not isinstance(data, dict) and hasattr(data, "profile"):
            fields = {name: getattr(data, name) for name in DevicePublic.model_fields}
            return {**fields, "entries": data.profile.get("entries", {})}
        return data


class DevicesPublic(BaseModel):
    data: list[DevicePublic]
    count: int
