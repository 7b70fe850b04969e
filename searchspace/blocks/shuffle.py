"""ShuffleNetV1 and ShuffleNetV2 units (grouped pointwise convs and channel shuffle)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from searchspace.blocks.base import BlockSpec
from searchspace.checks import check_bool, check_int
from searchspace.errors import SpecError
from searchspace.rounding import CHANNEL_DIVISOR
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext

MAX_GROUPS = 64


def _divisors(n: int) -> str:
    return ", ".join(str(d) for d in range(1, min(n, MAX_GROUPS) + 1) if n % d == 0)


@dataclass(frozen=True, kw_only=True)
class ShuffleV1Spec(BlockSpec):
    """ShuffleNetV1 unit (megvii ShuffleNet-Series layout).

    Grouped 1x1 to ``mid = out_chs // 4`` + BN + act, kxk depthwise (the stride) + BN, channel shuffle, grouped
    1x1 + BN. Stride 1: ``act(x + branch)``. Stride 2: ``concat(avgpool3x3s2(x), act(branch))``, the branch
    making the ``out_chs - in_chs`` new channels. ``group_first=False`` makes the first 1x1 dense, as in the
    network's very first unit.
    """

    kind = "shuffle_v1"
    kernels = (3, 5, 7)
    fixed_int_fields = ("groups",)

    groups: int = 3
    group_first: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("groups", self.groups, 1, MAX_GROUPS)
        check_bool("group_first", self.group_first)
        if self.mid_chs < self.groups or self.mid_chs % self.groups:
            raise SpecError(
                "out_chs", f"out_chs // 4 (the bottleneck width) must be a positive multiple of groups={self.groups}, "
                f"got out_chs={self.out_chs}",
            )

    @property
    def mid_chs(self) -> int:
        return self.out_chs // 4

    def branch_chs(self, in_chs: int) -> int:
        """Channels the residual branch produces: all of them at stride 1, the new ones at stride 2."""
        return self.out_chs - in_chs if self.stride == 2 else self.out_chs

    def check_input(self, in_chs: int) -> None:
        if self.stride == 1 and in_chs != self.out_chs:
            raise SpecError("out_chs", f"a stride-1 unit adds its input, so must equal the input channels ({in_chs})")
        if self.stride == 2 and self.out_chs <= in_chs:
            raise SpecError("out_chs", f"a stride-2 unit concatenates its input, so must exceed {in_chs}")
        if self.branch_chs(in_chs) % self.groups:
            raise SpecError(
                "groups", f"must divide the branch output ({self.branch_chs(in_chs)} channels); "
                f"allowed: {_divisors(self.branch_chs(in_chs))}",
            )
        if self.group_first and in_chs % self.groups:
            raise SpecError("groups", f"must divide the input channels ({in_chs}); allowed: {_divisors(in_chs)}")

    def scale_width(self, width: float) -> Self:
        """The bottleneck (out_chs // 4) must stay a multiple of the groups: out_chs rounds to lcm(8, 4 * groups)."""
        return self.scale_channels(width, divisor=math.lcm(CHANNEL_DIVISOR, 4 * self.groups))

    def count(self, t: Tally) -> Tally:
        branch = t.fork()
        branch.conv(self.mid_chs, groups=self.groups if self.group_first else 1).norm()
        branch.conv(self.mid_chs, self.kernel, self.stride, groups=self.mid_chs).norm()
        branch.conv(self.branch_chs(t.chs), groups=self.groups).norm()
        t.merge(branch)
        if self.stride == 2:
            t.pool(3, 2, 1)
        t.chs = self.out_chs
        return t

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.shuffle import ShuffleV1

        return ShuffleV1

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        return {
            "in_chs": in_chs,
            "mid_chs": self.mid_chs,
            "out_chs": self.branch_chs(in_chs),
            "kernel": self.kernel,
            "stride": self.stride,
            "groups": self.groups,
            "group_first": self.group_first,
            "act": self.act,
            "drop_path": ctx.drop_path,
            **ctx.norm_args(),
        }


@dataclass(frozen=True, kw_only=True)
class ShuffleV2Spec(BlockSpec):
    """ShuffleNetV2 unit (torchvision layout), then a channel shuffle with 2 groups.

    Stride 1: split the channels in halves, keep one, send the other through 1x1 + BN + act, kxk depthwise +
    BN, 1x1 + BN + act, concatenate. Stride 2: no split; one branch kxk depthwise (stride 2) + BN, 1x1 + BN +
    act, the other as above with stride 2; each branch makes ``out_chs // 2`` channels.
    """

    kind = "shuffle_v2"
    kernels = (3, 5, 7)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.out_chs % 2:
            raise SpecError("out_chs", f"must be even (two branches of out_chs // 2), got {self.out_chs}")

    def check_input(self, in_chs: int) -> None:
        if self.stride == 1 and in_chs != self.out_chs:
            raise SpecError("out_chs", f"a stride-1 unit splits and re-concatenates, so must equal the input ({in_chs})")

    def count(self, t: Tally) -> Tally:
        half, k, s = self.out_chs // 2, self.kernel, self.stride
        branch = t.fork()
        if s == 2:
            shortcut = t.fork()
            shortcut.conv(t.chs, k, s, groups=t.chs).norm().conv(half).norm()
            t.merge(shortcut)
        else:
            branch.chs = half
        branch.conv(half).norm().conv(half, k, s, groups=half).norm().conv(half).norm()
        t.merge(branch)
        t.pool(k, s, k // 2)
        t.chs = self.out_chs
        return t

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.shuffle import ShuffleV2

        return ShuffleV2

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        return {
            "in_chs": in_chs,
            "out_chs": self.out_chs,
            "kernel": self.kernel,
            "stride": self.stride,
            "act": self.act,
            **ctx.norm_args(),
        }
