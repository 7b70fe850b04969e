"""Compound scaling (EfficientNet): scale a base ArchSpec, derive family members, the B0..B7 table."""

from __future__ import annotations

from scaler.family import OFFICIAL_TABLE, family, official
from scaler.scaling import (
    ALPHA,
    BETA,
    GAMMA,
    Rounding,
    RoundingRecord,
    ScaledSpec,
    check_limits,
    derive,
    round_channels,
    round_repeats,
    round_resolution,
    scale,
    scale_block,
)

__all__ = [
    "ALPHA",
    "BETA",
    "GAMMA",
    "OFFICIAL_TABLE",
    "Rounding",
    "RoundingRecord",
    "ScaledSpec",
    "check_limits",
    "derive",
    "family",
    "official",
    "round_channels",
    "round_repeats",
    "round_resolution",
    "scale",
    "scale_block",
]
