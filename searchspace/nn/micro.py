"""MicroNet modules: Dynamic Shift-Max, micro-factorised depthwise conv, channel permutation, micro-block."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from searchspace.nn.layers import ConvNormAct, DropPath, make_act


def shift_index(chs: int, groups: int) -> torch.Tensor:
    """Source channel of each output channel after a shift by one group and one channel within the group."""
    index = torch.arange(chs).view(groups, chs // groups)
    return index.roll(-1, 0).roll(-1, 1).reshape(chs)


def shuffle_index(chs: int, groups: tuple[int, ...]) -> torch.Tensor:
    """Source channel of each output channel after channel shuffles over ``groups`` in turn."""
    index = torch.arange(chs)
    for g in groups:
        index = index[torch.arange(chs).view(g, chs // g).t().reshape(chs)]
    return index


class DynamicShiftMax(nn.Module):
    """Dynamic Shift-Max: max over J candidates of ``a_j * x + b_j * shift(x)``, a, b per sample and channel.

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
            nn.Linear(chs, squeeze),
            nn.ReLU(inplace=True),
            nn.Linear(squeeze, 2 * candidates * chs),
            nn.Hardsigmoid(),
        )
        self.register_buffer("index", shift_index(chs, groups), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coefficients = self.fc(x.mean((2, 3)))
        return shift_max(x, coefficients, self.index, self.candidates, self.init_a, self.init_b, self.scale)


def shift_max(
    x: torch.Tensor,
    gates: torch.Tensor,
    index: torch.Tensor,
    candidates: int,
    init_a: tuple[float, float],
    init_b: tuple[float, float],
    scale: float,
) -> torch.Tensor:
    """Dynamic Shift-Max of ``x`` given the hypernetwork's hard-sigmoid outputs ``gates`` (batch x 2J*C)."""
    b, c = x.shape[:2]
    coef = ((gates - 0.5) * scale).view(b, 2 * candidates, c, 1, 1)
    shifted = x.index_select(1, index)
    out = x * (coef[:, 0] + init_a[0]) + shifted * (coef[:, 1] + init_b[0])
    if candidates == 2:
        out = torch.maximum(out, x * (coef[:, 2] + init_a[1]) + shifted * (coef[:, 3] + init_b[1]))
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
    """Micro-factorised kxk depthwise conv: kx1 depthwise (stride s,1) + BN, 1xk depthwise (1,s) + BN."""

    def __init__(
        self,
        in_chs: int,
        dw_chs: int,
        out_chs: int,
        kernel: int,
        stride: int,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        norm = {"act": "none", "bn_eps": bn_eps, "bn_momentum": bn_momentum}
        conv_kx1 = ConvNormAct(in_chs, dw_chs, (kernel, 1), (stride, 1), groups=in_chs, **norm)
        conv_1xk = ConvNormAct(dw_chs, out_chs, (1, kernel), (1, stride), groups=dw_chs, **norm)
        super().__init__(OrderedDict(conv_kx1=conv_kx1, conv_1xk=conv_1xk))


def make_micro_act(act: str | dict[str, Any], act_max: float) -> nn.Module:
    """A static activation by name, or a Dynamic Shift-Max from its constructor arguments."""
    if isinstance(act, str):
        return make_act(act)
    return DynamicShiftMax(**act, act_max=act_max)


class MicroBlock(nn.Module):
    """Micro-block A (``pw_groups=0``), B/C, or pointwise only (``pwl_groups=0``); absent parts: identities.

    Each ``act_*`` is a static activation's name or a Dynamic Shift-Max's arguments; each ``shuffle_*`` lists
    the channel shuffles (group counts) applied after it.
    """

    def __init__(
        self,
        in_chs: int,
        mid_chs: int,
        out_chs: int,
        kernel: int = 3,
        stride: int = 1,
        dw_chs: int = 0,
        pw_groups: int = 0,
        pwl_groups: int = 0,
        act_pw: str | dict[str, Any] = "none",
        act_dw: str | dict[str, Any] = "none",
        act_pwl: str | dict[str, Any] = "none",
        shuffle_pw: tuple[int, ...] = (),
        shuffle_dw: tuple[int, ...] = (),
        shuffle_pwl: tuple[int, ...] = (),
        act_max: float = 2.0,
        skip: bool = False,
        drop_path: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.has_skip = skip
        if pw_groups:
            self.conv_pw: nn.Module = ConvNormAct(in_chs, mid_chs, groups=pw_groups, act="none", **norm)
        else:
            self.conv_pw = nn.Identity()
        self.act_pw = make_micro_act(act_pw, act_max)
        self.shuffle_pw = make_permute(mid_chs, shuffle_pw)
        dw_in = mid_chs if pw_groups else in_chs
        self.conv_dw = (
            MicroDepthwise(dw_in, dw_chs, mid_chs, kernel, stride, **norm) if pwl_groups else nn.Identity()
        )
        self.act_dw = make_micro_act(act_dw, act_max)
        self.shuffle_dw = make_permute(mid_chs, shuffle_dw)
        if pwl_groups:
            self.conv_pwl: nn.Module = ConvNormAct(mid_chs, out_chs, groups=pwl_groups, act="none", **norm)
        else:
            self.conv_pwl = nn.Identity()
        self.act_pwl = make_micro_act(act_pwl, act_max)
        self.shuffle_pwl = make_permute(out_chs, shuffle_pwl)
        self.drop_path = DropPath(drop_path) if skip else nn.Identity()

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
