"""What every export format shares: re-validating the spec from plain data, and the export error."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from searchspace.errors import SpecError
from searchspace.spec import ArchSpec

MAX_DEPTH = 16  # an ArchSpec's JSON is 5 levels deep; anything much deeper is hostile
MAX_NODES = 1_000_000
MAX_TEXT = 10_000_000
MAX_INT_BITS = 4096  # far beyond any field's range, far below the size Python refuses to print


class ExportError(RuntimeError):
    """A valid spec that a format cannot express; ``part`` names the block (``stages[2][0] (micro)``) or part."""

    def __init__(self, part: str, message: str) -> None:
        self.part = part
        self.message = message
        super().__init__(f"{part}: {message}")


def validated(spec: ArchSpec | Mapping[str, Any] | str | bytes) -> ArchSpec:
    """A freshly validated ArchSpec from a spec object, its JSON data, JSON text or one-line form.

    Everything is rebuilt from plain data, so every field passes the spec's own validation again even when the
    caller hands over an object that was altered after construction. Raises SpecError naming the field.
    """
    if isinstance(spec, ArchSpec):
        try:
            data: Any = spec.to_dict()
        except (AttributeError, TypeError) as err:
            raise SpecError("spec", f"is not a well-formed ArchSpec: {err}") from None
    elif isinstance(spec, str | bytes):
        if len(spec) > MAX_TEXT:
            raise SpecError("spec", f"is longer than {MAX_TEXT} characters")
        try:
            text = spec.decode() if isinstance(spec, bytes) else spec
        except UnicodeDecodeError:
            raise SpecError("spec", "is not valid UTF-8") from None
        if text.lstrip().startswith("arch:"):
            return ArchSpec.from_string(text)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise SpecError("spec", f"is not valid JSON: {str(err)[:200]}") from None
    elif isinstance(spec, Mapping):
        data = spec
    else:
        raise SpecError("spec", f"must be an ArchSpec, a JSON object or JSON text, got {type(spec).__name__}")
    check_plain(data)
    return ArchSpec.from_dict(data if isinstance(data, dict) else dict(data))


def check_plain(data: Any) -> None:
    """Raise SpecError unless ``data`` is small, shallow JSON data (dicts with string keys, lists, scalars)."""
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    nodes = 0
    while stack:
        path, value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise SpecError("spec", f"holds more than {MAX_NODES} values")
        field = re.sub(r"(\[\d+\])+$", "", path) or "spec"  # the field, not the list item inside it
        if depth > MAX_DEPTH:
            raise SpecError(field, f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise SpecError(field, f"keys must be strings, got {type(key).__name__}")
                stack.append((f"{path}.{key[:60]}" if path else key[:60], item, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > MAX_INT_BITS:
                raise SpecError(field, f"must be in range, got an integer of {value.bit_length()} bits")
        elif not isinstance(value, str | float | bool | None):
            raise SpecError(field, f"must be JSON data, got {type(value).__name__}")
