"""Tests of the workers package."""

from __future__ import annotations

from searchspace.blocks import MBConvSpec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec


def tiny_spec(resolution: int = 16, in_chans: int = 1, num_classes: int = 10) -> ArchSpec:
    """A three-stage, 16-32 channel MBConv network: trains on digits in about a second."""
    return ArchSpec(
        name="tiny",
        stem=StemSpec(out_chs=16, stride=1),
        stages=(
            StageSpec(block=MBConvSpec(out_chs=16)),
            StageSpec(block=MBConvSpec(out_chs=24, stride=2, expansion=3, se_ratio=0.25)),
            StageSpec(block=MBConvSpec(out_chs=32, stride=2, expansion=3, act="swish")),
        ),
        head=HeadSpec(),
        resolution=resolution,
        in_chans=in_chans,
        num_classes=num_classes,
    )
