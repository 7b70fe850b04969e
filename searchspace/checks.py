"""Field validators shared by every spec dataclass: each raises SpecError naming the field."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from searchspace.errors import SpecError


def check_int(field: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(field, f"must be an integer in [{lo}, {hi}], got {value!r:.80}")
    if not lo <= value <= hi:
        raise SpecError(field, f"must be in [{lo}, {hi}], got {value}")
    return value


def check_float(field: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(field, f"must be a number in [{lo}, {hi}], got {value!r:.80}")
    if math.isnan(value) or not lo <= value <= hi:
        raise SpecError(field, f"must be in [{lo}, {hi}], got {value}")
    return value


def check_choice(field: str, value: Any, choices: Iterable[Any]) -> Any:
    allowed = tuple(choices)
    if isinstance(value, bool) or value not in allowed:
        raise SpecError(field, f"must be one of {', '.join(map(str, allowed))}; got {value!r:.80}")
    return value


def check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(field, f"must be true or false, got {value!r:.80}")
    return value
