"""Elastic block branches: MBConv, Ghost bottleneck and micro-block over shared maximal weights.

A branch is sized by the largest value each constructor argument of its built module takes over every
configuration it can be asked for (``max_args``), and configured with one configuration's exact constructor
arguments (``BlockSpec.module_args``). It then runs that module's arithmetic on the first channels of its
weights, and ``state()`` returns the weights under that module's state-dict names.

Limits, checked on ``configure``: the Ghost bottleneck takes only ``ratio=2`` (the cheap operation is then a
depthwise conv over the first channels); the micro-block takes only the depthwise multiplier 1 (true of every
micro-block the search space samples: ``dw_mult`` empty), so each depthwise conv slices like any other. Drop
path is not applied in the supernet (its configurations have none).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from searchspace.errors import SpecError
from searchspace.rounding import ghost_chs
from searchspace.supernet.ops import (
    ConvNorm,
    ElasticSE,
    ElasticShiftMax,
    KernelConv,
    SlicedConv,
    State,
    permute,
    prefixed,
)


def max_args(configs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The largest value of every integer argument over ``configs`` (nested argument dicts likewise)."""
    top: dict[str, Any] = {}
    for config in configs:
        for key, value in config.items():
            if isinstance(value, bool) or not isinstance(value, int | dict):
                continue
            if isinstance(value, dict):
                top[key] = max_args([top[key], value]) if isinstance(top.get(key), dict) else max_args([value])
            else:
                top[key] = max(top.get(key, 0), value) if not isinstance(top.get(key), dict) else top[key]
    return top


def _states(**parts: nn.Module | None) -> State:
    return {k: v for name, m in parts.items() if m is not None for k, v in prefixed(name, m.state()).items()}


