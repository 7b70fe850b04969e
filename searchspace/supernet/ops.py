"""Elastic primitives of the supernet: convolutions, batch norm, squeeze-excite and Dynamic Shift-Max whose active
size is set at run time, over shared maximal weights.

Channels are shared by slicing: an active layer of ``c`` channels uses the first ``c`` of the maximal weights
(Once-for-All, BigNAS). A grouped 1x1 conv takes its weights from the block diagonal of a dense maximal matrix,
so every group count over the first channels shares one weight per (output, input) channel pair. A depthwise
conv's kernel is elastic as in Once-for-All: the maximal kernel's centre crop, passed through a learned
transformation matrix per step down (7 -> 5: 25x25, 5 -> 3: 9x9 for square kernels; 5x5 and 3x3 for the kx1
and 1xk kernels of MicroNet's factorised depthwise conv), each starting at the identity.

Each module is configured with the sizes its built counterpart (``searchspace.nn``) would have, runs exactly
that module's arithmetic, and returns from ``state()`` the weights that module takes, under its own names.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from searchspace.errors import SpecError
from searchspace.nn.layers import make_act
from searchspace.nn.micro import shift_index, shift_max, shuffle_index

State = dict[str, torch.Tensor]


@functools.cache
def activation(name: str) -> nn.Module:
    """A stateless activation module by name (shared; never registered as a submodule)."""
    return make_act(name)


def prefixed(prefix: str, state: State) -> State:
    return {f"{prefix}.{key}": value for key, value in state.items()}


def _kaiming(weight: torch.Tensor, fan_in: int) -> None:
    """nn.Conv2d's and nn.Linear's default initialisation for a layer with ``fan_in`` inputs per output."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    nn.init.uniform_(weight, -bound, bound)


