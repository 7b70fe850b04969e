"""The fixed reference point of a search's hypervolume: the cost its front's area is measured up to.

A reference that moved with the largest cost seen so far would change the curve after the fact and make two
searches incomparable, so it is fixed per search from the search space alone: the counted MACs of the space's
dearest network (``searchspace.fit.extremes``), or that network's latency predicted from the search's device
profile. With latency measured on the workers (no profile) nothing fixes it before the search runs: the UI then
uses the largest latency measured so far and says so.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from searchspace.counter import count
from searchspace.detection import DetectorSpec, spec_from_dict
from searchspace.errors import SpecError
from searchspace.fit import extremes
from searchspace.latency_table import MissingEntryError, predict
from store import crud
from store.errors import NotFoundError
from store.models import Search
from workers.search import Objective, SearchConfig


class HypervolumeReference(BaseModel):
    """The cost (and accuracy 0) a search's hypervolume is measured up to; ``cost`` null: not fixed."""

    cost: float | None = Field(description="MACs or ms; null when latency is measured (then: the largest so far)")
    how: str = Field(description="where the cost comes from, in words")


_KNOWN: dict[uuid.UUID, HypervolumeReference] = {}  # fixed per search: computed once per process
_MAX_KNOWN = 1024


def _reference(session: Session, config: SearchConfig) -> HypervolumeReference:
    dearest = extremes(config.space)[1]
    if config.objective == Objective.MACS:
        return HypervolumeReference(cost=float(count(dearest).macs),
                                    how="the counted MACs of the search space's dearest network")
    if config.latency.profile_id is not None:
        try:
            ms = predict(dearest, crud.load_device_profile(session, profile_id=config.latency.profile_id))
        except (MissingEntryError, SpecError, NotFoundError):
            ms = None
        if ms is not None:
            return HypervolumeReference(cost=ms, how="the latency of the search space's dearest network, predicted "
                                                     f"from device profile {config.latency.profile_id}")
    return HypervolumeReference(cost=None, how="latency is measured on the workers, so no cost is known before the "
                                               "search runs: the largest latency measured so far (it moves)")


def hypervolume_reference(session: Session, search: Search, any_spec: dict[str, Any] | None
                          ) -> HypervolumeReference | None:
    """The search's fixed reference; None before its first trial recorded a spec (the data's classes and
    channels, read from that spec, size the space's head and stem)."""
    if search.id in _KNOWN:
        return _KNOWN[search.id]
    if any_spec is None:
        return None
    spec = spec_from_dict(any_spec)
    if isinstance(spec, DetectorSpec):  # the space's extremes are its backbones', not its detectors'
        return HypervolumeReference(cost=None, how="a detection search's costs are its detectors' (backbone, neck "
                                                   "and head): the largest cost recorded so far (it moves)")
    config = SearchConfig.from_dict(search.config).with_data_shape(spec.num_classes, spec.in_chans)
    if len(_KNOWN) >= _MAX_KNOWN:
        _KNOWN.clear()
    _KNOWN[search.id] = reference = _reference(session, config)
    return reference
