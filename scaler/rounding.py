"""Rounding a compound-scaled network so that its counted MACs keep the formula's ratio (``Rounding.FIT``).

The paper's rules (``Rounding.PAPER``: channels to the nearest multiple of 8, ``ceil`` of each stage's repeats,
the resolution to a multiple of 8) hold the MACs ratio near ``depth * width^2 * resolution^2`` at 224 px and
above, and miss it below: at 16 px a step of 8 pixels is half the input, and ``ceil`` adds a whole layer to a
one-layer stage. ``fit`` instead chooses, per base, among roundings around the ideal multipliers:

- resolution: multiples of the *resolution divisor*, the largest power of two that divides the network's total
  stride and is at most 1/16 of the ideal resolution (a step of at most ~6%: 1 px at 16 px, 16 or 32 px from
  256 px up), or of its half or quarter, below and above the ideal size; never below the base's size;
- depth: each stage's repeats ``floor`` or ``ceil`` of ``depth * repeats``;
- width: the channel rule (``searchspace.width``: multiples of 8) applied with the multiplier, or with it
  nudged (``NEAR_NUDGES``, ``WIDE_NUDGES``), which moves the rounding of the channel counts down or up.

It searches in tiers (``TIERS``), each adding roundings further from the ideal: the exact width and the two
multiples of the divisor around the ideal size; then the width nudged by up to 10% and the finer multiples;
then every multiple of the divisor within ``RESOLUTION_SPAN`` of the ideal size; then the width nudged by
-20% to +50%. It stops at the first tier where a combination counts within ``NEAR_ENOUGH`` (2%) of the target
ratio. The wider tiers are where the other coefficients compensate for the resolution: at 16-32 px the
feature maps of the stride-32 stages stay 1x1 until the input passes 32 px, and a 1000-class classifier,
which grows with the width alone, can hold a third of the MACs. Within a tier, of the combinations that give
a valid network, it keeps the one with the smallest ``|log(counted ratio / target)| + DEVIATION_WEIGHT *
deviation``, the deviation summing ``|log|`` of the rounded over the ideal multiplier of width, resolution and
total layers: nearer the ideal multipliers wins unless another is markedly closer to the target ratio.

The MACs are counted (``searchspace.counter``): a stage's repeats change its own cost only, so two counts per
width and resolution (all stages at ``floor``, all at ``ceil``) give every depth combination's MACs by
addition. ``RoundingRecord`` says what was chosen and which rounding moved from the paper's rules.
"""

from __future__ import annotations

import copy
import enum
import itertools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.rounding import make_divisible
from searchspace.spec import ArchSpec
from searchspace.width import scale_width

__all__ = [
    "DEVIATION_WEIGHT", "NEAR_ENOUGH", "NEAR_NUDGES", "RESOLUTION_DIVISOR", "RESOLUTION_SPAN", "RESOLUTION_STEP",
    "TIERS", "WIDE_NUDGES", "Fitted", "Rounding", "RoundingRecord", "fit", "resolution_divisor", "round_repeats",
    "round_resolution",
]

RESOLUTION_DIVISOR = 8  # the paper's fixed multiple
RESOLUTION_STEP = 1 / 16  # the fit's resolution divisor is at most this fraction of the ideal resolution
# Multipliers of the width the channel rule is tried with: next to the ideal first, then further to compensate.
NEAR_NUDGES = (1.0, 0.95, 1.05, 0.9, 1.1)
WIDE_NUDGES = (0.8, 1.2, 1.35, 1.5)
RESOLUTION_SPAN = 1.5  # the wider search tries multiples of the divisor within this factor of the ideal size
# The roundings tried, each tier adding further ones: (wider width nudges?, size tier of ``_sizes``).
TIERS = ((False, 0), (False, 1), (False, 2), (True, 2))
NEAR_ENOUGH = 0.02  # the near roundings are kept when one counts within 2% of the target ratio
DEVIATION_WEIGHT = 0.1  # weight of the distance from the ideal multipliers against the ratio's error
MAX_DEPTH_CHOICES = 12  # stages whose floor/ceil are all tried; further ones keep ceil
_DEPTH_EPS = 1e-9


class Rounding(enum.StrEnum):
    """How the scaled channel counts, repeats and resolution are rounded."""

    FIT = "fit"  # chosen per base to keep the counted MACs ratio (module docstring)
    PAPER = "paper"  # multiples of 8 (channels, resolution), ceil(repeats): TF EfficientNet / timm


def round_repeats(repeats: int, depth: float) -> int:
    """``ceil(depth * repeats)``, at least 1; depth 1.0 is the identity."""
    return max(1, math.ceil(depth * repeats - _DEPTH_EPS))


def round_resolution(resolution: int, multiplier: float, divisor: int = RESOLUTION_DIVISOR) -> int:
    """``resolution * multiplier`` to the nearest multiple of ``divisor``; multiplier 1.0 is the identity."""
    return resolution if multiplier == 1.0 else make_divisible(resolution * multiplier, divisor)


