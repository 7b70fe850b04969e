"""MBConv module."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.blocks.mbconv import MBConvSpec
from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct, DropPath, make_se


class MBConv(nn.Module):
    def __init__(self, spec: MBConvSpec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        mid = spec.mid_chs(in_chs)
        self.has_skip = spec.has_skip(in_chs)
        self.conv_pw = ConvNormAct(in_chs, mid, act=spec.act, ctx=ctx) if mid != in_chs else nn.Identity()
        self.conv_dw = ConvNormAct(mid, mid, spec.kernel, spec.stride, groups=mid, act=spec.act, ctx=ctx)
        self.se = make_se(mid, spec.se_chs(in_chs, mid), spec.se_act or spec.act, spec.se_gate)
        self.conv_pwl = ConvNormAct(mid, spec.out_chs, act="none", ctx=ctx)
        self.drop_path = DropPath(ctx.drop_path) if self.has_skip else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_pw(x)
        x = self.conv_dw(x)
        x = self.se(x)
        x = self.conv_pwl(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
