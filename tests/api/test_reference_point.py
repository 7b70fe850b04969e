"""A search's hypervolume reference is fixed by its space: the dearest network's counted MACs, or its latency
predicted from the search's profile; with measured latency it is not fixed (and says so)."""

from __future__ import annotations

from dataclasses import replace

from api.reference_point import _reference
from searchspace.counter import count
from searchspace.fit import extremes
from searchspace.space import PROXY_SPACE
from workers.search import SearchConfig


def test_macs_reference_is_the_dearest_network_of_the_space() -> None:
    config = SearchConfig(objective="macs", space=replace(PROXY_SPACE, resolutions=(16, 24))).with_data_shape(10, 1)
    reference = _reference(None, config)  # type: ignore[arg-type]  # MACs need no database
    cheapest, dearest = extremes(config.space)
    assert reference.cost == count(dearest).macs > count(cheapest).macs
    assert "dearest" in reference.how


def test_measured_latency_has_no_fixed_reference() -> None:
    reference = _reference(None, SearchConfig(objective="latency").with_data_shape(10, 1))  # type: ignore[arg-type]
    assert reference.cost is None and "measured" in reference.how
