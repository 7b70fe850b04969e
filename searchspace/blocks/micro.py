"""Micro-block (MicroNet): micro-factorised pointwise and depthwise convs with Dynamic Shift-Max.

A row of the official table (liyunsheng13/micronet ``backbone/microconfig.py``) maps onto the fields as
``expansion = c1 * c2``, ``dw_mult = (c1, c2)``, ``groups = (g1, g2, g3, g4)``, ``dsm = (y1, y2, y3)``,
``reduction = 8 * r`` (the official REDUCTION times the row's r), ``act = 'relu6'``. The official ``c3`` is
not a field: with the released 'group' pointwise it is never used (M3's sixth row has c3=48 and 64 outputs).

Three layouts, chosen by ``groups`` (mid = in_chs * c1 * c2):

- ``g1 == 0``, micro-block A: kx1 depthwise (x c1, stride s) + BN, 1xk depthwise (x c2) + BN, act,
  shuffle(g2), grouped 1x1 to out_chs (g3 groups) + BN, Dynamic Shift-Max if y3, shuffle(g4).
- ``g3 == 0``, pointwise only (the last row): grouped 1x1 to mid (g1 groups) + BN, Dynamic Shift-Max if y3;
  mid must equal out_chs and the stride must be 1.
- otherwise micro-blocks B/C: grouped 1x1 to mid (g1 groups) + BN, act, shuffle(g2), kx1 + 1xk depthwise (each
  + BN, stride s), act, grouped 1x1 to out_chs (g3 groups) + BN, Dynamic Shift-Max if y3, shuffle(g4). The two
  grouped 1x1 convs around the depthwise pair are the micro-factorised pointwise conv.

``y`` = 0 is the static ``act`` (ReLU6 in MicroNet; none after the last 1x1), 1 a Dynamic Shift-Max with one
candidate, 2 the max over two candidates (J = 2). The output Dynamic Shift-Max starts at a = (1, 0),
b = (0, 0) (the official INIT_A_BLOCK3); the others at ``init_a`` / ``init_b``. The pair-interleaving shuffles
of the official block follow each Dynamic Shift-Max; a shuffle whose group count does not divide the channels
is skipped (the official code would fail there). Identity shortcut when ``skip``, stride 1 and in == out.

Sampled by a search with only the generic fields (``groups``, ``dw_mult`` and ``dsm`` left empty):
``expansion`` 1 gives micro-block A with no depthwise expansion (a micro-factorised depthwise-separable conv),
``expansion`` e > 1 gives micro-block C with mid = round(in_chs * e); every grouped 1x1 from a to b channels
takes the divisor of gcd(a, b) nearest sqrt(min(a, b)) (the paper's G = sqrt(C/R)), g2 = g1, g4 = g3;
``se_ratio`` > 0 turns Dynamic Shift-Max on as in MicroNet-M0..M2, dsm = (2, 2, 1), with the squeeze width
set by ``reduction`` (``se_ratio`` is a switch, not a width); ``act`` is the static activation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from searchspace.blocks.base import BlockSpec, check_skip
from searchspace.checks import check_choice, check_float, check_int
from searchspace.errors import SpecError
from searchspace.rounding import make_divisible
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext

MAX_GROUPS = 1024
OUTPUT_INIT = ((1.0, 0.0), (0.0, 0.0))  # (init_a, init_b) of the Dynamic Shift-Max after the last 1x1


def micro_groups(a: int, b: int) -> int:
    """Groups of a 1x1 conv from ``a`` to ``b`` channels: the divisor of gcd(a, b) nearest sqrt(min(a, b))."""
    common, target = math.gcd(a, b), math.sqrt(min(a, b))
    divisors = [d for d in range(1, common + 1) if common % d == 0]
    return min(divisors, key=lambda d: (abs(d - target), d))


def _check_init(name: str, i: int, value: Any) -> None:
    check_float(f"{name}[{i}]", value, -16.0, 16.0)


def _shuffle(chs: int, groups: int) -> tuple[int, ...]:
    """A shuffle over ``groups`` as a one-element tuple, or () when it is a no-op or does not divide."""
    return (groups,) if 1 < groups < chs and chs % groups == 0 else ()


@dataclass(frozen=True)
class ShiftMaxLayout:
    """One Dynamic Shift-Max: channels, shift groups, squeeze width, candidates J and initial a, b."""

    chs: int
    groups: int
    squeeze: int
    candidates: int
    init_a: tuple[float, float]
    init_b: tuple[float, float]

    def count(self, t: Tally) -> None:
        """Hypernetwork: global pool, linear to the squeeze, linear to 2 * J coefficients per channel."""
        branch = t.fork().global_pool()
        branch.linear(self.squeeze).linear(2 * self.candidates * self.chs)
        t.merge(branch)


Act = ShiftMaxLayout | str  # a Dynamic Shift-Max, or the name of a static activation ('none' for identity)


@dataclass(frozen=True)
class MicroLayout:
    """A micro-block resolved for its input width: conv widths and groups, activations, shuffles."""

    layout: str  # 'A' (depthwise first), 'BC' (pointwise, depthwise, pointwise), 'P' (pointwise only)
    in_chs: int
    dw_chs: int  # channels after the kx1 depthwise conv (in_chs * c1 in A, mid in B/C)
    mid_chs: int
    out_chs: int
    g1: int
    g3: int
    act_pw: Act
    act_dw: Act
    act_pwl: Act
    shuffle_pw: tuple[int, ...]
    shuffle_dw: tuple[int, ...]
    shuffle_pwl: tuple[int, ...]

    @property
    def has_pw(self) -> bool:
        return self.layout != "A"

    @property
    def has_dw(self) -> bool:
        return self.layout != "P"


@dataclass(frozen=True, kw_only=True)
class MicroBlockSpec(BlockSpec):
    """MicroNet micro-block A, B/C or pointwise-only; see the module docstring for the field mapping."""

    kind = "micro"
    fixed_int_fields = ("dw_mult", "groups", "dsm", "reduction")

    expansion: float = 1.0
    dw_mult: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()
    dsm: tuple[int, ...] = ()
    se_ratio: float = 0.0
    reduction: int = 8
    act_max: float = 2.0
    init_a: tuple[float, ...] = (1.0, 1.0)
    init_b: tuple[float, ...] = (0.0, 0.0)
    skip: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self._normalise_float("expansion", 1.0, 16.0)
        self._normalise_float("se_ratio", 0.0, 1.0)
        check_int("reduction", self.reduction, 1, 256)
        self._normalise_float("act_max", 0.0, 16.0)
        check_skip(self)
        self._check_tuple("dw_mult", 2, lambda i, v: check_int(f"dw_mult[{i}]", v, 1, 16))
        if self.dw_mult and self.dw_mult[0] * self.dw_mult[1] != self.expansion:
            raise SpecError("dw_mult", f"c1 * c2 must equal expansion={self.expansion:g}, got {self.dw_mult}")
        self._check_tuple(
            "groups", 4, lambda i, v: check_int(f"groups[{i}]", v, 0 if i != 1 else 1, MAX_GROUPS)
        )
        if self.groups:
            g1, _, g3, g4 = self.groups
            if g1 == 0 and g3 == 0:
                raise SpecError("groups", "g1 and g3 cannot both be 0 (a block needs a 1x1 conv)")
            if (g3 == 0) != (g4 == 0):
                raise SpecError(
                    "groups", f"g4 must be 0 exactly when g3 is 0 (no second 1x1), got {self.groups}"
                )
            if g3 == 0 and self.stride != 1:
                raise SpecError("stride", "a pointwise-only micro-block (g3 = 0) has no spatial conv; use 1")
        self._check_tuple("dsm", 3, lambda i, v: check_choice(f"dsm[{i}]", v, (0, 1, 2)))
        if self.dsm and self.se_ratio > 0:
            raise SpecError("se_ratio", "leave at 0 when dsm gives the Dynamic Shift-Max positions")
        for name in ("init_a", "init_b"):
            check = functools.partial(_check_init, name)
            self._check_tuple(name, 2, check, optional=False)
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))

    def _check_tuple(
        self, name: str, size: int, check: Callable[[int, Any], object], optional: bool = True
    ) -> None:
        """``name`` holds ``size`` values (or none when ``optional``), each passing ``check(i, value)``."""
        value = getattr(self, name)
        if not isinstance(value, tuple) or len(value) not in ((0, size) if optional else (size,)):
            what = f"{'empty or ' if optional else ''}a list of {size} numbers"
            raise SpecError(name, f"must be {what}, got {value!r:.80}")
        for i, v in enumerate(value):
            check(i, v)

    # --- resolution for a given input width -----------------------------------------------------------

    def mid_chs(self, in_chs: int) -> int:
        if self.dw_mult:
            return in_chs * self.dw_mult[0] * self.dw_mult[1]
        return max(in_chs, round(in_chs * self.expansion))

    def resolve(self, in_chs: int) -> MicroLayout:
        """Every width, group count, activation and shuffle of this block at ``in_chs`` input channels."""
        mid, out = self.mid_chs(in_chs), self.out_chs
        if self.groups:
            g1, g2, g3, g4 = self.groups
        elif mid == in_chs:
            g1 = 0
            g2 = g3 = g4 = micro_groups(mid, out)
        else:
            g1 = g2 = micro_groups(in_chs, mid)
            g3 = g4 = micro_groups(mid, out)
        y1, y2, y3 = self.dsm or ((2, 2, 1) if self.se_ratio > 0 else (0, 0, 0))
        layout = "A" if g1 == 0 else "P" if g3 == 0 else "BC"
        self._check_groups(layout, in_chs, mid, g1, g2, g3, g4)
        red, act, init = self.reduction, self.act, (self.init_a, self.init_b)

        def dsm(y: int, chs: int, groups: int, reduction: int, start: tuple = init, static: str = act) -> Act:
            if y == 0:
                return static
            squeeze = make_divisible(chs // max(1, reduction), 4)
            return ShiftMaxLayout(chs, groups, squeeze, y, *start)

        if layout == "P":
            if mid != out:
                raise SpecError(
                    "out_chs", f"a pointwise-only micro-block outputs in_chs*c1*c2 = {mid}, got {out}"
                )
            return MicroLayout(
                "P",
                in_chs,
                mid,
                mid,
                out,
                g1,
                0,
                dsm(y3, mid, g2, red, OUTPUT_INIT, "none"),
                "none",
                "none",
                (),
                (),
                (),
            )
        act_pwl = dsm(y3, out, g4, red // 2 if layout == "A" or out < mid else red, OUTPUT_INIT, "none")
        shuffle_pwl = _shuffle(out, g4) + (_shuffle(out, out // 2) if y3 and out % 2 == 0 else ())
        if layout == "A":
            shuffle_dw = _shuffle(mid, g2) + (_shuffle(mid, mid // 2) if y2 else ())
            return MicroLayout(
                "A",
                in_chs,
                in_chs * (self.dw_mult[0] if self.dw_mult else 1),
                mid,
                out,
                0,
                g3,
                "none",
                dsm(y2, mid, g2, red),
                act_pwl,
                (),
                shuffle_dw,
                shuffle_pwl,
            )
        pair = () if not (y1 or y2) else _shuffle(mid, mid // 4 if y1 and y2 else mid // 2)
        return MicroLayout(
            "BC",
            in_chs,
            mid,
            mid,
            out,
            g1,
            g3,
            dsm(y1, mid, g2, red),
            dsm(y2, mid, mid // g2 if g2 != 1 else 1, red),
            act_pwl,
            _shuffle(mid, g2),
            pair,
            shuffle_pwl,
        )

    def _check_groups(self, layout: str, in_chs: int, mid: int, g1: int, g2: int, g3: int, g4: int) -> None:
        needs = [("g2", g2, mid, "the expanded width")]
        if layout != "A":
            needs += [("g1", g1, in_chs, "in_chs"), ("g1", g1, mid, "the expanded width")]
        if layout != "P":
            needs += [
                ("g3", g3, mid, "the expanded width"),
                ("g3", g3, self.out_chs, "out_chs"),
                ("g4", g4, self.out_chs, "out_chs"),
            ]
        if layout == "A" and mid % in_chs:
            raise SpecError(
                "expansion", f"micro-block A expands depthwise: in_chs * {self.expansion:g} must be whole"
            )
        for name, g, chs, what in needs:
            if chs % g:
                raise SpecError("groups", f"{name}={g} must divide {what} ({chs}) at in_chs={in_chs}")

    def check_input(self, in_chs: int) -> None:
        self.resolve(in_chs)

    def scale_width(self, width: float) -> Self:
        """Automatic groups follow the channels; explicit (g1, g2, g3, g4) are tied to the base widths: refused."""
        if self.groups:
            raise SpecError(
                "width",
                f"a micro-block with explicit groups {self.groups} cannot be width-scaled (its group counts "
                "must divide the base widths); give the base groups=[] so that they follow the channels",
            )
        return self.scale_channels(width)

    # --- cost and module --------------------------------------------------------------------------------

    def count(self, t: Tally) -> Tally:
        lay = self.resolve(t.chs)
        if lay.has_pw:
            t.conv(lay.mid_chs, groups=lay.g1).norm()
            _count_act(t, lay.act_pw)
        if lay.has_dw:
            count_micro_dw(t, lay.dw_chs, lay.mid_chs, self.kernel, self.stride)
            _count_act(t, lay.act_dw)
            t.conv(lay.out_chs, groups=lay.g3).norm()
            _count_act(t, lay.act_pwl)
        return t

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.micro import MicroBlock

        return MicroBlock

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        lay = self.resolve(in_chs)
        return {
            "in_chs": in_chs,
            "mid_chs": lay.mid_chs,
            "out_chs": lay.out_chs,
            "kernel": self.kernel,
            "stride": self.stride,
            "dw_chs": lay.dw_chs if lay.has_dw else 0,
            "pw_groups": lay.g1 if lay.has_pw else 0,
            "pwl_groups": lay.g3 if lay.has_dw else 0,
            "act_pw": _act_args(lay.act_pw),
            "act_dw": _act_args(lay.act_dw),
            "act_pwl": _act_args(lay.act_pwl),
            "shuffle_pw": lay.shuffle_pw,
            "shuffle_dw": lay.shuffle_dw,
            "shuffle_pwl": lay.shuffle_pwl,
            "act_max": self.act_max,
            "skip": self.has_skip(in_chs),
            "drop_path": ctx.drop_path,
            **ctx.norm_args(),
        }


def _act_args(act: Act) -> str | dict[str, Any]:
    """A static activation's name, or a Dynamic Shift-Max's constructor arguments."""
    if isinstance(act, str):
        return act
    return {
        "chs": act.chs,
        "groups": act.groups,
        "squeeze": act.squeeze,
        "candidates": act.candidates,
        "init_a": act.init_a,
        "init_b": act.init_b,
    }


def count_micro_dw(t: Tally, dw_chs: int, out_chs: int, kernel: int, stride: int) -> Tally:
    """Micro-factorised depthwise conv: kx1 depthwise (stride s,1) + BN, 1xk depthwise (stride 1,s) + BN."""
    t.conv(dw_chs, (kernel, 1), (stride, 1), groups=t.chs).norm()
    return t.conv(out_chs, (1, kernel), (1, stride), groups=dw_chs).norm()


def _count_act(t: Tally, act: Act) -> None:
    if isinstance(act, ShiftMaxLayout):
        act.count(t)
