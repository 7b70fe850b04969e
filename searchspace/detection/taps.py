"""Rewriting a backbone so that a detector can read a map from inside a block."""

from __future__ import annotations

from dataclasses import replace

from searchspace.blocks import ConvSpec, MBConvSpec
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec, StageSpec


def split_expansion(spec: ArchSpec, stride: int = 32) -> ArchSpec:
    """``spec`` with the first block at ``stride`` (an MBConv) written as its 1x1 expansion (a ``conv`` stage)
    followed by the same MBConv without expansion: the same layers and parameters, with the expansion output
    the last map at half that stride. SSDLite attaches its first head there (MobileNetV2 paper, section 6.2;
    MobileNetV3 paper, section 6.3: "C4 expansion layer")."""
    reductions = spec.stage_reductions()
    index = next((i for i, r in enumerate(reductions) if r == stride), None)
    if index is None:
        raise SpecError("stages", f"no stage has output stride {stride} (stage strides: {reductions})")
    stage = spec.stages[index]
    block = stage.block
    in_chs = next(layer.in_chs for layer in spec.layers() if layer.stage == index)
    if not isinstance(block, MBConvSpec) or block.stride != 2:
        raise SpecError(f"stages[{index}].block", "only a stride-2 mbconv block can be split at its expansion")
    if block.se_ratio and block.se_from == "in":
        raise SpecError(f"stages[{index}].block.se_from", "a split block must size its SE from 'mid'")
    mid = block.mid_chs(in_chs)
    if mid == in_chs:
        raise SpecError(f"stages[{index}].block.expansion", "the block has no expansion to split off")
    new = [StageSpec(block=ConvSpec(out_chs=mid, kernel=1, act=block.act)), StageSpec(block=replace(block, expansion=1.0))]
    if stage.repeats > 1:
        new.append(StageSpec(block=stage.rest, repeats=stage.repeats - 1))
    return replace(spec, stages=(*spec.stages[:index], *new, *spec.stages[index + 1 :]))
