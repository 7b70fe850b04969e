"""Ghost module and Ghost bottleneck."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.blocks.ghost import GhostBottleneckSpec, ghost_chs
from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct, DropPath, make_se


class GhostModule(nn.Module):
    """Primary 1x1 conv, cheap depthwise conv on its output, concatenated and cut to ``out_chs``."""

    def __init__(self, in_chs: int, out_chs: int, act: str, ratio: int, dw_size: int, ctx: BuildContext) -> None:
        super().__init__()
        init, new = ghost_chs(out_chs, ratio)
        self.out_chs = out_chs
        self.primary_conv = ConvNormAct(in_chs, init, act=act, ctx=ctx)
        self.cheap_operation = ConvNormAct(init, new, dw_size, groups=init, act=act, ctx=ctx)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.primary_conv(x)
        x2 = self.cheap_operation(x1)
        return torch.cat([x1, x2], dim=1)[:, : self.out_chs]


class GhostBottleneck(nn.Module):
    def __init__(self, spec: GhostBottleneckSpec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        mid = spec.mid_chs(in_chs)
        k, s = spec.kernel, spec.stride
        self.ghost1 = GhostModule(in_chs, mid, spec.act, spec.ratio, spec.dw_size, ctx)
        if s > 1:
            self.conv_dw: nn.Module = ConvNormAct(mid, mid, k, s, groups=mid, act="none", ctx=ctx)
        else:
            self.conv_dw = nn.Identity()
        self.se = make_se(mid, spec.se_chs(in_chs, mid), spec.se_act or spec.act, spec.se_gate)
        self.ghost2 = GhostModule(mid, spec.out_chs, "none", spec.ratio, spec.dw_size, ctx)
        if spec.has_skip(in_chs):
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                ConvNormAct(in_chs, in_chs, k, s, groups=in_chs, act="none", ctx=ctx),
                ConvNormAct(in_chs, spec.out_chs, act="none", ctx=ctx),
            )
        self.drop_path = DropPath(ctx.drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        x = self.ghost1(x)
        x = self.conv_dw(x)
        x = self.se(x)
        x = self.ghost2(x)
        return self.drop_path(x) + shortcut
