"""Fitting a zoo network to a search's data and cost range, so that it is a fair baseline for the front.

``adapt_to_space(base, space)`` changes, and records in ``Adapted.changes``, exactly these things:

1. classes and input channels: the space's (the search sets them from its dataset);
2. resolution: the space's largest (a baseline is not handicapped by a smaller input than a candidate's);
3. at most 64 px (``SMALL_INPUT``), the small-input stem of the CIFAR adaptations and of the proxy space:
   a stride-2 stem becomes stride 1 and a stem max pool is removed; then, while the last stage's feature map
   would be smaller than ``MIN_FEATURE`` x ``MIN_FEATURE``, the earliest stride-2 stage that stays a valid
   network at stride 1 becomes stride 1 (a kind whose stride-2 unit changes its channels, such as
   ShuffleNetV1's concatenating unit, is skipped);
4. width: kept at 1.0 when the counted MACs already lie in the space's range (``macs_range``), otherwise the
   width multiplier (``searchspace.width``) on a geometric grid whose network lands inside the range and
   closest to the nearer end pulled in by ``EDGE_MARGIN``. A MicroNet block with the released group counts
   cannot be width-scaled; its groups then follow the paper's rule G = sqrt(C/R) (``groups=[]``).

A network that cannot reach the range at any width keeps the closest width and says so in ``changes``.
``adapt_to_macs`` does steps 1-3 for a given resolution and then matches one MACs count instead of a range (the
same-budget baseline of a compound-scaled family member).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.space import SearchSpace, sample
from searchspace.spec import ArchSpec
from searchspace.width import scale_width

SMALL_INPUT = 64
MIN_FEATURE = 2
EDGE_MARGIN = 1.25
WIDTHS = tuple(2 ** (i / 8) for i in range(-32, 25))  # 1/16 .. 8, steps of 9%
FINE_WIDTHS = tuple(2 ** (i / 32) for i in range(-128, 97))  # 1/16 .. 8, steps of 2%
N = TypeVar("N")  # a network spec: an ArchSpec, or a detector (``searchspace.detection.fit``)


class _Extreme:
    """A stand-in trial that picks the smallest (or largest) value of every choice and a given kind per stage."""

    def __init__(self, largest: bool, kinds: Mapping[int, str]) -> None:
        self.largest, self.kinds = largest, kinds

    def suggest_categorical(self, name: str, choices: tuple[Any, ...]) -> Any:
        stage, _, what = name.partition("/")
        if what == "kind":
            return self.kinds.get(int(stage.removeprefix("stage")), choices[0])
        return max(choices) if self.largest else min(choices)


def extremes(space: SearchSpace) -> tuple[ArchSpec, ArchSpec]:
    """The space's cheapest and dearest candidates by counted MACs.

    Every other choice at its smallest (largest) value, and per stage the block kind whose stage costs least
    (most): a stage's cost depends on its own choices and its input width only, so the per-stage choice of
    kind is exact for those extremes."""
    kinds = sorted({k for stage in space.stages for k in stage.kinds})
    specs = []
    for largest in (False, True):
        per_kind = {k: count(sample(_Extreme(largest, {i: k for i in range(len(space.stages))}), space)) for k in kinds}
        pick = max if largest else min
        chosen = {i: pick((k for k in stage.kinds), key=lambda k, i=i: per_kind[k].stages[i].macs)
                  for i, stage in enumerate(space.stages)}
        specs.append(sample(_Extreme(largest, chosen), space))
    return specs[0], specs[1]


def macs_range(space: SearchSpace) -> tuple[int, int]:
    """The counted MACs of the space's cheapest and dearest candidates (``extremes``)."""
    cheapest, dearest = extremes(space)
    return count(cheapest).macs, count(dearest).macs


@dataclass(frozen=True, kw_only=True)
class Adapted:
    """A zoo network fitted to a search: the spec to train, its width multiplier and every change made."""

    name: str
    spec: ArchSpec
    width: float
    macs: int
    params: int
    macs_range: tuple[int, int]
    changes: tuple[str, ...]

    @property
    def in_range(self) -> bool:
        return self.macs_range[0] <= self.macs <= self.macs_range[1]

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.name, "width": self.width, "macs": self.macs, "params": self.params,
                "macs_range": list(self.macs_range), "changes": list(self.changes)}


def _final_size(spec: ArchSpec) -> int:
    return min(count(spec).stages[-1].out_size)


def small_input(spec: ArchSpec) -> tuple[ArchSpec, list[str]]:
    """The small-input stem and the dropped early downsampling (steps 3 of the module docstring)."""
    changes = []
    if spec.stem.stride != 1:
        changes.append(f"stem stride {spec.stem.stride} -> 1")
    if spec.stem.pool != "none":
        changes.append(f"stem max pool ({spec.stem.pool}) removed")
    spec = replace(spec, stem=replace(spec.stem, stride=1, pool="none"))
    while _final_size(spec) < MIN_FEATURE:
        for i, stage in enumerate(spec.stages):
            if stage.block.stride == 1:
                continue
            try:
                lighter = replace(spec, stages=(*spec.stages[:i], replace(stage, block=replace(stage.block, stride=1)),
                                                *spec.stages[i + 1:]))
            except SpecError:
                continue
            changes.append(f"stages[{i}] stride {stage.block.stride} -> 1")
            spec = lighter
            break
        else:
            changes.append(f"final feature map {_final_size(spec)} px: no stage can drop its downsampling")
            break
    return spec, changes


