"""ShuffleNetV1 and ShuffleNetV2 unit modules."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.blocks.shuffle import ShuffleV1Spec, ShuffleV2Spec
from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct, DropPath, channel_shuffle, make_act


class ShuffleV1(nn.Module):
    def __init__(self, spec: ShuffleV1Spec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        mid = spec.mid_chs
        self.has_skip = spec.stride == 1
        # The reference shuffles after the depthwise conv, as channel_shuffle(x, mid // groups): the inverse of
        # channel_shuffle(x, groups), an equally good interleave that keeps its checkpoints loadable.
        self.shuffle_groups = mid // spec.groups
        self.conv_pw = ConvNormAct(in_chs, mid, groups=spec.groups if spec.group_first else 1, act=spec.act, ctx=ctx)
        self.conv_dw = ConvNormAct(mid, mid, spec.kernel, spec.stride, groups=mid, act="none", ctx=ctx)
        self.conv_pwl = ConvNormAct(mid, spec.branch_chs(in_chs), groups=spec.groups, act="none", ctx=ctx)
        self.shortcut = nn.Identity() if self.has_skip else nn.AvgPool2d(3, 2, 1)
        self.drop_path = DropPath(ctx.drop_path) if self.has_skip else nn.Identity()
        self.act = make_act(spec.act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        x = self.conv_pw(x)
        x = self.conv_dw(x)
        x = channel_shuffle(x, self.shuffle_groups)
        x = self.conv_pwl(x)
        if self.has_skip:
            return self.act(self.drop_path(x) + shortcut)
        return torch.cat((shortcut, self.act(x)), 1)


class ShuffleV2(nn.Module):
    def __init__(self, spec: ShuffleV2Spec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        half, k, s = spec.out_chs // 2, spec.kernel, spec.stride
        self.split = s == 1
        if self.split:
            self.branch1: nn.Module = nn.Identity()
        else:
            self.branch1 = nn.Sequential(
                ConvNormAct(in_chs, in_chs, k, s, groups=in_chs, act="none", ctx=ctx),
                ConvNormAct(in_chs, half, act=spec.act, ctx=ctx),
            )
        self.branch2 = nn.Sequential(
            ConvNormAct(half if self.split else in_chs, half, act=spec.act, ctx=ctx),
            ConvNormAct(half, half, k, s, groups=half, act="none", ctx=ctx),
            ConvNormAct(half, half, act=spec.act, ctx=ctx),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1) if self.split else (x, x)
        x = torch.cat((self.branch1(x1), self.branch2(x2)), 1)
        return channel_shuffle(x, 2)