def resolution_divisor(spec: ArchSpec, size: float) -> int:
    """The largest power of two dividing ``spec``'s total stride that is at most ``RESOLUTION_STEP * size``."""
    stride = spec.stage_reductions()[-1]
    divisor = 1
    while stride % (divisor * 2) == 0 and divisor * 2 <= RESOLUTION_STEP * size:
        divisor *= 2
    return divisor


@dataclass(frozen=True, kw_only=True)
class RoundingRecord:
    """What a scaled network was rounded to: the rule, the target, and the roundings moved from the paper's."""

    rule: Rounding
    target_ratio: float
    width: float  # the multiplier the channel rule was applied with
    resolution_divisor: int
    repeats: tuple[int, ...]
    adjusted: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rule": str(self.rule), "target_ratio": self.target_ratio, "width": self.width,
                "resolution_divisor": self.resolution_divisor, "repeats": list(self.repeats),
                "adjusted": list(self.adjusted)}


@dataclass(frozen=True)
class Fitted:
    """The network ``fit`` chose and its record."""

    spec: ArchSpec
    record: RoundingRecord


def _sizes(base: ArchSpec, ideal: float, top: int, tier: int) -> list[int]:
    """Candidate resolutions of a search tier (never below the base's when growing): the multiples of ``top``
    below and above ``ideal`` (tier 0); also those of ``top / 2`` and ``top / 4`` (tier 1); also every multiple
    of ``top`` within ``RESOLUTION_SPAN`` of ``ideal`` (tier 2)."""
    lowest = base.resolution if ideal >= base.resolution else 8
    sizes: list[int] = []
    for divisor in [top] if tier == 0 else sorted({top, max(1, top // 2), max(1, top // 4)}):
        sizes += [math.floor(ideal / divisor) * divisor, math.ceil(ideal / divisor) * divisor]
    if tier == 2:
        first = math.ceil(max(lowest, ideal / RESOLUTION_SPAN) / top)
        sizes += [k * top for k in range(first, math.floor(ideal * RESOLUTION_SPAN / top) + 1)]
    return sorted({s for s in sizes if s >= lowest} or {base.resolution})


@dataclass(frozen=True)
class _Choice:
    score: float
    error: float  # |log(counted ratio / target)|
    nudge: float
    size: int
    repeats: tuple[int, ...]


def _with(spec: ArchSpec, repeats: tuple[int, ...], size: int | None = None) -> ArchSpec:
    stages = tuple(replace(s, repeats=r) for s, r in zip(spec.stages, repeats, strict=True))
    return replace(spec, stages=stages, resolution=spec.resolution if size is None else size)


def _resized(spec: ArchSpec, size: int) -> ArchSpec:
    """``spec`` at input ``size``, to be counted. Its validation is not run again: it checked the layers at
    another size (they do not depend on it), and ``size`` passed the spec's own check with the base."""
    clone = copy.copy(spec)
    object.__setattr__(clone, "resolution", size)
    return clone


class _Search:
    """The roundings of one scaling, scored; each (width nudge, resolution) is counted once.

    A tier is (nudges, size tier): the exact width and the divisor's two multiples first, then the near
    nudges and finer multiples, the wider sizes, the wider nudges (``TIERS``).
    """

    def __init__(self, base: ArchSpec, width: float, depth: float, resolution: float, target: float) -> None:
        self.base, self.width, self.resolution, self.target = base, width, resolution, target
        self.base_macs = count(base).macs
        self.ideal_size = base.resolution * resolution
        self.top = resolution_divisor(base, self.ideal_size) if resolution != 1.0 else 1
        lo = tuple(max(1, math.floor(depth * s.repeats + _DEPTH_EPS)) for s in base.stages)
        self.hi = tuple(round_repeats(s.repeats, depth) for s in base.stages)
        free = sorted((i for i, (a, b) in enumerate(zip(lo, self.hi, strict=True)) if a != b),
                      key=lambda i: -base.stages[i].repeats)
        self.tried = free[:MAX_DEPTH_CHOICES]  # the others keep ceil
        self.floor = tuple(lo[i] if i in self.tried else h for i, h in enumerate(self.hi))
        # picks[k, j] = 1: stage tried[j] takes ceil in depth option k.
        self.picks = np.array(list(itertools.product((0, 1), repeat=len(self.tried))), dtype=np.int64).reshape(
            2 ** len(self.tried), len(self.tried))
        steps = np.array([self.hi[i] - lo[i] for i in self.tried], dtype=np.int64)
        self.layer_dev = np.abs(np.log((sum(self.floor) + self.picks @ steps) / (depth * base.num_blocks)))
        self.widths: dict[float, tuple[ArchSpec, ArchSpec] | None] = {}
        self.valid_sizes: dict[int, bool] = {}
        self.done: dict[tuple[float, int], _Choice | None] = {}

    def best(self, tier: tuple[bool, int]) -> _Choice | None:
        """The best-scored rounding of ``tier`` (whether to nudge widely, the size tier)."""
        wide_nudges, size_tier = tier
        nudges = (1.0,) if self.width == 1.0 or size_tier == 0 else NEAR_NUDGES + (WIDE_NUDGES if wide_nudges else ())
        sizes = ([self.base.resolution] if self.resolution == 1.0
                 else _sizes(self.base, self.ideal_size, self.top, size_tier))
        choices = [self._choice(n, s) for n in nudges for s in sizes if self._valid_size(s)]
        return min((c for c in choices if c is not None), key=lambda c: c.score, default=None)

    def spec(self, choice: _Choice) -> ArchSpec:
        """The network of ``choice``, validated."""
        return _with(scale_width(self.base, self.width * choice.nudge), choice.repeats, choice.size)

    def _valid_size(self, size: int) -> bool:
        if size not in self.valid_sizes:
            try:
                replace(self.base, resolution=size)
                self.valid_sizes[size] = True
            except SpecError:
                self.valid_sizes[size] = False
        return self.valid_sizes[size]

    def _depths(self, nudge: float) -> tuple[ArchSpec, ArchSpec] | None:
        """The base at width ``width * nudge`` with every stage's repeats floor'd and ceil'd (None if invalid,
        or if an earlier nudge gave the same channels)."""
        if nudge not in self.widths:
            try:
                wide = scale_width(self.base, self.width * nudge)
                pair: tuple[ArchSpec, ArchSpec] | None = (_with(wide, self.floor), _with(wide, self.hi))
            except SpecError:
                pair = None
            if pair is not None and any(other is not None and other[1] == pair[1] for other in self.widths.values()):
                pair = None
            self.widths[nudge] = pair
        return self.widths[nudge]

    def _choice(self, nudge: float, size: int) -> _Choice | None:
        """The best depth rounding at this width and resolution (None if they give no valid network)."""
        if (nudge, size) not in self.done:
            pair, choice = self._depths(nudge), None
            if pair is not None:
                low = count(_resized(pair[0], size))
                high = count(_resized(pair[1], size)) if self.tried else low
                extra = np.array([high.stages[i].macs - low.stages[i].macs for i in self.tried], dtype=np.float64)
                error = np.abs(np.log((low.macs + self.picks @ extra) / self.base_macs / self.target))
                deviation = abs(math.log(nudge)) + abs(math.log(size / self.ideal_size)) + self.layer_dev
                score = error + DEVIATION_WEIGHT * deviation
                k = int(np.argmin(score))
                ceil = {i for j, i in enumerate(self.tried) if self.picks[k, j]}
                repeats = tuple(h if i in ceil else f
                                for i, (f, h) in enumerate(zip(self.floor, self.hi, strict=True)))
                choice = _Choice(float(score[k]), float(error[k]), nudge, size, repeats)
            self.done[nudge, size] = choice
        return self.done[nudge, size]


def fit(base: ArchSpec, width: float, depth: float, resolution: float, target: float) -> Fitted | None:
    """The valid rounding of ``base`` scaled by the multipliers whose counted MACs ratio best keeps ``target``.

    Tries the roundings next to the ideal multipliers first, and further ones only while none counts within
    ``NEAR_ENOUGH`` of the target (``TIERS``). None when no combination gives a valid network (the caller
    reports the paper rounding's error).
    """
    search = _Search(base, width, depth, resolution, target)
    best = None
    for tier in TIERS:
        best = search.best(tier)
        if best is not None and best.error <= math.log1p(NEAR_ENOUGH):
            break
    if best is None:
        return None
    spec = search.spec(best)
    divisor = math.gcd(spec.resolution, search.top)
    used = width * best.nudge
    record = RoundingRecord(rule=Rounding.FIT, target_ratio=target, width=used, resolution_divisor=divisor,
                            repeats=best.repeats, adjusted=_adjusted(base, width, depth, resolution, spec, used,
                                                                     search.hi))
    return Fitted(spec, record)


def _adjusted(base: ArchSpec, width: float, depth: float, resolution: float, spec: ArchSpec, used: float,
              ceil: tuple[int, ...]) -> tuple[str, ...]:
    """Each rounding that differs from the paper's, in words."""
    out = []
    if used != width:
        out.append(f"width: channels rounded with multiplier {used:.4g} instead of {width:.4g}")
    moved = [(f"stage{i}", str(s.repeats), str(c)) for i, (s, c) in enumerate(zip(spec.stages, ceil, strict=True))
             if s.repeats != c]
    if moved:
        stages, repeats, ceils = (", ".join(column) for column in zip(*moved, strict=True))
        out.append(f"depth: {depth:.4g} x repeats rounded down in {stages} ({repeats} repeats; ceil: {ceils})")
    paper = round_resolution(base.resolution, resolution)
    if spec.resolution != paper:
        out.append(f"resolution: {spec.resolution} px for ideal {base.resolution * resolution:.4g} "
                   f"(the paper's multiple of {RESOLUTION_DIVISOR}: {paper} px)")
    return tuple(out)