def _paper_groups(spec: ArchSpec) -> ArchSpec:
    """Micro-blocks with their groups following the channels (the paper's rule) instead of the released ones."""
    stages = tuple(replace(s, block=replace(s.block, groups=())) if getattr(s.block, "groups", None)
                   and s.block.kind == "micro" else s for s in spec.stages)
    return replace(spec, stages=stages)


def widened(spec: ArchSpec, width: float) -> tuple[ArchSpec, bool] | None:
    """``spec`` at ``width`` and whether its micro-blocks' groups had to follow the channels; None if invalid."""
    for regrouped, candidate in ((False, spec), (True, _paper_groups(spec))):
        try:
            return scale_width(candidate, width), regrouped
        except SpecError:
            continue
    return None


def _macs(spec: ArchSpec) -> int:
    return count(spec).macs


def fit_width(spec: N, lo: int, hi: int, macs_of: Callable[[N], int] = _macs,
              widen: Callable[[N, float], tuple[N, bool] | None] = widened,
              ) -> tuple[N, float, list[str]]:
    """The width multiplier of step 4 of the module docstring, the network it gives and what changed.

    ``macs_of`` counts a network and ``widen`` scales it (None: no valid network at that width); by default a
    classifier's (``count``, ``widened``): a detector is fitted by the same rule on its whole counted MACs."""
    macs = macs_of(spec)
    if lo <= macs <= hi:
        return spec, 1.0, []
    target = lo * EDGE_MARGIN if macs < lo else hi / EDGE_MARGIN
    target = min(max(target, lo), hi)
    options = []
    for width in WIDTHS:
        found = widen(spec, width)
        if found is not None:
            m = macs_of(found[0])
            options.append((not lo <= m <= hi, abs(math.log(m / target)), width, *found))
    if not options:
        return spec, 1.0, [f"no width multiplier gives a valid network; MACs {macs:,} outside {lo:,}..{hi:,}"]
    outside, _, width, fitted, regrouped = min(options, key=lambda o: o[:3])
    changes = [f"width x{width:.3g} (MACs {macs:,} -> {macs_of(fitted):,}; range {lo:,}..{hi:,})"]
    if regrouped:
        changes.append("micro-block groups follow the channels (G = sqrt(C/R)) so that the width can change")
    if outside:
        changes.append("no width lands inside the range: the closest one is kept")
    return fitted, width, changes


def capped(lo: int, hi: int, max_macs: int | None) -> tuple[int, int]:
    """A MACs range capped by a search's ``max_macs`` as it caps the candidates (None: not capped)."""
    return (lo, hi) if max_macs is None else (min(lo, max_macs), min(hi, max_macs))


def _shaped(base: ArchSpec, num_classes: int, in_chans: int, resolution: int) -> tuple[ArchSpec, list[str]]:
    """Steps 1-3 of the module docstring: the data's shape, the resolution and the small-input stem."""
    changes = [f"{what} {old} -> {new}" for what, old, new in (
        ("classes", base.num_classes, num_classes), ("input channels", base.in_chans, in_chans),
        ("resolution", base.resolution, resolution)) if old != new]
    spec = replace(base, num_classes=num_classes, in_chans=in_chans, resolution=resolution)
    if resolution <= SMALL_INPUT:
        spec, more = small_input(spec)
        changes += more
    return spec, changes


def adapt_to_space(base: ArchSpec, space: SearchSpace, name: str = "", max_macs: int | None = None) -> Adapted:
    """``base`` fitted to ``space``'s data shape, resolution and MACs range (see the module docstring); a search's
    ``max_macs`` caps the range as it caps the candidates."""
    spec, changes = _shaped(base, space.num_classes, space.in_chans, max(space.resolutions))
    lo, hi = capped(*macs_range(space), max_macs)
    spec, width, more = fit_width(spec, lo, hi)
    cost = count(spec)
    return Adapted(name=name or base.name, spec=spec, width=width, macs=cost.macs, params=cost.params,
                   macs_range=(lo, hi), changes=tuple(changes + more))


def adapt_to_macs(base: ArchSpec, num_classes: int, in_chans: int, resolution: int, macs: int,
                  name: str = "") -> Adapted:
    """``base`` fitted to the data shape and ``resolution`` (steps 1-3) at the width multiplier (on a grid of
    2% steps, ``FINE_WIDTHS``) whose counted MACs come closest to ``macs``: the same-budget version of a network
    (a compound-scaled family member's baseline). ``macs_range`` is ``(macs, macs)``."""
    spec, changes = _shaped(base, num_classes, in_chans, resolution)
    options = []
    for width in FINE_WIDTHS:
        found = widened(spec, width)
        if found is not None:
            options.append((abs(math.log(count(found[0]).macs / macs)), abs(math.log(width)), width, *found))
    if not options:
        raise SpecError("width", f"no width multiplier gives {base.name or 'the network'} a valid network")
    _, _, width, fitted, regrouped = min(options, key=lambda o: o[:3])
    cost = count(fitted)
    changes.append(f"width x{width:.3g} (MACs {count(spec).macs:,} -> {cost.macs:,}; target {macs:,})")
    if regrouped:
        changes.append("micro-block groups follow the channels (G = sqrt(C/R)) so that the width can change")
    return Adapted(name=name or base.name, spec=fitted, width=width, macs=cost.macs, params=cost.params,
                   macs_range=(macs, macs), changes=tuple(changes))
