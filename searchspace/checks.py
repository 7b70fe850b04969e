"""Field validators shared by every spec dataclass: each raises SpecError naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from searchspace.errors import SpecError


def _show(value: Any) -> str:
    """``repr(value)`` cut to 80 characters; huge integers (which repr may refuse) by their size."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    try:
        return f"{value!r:.80}"
    except (ValueError, RecursionError):
        return type(value).__name__


def check_int(field: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(field, f"must be an integer in [{lo}, {hi}], got {_show(value)}")
    if not lo <= value <= hi:
        raise SpecError(field, f"must be in [{lo}, {hi}], got {_show(value)}")
    return value


def check_float(field: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(field, f"must be a number in [{lo}, {hi}], got {_show(value)}")
    if not lo <= value <= hi:  # False for NaN; exact for integers too large for a float
        raise SpecError(field, f"must be in [{lo}, {hi}], got {_show(value)}")
    return value


def check_choice(field: str, value: Any, choices: Iterable[Any]) -> Any:
    allowed = tuple(choices)
    if not any(type(value) is type(choice) and value == choice for choice in allowed):  # 3.0 is not 3
        raise SpecError(field, f"must be one of {', '.join(map(str, allowed))}; got {_show(value)}")
    return value


def check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(field, f"must be true or false, got {_show(value)}")
    return value
