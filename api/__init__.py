"""The REST service: searches and scaling jobs queued in a database, run by drivers; architectures as code."""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from api.main import create_app

        return create_app
    raise AttributeError(name)
