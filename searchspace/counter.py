"""Analytic parameter and multiply-add count of an ArchSpec: no module is built, no forward pass is run."""

from __future__ import annotations

from dataclasses import dataclass

from searchspace.spec import ArchSpec
from searchspace.tally import Tally


@dataclass(frozen=True)
class PartCount:
    """Cost of one part of the network (the stem, a stage, the head) and the feature map it leaves."""

    name: str
    params: int
    macs: int
    out_chs: int
    out_size: tuple[int, int]
    repeats: int = 1


@dataclass(frozen=True)
class Count:
    params: int
    macs: int
    parts: tuple[PartCount, ...]

    @property
    def stages(self) -> tuple[PartCount, ...]:
        return self.parts[1:-1]


def _part(name: str, t: Tally, before: tuple[int, int], repeats: int = 1) -> PartCount:
    return PartCount(name, t.params - before[0], t.macs - before[1], t.chs, (t.h, t.w), repeats)


def count(spec: ArchSpec, features: bool = False) -> Count:
    """Parameters and MACs (conv + linear multiply-adds), with a per-part breakdown.

    ``features=True`` counts the multi-scale feature extractor (``build(spec, features=True)``): stem and
    stages up to the last stride-32 stage, no head.
    """
    t = Tally(spec.in_chans, spec.resolution, spec.resolution)
    parts = [_part("stem", spec.stem.count(t), (0, 0))]
    last = spec.feature_stages()[-1] if features else len(spec.stages) - 1
    for s, stage in enumerate(spec.stages[: last + 1]):
        before = (t.params, t.macs)
        for block in stage.blocks():
            block.count(t)
        parts.append(_part(f"stage{s}/{stage.block.kind}", t, before, stage.repeats))
    if not features:
        before = (t.params, t.macs)
        parts.append(_part("head", spec.head.count(t, spec.num_classes), before))
    return Count(t.params, t.macs, tuple(parts))
