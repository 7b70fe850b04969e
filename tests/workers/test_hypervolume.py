"""Hypervolume of (accuracy, cost) points and the greedy choice of a front's representatives."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.search.results import hypervolume, hypervolume_subset

POINTS = st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.1, 100.0)), min_size=1, max_size=8)


def test_area_below_the_reference_cost() -> None:
    assert hypervolume([(0.5, 2.0), (0.8, 6.0)], 10.0) == 0.5 * 4.0 + 0.8 * 4.0
    assert hypervolume([(0.5, 2.0), (0.4, 3.0)], 10.0) == 0.5 * 8.0  # a dominated point adds nothing
    assert hypervolume([(0.9, 12.0)], 10.0) == 0.0


def test_a_dear_point_a_little_more_accurate_is_left_for_a_cheap_one() -> None:
    points = [(0.80, 0.3), (0.81, 3.0), (0.82, 14.0), (0.78, 1.5)]
    chosen = hypervolume_subset(points, 2, 1.1 * 14.0)
    assert chosen[0] == 0 and 2 not in chosen


@given(POINTS, st.integers(1, 8))
@settings(max_examples=60, deadline=None)
def test_greedy_choice_is_distinct_sized_and_never_worse_than_any_single_point(points: list, k: int) -> None:
    ref = 1.1 * max(c for _, c in points)
    chosen = hypervolume_subset(points, k, ref)
    assert len(chosen) == len(set(chosen)) == min(k, len(points))
    got = hypervolume([points[i] for i in chosen], ref)
    assert got >= max(hypervolume([p], ref) for p in points) - 1e-12
    if k >= len(points):
        assert got == hypervolume(points, ref)
    else:  # greedy reaches at least (1 - 1/e) of the best subset of that size (submodular)
        best = max(hypervolume([points[i] for i in subset], ref)
                   for subset in itertools.combinations(range(len(points)), k))
        assert got >= (1 - 1 / 2.718281828) * best - 1e-12
