"""Analytic parameter and multiply-add count of an ArchSpec: no module is built, no forward pass is run."""

from __future__ import annotations

from dataclasses import dataclass

from searchspace.spec import ArchSpec, StageSpec
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


def _count_stage(stage: StageSpec, t: Tally) -> None:
    """The first block, then one of the identical repeats times the number of repeats.

    Repeats after the first take the stage's output shape and keep it, so each costs the same.
    """
    blocks = stage.blocks()
    next(blocks).count(t)
    if stage.repeats > 1:
        params, macs = t.params, t.macs
        next(blocks).count(t)
        t.params += (t.params - params) * (stage.repeats - 2)
        t.macs += (t.macs - macs) * (stage.repeats - 2)


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
        _count_stage(stage, t)
        parts.append(_part(f"stage{s}/{stage.block.kind}", t, before, stage.repeats))
    if not features:
        before = (t.params, t.macs)
        parts.append(_part("head", spec.head.count(t, spec.num_classes), before))
    return Count(t.params, t.macs, tuple(parts))
