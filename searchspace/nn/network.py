"""The network module assembled from an ArchSpec: stem, stages of blocks, head."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct, channel_shuffle, make_act, make_norm
from searchspace.spec import ArchSpec, HeadSpec, StemSpec


class SepStem(nn.Module):
    """MicroNet's stem: kx1 conv (stride s,1) + BN, 1xk grouped conv (stride 1,s) + BN, shuffle, act."""

    def __init__(self, spec: StemSpec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        first, mult = spec.groups
        k, s, p = spec.kernel, spec.stride, spec.pad
        self.conv1 = ConvNormAct(in_chs, first, (k, 1), (s, 1), act="none", ctx=ctx, padding=(p, 0))
        self.conv2 = ConvNormAct(first, first * mult, (1, k), (1, s), groups=first, act="none", ctx=ctx, padding=(0, p))
        self.groups = first
        self.act = make_act(spec.act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(channel_shuffle(self.conv2(self.conv1(x)), self.groups))


def make_stem(spec: StemSpec, in_chs: int, ctx: BuildContext) -> nn.Module:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if spec.kind == "sep":
        layers["conv"] = SepStem(spec, in_chs, ctx)
    else:
        layers["conv"] = ConvNormAct(
            in_chs, spec.out_chs, spec.kernel, spec.stride, act=spec.act, ctx=ctx, norm=spec.norm,
            bias=spec.bias, padding=spec.pad,
        )
    if spec.pool != "none":
        ceil = spec.pool == "max_ceil"
        layers["pool"] = nn.MaxPool2d(3, 2, padding=0 if ceil else 1, ceil_mode=ceil)
    return nn.Sequential(layers)


class Head(nn.Module):
    """Optional 1x1 conv, global pool, optional hidden linear, dropout, classifier (see HeadSpec)."""

    def __init__(self, spec: HeadSpec, in_chs: int, num_classes: int, ctx: BuildContext) -> None:
        super().__init__()
        self.conv_classifier = spec.classifier == "conv"
        self.conv = ConvNormAct(in_chs, spec.conv_chs, act=spec.act, ctx=ctx) if spec.conv_chs else nn.Identity()
        chs = spec.conv_chs or in_chs
        if spec.hidden:
            norm = nn.BatchNorm1d(spec.hidden, eps=ctx.bn_eps, momentum=ctx.bn_momentum)
            self.hidden: nn.Module = nn.Sequential(OrderedDict(
                fc=nn.Linear(chs, spec.hidden, bias=spec.hidden_bias),
                bn=norm if spec.hidden_norm else nn.Identity(),
                act=make_act(spec.hidden_act),
            ))
            chs = spec.hidden
        else:
            self.hidden = nn.Identity()
        self.pre_pool_act = make_act(spec.pre_pool_act)
        self.pool_act = make_act(spec.pool_act)
        self.dropout = nn.Dropout(spec.dropout)
        if self.conv_classifier:
            self.classifier: nn.Module = nn.Conv2d(chs, num_classes, 1, bias=spec.classifier_bias)
        else:
            self.classifier = nn.Linear(chs, num_classes, bias=spec.classifier_bias)
        self.classifier_norm = (
            nn.BatchNorm1d(num_classes, eps=ctx.bn_eps, momentum=ctx.bn_momentum) if spec.classifier_norm
            else nn.Identity()
        )
        self.classifier_act = make_act(spec.classifier_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.conv_classifier:
            x = torch.relu(self.classifier(self.dropout(x)))
            return x.mean((2, 3))
        x = self.hidden(self.pool_act(self.pre_pool_act(x).mean((2, 3))))
        return self.classifier_act(self.classifier_norm(self.classifier(self.dropout(x))))


class Network(nn.Module):
    """``forward`` returns logits, or with ``features=True`` the feature maps at strides 8, 16 and 32."""

    def __init__(self, spec: ArchSpec, features: bool = False) -> None:
        super().__init__()
        ctx = BuildContext(spec.bn_eps, spec.bn_momentum)
        self.stem = make_stem(spec.stem, spec.in_chans, ctx)
        self.feature_stages = spec.feature_stages() if features else []
        last = self.feature_stages[-1] if features else len(spec.stages) - 1
        stages: list[list[nn.Module]] = [[] for _ in spec.stages[: last + 1]]
        total = spec.num_blocks
        for n, layer in enumerate(spec.layers()):
            if layer.stage <= last:
                block_ctx = BuildContext(spec.bn_eps, spec.bn_momentum, spec.drop_path_rate * n / total)
                stages[layer.stage].append(layer.spec.build(layer.in_chs, block_ctx))
        self.stages = nn.Sequential(*(nn.Sequential(*blocks) for blocks in stages))
        self.head = None if features else Head(spec.head, spec.stages[-1].block.out_chs, spec.num_classes, ctx)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(x)
        if self.head is not None:
            return self.head(self.stages(x))
        maps = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.feature_stages:
                maps.append(x)
        return maps
