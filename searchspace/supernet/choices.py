"""Sub-networks of a search space as ArchSpecs: membership, and the random, largest and smallest ones (the
sandwich rule's samples). Pure functions over specs; no module is built."""

from __future__ import annotations

import random
from typing import Any

from searchspace.errors import SpecError
from searchspace.space import SearchSpace, StageSpace, assemble, stage_block, stem_and_head
from searchspace.spec import ArchSpec, StageSpec
from searchspace.tally import Tally

# A choice per searched field of a stage: (field of StageSpace listing the options, name in stage_block).
_FIELDS = (
    ("kinds", "kind"),
    ("width_factors", "width"),
    ("kernels", "kernel"),
    ("expansions", "expansion"),
    ("se_ratios", "se_ratio"),
    ("acts", "act"),
)


def _one(options: tuple[Any, ...], pick: str, rng: random.Random) -> Any:
    if pick == "random":
        return rng.choice(options)
    return max(options) if pick == "max" else min(options)


def _stage(st: StageSpace, kind: str, pick: str, rng: random.Random) -> StageSpec:
    """A stage of ``kind`` with every size choice picked ('random', 'max' or 'min') and a random activation."""
    values = {name: _one(getattr(st, field), pick, rng) for field, name in _FIELDS if name not in ("kind", "act")}
    block = stage_block(st, kind=kind, act=rng.choice(st.acts), **values)
    return StageSpec(block=block, repeats=_one(st.repeat_options, pick, rng))


def random_subnet(space: SearchSpace, rng: random.Random) -> ArchSpec:
    """Every choice uniformly at random (the space's own distribution when each option is equally likely)."""
    stages = tuple(_stage(st, rng.choice(st.kinds), "random", rng) for st in space.stages)
    return assemble(space, stages, rng.choice(space.resolutions))


def _near(options: tuple[Any, ...], top: Any, spread: float, rng: random.Random) -> Any:
    return rng.choice(options) if rng.random() < spread else top


def neighbour_subnet(space: SearchSpace, largest: ArchSpec, spread: float, rng: random.Random) -> ArchSpec:
    """A sub-network near ``largest`` (a point of ``space``): each choice of each stage (kind, width, kernel,
    expansion, SE ratio, depth) and the resolution is drawn uniformly with probability ``spread``, and otherwise
    is the largest one's kind (where the stage offers it; else the stage's first) or the largest option; the
    activation is always drawn. ``spread`` 1 draws from the whole space (the distribution of ``random_subnet``);
    0 gives ``largest``'s sizes (Once-for-All's progressive shrinking as a growing neighbourhood of the largest
    sub-network)."""
    stages = []
    for st, top in zip(space.stages, largest.stages, strict=True):
        kind = _near(st.kinds, top.block.kind if top.block.kind in st.kinds else st.kinds[0], spread, rng)
        values = {name: _near(getattr(st, field), max(getattr(st, field)), spread, rng)
                  for field, name in _FIELDS if name not in ("kind", "act")}
        block = stage_block(st, kind=kind, act=rng.choice(st.acts), **values)
        stages.append(StageSpec(block=block, repeats=_near(st.repeat_options, max(st.repeat_options), spread, rng)))
    return assemble(space, tuple(stages), _near(space.resolutions, max(space.resolutions), spread, rng))


def extreme_subnet(space: SearchSpace, largest: bool, rng: random.Random, any_kind: bool = False) -> ArchSpec:
    """The largest (or smallest) sub-network: the largest (smallest) width, kernel, expansion, SE ratio, depth and
    resolution, and per stage the block kind with the most (fewest) counted MACs there (``any_kind``: a kind at
    random, the largest or smallest of that kind); the activation, which changes no size, at random."""
    pick = "max" if largest else "min"
    resolution = max(space.resolutions) if largest else min(space.resolutions)
    t = Tally(space.in_chans, resolution, resolution)
    stem_and_head(space)[0].count(t)
    stages: list[StageSpec] = []
    for st in space.stages:
        kinds = (rng.choice(st.kinds),) if any_kind else st.kinds
        state = rng.getstate()  # the same activation draw whatever the kind
        scored = []
        for kind in kinds:
            rng.setstate(state)
            stage, tally = _stage(st, kind, pick, rng), t.fork()
            for block in stage.blocks():
                block.count(tally)
            scored.append((tally.macs, stage, tally))
        _, stage, t = (max if largest else min)(scored, key=lambda scored: scored[0])
        stages.append(stage)
    return assemble(space, tuple(stages), resolution)


def check_member(space: SearchSpace, spec: ArchSpec) -> None:
    """Raise SpecError naming the first field of ``spec`` that is not a choice of ``space``."""
    stem, head = stem_and_head(space)
    for name, want in (("stem", stem), ("head", head), ("in_chans", space.in_chans),
                       ("num_classes", space.num_classes)):
        if getattr(spec, name) != want:
            raise SpecError(name, f"must be the search space's ({want})")
    if spec.resolution not in space.resolutions:
        raise SpecError("resolution", f"must be one of {_listed(space.resolutions)}; got {spec.resolution}")
    if len(spec.stages) != len(space.stages):
        raise SpecError("stages", f"must hold the space's {len(space.stages)} stages, got {len(spec.stages)}")
    for s, (stage, st) in enumerate(zip(spec.stages, space.stages, strict=True)):
        try:
            _check_stage(stage, st)
        except SpecError as err:
            raise err.within(f"stages[{s}]") from None


def _check_stage(stage: StageSpec, st: StageSpace) -> None:
    if stage.repeats not in st.repeat_options:
        raise SpecError("repeats", f"must be one of {_listed(st.repeat_options)}; got {stage.repeats}")
    b = stage.block
    values = {"kind": b.kind, "kernel": b.kernel, "act": b.act}
    values |= {name: getattr(b, name, None) for name in ("expansion", "se_ratio")}
    for field, name in _FIELDS:
        if name != "width" and values[name] not in getattr(st, field):
            raise SpecError(f"block.{name}", f"must be one of {_listed(getattr(st, field))}; got {values[name]}")
    widths = {stage_block(st, width=w, **values) for w in st.width_factors}
    if b not in widths:
        outs = sorted({w.out_chs for w in widths})
        if b.out_chs not in outs:
            raise SpecError("block.out_chs", f"must be one of {_listed(outs)}; got {b.out_chs}")
        raise SpecError("block", "sets a field the search space does not search; leave it at its default")


def _listed(options: Any) -> str:
    return ", ".join(str(v) for v in options)
