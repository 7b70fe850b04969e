"""Depthwise-separable module."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.blocks.ds import DepthwiseSeparableSpec
from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct, DropPath, make_se


class DepthwiseSeparable(nn.Module):
    def __init__(self, spec: DepthwiseSeparableSpec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        self.has_skip = spec.has_skip(in_chs)
        self.conv_dw = ConvNormAct(in_chs, in_chs, spec.kernel, spec.stride, groups=in_chs, act=spec.act, ctx=ctx)
        self.se = make_se(in_chs, spec.se_chs(in_chs, in_chs), spec.se_act or spec.act, spec.se_gate)
        self.conv_pw = ConvNormAct(in_chs, spec.out_chs, act=spec.act if spec.pw_act else "none", ctx=ctx)
        self.drop_path = DropPath(ctx.drop_path) if self.has_skip else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_dw(x)
        x = self.se(x)
        x = self.conv_pw(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
