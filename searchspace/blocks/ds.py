"""Depthwise-separable convolution (MobileNetV1; the first block of MnasNet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace.blocks.base import BlockSpec, SqueezeExciteFields, check_skip
from searchspace.checks import check_bool
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext


@dataclass(frozen=True, kw_only=True)
class DepthwiseSeparableSpec(SqueezeExciteFields, BlockSpec):
    """kxk depthwise + BN + act, optional SE, 1x1 pointwise + BN (+ act when ``pw_act``)."""

    kind = "ds"

    pw_act: bool = True
    skip: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_se()
        check_bool("pw_act", self.pw_act)
        check_skip(self)

    def count(self, t: Tally) -> Tally:
        in_chs = t.chs
        t.conv(in_chs, self.kernel, self.stride, groups=in_chs).norm()
        self.count_se(t, self.se_chs(in_chs, in_chs))
        return t.conv(self.out_chs).norm()

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.ds import DepthwiseSeparable

        return DepthwiseSeparable

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        return {
            "in_chs": in_chs,
            "out_chs": self.out_chs,
            "kernel": self.kernel,
            "stride": self.stride,
            "act": self.act,
            "pw_act": self.pw_act,
            **self.se_args(in_chs, in_chs),
            "skip": self.has_skip(in_chs),
            "drop_path": ctx.drop_path,
            **ctx.norm_args(),
        }
