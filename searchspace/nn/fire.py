"""Fire module."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.nn.layers import ConvNormAct


class Fire(nn.Module):
    """Optional 3x3 stride-2 max pool, 1x1 squeeze, then 1x1 and kxk expands concatenated."""

    def __init__(
        self,
        in_chs: int,
        squeeze_chs: int,
        expand1x1_chs: int,
        expand3x3_chs: int,
        kernel: int = 3,
        pool: bool = False,
        act: str = "relu",
        norm: bool = False,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        conv = {"act": act, "norm": norm, "bias": not norm, "bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True) if pool else nn.Identity()
        self.squeeze = ConvNormAct(in_chs, squeeze_chs, **conv)
        self.expand1x1 = ConvNormAct(squeeze_chs, expand1x1_chs, **conv)
        self.expand3x3 = ConvNormAct(squeeze_chs, expand3x3_chs, kernel, **conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(self.pool(x))
        return torch.cat((self.expand1x1(x), self.expand3x3(x)), 1)
