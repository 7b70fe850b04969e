"""Small layers shared by the blocks: activations, conv+norm+act, squeeze-excite, drop path.

Every constructor here and in the block modules takes plain numbers and strings, so that the exporter can
write the same constructions out as standalone source (see ``searchspace.export``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "swish": nn.SiLU,
    "hswish": nn.Hardswish,
    "none": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "hsigmoid": nn.Hardsigmoid,
}


def make_act(name: str) -> nn.Module:
    return _ACTIVATIONS[name]()


class ConvNormAct(nn.Sequential):
    """Conv2d, then BatchNorm (optional), then an activation ('none' for a linear output)."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel: int | tuple[int, int] = 1,
        stride: int | tuple[int, int] = 1,
        groups: int = 1,
        act: str = "relu",
        norm: bool = True,
        bias: bool = False,
        padding: int | tuple[int, int] | None = None,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        pad = (kh // 2, kw // 2) if padding is None else padding
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv=nn.Conv2d(in_chs, out_chs, (kh, kw), stride, pad, groups=groups, bias=bias)
        )
        if norm:
            layers["bn"] = nn.BatchNorm2d(out_chs, eps=bn_eps, momentum=bn_momentum)
        layers["act"] = make_act(act)
        super().__init__(layers)


class SqueezeExcite(nn.Module):
    """Global pool, 1x1 conv down, activation, 1x1 conv up, gate, rescale the input."""

    def __init__(self, chs: int, se_chs: int, act: str, gate: str) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(chs, se_chs, 1, bias=True)
        self.act = make_act(act)
        self.conv_expand = nn.Conv2d(se_chs, chs, 1, bias=True)
        self.gate = make_act(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * self.gate(s)


def make_se(chs: int, se_chs: int, act: str, gate: str) -> nn.Module:
    return SqueezeExcite(chs, se_chs, act, gate) if se_chs else nn.Identity()


class DropPath(nn.Module):
    """Stochastic depth: zero the residual branch of a whole sample with probability ``p`` in training."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty([x.shape[0]] + [1] * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave channels across ``groups`` (reshape, transpose, flatten)."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)
