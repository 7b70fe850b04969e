"""A plain convolution as a block: kxk conv + BN + act (the expansion layer a detector taps, a last conv)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace.blocks.base import BlockSpec
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext


@dataclass(frozen=True, kw_only=True)
class ConvSpec(BlockSpec):
    """kxk conv (no bias) + BN + ``act``; no shortcut.

    A MobileNet block split as ``conv`` (its 1x1 expansion) then ``mbconv`` with expansion 1 computes the same
    function with the same parameters, and exposes the expansion output as a stage output: SSDLite attaches its
    first head there (MobileNetV3 paper, section 6.3).
    """

    kind = "conv"
    kernels = (1, 3, 5, 7)

    def count(self, t: Tally) -> Tally:
        return t.conv(self.out_chs, self.kernel, self.stride).norm()

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.layers import ConvNormAct

        return ConvNormAct

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        return {
            "in_chs": in_chs,
            "out_chs": self.out_chs,
            "kernel": self.kernel,
            "stride": self.stride,
            "act": self.act,
            **ctx.norm_args(),
        }
