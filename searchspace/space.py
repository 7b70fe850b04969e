"""The MnasNet/EfficientNet-style factorised hierarchical search space and define-by-run sampling.

A fixed skeleton of stages (stride, base channels, base repeats); for every stage an independent choice of block
kind, kernel, expansion, SE ratio, activation, repeat delta and width factor; globally an input resolution. All
layers of a stage share its choices (MnasNet). ``sample(trial, space)`` asks Optuna under stable hierarchical
names (``stage3/kernel``) and always returns a valid ArchSpec.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from searchspace.blocks import ACTIVATIONS, BLOCK_KINDS, BlockSpec
from searchspace.checks import check_choice, check_float, check_int
from searchspace.codec import from_dict, to_dict
from searchspace.errors import SpecError
from searchspace.rounding import make_divisible
from searchspace.spec import MAX_CHANNELS, MAX_RESOLUTION, MAX_STAGES, ArchSpec, HeadSpec, StageSpec, StemSpec

if TYPE_CHECKING:
    import optuna

SEARCHABLE_KINDS = ("mbconv", "ghost", "micro")
# EfficientNet-B0's skeleton: (stride, channels, repeats).
B0_SKELETON = ((1, 16, 1), (2, 24, 2), (2, 40, 2), (2, 80, 3), (1, 112, 3), (2, 192, 4), (1, 320, 1))


def _choices(field: str, values: Any, check: Any) -> None:
    if not isinstance(values, tuple) or not values:
        raise SpecError(field, "must be a non-empty list")
    if len(set(values)) != len(values):
        raise SpecError(field, f"must not repeat a value, got {list(values)}")
    for i, v in enumerate(values):
        check(f"{field}[{i}]", v)


@dataclass(frozen=True, kw_only=True)
class StageSpace:
    """One skeleton stage and the choices searched for it."""

    stride: int
    out_chs: int
    repeats: int
    kinds: tuple[str, ...] = SEARCHABLE_KINDS
    kernels: tuple[int, ...] = (3, 5, 7)
    expansions: tuple[float, ...] = (1.0, 3.0, 4.0, 6.0)
    se_ratios: tuple[float, ...] = (0.0, 0.25)
    acts: tuple[str, ...] = ("relu", "swish", "hswish")
    repeat_deltas: tuple[int, ...] = (-1, 0, 1)
    width_factors: tuple[float, ...] = (0.75, 1.0, 1.25)

    def __post_init__(self) -> None:
        check_choice("stride", self.stride, (1, 2))
        check_int("out_chs", self.out_chs, 1, MAX_CHANNELS)
        check_int("repeats", self.repeats, 1, 16)
        _choices("kinds", self.kinds, lambda f, v: check_choice(f, v, SEARCHABLE_KINDS))
        _choices("kernels", self.kernels, lambda f, v: check_choice(f, v, (3, 5, 7)))
        _choices("expansions", self.expansions, lambda f, v: check_float(f, v, 1.0, 8.0))
        _choices("se_ratios", self.se_ratios, lambda f, v: check_float(f, v, 0.0, 0.5))
        _choices("acts", self.acts, lambda f, v: check_choice(f, v, ACTIVATIONS))
        _choices("repeat_deltas", self.repeat_deltas, lambda f, v: check_int(f, v, -4, 4))
        _choices("width_factors", self.width_factors, lambda f, v: check_float(f, v, 0.25, 4.0))

    @property
    def repeat_options(self) -> tuple[int, ...]:
        """Distinct repeat counts the deltas give (never below 1)."""
        return tuple(sorted({max(1, self.repeats + d) for d in self.repeat_deltas}))

    def size(self) -> int:
        """Distinct configurations of this stage."""
        return (len(self.kinds) * len(self.kernels) * len(self.expansions) * len(self.se_ratios)
                * len(self.acts) * len(self.repeat_options) * len(self.width_factors))


@dataclass(frozen=True, kw_only=True)
class SearchSpace:
    """The whole space: stages, resolutions, fixed stem and head, data shape (see module docstring)."""

    stages: tuple[StageSpace, ...] = tuple(StageSpace(stride=s, out_chs=c, repeats=n) for s, c, n in B0_SKELETON)
    resolutions: tuple[int, ...] = (224,)
    stem_chs: int = 32
    head_chs: int = 1280
    stem_stride: int = 2
    dropout: float = 0.2
    in_chans: int = 3
    num_classes: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.stages, tuple) or not 1 <= len(self.stages) <= MAX_STAGES:
            raise SpecError("stages", f"must be a list of 1 to {MAX_STAGES} stages")
        for i, stage in enumerate(self.stages):
            if not isinstance(stage, StageSpace):
                raise SpecError(f"stages[{i}]", "must be a stage space")
        _choices("resolutions", self.resolutions, lambda f, v: check_int(f, v, 8, MAX_RESOLUTION))
        check_int("stem_chs", self.stem_chs, 1, MAX_CHANNELS)
        check_int("head_chs", self.head_chs, 0, MAX_CHANNELS)
        check_choice("stem_stride", self.stem_stride, (1, 2))
        object.__setattr__(self, "dropout", float(check_float("dropout", self.dropout, 0.0, 0.9)))
        check_int("in_chans", self.in_chans, 1, 64)
        check_int("num_classes", self.num_classes, 1, 100_000)

    def with_choices(self, **lists: tuple[Any, ...]) -> SearchSpace:
        """The same space with some choice lists (``kernels=(3, 5)``, ...) replaced in every stage."""
        try:
            return replace(self, stages=tuple(replace(s, **lists) for s in self.stages))
        except TypeError as err:
            raise SpecError("choices", str(err)) from None

    def size(self) -> int:
        """Number of distinct architectures in the space."""
        return math.prod(s.size() for s in self.stages) * len(self.resolutions)

    def to_dict(self) -> dict[str, Any]:
        data = to_dict(self)
        data["stages"] = [to_dict(s) for s in self.stages]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> SearchSpace:
        if not isinstance(data, dict):
            raise SpecError("search_space", "must be a JSON object")
        fields = dict(data)
        if "stages" in fields:
            stages = fields["stages"]
            if not isinstance(stages, list) or not 1 <= len(stages) <= MAX_STAGES:
                raise SpecError("stages", f"must be a list of 1 to {MAX_STAGES} stages")
            fields["stages"] = tuple(from_dict(StageSpace, s, f"stages[{i}]") for i, s in enumerate(stages))
        return from_dict(cls, fields)


def stem_and_head(space: SearchSpace) -> tuple[StemSpec, HeadSpec]:
    """The fixed stem and head every architecture of ``space`` has."""
    return (StemSpec(out_chs=space.stem_chs, stride=space.stem_stride, act="swish"),
            HeadSpec(conv_chs=space.head_chs, act="swish", dropout=space.dropout))


# A small proxy skeleton for CPU searches on small images (stride 1 stem; 32x32 input -> 4x4 features).
PROXY_SPACE = SearchSpace(
    stages=tuple(StageSpace(stride=s, out_chs=c, repeats=n) for s, c, n in ((1, 16, 1), (2, 24, 2), (2, 40, 2), (2, 80, 2))),
    resolutions=(32,),
    stem_chs=16,
    head_chs=256,
    stem_stride=1,
    dropout=0.1,
)
# A detection backbone skeleton: stem stride 2 and four stride-2 stages, so that the maps at strides 8, 16 and 32
# exist (96 px -> 12, 6, 3); detection searches run it by default.
DETECTION_SPACE = SearchSpace(
    stages=tuple(StageSpace(stride=s, out_chs=c, repeats=n)
                 for s, c, n in ((1, 16, 1), (2, 24, 1), (2, 32, 2), (2, 64, 2), (2, 96, 1))),
    resolutions=(96,),
    stem_chs=16,
    head_chs=0,
    stem_stride=2,
    dropout=0.0,
)
# The built-in skeletons by name: the proxy one searches run by default, EfficientNet-B0's, and the detection one.
SKELETONS = {"proxy": PROXY_SPACE, "efficientnet_b0": SearchSpace(), "detection": DETECTION_SPACE}


def skeleton_space(name: str) -> SearchSpace:
    """A built-in skeleton's default search space by name (``SKELETONS``)."""
    return SKELETONS[check_choice("skeleton", name, tuple(SKELETONS))]


