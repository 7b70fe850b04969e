"""/v1/zoo: the reference networks with our analytic counts beside the published ones, each one's spec and its
standalone PyTorch code."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Response

from api.schemas import ZooEntry, ZooNetwork, ZooPublic
from store.errors import NotFoundError

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


_NOT_FOUND = {404: {"description": "no zoo network of that name"}}


def _entry(name: str) -> ZooEntry:
    entry = next((row for row in _rows() if row.name == name), None)
    if entry is None:
        raise NotFoundError("zoo network", repr(name))
    return entry


@router.get("/{name}", responses=_NOT_FOUND)
def get_zoo_network(name: str) -> ZooNetwork:
    """One zoo network: its counts beside the published ones, and its spec (stages, blocks, head)."""
    from searchspace import zoo

    entry = _entry(name)
    return ZooNetwork(**entry.model_dump(), spec=zoo.get(name).to_dict())


@router.get("/{name}/code", response_class=Response, responses={
    200: {"content": {"text/x-python": {}}, "description": "a self-contained .py file (imports only torch)"},
    **_NOT_FOUND})
def get_zoo_code(name: str) -> Response:
    """The zoo network as one standalone PyTorch file with ``build_model(num_classes=...)``."""
    from searchspace import zoo
    from searchspace.export import to_python

    entry = _entry(name)
    return Response(to_python(zoo.get(entry.name)), media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{entry.name}.py"'})
