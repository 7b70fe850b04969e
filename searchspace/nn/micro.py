"""MicroNet modules: Dynamic Shift-Max, the micro-factorised depthwise conv, channel permutation, micro-block."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from searchspace.blocks.micro import Act, MicroBlockSpec, ShiftMaxLayout
from searchspace.nn.context import BuildContext
from searchspace.nn.layers import ConvNormAct, DropPath, make_act


def shift_index(chs: int, groups: int) -> torch.Tensor:
    """Source channel of each output channel after shifting by one group and by one channel within the group."""
    index = torch.arange(chs).view(groups, chs // groups)
    return index.roll(-1, 0).roll(-1, 1).reshape(chs)


def shuffle_index(chs: int, groups: tuple[int, ...]) -> torch.Tensor:
    """Source channel of each output channel after channel shuffles over ``groups`` in turn."""
    index = torch.arange(chs)
    for g in groups:
        index = index[torch.arange(chs).view(g, chs // g).t().reshape(chs)]
    return index


class DynamicShiftMax(nn.Module):
    """Dynamic Shift-Max: max over J candidates of ``a_j * x + b_j * shift(x)``, a and b per sample and channel.

    The hypernetwork is global pool -> linear -> ReLU -> linear (2J coefficients per channel) -> hard sigmoid,
    rescaled to [-act_max, act_max] around ``init_a`` / ``init_b``; ``shift`` moves every channel to the next
    group and, within its group, to the next channel (J = 2, K = 2 of the paper).
    """

    def __init__(
        self,
        chs: int,
        groups: int,
        squeeze: int,
        candidates: int = 2,
        init_a: tuple[float, float] = (1.0, 0.0),
        init_b: tuple[float, float] = (0.0, 0.0),
        act_max: float = 2.0,
    ) -> None:
        super().__init__()
        self.candidates = candidates
        self.init_a = init_a
        self.init_b = init_b
        self.scale = 2.0 * act_max
        self.fc = nn.Sequential(
            nn.Linear(chs, squeeze), nn.ReLU(inplace=True), nn.Linear(squeeze, 2 * candidates * chs), nn.Hardsigmoid()
        )
        self.register_buffer("index", shift_index(chs, groups), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        coef = ((self.fc(x.mean((2, 3))) - 0.5) * self.scale).view(b, 2 * self.candidates, c, 1, 1)
        shifted = x.index_select(1, self.index)
        out = x * (coef[:, 0] + self.init_a[0]) + shifted * (coef[:, 1] + self.init_b[0])
        if self.candidates == 2:
            out = torch.maximum(out, x * (coef[:, 2] + self.init_a[1]) + shifted * (coef[:, 3] + self.init_b[1]))
        return out


class ChannelPermute(nn.Module):
    """A fixed channel permutation (one or more channel shuffles composed into a single gather)."""

    def __init__(self, chs: int, groups: tuple[int, ...]) -> None:
        super().__init__()
        self.register_buffer("index", shuffle_index(chs, groups), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.index_select(1, self.index)


def make_permute(chs: int, groups: tuple[int, ...]) -> nn.Module:
    return ChannelPermute(chs, groups) if groups else nn.Identity()


class MicroDepthwise(nn.Sequential):
    """Micro-factorised kxk depthwise conv: kx1 depthwise (stride s,1, x c1) + BN, 1xk depthwise (stride 1,s) + BN."""

    def __init__(self, in_chs: int, dw_chs: int, out_chs: int, kernel: int, stride: int, ctx: BuildContext) -> None:
        super().__init__(OrderedDict(
            conv_kx1=ConvNormAct(in_chs, dw_chs, (kernel, 1), (stride, 1), groups=in_chs, act="none", ctx=ctx),
            conv_1xk=ConvNormAct(dw_chs, out_chs, (1, kernel), (1, stride), groups=dw_chs, act="none", ctx=ctx),
        ))


def make_micro_act(act: Act, act_max: float) -> nn.Module:
    if isinstance(act, ShiftMaxLayout):
        return DynamicShiftMax(act.chs, act.groups, act.squeeze, act.candidates, act.init_a, act.init_b, act_max)
    return make_act(act)


class MicroBlock(nn.Module):
    """Micro-block A, B/C or pointwise-only (see ``searchspace.blocks.micro``); absent parts are identities."""

    def __init__(self, spec: MicroBlockSpec, in_chs: int, ctx: BuildContext) -> None:
        super().__init__()
        lay = spec.resolve(in_chs)
        self.has_skip = spec.has_skip(in_chs)
        mid, out = lay.mid_chs, lay.out_chs
        self.conv_pw = ConvNormAct(in_chs, mid, groups=lay.g1, act="none", ctx=ctx) if lay.has_pw else nn.Identity()
        self.act_pw = make_micro_act(lay.act_pw, spec.act_max)
        self.shuffle_pw = make_permute(mid, lay.shuffle_pw)
        self.conv_dw = (
            MicroDepthwise(in_chs if lay.layout == "A" else mid, lay.dw_chs, mid, spec.kernel, spec.stride, ctx)
            if lay.has_dw else nn.Identity()
        )
        self.act_dw = make_micro_act(lay.act_dw, spec.act_max)
        self.shuffle_dw = make_permute(mid, lay.shuffle_dw)
        self.conv_pwl = ConvNormAct(mid, out, groups=lay.g3, act="none", ctx=ctx) if lay.has_dw else nn.Identity()
        self.act_pwl = make_micro_act(lay.act_pwl, spec.act_max)
        self.shuffle_pwl = make_permute(out, lay.shuffle_pwl)
        self.drop_path = DropPath(ctx.drop_path) if self.has_skip else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_pw(x)
        x = self.act_pw(x)
        x = self.shuffle_pw(x)
        x = self.conv_dw(x)
        x = self.act_dw(x)
        x = self.shuffle_dw(x)
        x = self.conv_pwl(x)
        x = self.act_pwl(x)
        x = self.shuffle_pwl(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
