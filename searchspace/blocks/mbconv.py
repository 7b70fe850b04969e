"""MBConv / inverted residual (MobileNetV2, MnasNet, EfficientNet, MobileNetV3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace.blocks.base import BlockSpec, SqueezeExciteFields, check_skip
from searchspace.rounding import make_divisible
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext


@dataclass(frozen=True, kw_only=True)
class MBConvSpec(SqueezeExciteFields, BlockSpec):
    """1x1 expand (skipped when the width does not change), kxk depthwise, optional SE, linear 1x1 project.

    Expanded width = ``make_divisible(in_chs * expansion, 8)``; identity shortcut with drop-path when
    ``skip`` and the shapes match.
    """

    kind = "mbconv"

    expansion: float = 1.0
    skip: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self._normalise_float("expansion", 1.0, 16.0)
        self._check_se()
        check_skip(self)

    def mid_chs(self, in_chs: int) -> int:
        return in_chs if self.expansion == 1.0 else make_divisible(in_chs * self.expansion, 8)

    def count(self, t: Tally) -> Tally:
        in_chs, mid = t.chs, self.mid_chs(t.chs)
        if mid != in_chs:
            t.conv(mid).norm()
        t.conv(mid, self.kernel, self.stride, groups=mid).norm()
        self.count_se(t, self.se_chs(in_chs, mid))
        return t.conv(self.out_chs).norm()

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.mbconv import MBConv

        return MBConv

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        mid = self.mid_chs(in_chs)
        return {
            "in_chs": in_chs,
            "mid_chs": mid,
            "out_chs": self.out_chs,
            "kernel": self.kernel,
            "stride": self.stride,
            "act": self.act,
            **self.se_args(in_chs, mid),
            "skip": self.has_skip(in_chs),
            "drop_path": ctx.drop_path,
            **ctx.norm_args(),
        }
