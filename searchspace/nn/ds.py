"""Depthwise-separable module."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.nn.layers import ConvNormAct, DropPath, make_se


class DepthwiseSeparable(nn.Module):
    """kxk depthwise + BN + act, optional SE, 1x1 pointwise + BN (+ act when ``pw_act``)."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel: int = 3,
        stride: int = 1,
        act: str = "relu",
        pw_act: bool = True,
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
        self.conv_dw = ConvNormAct(in_chs, in_chs, kernel, stride, groups=in_chs, act=act, **norm)
        self.se = make_se(in_chs, se_chs, se_act or act, se_gate)
        self.conv_pw = ConvNormAct(in_chs, out_chs, act=act if pw_act else "none", **norm)
        self.drop_path = DropPath(drop_path) if skip else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_dw(x)
        x = self.se(x)
        x = self.conv_pw(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
