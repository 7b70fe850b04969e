"""ShuffleNetV1 and ShuffleNetV2 unit modules."""

from __future__ import annotations

import torch
from torch import nn

from searchspace.nn.layers import ConvNormAct, DropPath, channel_shuffle, make_act


class ShuffleV1(nn.Module):
    """Grouped 1x1, kxk depthwise, channel shuffle, grouped 1x1 to ``out_chs`` (the branch's channels);
    stride 1 adds the input, stride 2 concatenates a 3x3 average pool of it."""

    def __init__(
        self,
        in_chs: int,
        mid_chs: int,
        out_chs: int,
        kernel: int = 3,
        stride: int = 1,
        groups: int = 3,
        group_first: bool = True,
        act: str = "relu",
        drop_path: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        self.has_skip = stride == 1
        # The reference shuffles after the depthwise conv, as channel_shuffle(x, mid // groups): the inverse
        # of channel_shuffle(x, groups), an equally good interleave that keeps its checkpoints loadable.
        self.shuffle_groups = mid_chs // groups
        self.conv_pw = ConvNormAct(in_chs, mid_chs, groups=groups if group_first else 1, act=act, **norm)
        self.conv_dw = ConvNormAct(mid_chs, mid_chs, kernel, stride, groups=mid_chs, act="none", **norm)
        self.conv_pwl = ConvNormAct(mid_chs, out_chs, groups=groups, act="none", **norm)
        self.shortcut = nn.Identity() if self.has_skip else nn.AvgPool2d(3, 2, 1)
        self.drop_path = DropPath(drop_path) if self.has_skip else nn.Identity()
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        x = self.conv_pw(x)
        x = self.conv_dw(x)
        x = channel_shuffle(x, self.shuffle_groups)
        x = self.conv_pwl(x)
        if self.has_skip:
            return self.act(self.drop_path(x) + shortcut)
        return torch.cat((shortcut, self.act(x)), 1)


class ShuffleV2(nn.Module):
    """Split (stride 1) or copy (stride 2) the input, two branches, concatenate, shuffle with 2 groups."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel: int = 3,
        stride: int = 1,
        act: str = "relu",
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        norm = {"bn_eps": bn_eps, "bn_momentum": bn_momentum}
        half, k, s = out_chs // 2, kernel, stride
        self.split = s == 1
        if self.split:
            self.branch1: nn.Module = nn.Identity()
        else:
            self.branch1 = nn.Sequential(
                ConvNormAct(in_chs, in_chs, k, s, groups=in_chs, act="none", **norm),
                ConvNormAct(in_chs, half, act=act, **norm),
            )
        self.branch2 = nn.Sequential(
            ConvNormAct(half if self.split else in_chs, half, act=act, **norm),
            ConvNormAct(half, half, k, s, groups=half, act="none", **norm),
            ConvNormAct(half, half, act=act, **norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split:
            x1, x2 = x.chunk(2, dim=1)
        else:
            x1, x2 = x, x
        x = torch.cat((self.branch1(x1), self.branch2(x2)), 1)
        return channel_shuffle(x, 2)
