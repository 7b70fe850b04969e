"""Block specs and the registry from block kind to spec class.

Adding a block kind: a spec module here (fields, validation, ``count``, ``build``), its nn.Module under
``searchspace/nn/``, and one line in ``BLOCK_KINDS``.
"""

from __future__ import annotations

from searchspace.blocks.base import ACTIVATIONS, GATES, BlockSpec
from searchspace.blocks.ds import DepthwiseSeparableSpec
from searchspace.blocks.fire import FireSpec
from searchspace.blocks.ghost import GhostBottleneckSpec
from searchspace.blocks.mbconv import MBConvSpec
from searchspace.blocks.micro import MicroBlockSpec
from searchspace.blocks.shuffle import ShuffleV1Spec, ShuffleV2Spec

BLOCK_KINDS: dict[str, type[BlockSpec]] = {
    cls.kind: cls
    for cls in (
        DepthwiseSeparableSpec,
        MBConvSpec,
        GhostBottleneckSpec,
        ShuffleV1Spec,
        ShuffleV2Spec,
        FireSpec,
        MicroBlockSpec,
    )
}

__all__ = ["ACTIVATIONS", "BLOCK_KINDS", "GATES", "BlockSpec", "DepthwiseSeparableSpec", "FireSpec", "GhostBottleneckSpec", "MBConvSpec", "MicroBlockSpec", "ShuffleV1Spec", "ShuffleV2Spec"]