def stage_out_chs(stage: StageSpace, width: float) -> int:
    """Output channels of a stage at a width factor."""
    return make_divisible(stage.out_chs * width, 8)


def stage_block(
    stage: StageSpace, *, kind: str, width: float, kernel: int, expansion: float, se_ratio: float, act: str
) -> BlockSpec:
    """The block a stage's choices describe (every field the space does not search at its default)."""
    return BLOCK_KINDS[kind](
        out_chs=stage_out_chs(stage, width),
        stride=stage.stride,
        kernel=kernel,
        expansion=expansion,
        se_ratio=se_ratio,
        act=act,
    )


def assemble(space: SearchSpace, stages: tuple[StageSpec, ...], resolution: int) -> ArchSpec:
    """An ArchSpec of ``space`` from its stages and resolution: the space's stem, head and data shape."""
    stem, head = stem_and_head(space)
    return ArchSpec(
        stem=stem, stages=stages, head=head, resolution=resolution, in_chans=space.in_chans,
        num_classes=space.num_classes,
    )


def sample(trial: optuna.trial.BaseTrial, space: SearchSpace) -> ArchSpec:
    """Define-by-run: one ArchSpec from the trial's suggestions (cheap, no I/O)."""
    stages = []
    for i, st in enumerate(space.stages):
        def pick(name: str, options: tuple[Any, ...], i: int = i) -> Any:
            return trial.suggest_categorical(f"stage{i}/{name}", options)

        kind = pick("kind", st.kinds)
        width = pick("width", st.width_factors)
        block = stage_block(
            st,
            kind=kind,
            width=width,
            kernel=pick("kernel", st.kernels),
            expansion=pick("expansion", st.expansions),
            se_ratio=pick("se_ratio", st.se_ratios),
            act=pick("act", st.acts),
        )
        stages.append(StageSpec(block=block, repeats=pick("repeats", st.repeat_options)))
    resolution = trial.suggest_categorical("resolution", space.resolutions)
    return assemble(space, tuple(stages), resolution)


