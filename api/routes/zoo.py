"""/v1/zoo: the reference networks with our analytic counts beside the published ones."""

from __future__ import annotations

import functools

from fastapi import APIRouter

from api.schemas import ZooEntry, ZooPublic

router = APIRouter(prefix="/zoo", tags=["zoo"])


@functools.cache
def _rows() -> tuple[ZooEntry, ...]:
    from searchspace.cli import zoo_rows

    return tuple(ZooEntry(**row) for row in zoo_rows())


@router.get("")
def list_zoo() -> ZooPublic:
    """Every zoo network (usable as a scaling base by name): resolution, params, MACs, published figures."""
    rows = list(_rows())
    return ZooPublic(data=rows, count=len(rows))
