"""Latency predicted in the driver from a device profile's table, at proposal time (torch-free, < 1 ms)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from searchspace.errors import SpecError
from searchspace.latency_table import DeviceProfile, predict
from searchspace.spec import ArchSpec
from workers.latency.config import LatencyConfig


@dataclass(frozen=True)
class LatencyPredictor:
    """A candidate's latency fields from ``profile`` (MissingEntryError when the table lacks one of its parts)."""

    profile_id: str
    profile: DeviceProfile

    @property
    def source(self) -> str:
        device = self.profile.device
        return (f"predicted from device profile {self.profile_id} ({self.profile.label}, {device.runtime}, "
                f"{device.threads} thread(s))")

    def __call__(self, spec: ArchSpec) -> dict[str, Any]:
        ms = predict(spec, self.profile, self.profile_id)
        return {"latency_ms": ms, "latency_p90_ms": None, "latency_source": self.source}


def predictor_for(latency: LatencyConfig, profile: DeviceProfile | None) -> LatencyPredictor | None:
    """The predictor when ``latency`` names a device profile (which must then be given), else None."""
    if latency.profile_id is None:
        if profile is not None:
            raise SpecError("latency.device", f"a device profile was given but latency.device is "
                                              f"{latency.device!r}; set it to the profile's id")
        return None
    if profile is None:
        raise SpecError("latency.device", f"names device profile {latency.profile_id!r}, which was not loaded")
    return LatencyPredictor(latency.profile_id, profile)


def file_profile_id(profile: DeviceProfile) -> str:
    """A profile file's id: its content's hash, so the same table gives the same study name."""
    return "file-" + hashlib.sha1(profile.to_json().encode()).hexdigest()[:16]
