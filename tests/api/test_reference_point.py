"""A search's hypervolume reference is fixed by its space: the dearest network's counted MACs (a detection search's:
its dearest detector's), or its latency predicted from the search's profile; with measured latency it is not fixed
(and says so)."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from types import SimpleNamespace

from api.reference_point import _reference, hypervolume_reference
from searchspace.counter import count
from searchspace.detection import count_detector, detector_extremes, sample_detector
from searchspace.fit import extremes
from searchspace.space import PROXY_SPACE
from workers.data import DatasetConfig
from workers.search import SearchConfig


class _Random:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def suggest_categorical(self, name: str, choices: tuple) -> object:
        return self.rng.choice(choices)


def test_macs_reference_is_the_dearest_network_of_the_space() -> None:
    config = SearchConfig(objective="macs", space=replace(PROXY_SPACE, resolutions=(16, 24))).with_data_shape(10, 1)
    reference = _reference(None, config)  # type: ignore[arg-type]  # MACs need no database
    cheapest, dearest = extremes(config.space)
    assert reference.cost == count(dearest).macs > count(cheapest).macs
    assert "dearest" in reference.how


def test_measured_latency_has_no_fixed_reference() -> None:
    reference = _reference(None, SearchConfig(objective="latency").with_data_shape(10, 1))  # type: ignore[arg-type]
    assert reference.cost is None and "measured" in reference.how


def _detection(objective: str) -> SearchConfig:
    return SearchConfig(task="detection", objective=objective,
                        dataset=DatasetConfig(source="builtin-boxes")).with_data_shape(3, 3)


def test_a_detection_search_measures_up_to_its_spaces_dearest_detector() -> None:
    config = _detection("macs")
    reference = _reference(None, config)  # type: ignore[arg-type]
    dearest = detector_extremes(config.space, config.detector, 3)[1]
    assert reference.cost == count_detector(dearest).macs > count(extremes(config.space)[1]).macs  # head counted
    assert "dearest detector" in reference.how
    sampled = [count_detector(sample_detector(_Random(seed), config.space, config.detector, 3)).macs
               for seed in range(40)]
    assert max(sampled) <= reference.cost  # every candidate lies below it
    # read from a trial's detector (its object classes, not SSDLite's background), fixed once per search
    search = SimpleNamespace(id=uuid.uuid4(), config=config.to_dict())
    assert hypervolume_reference(None, search, dearest.to_dict()) == reference  # type: ignore[arg-type]


def test_a_detection_search_with_measured_latency_has_no_fixed_reference() -> None:
    reference = _reference(None, _detection("latency"))  # type: ignore[arg-type]
    assert reference.cost is None and "measured" in reference.how
