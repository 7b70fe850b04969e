"""Errors raised for invalid architecture specs."""

from __future__ import annotations


class SpecError(ValueError):
    """An architecture spec field holds a value outside its allowed range.

    ``field`` is the dotted path of the offending field (``stages[2].block.kernel``), so that the CLI and the
    API can point the user at it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def within(self, prefix: str) -> SpecError:
        """The same error with ``prefix`` prepended to the field path."""
        joined = f"{prefix}.{self.field}" if self.field and not self.field.startswith("[") else prefix + self.field
        return SpecError(joined, self.message)
