"""Ghost bottleneck (GhostNet): two Ghost modules around an optional stride-2 depthwise conv and SE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace.blocks.base import BlockSpec, SqueezeExciteFields
from searchspace.checks import check_choice, check_int
from searchspace.rounding import ghost_chs, make_divisible
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext


def count_ghost(t: Tally, out_chs: int, ratio: int, dw_size: int) -> Tally:
    """Ghost module: primary 1x1 conv + BN, cheap depthwise conv + BN, concat, keep the first ``out_chs``."""
    init, new = ghost_chs(out_chs, ratio)
    t.conv(init).norm()
    t.conv(new, dw_size, groups=init).norm()
    t.chs = out_chs
    return t


@dataclass(frozen=True, kw_only=True)
class GhostBottleneckSpec(SqueezeExciteFields, BlockSpec):
    """Ghost module to the hidden width (with ``act``), kxk depthwise + BN only at stride 2, optional SE,
    Ghost module to ``out_chs`` (linear); identity shortcut when the shapes match, else depthwise kxk + BN +
    1x1 + BN.

    Hidden width = ``make_divisible(in_chs * expansion, 4)``. The SE defaults are GhostNet's: squeeze from the
    hidden width rounded to a multiple of 4, hard-sigmoid gate.
    """

    kind = "ghost"
    fixed_int_fields = ("ratio", "dw_size")

    expansion: float = 1.0
    ratio: int = 2
    dw_size: int = 3
    se_from: str = "mid"
    se_round: int = 4
    se_gate: str = "hsigmoid"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._normalise_float("expansion", 1.0, 16.0)
        check_int("ratio", self.ratio, 2, 8)
        check_choice("dw_size", self.dw_size, (1, 3, 5, 7))
        self._check_se()

    def mid_chs(self, in_chs: int) -> int:
        return make_divisible(in_chs * self.expansion, 4)

    def has_skip(self, in_chs: int) -> bool:
        """True when the shortcut is the identity (otherwise it is a depthwise + pointwise projection)."""
        return self.stride == 1 and in_chs == self.out_chs

    def count(self, t: Tally) -> Tally:
        in_chs, mid = t.chs, self.mid_chs(t.chs)
        shortcut = None if self.has_skip(in_chs) else t.fork()
        count_ghost(t, mid, self.ratio, self.dw_size)
        if self.stride > 1:
            t.conv(mid, self.kernel, self.stride, groups=mid).norm()
        self.count_se(t, self.se_chs(in_chs, mid))
        count_ghost(t, self.out_chs, self.ratio, self.dw_size)
        if shortcut is not None:
            shortcut.conv(in_chs, self.kernel, self.stride, groups=in_chs).norm().conv(self.out_chs).norm()
            t.merge(shortcut)
        return t

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.ghost import GhostBottleneck

        return GhostBottleneck

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        mid = self.mid_chs(in_chs)
        return {
            "in_chs": in_chs,
            "mid_chs": mid,
            "out_chs": self.out_chs,
            "kernel": self.kernel,
            "stride": self.stride,
            "act": self.act,
            "ratio": self.ratio,
            "dw_size": self.dw_size,
            **self.se_args(in_chs, mid),
            "drop_path": ctx.drop_path,
            **ctx.norm_args(),
        }
