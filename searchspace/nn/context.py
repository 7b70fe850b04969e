"""Network-wide settings a block needs when it is built."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildContext:
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    drop_path: float = 0.0

    def norm_args(self) -> dict[str, float]:
        """The batch-norm settings every module constructor takes."""
        return {"bn_eps": self.bn_eps, "bn_momentum": self.bn_momentum}
