"""Width scaling of a whole network: every absolute channel count times one multiplier.

Compound scaling's width rule (the scaler) and the baselines fitted to a search's cost range (workers) both
use it: the stem, each stage's block (its kind's own ``BlockSpec.scale_width`` says which fields are channel
counts), the head's ``conv_chs`` and ``hidden`` become ``make_divisible(c * width, 8)``; relative widths
(expansion, SE ratio) stay as they are; a width of exactly 1.0 leaves every channel count untouched.
"""

from __future__ import annotations

from dataclasses import replace

from searchspace.blocks import BlockSpec
from searchspace.errors import SpecError
from searchspace.rounding import round_channels
from searchspace.spec import ArchSpec, HeadSpec, StemSpec


def scale_block(block: BlockSpec, width: float) -> BlockSpec:
    """``block`` with every absolute channel count scaled by ``width``; SpecError if the kind has no rule."""
    return block if width == 1.0 else block.scale_width(width)


def scale_stem(stem: StemSpec, width: float) -> StemSpec:
    if stem.kind != "sep":
        return replace(stem, out_chs=round_channels(stem.out_chs, width))
    first, mult = stem.groups  # out_chs = first * mult: scale the total, keep the multiplier
    first = max(1, round(round_channels(stem.out_chs, width) / mult))
    return replace(stem, out_chs=first * mult, groups=(first, mult))


def scale_head(head: HeadSpec, width: float) -> HeadSpec:
    return replace(
        head,
        conv_chs=round_channels(head.conv_chs, width) if head.conv_chs else 0,
        hidden=round_channels(head.hidden, width) if head.hidden else 0,
    )


def scale_width(spec: ArchSpec, width: float) -> ArchSpec:
    """``spec`` with every channel count scaled by ``width``; a SpecError always names ``width``."""
    try:
        stages = []
        for i, stage in enumerate(spec.stages):
            try:
                stages.append(replace(stage, block=scale_block(stage.block, width)))
            except SpecError as err:
                if err.field == "width":
                    raise SpecError("width", f"stages[{i}].block: {err.message}") from None
                raise err.within(f"stages[{i}].block") from None
        return replace(spec, stem=scale_stem(spec.stem, width), stages=tuple(stages), head=scale_head(spec.head, width))
    except SpecError as err:
        if err.field == "width":
            raise
        raise SpecError("width", f"width {width:g} gives an invalid network: {err}") from None