def params_of(space: SearchSpace, spec: ArchSpec) -> dict[str, Any]:
    """The suggestions ``sample`` turns into ``spec`` (Optuna's parameters, to enqueue a known architecture); a
    SpecError naming the first stage field that is not a choice of ``space``. Where several choices give the same
    block (a width rounding to the same channels), the first in the space's order."""
    if len(spec.stages) != len(space.stages):
        raise SpecError("stages", f"must hold the space's {len(space.stages)} stages, got {len(spec.stages)}")
    params: dict[str, Any] = {}
    for i, (st, stage) in enumerate(zip(space.stages, spec.stages, strict=True)):
        if stage.repeats not in st.repeat_options:
            raise SpecError(f"stages[{i}].repeats", f"must be one of {', '.join(map(str, st.repeat_options))}")
        for kind, width, kernel, expansion, se_ratio, act in itertools.product(
                st.kinds, st.width_factors, st.kernels, st.expansions, st.se_ratios, st.acts):
            chosen = {"kind": kind, "width": width, "kernel": kernel, "expansion": expansion, "se_ratio": se_ratio,
                      "act": act}
            if stage_block(st, **chosen) == stage.block:
                params |= {f"stage{i}/{name}": value for name, value in chosen.items()}
                params[f"stage{i}/repeats"] = stage.repeats
                break
        else:
            raise SpecError(f"stages[{i}].block", "is not a block the search space's stage offers")
    if spec.resolution not in space.resolutions:
        raise SpecError("resolution", f"must be one of {', '.join(map(str, space.resolutions))}")
    return params | {"resolution": spec.resolution}
