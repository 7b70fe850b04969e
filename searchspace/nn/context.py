"""Network-wide settings a block needs when it is built."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuildContext:
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    drop_path: float = 0.0
