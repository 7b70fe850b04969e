"""Domain errors of the data layer; only the routes' exception handlers turn them into HTTP responses."""

from __future__ import annotations


class NotFoundError(LookupError):
    """No ``resource`` with id ``key``."""

    def __init__(self, resource: str, key: object) -> None:
        self.resource = resource
        self.key = key
        super().__init__(f"{resource} {key} not found")


class ConflictError(RuntimeError):
    """The request does not fit the resource's current state (e.g. cancelling a finished search)."""


class CapacityError(RuntimeError):
    """A service-wide cap (e.g. concurrent searches) is reached; ``field`` names the setting."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


class DatabaseUnavailable(RuntimeError):
    """The service database cannot be reached or written right now (down, refusing, locked, read-only, pool
    exhausted); the request may be retried. The API answers 503 with Retry-After."""
