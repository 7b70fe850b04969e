"""Detection necks: lateral 1x1 convs, top-down (and bottom-up) fusion with depthwise-separable convs."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.nn.ds import DepthwiseSeparable
from searchspace.nn.layers import ConvNormAct


class FPNLite(nn.Module):
    """A 1x1 conv + BN + act to ``width`` per map, top-down nearest upsampling and addition, then a
    depthwise-separable conv per map; with ``bottom_up`` (PAN-lite) each coarser map then adds a stride-2
    depthwise-separable conv of the finer result, followed by another depthwise-separable conv. Maps come in
    and go out finest first."""

    def __init__(
        self,
        in_chs: tuple[int, ...],
        width: int,
        kernel: int = 3,
        act: str = "relu6",
        bottom_up: bool = False,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.lateral = nn.ModuleList([ConvNormAct(c, width, act=act, **norm) for c in in_chs])
        self.top_down = nn.ModuleList(
            [DepthwiseSeparable(width, width, kernel, act=act, **norm) for _ in in_chs]
        )
        fused = len(in_chs) - 1 if bottom_up else 0
        self.down = nn.ModuleList(
            [DepthwiseSeparable(width, width, kernel, 2, act=act, **norm) for _ in range(fused)]
        )
        self.bottom_up = nn.ModuleList(
            [DepthwiseSeparable(width, width, kernel, act=act, **norm) for _ in range(fused)]
        )

    def forward(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        lateral = [conv(x) for conv, x in zip(self.lateral, maps)]
        fused = [lateral[-1]]
        for x in lateral[-2::-1]:
            fused.insert(0, x + torch.nn.functional.interpolate(fused[0], size=x.shape[-2:], mode="nearest"))
        outs = [conv(x) for conv, x in zip(self.top_down, fused)]
        for i, (down, conv) in enumerate(zip(self.down, self.bottom_up)):
            outs[i + 1] = conv(outs[i + 1] + down(outs[i]))
        return outs
