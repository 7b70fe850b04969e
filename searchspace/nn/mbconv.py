"""MBConv module."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.nn.layers import ConvNormAct, DropPath, make_se


class MBConv(nn.Module):
    """1x1 expand (skipped when ``mid_chs == in_chs``), kxk depthwise, optional SE, linear 1x1 project."""

    def __init__(
        self,
        in_chs: int,
        mid_chs: int,
        out_chs: int,
        kernel: int = 3,
        stride: int = 1,
        act: str = "relu",
        se_chs: int = 0,
        se_act: str | None = None,
        se_gate: str = "sigmoid",
        skip: bool = False,
        drop_path: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.has_skip = skip
        self.conv_pw = ConvNormAct(in_chs, mid_chs, act=act, **norm) if mid_chs != in_chs else nn.Identity()
        self.conv_dw = ConvNormAct(mid_chs, mid_chs, kernel, stride, groups=mid_chs, act=act, **norm)
        self.se = make_se(mid_chs, se_chs, se_act or act, se_gate)
        self.conv_pwl = ConvNormAct(mid_chs, out_chs, act="none", **norm)
        self.drop_path = DropPath(drop_path) if skip else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_pw(x)
        x = self.conv_dw(x)
        x = self.se(x)
        x = self.conv_pwl(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
