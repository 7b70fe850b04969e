"""Fire module."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.blocks.fire import FireSpec
from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct


class Fire(nn.Module):
    def __init__(self, spec: FireSpec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        norm, bias = spec.norm, not spec.norm
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True) if spec.stride == 2 else nn.Identity()
        self.squeeze = ConvNormAct(in_chs, spec.squeeze_chs, act=spec.act, ctx=ctx, norm=norm, bias=bias)
        self.expand1x1 = ConvNormAct(spec.squeeze_chs, spec.expand1x1_chs, act=spec.act, ctx=ctx, norm=norm, bias=bias)
        self.expand3x3 = ConvNormAct(
            spec.squeeze_chs, spec.expand3x3_chs, spec.kernel, act=spec.act, ctx=ctx, norm=norm, bias=bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(self.pool(x))
        return torch.cat((self.expand1x1(x), self.expand3x3(x)), 1)
