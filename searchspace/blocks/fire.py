"""SqueezeNet's Fire module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace.blocks.base import BlockSpec
from searchspace.checks import check_bool
from searchspace.errors import SpecError
from searchspace.tally import Tally

if TYPE_CHECKING:
    from torch import nn

    from searchspace.nn.context import BuildContext


@dataclass(frozen=True, kw_only=True)
class FireSpec(BlockSpec):
    """Fire module: 1x1 squeeze to ``s`` + act, then parallel 1x1 expand (``e1``) and kxk expand (``e3``),
    each + act, concatenated (``out_chs = e1 + e3``).

    Widths follow the paper's metaparameters so that a width-scaled ``out_chs`` stays consistent:
    ``s = round(squeeze_ratio * out_chs)`` (SR), ``e3 = round(pct3x3 * out_chs)``, ``e1 = out_chs - e3``.
    ``stride=2`` is the 3x3 stride-2 ceil-mode max pool that SqueezeNet puts in front of a Fire module.
    Convs carry a bias and no norm (SqueezeNet); ``norm=True`` adds BN after each conv instead of the bias.
    """

    kind = "fire"
    kernels = (3, 5, 7)

    squeeze_ratio: float = 0.125
    pct3x3: float = 0.5
    norm: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self._normalise_float("squeeze_ratio", 0.0, 1.0)
        self._normalise_float("pct3x3", 0.0, 1.0)
        check_bool("norm", self.norm)
        if self.squeeze_chs >= self.out_chs:
            raise SpecError(
                "squeeze_ratio", f"must squeeze: round(squeeze_ratio * out_chs) = {self.squeeze_chs} must be below "
                f"out_chs={self.out_chs}",
            )
        if not 1 <= self.expand3x3_chs < self.out_chs:
            raise SpecError(
                "pct3x3", f"must leave both expand branches at least one channel: round(pct3x3 * {self.out_chs}) "
                f"= {self.expand3x3_chs}, allowed 1 to {self.out_chs - 1}",
            )

    @property
    def squeeze_chs(self) -> int:
        return max(1, int(self.squeeze_ratio * self.out_chs + 0.5))

    @property
    def expand3x3_chs(self) -> int:
        return int(self.pct3x3 * self.out_chs + 0.5)

    @property
    def expand1x1_chs(self) -> int:
        return self.out_chs - self.expand3x3_chs

    def _conv(self, t: Tally, chs: int, kernel: int = 1) -> Tally:
        t.conv(chs, kernel, bias=not self.norm)
        return t.norm() if self.norm else t

    def count(self, t: Tally) -> Tally:
        if self.stride == 2:
            t.pool(3, 2, 0, ceil=True)
        self._conv(t, self.squeeze_chs)
        expand = t.fork()
        self._conv(expand, self.expand3x3_chs, self.kernel)
        self._conv(t, self.expand1x1_chs)
        t.merge(expand)
        t.chs = self.out_chs
        return t

    def module_class(self) -> type[nn.Module]:
        from searchspace.nn.fire import Fire

        return Fire

    def module_args(self, in_chs: int, ctx: BuildContext) -> dict[str, Any]:
        return {
            "in_chs": in_chs,
            "squeeze_chs": self.squeeze_chs,
            "expand1x1_chs": self.expand1x1_chs,
            "expand3x3_chs": self.expand3x3_chs,
            "kernel": self.kernel,
            "pool": self.stride == 2,
            "act": self.act,
            "norm": self.norm,
            **ctx.norm_args(),
        }
