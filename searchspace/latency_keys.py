"""Latency-table keys: one per stem, block configuration or head at the input shape it receives.

Once-for-All's latency lookup tables key every block by its configuration and input size and sum the entries
over a network; here a key is the part's one-line token plus its input shape, e.g.
``mbconv:c=24,s=2,e=6.0,se=0.25,a=swish|16x32x32`` (channels x height x width). ``network_parts`` walks an
ArchSpec (the analytic ``Tally`` follows the shape, no module is built); ``space_parts`` enumerates every part a
SearchSpace can produce, which is what a device profile must time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

from searchspace.blocks import BLOCK_KINDS, BlockSpec
from searchspace.codec import to_token
from searchspace.errors import SpecError
from searchspace.rounding import make_divisible
from searchspace.space import SearchSpace, StageSpace, stem_and_head
from searchspace.spec import ArchSpec, HeadSpec, StemSpec
from searchspace.tally import Tally

Shape = tuple[int, int, int]  # channels, height, width


@dataclass(frozen=True)
class Part:
    """One timed unit: a stem, a block or a head, at its input shape (``classes`` for a head)."""

    spec: StemSpec | BlockSpec | HeadSpec
    shape: Shape
    classes: int = 0
    where: str = ""  # where in a network it sits (``stages[2].blocks[1]``), for error messages

    @property
    def role(self) -> str:
        if isinstance(self.spec, StemSpec):
            return "stem"
        return "head" if isinstance(self.spec, HeadSpec) else "block"

    @property
    def key(self) -> str:
        return part_key(self.spec, self.shape, self.classes)


def part_key(spec: StemSpec | BlockSpec | HeadSpec, shape: Shape, classes: int = 0) -> str:
    """The table key of ``spec`` taking a ``shape`` input (a head also names its classes)."""
    if isinstance(spec, StemSpec):
        token = to_token(spec, "stem")
    elif isinstance(spec, HeadSpec):
        token = to_token(spec, "head")
    else:
        token = to_token(spec, spec.kind)
    key = f"{token}|{shape[0]}x{shape[1]}x{shape[2]}"
    return f"{key}|classes={classes}" if isinstance(spec, HeadSpec) else key


def _after(spec: StemSpec | BlockSpec, shape: Shape) -> Shape:
    t = Tally(*shape)
    spec.count(t)
    return t.chs, t.h, t.w


def network_parts(spec: ArchSpec) -> list[Part]:
    """The stem, every block instance and the head of ``spec``, in order, each at its input shape."""
    shape: Shape = (spec.in_chans, spec.resolution, spec.resolution)
    parts = [Part(spec.stem, shape, where="stem")]
    shape = _after(spec.stem, shape)
    for layer in spec.layers():
        parts.append(Part(layer.spec, shape, where=f"stages[{layer.stage}].blocks[{layer.index}]"))
        shape = _after(layer.spec, shape)
    parts.append(Part(spec.head, shape, spec.num_classes, where="head"))
    return parts


def stage_blocks(stage: StageSpace) -> Iterator[BlockSpec]:
    """Every block ``searchspace.space.sample`` can pick for this stage (its first, strided, instance)."""
    for kind, width, kernel, expansion, se_ratio, act in itertools.product(
        stage.kinds, stage.width_factors, stage.kernels, stage.expansions, stage.se_ratios, stage.acts
    ):
        yield BLOCK_KINDS[kind](out_chs=make_divisible(stage.out_chs * width, 8), stride=stage.stride,
                                kernel=kernel, expansion=expansion, se_ratio=se_ratio, act=act)


def _fits(block: BlockSpec, in_chs: int) -> bool:
    try:
        block.check_input(in_chs)
    except SpecError:
        return False
    return True


def space_parts(space: SearchSpace) -> dict[str, Part]:
    """Every distinct part (by key) that an ArchSpec sampled from ``space`` can contain, in network order."""
    parts: dict[str, Part] = {}
    stem, head = stem_and_head(space)
    for resolution in space.resolutions:
        shape: Shape = (space.in_chans, resolution, resolution)
        parts.setdefault(part_key(stem, shape), Part(stem, shape, where="stem"))
        shapes = {_after(stem, shape)}
        for i, stage in enumerate(space.stages):
            repeated = max(stage.repeat_options) > 1
            following: set[Shape] = set()
            for block in stage_blocks(stage):
                rest = replace(block, stride=1) if block.stride != 1 else block
                for shape in sorted(shapes):
                    if not _fits(block, shape[0]):
                        continue
                    parts.setdefault(part_key(block, shape), Part(block, shape, where=f"stages[{i}].blocks[0]"))
                    out = _after(block, shape)
                    if repeated and _fits(rest, out[0]):
                        parts.setdefault(part_key(rest, out), Part(rest, out, where=f"stages[{i}].blocks[1]"))
                    following.add(out)
            shapes = following
        for shape in sorted(shapes):
            parts.setdefault(part_key(head, shape, space.num_classes),
                             Part(head, shape, space.num_classes, where="head"))
    return parts
