"""Ghost module and Ghost bottleneck."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.nn.layers import ConvNormAct, DropPath, make_se
from searchspace.rounding import ghost_chs


class GhostModule(nn.Module):
    """Primary 1x1 conv, cheap depthwise conv on its output, concatenated and cut to ``out_chs``."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        act: str = "relu",
        ratio: int = 2,
        dw_size: int = 3,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        init, new = ghost_chs(out_chs, ratio)
        self.out_chs = out_chs
        self.primary_conv = ConvNormAct(in_chs, init, act=act, **norm)
        self.cheap_operation = ConvNormAct(init, new, dw_size, groups=init, act=act, **norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.primary_conv(x)
        x2 = self.cheap_operation(x1)
        return torch.cat([x1, x2], dim=1)[:, : self.out_chs]


class GhostBottleneck(nn.Module):
    """Ghost module, depthwise conv at stride 2, optional SE, linear Ghost module; identity or conv skip."""

    def __init__(
        self,
        in_chs: int,
        mid_chs: int,
        out_chs: int,
        kernel: int = 3,
        stride: int = 1,
        act: str = "relu",
        ratio: int = 2,
        dw_size: int = 3,
        se_chs: int = 0,
        se_act: str | None = None,
        se_gate: str = "hsigmoid",
        drop_path: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.ghost1 = GhostModule(in_chs, mid_chs, act, ratio, dw_size, **norm)
        if stride > 1:
            self.conv_dw: nn.Module = ConvNormAct(
                mid_chs, mid_chs, kernel, stride, groups=mid_chs, act="none", **norm
            )
        else:
            self.conv_dw = nn.Identity()
        self.se = make_se(mid_chs, se_chs, se_act or act, se_gate)
        self.ghost2 = GhostModule(mid_chs, out_chs, "none", ratio, dw_size, **norm)
        if stride == 1 and in_chs == out_chs:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                ConvNormAct(in_chs, in_chs, kernel, stride, groups=in_chs, act="none", **norm),
                ConvNormAct(in_chs, out_chs, act="none", **norm),
            )
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        x = self.ghost1(x)
        x = self.conv_dw(x)
        x = self.se(x)
        x = self.ghost2(x)
        return self.drop_path(x) + shortcut