class SlicedConv(nn.Module):
    """A 1x1 conv over the first channels of a dense ``max_out x max_in`` weight; grouped convs take the block
    diagonal (output channel ``o`` of group ``j`` reads the inputs of group ``j``)."""

    def __init__(self, max_in: int, max_out: int, bias: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_out, max_in, 1, 1))
        self.bias = nn.Parameter(torch.empty(max_out)) if bias else None
        _kaiming(self.weight, max_in)
        if self.bias is not None:
            _kaiming(self.bias, max_in)

    def weight_for(self, in_chs: int, out_chs: int, groups: int = 1) -> torch.Tensor:
        w = self.weight[:out_chs, :in_chs]
        if groups == 1:
            return w
        per_in, per_out = in_chs // groups, out_chs // groups
        cols = (torch.arange(out_chs) // per_out)[:, None] * per_in + torch.arange(per_in)[None]
        return w.flatten(1).gather(1, cols.to(w.device)).view(out_chs, per_in, 1, 1)

    def bias_for(self, out_chs: int) -> torch.Tensor | None:
        return None if self.bias is None else self.bias[:out_chs]


def _kernel_shape(kernel: int, axis: str) -> tuple[int, int]:
    return {"square": (kernel, kernel), "column": (kernel, 1), "row": (1, kernel)}[axis]


class KernelConv(nn.Module):
    """A depthwise conv over the first channels with an elastic kernel (``axis``: 'square' kxk, 'column' kx1,
    'row' 1xk): the largest kernel's centre crop, transformed by a learned matrix per step down (Once-for-All)."""

    def __init__(self, max_chs: int, kernels: tuple[int, ...], axis: str = "square") -> None:
        super().__init__()
        self.kernels = tuple(sorted(set(kernels)))
        self.axis = axis
        self.weight = nn.Parameter(torch.empty(max_chs, 1, *_kernel_shape(self.kernels[-1], axis)))
        _kaiming(self.weight, math.prod(self.weight.shape[1:]))
        self.transforms = nn.ParameterDict(
            {
                f"{big}to{small}": nn.Parameter(torch.eye(math.prod(_kernel_shape(small, axis))))
                for small, big in zip(self.kernels, self.kernels[1:], strict=False)
            }
        )

    def weight_for(self, chs: int, kernel: int) -> torch.Tensor:
        w = self.weight[:chs]
        for small, big in reversed(list(zip(self.kernels, self.kernels[1:], strict=False))):
            if big <= kernel:
                break
            off = (big - small) // 2
            if self.axis != "row":
                w = w[:, :, off : off + small]
            if self.axis != "column":
                w = w[:, :, :, off : off + small]
            w = F.linear(w.flatten(2), self.transforms[f"{big}to{small}"])
            w = w.view(chs, 1, *_kernel_shape(small, self.axis))
        return w


@dataclass(frozen=True)
class ConvCall:
    """The active sizes of an elastic conv + BN + activation."""

    in_chs: int
    out_chs: int
    groups: int = 1
    kernel: int = 1
    stride: tuple[int, int] = (1, 1)
    act: str = "none"


class ConvNorm(nn.Module):
    """An elastic conv, batch norm over its first output channels, then an activation: ``ConvNormAct``'s
    arithmetic and state names (``conv.weight``, ``bn.*``). The conv is a ``SlicedConv`` or a depthwise
    ``KernelConv``."""

    def __init__(self, conv: SlicedConv | KernelConv, max_out: int, bn_eps: float, bn_momentum: float) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(max_out, eps=bn_eps, momentum=bn_momentum)
        self.active = ConvCall(max_out, max_out)

    def configure(
        self,
        in_chs: int,
        out_chs: int,
        *,
        groups: int = 1,
        kernel: int = 1,
        stride: int | tuple[int, int] = 1,
        act: str = "none",
    ) -> None:
        if isinstance(self.conv, KernelConv) and not groups == in_chs == out_chs:
            raise ValueError(f"a depthwise elastic conv needs groups == in == out, got {groups}, {in_chs}, "
                             f"{out_chs}")
        strides = (stride, stride) if isinstance(stride, int) else stride
        self.active = ConvCall(in_chs, out_chs, groups, kernel, strides, act)

    def weight(self) -> torch.Tensor:
        a = self.active
        if isinstance(self.conv, KernelConv):
            return self.conv.weight_for(a.out_chs, a.kernel)
        return self.conv.weight_for(a.in_chs, a.out_chs, a.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, w = self.active, self.weight()
        x = F.conv2d(x, w, None, a.stride, (w.shape[2] // 2, w.shape[3] // 2), 1, a.groups)
        return activation(a.act)(batch_norm(self.bn, x))

    def state(self) -> State:
        return {"conv.weight": self.weight(), **prefixed("bn", bn_state(self.bn, self.active.out_chs))}


def batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``bn`` over the first ``x.size(1)`` channels of its statistics and affine parameters (updated in place in
    training, as ``nn.BatchNorm2d`` would, momentum ``None`` giving the cumulative average)."""
    c = x.size(1)
    factor = 0.0
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    stats = bn.running_mean is not None and not (bn.training and not bn.track_running_stats)
    return F.batch_norm(
        x,
        bn.running_mean[:c] if stats else None,
        bn.running_var[:c] if stats else None,
        bn.weight[:c],
        bn.bias[:c],
        bn.training or not stats,
        factor,
        bn.eps,
    )


def bn_state(bn: nn.BatchNorm2d, chs: int) -> State:
    return {
        "weight": bn.weight[:chs],
        "bias": bn.bias[:chs],
        "running_mean": bn.running_mean[:chs],
        "running_var": bn.running_var[:chs],
        "num_batches_tracked": bn.num_batches_tracked,
    }


class ElasticSE(nn.Module):
    """Squeeze-and-excitation over the first channels: ``SqueezeExcite``'s arithmetic and state names."""

    def __init__(self, max_chs: int, max_se: int) -> None:
        super().__init__()
        self.conv_reduce = SlicedConv(max_chs, max_se, bias=True)
        self.conv_expand = SlicedConv(max_se, max_chs, bias=True)
        self.active = (max_chs, max_se, "relu", "sigmoid")

    def configure(self, chs: int, se_chs: int, act: str, gate: str) -> None:
        self.active = (chs, se_chs, act, gate)

    def _weights(self) -> State:
        chs, se_chs = self.active[:2]
        return {
            "conv_reduce.weight": self.conv_reduce.weight_for(chs, se_chs),
            "conv_reduce.bias": self.conv_reduce.bias_for(se_chs),
            "conv_expand.weight": self.conv_expand.weight_for(se_chs, chs),
            "conv_expand.bias": self.conv_expand.bias_for(chs),
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, (_, _, act, gate) = self._weights(), self.active
        s = F.conv2d(x.mean((2, 3), keepdim=True), w["conv_reduce.weight"], w["conv_reduce.bias"])
        s = F.conv2d(activation(act)(s), w["conv_expand.weight"], w["conv_expand.bias"])
        return x * activation(gate)(s)

    def state(self) -> State:
        return self._weights()


class ElasticShiftMax(nn.Module):
    """MicroNet's activation slot: a static activation, or a Dynamic Shift-Max over the first channels with the
    first squeeze units and the first ``2J`` coefficient maps (``DynamicShiftMax``'s arithmetic and names)."""

    def __init__(self, top: dict[str, Any] | None) -> None:
        """``top``: the largest ``chs``, ``squeeze`` and ``candidates`` of its Dynamic Shift-Max; ``None``: the
        slot only ever holds a static activation."""
        super().__init__()
        self.max_chs, self.max_squeeze = (top["chs"], top["squeeze"]) if top else (0, 0)
        self.maps = 2 * top["candidates"] if top else 0
        self.fc1 = nn.Linear(self.max_chs, self.max_squeeze) if top else None
        self.fc2 = nn.Linear(self.max_squeeze, self.maps * self.max_chs) if top else None
        self.static = "none"
        self.dynamic: dict[str, Any] | None = None
        self.act_max = 2.0

    def configure(self, act: str | dict[str, Any], act_max: float) -> None:
        if not isinstance(act, str) and self.fc1 is None:
            raise SpecError("se_ratio", "this supernet's micro branch has no Dynamic Shift-Max weights here")
        self.static, self.dynamic = (act, None) if isinstance(act, str) else ("none", dict(act))
        self.act_max = act_max

    def _weights(self, d: dict[str, Any]) -> State:
        chs, squeeze, maps = int(d["chs"]), int(d["squeeze"]), 2 * int(d["candidates"])
        w2 = self.fc2.weight.view(self.maps, self.max_chs, self.max_squeeze)[:maps, :chs, :squeeze]
        return {
            "fc.0.weight": self.fc1.weight[:squeeze, :chs],
            "fc.0.bias": self.fc1.bias[:squeeze],
            "fc.2.weight": w2.reshape(maps * chs, squeeze),
            "fc.2.bias": self.fc2.bias.view(self.maps, self.max_chs)[:maps, :chs].reshape(-1),
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.dynamic
        if d is None:
            return activation(self.static)(x)
        w = self._weights(d)
        hidden = F.relu(F.linear(x.mean((2, 3)), w["fc.0.weight"], w["fc.0.bias"]))
        gates = F.hardsigmoid(F.linear(hidden, w["fc.2.weight"], w["fc.2.bias"]))
        index = _shift_index(int(d["chs"]), int(d["groups"]), x.device)
        return shift_max(x, gates, index, int(d["candidates"]), d["init_a"], d["init_b"], 2.0 * self.act_max)

    def state(self) -> State:
        return {} if self.dynamic is None else self._weights(self.dynamic)


@functools.lru_cache(maxsize=512)
def _shift_index(chs: int, groups: int, device: torch.device) -> torch.Tensor:
    return shift_index(chs, groups).to(device)


@functools.lru_cache(maxsize=512)
def _shuffle_index(chs: int, groups: tuple[int, ...], device: torch.device) -> torch.Tensor:
    return shuffle_index(chs, groups).to(device)


def permute(x: torch.Tensor, groups: tuple[int, ...]) -> torch.Tensor:
    """``ChannelPermute``: the channel shuffles over ``groups`` in turn, as one gather (none: ``x``)."""
    return x.index_select(1, _shuffle_index(x.size(1), groups, x.device)) if groups else x
