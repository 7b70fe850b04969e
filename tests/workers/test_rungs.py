"""MO-ASHA's rungs: non-dominated promotion, the 1/eta share, and a rebuilt state that decides the same."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchspace.errors import SpecError
from workers.search.rungs import (
    Decision,
    Report,
    RungConfig,
    Rungs,
    crowding,
    dominates,
    fronts,
    priority,
    reports_of,
)

POINT = st.tuples(st.floats(0.0, 1.0, allow_nan=False), st.floats(1.0, 1e9, allow_nan=False))
ARRIVALS = st.lists(POINT, min_size=1, max_size=60)
ETAS = st.integers(2, 5)


def _run(points: list[tuple[float, float]], eta: int) -> tuple[Rungs, list[Decision]]:
    rungs = Rungs(RungConfig(milestones=(1, 3), eta=eta))
    return rungs, [rungs.decide(i, 0, acc, cost) for i, (acc, cost) in enumerate(points)]


def test_geometric_rungs_stop_below_the_full_budget() -> None:
    assert RungConfig.geometric(1, 3, 27).milestones == (1, 3, 9)
    assert RungConfig.geometric(1, 3, 3).milestones == (1,)
    assert RungConfig.geometric(2, 2, 2).milestones == ()
    config = RungConfig.geometric(1, 3, 10)
    assert config.milestones == (1, 3, 9) and config.rung_of(3) == 1 and config.rung_of(4) is None
    assert [config.reached(e) for e in (1, 2, 3, 10)] == [1, 1, 2, 3]
    assert [config.rung_index(e, 27) for e in (1, 2, 3, 9, 26, 27)] == [0, 0, 1, 2, 2, 3]


@pytest.mark.parametrize("kwargs, where", [({"milestones": (3, 1)}, "milestones"), ({"milestones": (1,), "eta": 1},
                                                                                      "eta"),
                                           ({"milestones": (0,)}, "milestones[0]")])
def test_bad_rungs_name_the_field(kwargs: dict, where: str) -> None:
    with pytest.raises(SpecError) as err:
        RungConfig(**kwargs)
    assert err.value.field == where


def test_the_first_at_a_rung_goes_on_and_a_dominated_one_stops() -> None:
    rungs = Rungs(RungConfig(milestones=(1,), eta=3))
    assert rungs.decide(0, 0, 0.5, 100.0) is Decision.PROMOTE
    assert rungs.decide(1, 0, 0.4, 200.0) is Decision.STOP  # dominated by trial 0
    assert rungs.decide(2, 0, 0.9, 50.0) is Decision.PROMOTE  # best of three
    assert rungs.decide(3, 0, 0.3, 10.0) is Decision.PROMOTE  # the cheapest: on the front, 2 of 4 go on
    assert rungs.decide(4, 0, 0.45, 60.0) is Decision.STOP  # second front, 2 of 5 go on
    assert rungs.decide(1, 0, 0.99, 1.0) is Decision.STOP  # a retried call repeats the first answer
    with pytest.raises(SpecError):
        rungs.decide(3, 1, 0.5, 1.0)


def test_a_cheap_candidate_survives_a_rung_of_more_accurate_ones() -> None:
    """Accuracy alone would stop it; the front keeps it (it is the cheapest)."""
    rungs = Rungs(RungConfig(milestones=(1,), eta=3))
    for i in range(6):
        rungs.decide(i, 0, 0.8 + 0.01 * i, 1e6 * (1 + i % 2))
    assert rungs.decide(9, 0, 0.3, 1e3) is Decision.PROMOTE


def test_fronts_and_crowding() -> None:
    points = [(0.9, 10.0), (0.5, 1.0), (0.7, 5.0), (0.6, 6.0), (0.4, 20.0)]
    assert fronts(points) == [[0, 1, 2], [3], [4]]
    distance = crowding(points, [0, 1, 2])
    assert distance[0] == distance[1] == float("inf") and 0 < distance[2] < float("inf")
    assert priority(points, [0, 1, 2, 3, 4])[-2:] == [3, 4]


@settings(max_examples=200, deadline=None)
@given(ARRIVALS, ETAS)
def test_a_dominated_candidate_is_never_promoted_over_one_that_dominates_it(points, eta) -> None:
    _, decisions = _run(points, eta)
    for i, (a, da) in enumerate(zip(points, decisions)):
        for b, db in zip(points[i + 1:], decisions[i + 1:]):  # b arrived after a
            if dominates(a, b) and db is Decision.PROMOTE:
                assert da is Decision.PROMOTE, (a, b)


@settings(max_examples=25, deadline=None)
@given(st.lists(POINT, min_size=150, max_size=150, unique=True), ETAS, st.randoms(use_true_random=False))
def test_about_one_in_eta_is_promoted_when_arrivals_come_in_random_order(points, eta, rnd) -> None:
    rnd.shuffle(points)
    _, decisions = _run(points, eta)
    share = decisions.count(Decision.PROMOTE) / len(points)
    assert share <= 1 / eta + 0.15


def test_the_promoted_share_on_random_points_is_close_to_one_in_eta() -> None:
    rnd = random.Random(7)
    points = [(rnd.random(), rnd.uniform(1, 100)) for _ in range(600)]
    for eta in (2, 3, 4):
        _, decisions = _run(points, eta)
        assert abs(decisions.count(Decision.PROMOTE) / len(points) - 1 / eta) < 0.07


@settings(max_examples=100, deadline=None)
@given(ARRIVALS, ARRIVALS, ETAS, st.randoms(use_true_random=False))
def test_a_rebuilt_scheduler_decides_as_the_original(first, then, eta, rnd) -> None:
    original, _ = _run(first, eta)
    history = original.history()
    rnd.shuffle(history)  # the recorded results come back in any order
    rebuilt = Rungs.rebuild(original.config, history)
    assert rebuilt.history() == original.history()
    for i, (acc, cost) in enumerate(then, start=len(first)):
        assert rebuilt.decide(i, 0, acc, cost) is original.decide(i, 0, acc, cost)


def test_reports_of_a_recorded_curve() -> None:
    config = RungConfig(milestones=(1, 3), eta=3)
    assert reports_of(config, 4, [0.2], 9.0, stopped_early=True) == [Report(4, 0, 0.2, 9.0, Decision.STOP)]
    full = reports_of(config, 5, [0.2, 0.3, 0.4, 0.5], 9.0, stopped_early=False)
    assert [(r.rung, r.accuracy, r.decision) for r in full] == [(0, 0.2, Decision.PROMOTE), (1, 0.4, Decision.PROMOTE)]
    stopped = reports_of(config, 6, [0.2, 0.3, 0.4], 9.0, stopped_early=True)
    assert [r.decision for r in stopped] == [Decision.PROMOTE, Decision.STOP]
