"""Channel arithmetic shared by the blocks, their modules, the zoo and the scaler (no torch)."""

from __future__ import annotations

import math

CHANNEL_DIVISOR = 8


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never below ``round_limit`` of it (TF/timm rule)."""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded


def round_channels(chs: int, width: float, divisor: int = CHANNEL_DIVISOR) -> int:
    """``chs`` * ``width`` to the nearest multiple of ``divisor``, never below 90%; width 1.0: unchanged."""
    return chs if width == 1.0 else make_divisible(chs * width, divisor)


def ghost_chs(out_chs: int, ratio: int) -> tuple[int, int]:
    """(primary, cheap) channels of a Ghost module making ``out_chs`` maps; the sum may exceed ``out_chs``."""
    init = math.ceil(out_chs / ratio)
    return init, init * (ratio - 1)
