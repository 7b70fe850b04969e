"""The network-level modules: stems, heads and the networks that hold the stages of blocks.

They take plain resolved arguments; ``searchspace.assembly.network_plan`` decides them from an ArchSpec.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from searchspace.nn.layers import ConvNormAct, channel_shuffle, make_act


class SepStem(nn.Module):
    """MicroNet's stem: kx1 conv (stride s,1) + BN, 1xk grouped conv (stride 1,s) + BN, shuffle, act."""

    def __init__(
        self,
        in_chs: int,
        mid_chs: int,
        out_chs: int,
        kernel: int = 3,
        stride: int = 2,
        padding: int = 1,
        act: str = "relu",
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        k, s, p = kernel, stride, padding
        norm = {"act": "none", "bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.conv1 = ConvNormAct(in_chs, mid_chs, (k, 1), (s, 1), padding=(p, 0), **norm)
        self.conv2 = ConvNormAct(mid_chs, out_chs, (1, k), (1, s), groups=mid_chs, padding=(0, p), **norm)
        self.groups = mid_chs
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(channel_shuffle(self.conv2(self.conv1(x)), self.groups))


class Stem(nn.Sequential):
    """The first conv, then an optional pool."""

    def __init__(self, conv: nn.Module, pool: nn.Module | None = None) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict(conv=conv)
        if pool is not None:
            layers["pool"] = pool
        super().__init__(layers)


class Head(nn.Module):
    """Optional 1x1 conv + BN + act, global pool (with optional acts around it), optional hidden linear (+ BN)
    + act, dropout, linear classifier (with optional BN and act on the logits)."""

    def __init__(
        self,
        in_chs: int,
        num_classes: int,
        conv_chs: int = 0,
        act: str = "relu",
        hidden: int = 0,
        hidden_norm: bool = False,
        hidden_bias: bool = True,
        hidden_act: str = "relu",
        dropout: float = 0.0,
        bias: bool = True,
        pre_pool_act: str = "none",
        pool_act: str = "none",
        classifier_norm: bool = False,
        classifier_act: str = "none",
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.conv = ConvNormAct(in_chs, conv_chs, act=act, **norm) if conv_chs else nn.Identity()
        chs = conv_chs or in_chs
        if hidden:
            bn = nn.BatchNorm1d(hidden, eps=bn_eps, momentum=bn_momentum) if hidden_norm else nn.Identity()
            fc = nn.Linear(chs, hidden, bias=hidden_bias)
            self.hidden: nn.Module = nn.Sequential(OrderedDict(fc=fc, bn=bn, act=make_act(hidden_act)))
            chs = hidden
        else:
            self.hidden = nn.Identity()
        self.pre_pool_act = make_act(pre_pool_act)
        self.pool_act = make_act(pool_act)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(chs, num_classes, bias=bias)
        if classifier_norm:
            self.classifier_norm: nn.Module = nn.BatchNorm1d(num_classes, eps=bn_eps, momentum=bn_momentum)
        else:
            self.classifier_norm = nn.Identity()
        self.classifier_act = make_act(classifier_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.hidden(self.pool_act(self.pre_pool_act(x).mean((2, 3))))
        return self.classifier_act(self.classifier_norm(self.classifier(self.dropout(x))))


class ConvHead(nn.Module):
    """SqueezeNet's classifier: optional 1x1 conv + BN + act, dropout, 1x1 conv to the classes, ReLU, pool."""

    def __init__(
        self,
        in_chs: int,
        num_classes: int,
        conv_chs: int = 0,
        act: str = "relu",
        dropout: float = 0.0,
        bias: bool = True,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.conv = ConvNormAct(in_chs, conv_chs, act=act, **norm) if conv_chs else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv2d(conv_chs or in_chs, num_classes, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.classifier(self.dropout(self.conv(x)))
        return torch.relu(x).mean((2, 3))


class Network(nn.Module):
    """Stem, stages of blocks, head: images in, logits out."""

    def __init__(self, stem: nn.Module, stages: list[list[nn.Module]], head: nn.Module) -> None:
        super().__init__()
        self.stem = stem
        self.stages = nn.Sequential(*(nn.Sequential(*blocks) for blocks in stages))
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class FeatureNetwork(nn.Module):
    """Stem and stages: images in, the outputs of the stages ``out_indices`` out (strides 8, 16 and 32)."""

    def __init__(self, stem: nn.Module, stages: list[list[nn.Module]], out_indices: tuple[int, ...]) -> None:
        super().__init__()
        self.stem = stem
        self.stages = nn.Sequential(*(nn.Sequential(*blocks) for blocks in stages))
        self.out_indices = list(out_indices)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        maps: list[torch.Tensor] = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                maps.append(x)
        return maps
