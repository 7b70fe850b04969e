"""The base of every block spec: the fields all kinds share and the contract each kind fulfils."""

from __future__ import annotations

import abc
import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Self

from searchspace.checks import check_bool, check_choice, check_float, check_int
from searchspace.errors import SpecError
from searchspace.rounding import CHANNEL_DIVISOR, make_divisible, round_channels
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext

ACTIVATIONS = ("relu", "relu6", "swish", "hswish", "none")
GATES = ("sigmoid", "hsigmoid")
MAX_CHANNELS = 8192


@dataclass(frozen=True, kw_only=True)
class BlockSpec(abc.ABC):
    """One block of a stage. ``kind`` is the registry key; the stage repeats the block ``repeats`` times."""

    kind: ClassVar[str] = ""
    kernels: ClassVar[tuple[int, ...]] = (1, 3, 5, 7, 9)
    # Integer fields of the kind, beyond the shared ones, that are not channel counts (ratios, group counts,
    # kernel sizes): width scaling leaves them as they are.
    fixed_int_fields: ClassVar[tuple[str, ...]] = ()

    out_chs: int
    stride: int = 1
    kernel: int = 3
    act: str = "relu"

    def __post_init__(self) -> None:
        check_int("out_chs", self.out_chs, 1, MAX_CHANNELS)
        check_choice("stride", self.stride, (1, 2))
        check_choice("kernel", self.kernel, self.kernels)
        check_choice("act", self.act, ACTIVATIONS)

    def _normalise_float(self, name: str, lo: float, hi: float) -> None:
        """Validate a float field and store it as a float (so 6 and 6.0 serialise alike)."""
        object.__setattr__(self, name, float(check_float(name, getattr(self, name), lo, hi)))

    @abc.abstractmethod
    def count(self, t: Tally) -> Tally:
        """Add this block's parameters and MACs to ``t`` (at the block's input shape) and move it to the output."""

    def module_class(self) -> type[nn.Module]:
        """The nn.Module class of this kind (imported lazily, so that specs stay free of torch)."""
        raise NotImplementedError(f"block kind {self.kind!r} does not describe its module as plain arguments")

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        """Keyword arguments of ``module_class()`` for ``in_chs`` input channels: plain numbers, strings, flags."""
        raise NotImplementedError(f"block kind {self.kind!r} does not describe its module as plain arguments")

    def build(self, in_chs: int, ctx: BuildContext) -> nn.Module:
        """The nn.Module for this block taking ``in_chs`` input channels."""
        return self.module_class()(**self.module_args(in_chs, ctx))

    def check_input(self, in_chs: int) -> None:
        """Raise SpecError if this block cannot take ``in_chs`` input channels (default: any)."""

    def has_skip(self, in_chs: int) -> bool:
        return getattr(self, "skip", False) and self.stride == 1 and in_chs == self.out_chs

    def scale_width(self, width: float) -> Self:
        """This block with every absolute channel count scaled by ``width`` (compound scaling).

        Default: ``out_chs`` alone (``scale_channels``). A kind with channel fields of its own, or with a
        constraint that its channels must meet, overrides this; a scaled block that still breaks a constraint
        is refused by its validation.
        """
        return self.scale_channels(width)

    def scale_channels(self, width: float, *fields: str, divisor: int = CHANNEL_DIVISOR) -> Self:
        """``out_chs`` scaled by ``width`` to a multiple of ``divisor``, the channel ``fields`` (ints or tuples
        of ints; 0 stays 0) to multiples of 8, both with ``round_channels``.

        Raises SpecError('width') when the kind has an integer field that is neither shared (out_chs, stride,
        kernel, se_round), nor in ``fields``, nor declared in ``fixed_int_fields``: it may be a channel count.
        """
        unknown = [f for f in _extra_int_fields(type(self)) if f not in fields and f not in self.fixed_int_fields]
        if unknown:
            raise SpecError(
                "width",
                f"block kind {self.kind!r} has integer fields ({', '.join(unknown)}) that may be channel counts "
                "and no width-scaling rule; declare them in fixed_int_fields or override scale_width",
            )

        def scaled(chs: int) -> int:
            return round_channels(chs, width) if chs else chs

        changes: dict[str, Any] = {"out_chs": round_channels(self.out_chs, width, divisor)}
        for name in fields:
            value = getattr(self, name)
            changes[name] = tuple(map(scaled, value)) if isinstance(value, tuple) else scaled(value)
        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class SqueezeExciteFields:
    """Squeeze-and-excitation options shared by the MBConv-like blocks.

    The squeeze width is ``se_ratio`` times the block's input channels (``se_from='in'``, EfficientNet and
    MnasNet) or its expanded channels (``'mid'``, MobileNetV3 and GhostNet), then ``max(1, int(.))`` when
    ``se_round`` is 0, else rounded to a multiple of ``se_round``.
    """

    se_ratio: float = 0.0
    se_from: str = "in"
    se_round: int = 0
    se_act: str | None = None
    se_gate: str = "sigmoid"

    def _check_se(self) -> None:
        object.__setattr__(self, "se_ratio", float(check_float("se_ratio", self.se_ratio, 0.0, 1.0)))
        check_choice("se_from", self.se_from, ("in", "mid"))
        check_int("se_round", self.se_round, 0, 64)
        if self.se_act is not None:
            check_choice("se_act", self.se_act, ACTIVATIONS)
        check_choice("se_gate", self.se_gate, GATES)

    def se_chs(self, in_chs: int, mid_chs: int) -> int:
        """Squeeze width, 0 when the block has no SE."""
        if self.se_ratio <= 0:
            return 0
        base = (in_chs if self.se_from == "in" else mid_chs) * self.se_ratio
        return max(1, int(base)) if self.se_round == 0 else make_divisible(base, self.se_round)

    def se_args(self, in_chs: int, mid_chs: int) -> dict[str, Any]:
        """The SE constructor arguments of the block's module."""
        return {"se_chs": self.se_chs(in_chs, mid_chs), "se_act": self.se_act, "se_gate": self.se_gate}

    def count_se(self, t: Tally, se_chs: int) -> None:
        """SE branch: global pool, 1x1 conv down with bias, 1x1 conv up with bias (shape unchanged)."""
        if se_chs:
            branch = t.fork().global_pool()
            branch.conv(se_chs, bias=True).conv(t.chs, bias=True)
            t.merge(branch)


@functools.cache
def _extra_int_fields(cls: type[BlockSpec]) -> tuple[str, ...]:
    """Integer-valued fields of a block kind beyond those every kind shares: possibly channel counts."""
    shared = {f.name for f in dataclasses.fields(BlockSpec)} | {f.name for f in dataclasses.fields(SqueezeExciteFields)}
    hints = typing.get_type_hints(cls)
    return tuple(
        f.name for f in dataclasses.fields(cls) if f.init and f.name not in shared and _holds_int(hints[f.name])
    )


def _holds_int(tp: Any) -> bool:
    if tp is int:
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType, tuple, list):
        return any(_holds_int(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)
    return False


def check_skip(spec: object) -> None:
    check_bool("skip", spec.skip)  # type: ignore[attr-defined]