class ElasticMBConv(nn.Module):
    """``searchspace.nn.mbconv.MBConv`` with elastic widths, kernel, SE and activation."""

    def __init__(
        self, top: dict[str, Any], kernels: tuple[int, ...], norm: dict[str, float], expands: bool
    ) -> None:
        super().__init__()
        mid = top["mid_chs"]
        self.conv_pw = ConvNorm(SlicedConv(top["in_chs"], mid), mid, **norm) if expands else None
        self.conv_dw = ConvNorm(KernelConv(mid, kernels), mid, **norm)
        self.se = ElasticSE(mid, top["se_chs"]) if top.get("se_chs") else None
        self.conv_pwl = ConvNorm(SlicedConv(mid, top["out_chs"]), top["out_chs"], **norm)
        self.args: dict[str, Any] = {}

    def configure(self, args: dict[str, Any]) -> None:
        self.args = a = args
        in_chs, mid, act = a["in_chs"], a["mid_chs"], a["act"]
        if mid != in_chs:
            _need(self.conv_pw, "expansion").configure(in_chs, mid, act=act)
        self.conv_dw.configure(mid, mid, groups=mid, kernel=a["kernel"], stride=a["stride"], act=act)
        if a["se_chs"]:
            _need(self.se, "se_ratio").configure(mid, a["se_chs"], a["se_act"] or act, a["se_gate"])
        self.conv_pwl.configure(mid, a["out_chs"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, shortcut = self.args, x
        if a["mid_chs"] != a["in_chs"]:
            x = self.conv_pw(x)
        x = self.conv_dw(x)
        if a["se_chs"]:
            x = self.se(x)
        x = self.conv_pwl(x)
        return x + shortcut if a["skip"] else x

    def state(self) -> State:
        a = self.args
        return _states(
            conv_pw=self.conv_pw if a["mid_chs"] != a["in_chs"] else None,
            conv_dw=self.conv_dw,
            se=self.se if a["se_chs"] else None,
            conv_pwl=self.conv_pwl,
        )


class ElasticGhostModule(nn.Module):
    """``GhostModule`` with ``ratio=2``: primary 1x1 to the first ceil(out/2) maps, cheap 3x3 depthwise on them."""

    def __init__(self, max_in: int, max_out: int, dw_size: int, norm: dict[str, float]) -> None:
        super().__init__()
        init = ghost_chs(max_out, 2)[0]
        self.primary_conv = ConvNorm(SlicedConv(max_in, init), init, **norm)
        self.cheap_operation = ConvNorm(KernelConv(init, (dw_size,)), init, **norm)
        self.out_chs = max_out

    def configure(self, in_chs: int, out_chs: int, act: str, ratio: int, dw_size: int) -> None:
        if ratio != 2:
            raise SpecError("ratio", f"the supernet's Ghost branch takes ratio 2 only, got {ratio}")
        init = ghost_chs(out_chs, ratio)[0]
        self.out_chs = out_chs
        self.primary_conv.configure(in_chs, init, act=act)
        self.cheap_operation.configure(init, init, groups=init, kernel=dw_size, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.primary_conv(x)
        return torch.cat([x1, self.cheap_operation(x1)], dim=1)[:, : self.out_chs]

    def state(self) -> State:
        return _states(primary_conv=self.primary_conv, cheap_operation=self.cheap_operation)


class ElasticGhost(nn.Module):
    """``searchspace.nn.ghost.GhostBottleneck`` with elastic widths, kernel, SE and activation; the projection
    shortcut exists whenever some configuration needs it and runs when the active one does."""

    def __init__(
        self, top: dict[str, Any], kernels: tuple[int, ...], norm: dict[str, float], projects: bool
    ) -> None:
        super().__init__()
        in_chs, mid, out = top["in_chs"], top["mid_chs"], top["out_chs"]
        self.ghost1 = ElasticGhostModule(in_chs, mid, top["dw_size"], norm)
        self.conv_dw = ConvNorm(KernelConv(mid, kernels), mid, **norm) if top["stride"] > 1 else None
        self.se = ElasticSE(mid, top["se_chs"]) if top.get("se_chs") else None
        self.ghost2 = ElasticGhostModule(mid, out, top["dw_size"], norm)
        if projects:
            self.shortcut: nn.ModuleList | None = nn.ModuleList(
                [
                    ConvNorm(KernelConv(in_chs, kernels), in_chs, **norm),
                    ConvNorm(SlicedConv(in_chs, out), out, **norm),
                ]
            )
        else:
            self.shortcut = None
        self.args: dict[str, Any] = {}

    def _projects(self) -> bool:
        return self.args["stride"] > 1 or self.args["in_chs"] != self.args["out_chs"]

    def configure(self, args: dict[str, Any]) -> None:
        self.args = a = args
        in_chs, mid, out, kernel, stride = a["in_chs"], a["mid_chs"], a["out_chs"], a["kernel"], a["stride"]
        self.ghost1.configure(in_chs, mid, a["act"], a["ratio"], a["dw_size"])
        if stride > 1:
            _need(self.conv_dw, "stride").configure(mid, mid, groups=mid, kernel=kernel, stride=stride)
        if a["se_chs"]:
            _need(self.se, "se_ratio").configure(mid, a["se_chs"], a["se_act"] or a["act"], a["se_gate"])
        self.ghost2.configure(mid, out, "none", a["ratio"], a["dw_size"])
        if self._projects():
            dw, pw = _need(self.shortcut, "out_chs")
            dw.configure(in_chs, in_chs, groups=in_chs, kernel=kernel, stride=stride)
            pw.configure(in_chs, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.args
        shortcut = x
        if self._projects():
            for layer in self.shortcut:  # type: ignore[union-attr]
                shortcut = layer(shortcut)
        x = self.ghost1(x)
        if a["stride"] > 1:
            x = self.conv_dw(x)
        if a["se_chs"]:
            x = self.se(x)
        return self.ghost2(x) + shortcut

    def state(self) -> State:
        a, projects = self.args, self._projects()
        state = _states(
            ghost1=self.ghost1,
            conv_dw=self.conv_dw if a["stride"] > 1 else None,
            se=self.se if a["se_chs"] else None,
            ghost2=self.ghost2,
        )
        if projects and self.shortcut is not None:
            state |= _states(**{f"shortcut.{i}": layer for i, layer in enumerate(self.shortcut)})
        return state


class ElasticMicro(nn.Module):
    """``searchspace.nn.micro.MicroBlock`` (layouts A and B/C) with elastic widths, kernel, group counts,
    Dynamic Shift-Max on/off and activation."""

    def __init__(
        self, top: dict[str, Any], kernels: tuple[int, ...], norm: dict[str, float], has_pw: bool
    ) -> None:
        super().__init__()
        in_chs, mid, out = top["in_chs"], top["mid_chs"], top["out_chs"]
        self.conv_pw = ConvNorm(SlicedConv(in_chs, mid), mid, **norm) if has_pw else None
        self.act_pw = ElasticShiftMax(top.get("act_pw"))
        dw = max(in_chs, mid)
        self.conv_dw = nn.ModuleDict(
            {
                "conv_kx1": ConvNorm(KernelConv(dw, kernels, "column"), dw, **norm),
                "conv_1xk": ConvNorm(KernelConv(dw, kernels, "row"), dw, **norm),
            }
        )
        self.act_dw = ElasticShiftMax(top.get("act_dw"))
        self.conv_pwl = ConvNorm(SlicedConv(mid, out), out, **norm)
        self.act_pwl = ElasticShiftMax(top.get("act_pwl"))
        self.args: dict[str, Any] = {}

    def configure(self, args: dict[str, Any]) -> None:
        self.args = a = args
        if not a["pwl_groups"]:
            raise SpecError("groups", "the supernet's micro branch has no pointwise-only layout")
        in_chs, mid, kernel, stride = a["in_chs"], a["mid_chs"], a["kernel"], a["stride"]
        dw_in = mid if a["pw_groups"] else in_chs
        if a["dw_chs"] != dw_in or dw_in != mid:
            raise SpecError("dw_mult", "the supernet's micro branch takes the depthwise multiplier 1 only")
        if a["pw_groups"]:
            _need(self.conv_pw, "expansion").configure(in_chs, mid, groups=a["pw_groups"])
        self.conv_dw["conv_kx1"].configure(mid, mid, groups=mid, kernel=kernel, stride=(stride, 1))
        self.conv_dw["conv_1xk"].configure(mid, mid, groups=mid, kernel=kernel, stride=(1, stride))
        self.conv_pwl.configure(mid, a["out_chs"], groups=a["pwl_groups"])
        for slot in ("act_pw", "act_dw", "act_pwl"):
            getattr(self, slot).configure(a[slot], a["act_max"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, shortcut = self.args, x
        if a["pw_groups"]:
            x = self.conv_pw(x)
        x = permute(self.act_pw(x), a["shuffle_pw"])
        x = self.conv_dw["conv_1xk"](self.conv_dw["conv_kx1"](x))
        x = permute(self.act_dw(x), a["shuffle_dw"])
        x = permute(self.act_pwl(self.conv_pwl(x)), a["shuffle_pwl"])
        return x + shortcut if a["skip"] else x

    def state(self) -> State:
        return _states(
            conv_pw=self.conv_pw if self.args["pw_groups"] else None,
            act_pw=self.act_pw,
            **{"conv_dw.conv_kx1": self.conv_dw["conv_kx1"], "conv_dw.conv_1xk": self.conv_dw["conv_1xk"]},
            act_dw=self.act_dw,
            conv_pwl=self.conv_pwl,
            act_pwl=self.act_pwl,
        )


def _need(module: Any, field: str) -> Any:
    if module is None:
        raise SpecError(field, "takes a value this supernet was not built for")
    return module


BRANCHES: dict[str, type[nn.Module]] = {"mbconv": ElasticMBConv, "ghost": ElasticGhost, "micro": ElasticMicro}


def branch_for(
    kind: str, configs: list[dict[str, Any]], kernels: tuple[int, ...], norm: dict[str, float]
) -> nn.Module:
    """The elastic branch of ``kind`` able to run every one of ``configs`` (module arguments of its blocks)."""
    top = max_args(configs)
    if kind == "mbconv":
        return ElasticMBConv(top, kernels, norm, any(c["mid_chs"] != c["in_chs"] for c in configs))
    if kind == "ghost":
        projects = any(c["stride"] > 1 or c["in_chs"] != c["out_chs"] for c in configs)
        return ElasticGhost(top, kernels, norm, projects)
    if kind == "micro":
        return ElasticMicro(top, kernels, norm, any(c["pw_groups"] for c in configs))
    raise SpecError("kind", f"the supernet has branches for {', '.join(BRANCHES)} only, got {kind!r}")
