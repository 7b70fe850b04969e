"""Architecture specs, the blocks they are made of, the builder and the analytic counter."""

from __future__ import annotations

from searchspace.blocks import BLOCK_KINDS, BlockSpec
from searchspace.builder import build
from searchspace.counter import Count, PartCount, count
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

__all__ = [
    "BLOCK_KINDS",
    "ArchSpec",
    "BlockSpec",
    "Count",
    "HeadSpec",
    "PartCount",
    "SpecError",
    "StageSpec",
    "StemSpec",
    "build",
    "count",
]
