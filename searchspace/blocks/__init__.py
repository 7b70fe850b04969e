"""Block specs and the registry from block kind to spec class.

Adding a block kind touches its spec module here, its nn.Module under ``searchspace/nn/`` and one line in
``BLOCK_KINDS``; the counter, builder, exporter and scaler name no kind. A sandglass block, say:

``searchspace/blocks/sandglass.py``::

    @dataclass(frozen=True, kw_only=True)
    class SandglassSpec(BlockSpec):
        kind = "sandglass"
        fixed_int_fields = ("groups",)  # integer fields that are not channel counts (width scaling skips them)

        reduction: float = 4.0
        groups: int = 1

        def __post_init__(self) -> None:  # validate each field, naming it in the SpecError
            super().__post_init__()
            self._normalise_float("reduction", 1.0, 16.0)

        def count(self, t: Tally) -> Tally:  # parameters and MACs, layer by layer, as the module runs
            return t.conv(self.out_chs, self.kernel, self.stride, groups=self.groups).norm()

        def module_class(self) -> type[nn.Module]:
            from searchspace.nn.sandglass import Sandglass  # lazily: specs stay free of torch

            return Sandglass

        def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
            return {
                "in_chs": in_chs,
                "out_chs": self.out_chs,
                "kernel": self.kernel,
                "stride": self.stride,
                "groups": self.groups,
                **ctx.norm_args(),
            }

``searchspace/nn/sandglass.py``: ``class Sandglass(nn.Module)`` taking exactly those plain arguments, built
from ``searchspace.nn.layers`` (nn/ imports nothing from the spec layer).

Width scaling (``BlockSpec.scale_width``) scales ``out_chs`` by default; a kind with other channel fields or a
channel constraint overrides it, e.g. ``return self.scale_channels(width, "side_chs", divisor=...)``. For the
search to sample the kind as well, list it in ``searchspace.space.SEARCHABLE_KINDS``.
"""

from __future__ import annotations

from searchspace.blocks.base import ACTIVATIONS, GATES, BlockSpec
from searchspace.blocks.conv import ConvSpec
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
        ConvSpec,
    )
}

__all__ = ["ACTIVATIONS", "BLOCK_KINDS", "GATES", "BlockSpec", "ConvSpec", "DepthwiseSeparableSpec", "FireSpec", "GhostBottleneckSpec", "MBConvSpec", "MicroBlockSpec", "ShuffleV1Spec", "ShuffleV2Spec"]
