"""The base network a scaling request names: a stored architecture, a zoo network or a spec."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api import limits
from api.schemas import BaseRef
from searchspace import zoo
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from store import crud
from store.settings import Settings


def resolve_base(session: Session, ref: BaseRef, settings: Settings,
                 field: str = "base") -> tuple[ArchSpec, dict[str, Any]]:
    """The base ArchSpec and how the request named it; SpecError on ``<field>.<its field>``."""
    if ref.architecture_id is not None:
        row = crud.get_architecture(session, architecture_id=ref.architecture_id)
        if row.spec is None:
            raise SpecError(f"{field}.architecture_id", f"architecture {row.id} has no spec")
        spec, named = ArchSpec.from_dict(row.spec), {"architecture_id": str(row.id)}
    elif ref.zoo is not None:
        if ref.zoo not in zoo.names():
            raise SpecError(f"{field}.zoo", f"unknown zoo network {ref.zoo!r:.80}; see GET /v1/zoo")
        spec, named = zoo.get(ref.zoo), {"zoo": ref.zoo}
    else:
        try:
            spec = ArchSpec.from_dict(ref.spec)
        except SpecError as err:
            raise err.within(f"{field}.spec") from None
        named = {"spec": spec.name or spec.to_string()[:200]}
    limits.check_spec(spec, settings, field)
    return spec, named
