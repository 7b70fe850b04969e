"""The fixed reference point of a search's hypervolume: the cost its front's area is measured up to.

A reference that moved with the largest cost seen so far would change the curve after the fact and make two
searches incomparable, so it is fixed per search from the search space alone: the counted MACs of the space's
dearest network (``searchspace.fit.extremes``), or that network's latency predicted from the search's device
profile. A detection search's dearest network is its space's dearest detector (``detector_extremes``: the largest
backbone choices under the neck and head choice that costs most on it), counted whole (backbone, neck and head) as
its trials are. With latency measured on the workers (no profile; always so for detection, whose necks and heads
no profile covers) nothing fixes it before the search runs: the UI then uses the largest latency measured so far
and says so.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from searchspace.counter import count
from searchspace.detection import DetectorSpec, count_detector, detector_extremes, spec_from_dict
from searchspace.errors import SpecError
from searchspace.fit import extremes
from searchspace.latency_table import MissingEntryError, predict
from searchspace.spec import ArchSpec
from store import crud
from store.errors import NotFoundError
from store.models import Search
from workers.search import Objective, SearchConfig, Task


class HypervolumeReference(BaseModel):
    """The cost (and accuracy 0) a search's hypervolume is measured up to; ``cost`` null: not fixed."""

    cost: float | None = Field(description="MACs or ms; null when latency is measured (then: the largest so far)")
    how: str = Field(description="where the cost comes from, in words")


_KNOWN: dict[uuid.UUID, HypervolumeReference] = {}  # fixed per search: computed once per process
_MAX_KNOWN = 1024


def _dearest(config: SearchConfig) -> tuple[ArchSpec | DetectorSpec, int, str]:
    """The search space's dearest network, its counted MACs and what it is, in words."""
    if config.task == Task.DETECTION:
        detector = detector_extremes(config.space, config.detector, config.space.num_classes)[1]
        return detector, count_detector(detector).macs, "detector (backbone, neck and head)"
    network = extremes(config.space)[1]
    return network, count(network).macs, "network"


def _reference(session: Session, config: SearchConfig) -> HypervolumeReference:
    dearest, macs, what = _dearest(config)
    if config.objective == Objective.MACS:
        return HypervolumeReference(cost=float(macs), how=f"the counted MACs of the search space's dearest {what}")
    if config.latency.profile_id is not None and isinstance(dearest, ArchSpec):  # a profile covers classifiers only
        try:
            ms = predict(dearest, crud.load_device_profile(session, profile_id=config.latency.profile_id))
        except (MissingEntryError, SpecError, NotFoundError):
            ms = None
        if ms is not None:
            return HypervolumeReference(cost=ms, how=f"the latency of the search space's dearest {what}, predicted "
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
    classes, chans = (spec.object_classes, spec.backbone.in_chans) if isinstance(spec, DetectorSpec) \
        else (spec.num_classes, spec.in_chans)
    config = SearchConfig.from_dict(search.config).with_data_shape(classes, chans)
    if len(_KNOWN) >= _MAX_KNOWN:
        _KNOWN.clear()
    _KNOWN[search.id] = reference = _reference(session, config)
    return reference
