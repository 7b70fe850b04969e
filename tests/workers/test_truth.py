"""Proxy truth: rank correlations between proxy and full-fidelity accuracy, the sentence that says when they are
weak, and whether a fully trained front dominates each baseline at equal cost."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from workers.search.truth import (
    TooFewPoints,
    agreement_sentence,
    dominance_sentence,
    front_vs_baselines,
    rank_agreement,
)


def test_rank_agreement_matches_scipy_and_orders() -> None:
    proxy = [0.50, 0.61, 0.55, 0.70, 0.40, 0.66]
    full = [0.80, 0.78, 0.85, 0.90, 0.70, 0.86]
    a = rank_agreement(proxy, full)
    assert a.n == 6
    assert a.spearman == pytest.approx(stats.spearmanr(proxy, full).statistic)
    assert a.kendall == pytest.approx(stats.kendalltau(proxy, full).statistic)
    assert rank_agreement(proxy, proxy).spearman == pytest.approx(1.0)
    assert rank_agreement(proxy, [-v for v in proxy]).kendall == pytest.approx(-1.0)
    flat = rank_agreement(proxy, [0.9] * 6)
    assert math.isnan(flat.spearman) and flat.to_dict()["spearman"] is None
    with pytest.raises(TooFewPoints):
        rank_agreement([0.5], [0.6])
    with pytest.raises(ValueError, match="2 proxy"):
        rank_agreement([0.5, 0.6], [0.6])


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=30))
def test_rank_agreement_is_bounded_and_symmetric(pairs: list[tuple[float, float]]) -> None:
    proxy, full = [p for p, _ in pairs], [f for _, f in pairs]
    a, b = rank_agreement(proxy, full), rank_agreement(full, proxy)
    if math.isnan(a.spearman):
        assert math.isnan(b.spearman)
        return
    assert -1.0 - 1e-9 <= a.spearman <= 1.0 + 1e-9 and -1.0 - 1e-9 <= a.kendall <= 1.0 + 1e-9
    assert a.spearman == pytest.approx(b.spearman) and a.kendall == pytest.approx(b.kendall)


def test_sentence_says_weak_in_words() -> None:
    # like the measured case (six architectures, Spearman -0.06): here -0.09
    weak = agreement_sentence(rank_agreement([1, 2, 3, 4, 5, 6], [3, 6, 1, 5, 2, 4]))
    assert weak.startswith("Weak:") and "not to be trusted" in weak and "over 6 architectures" in weak
    reversed_ = agreement_sentence(rank_agreement([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]))
    assert reversed_.startswith("Weak:") and "reverse" in reversed_
    strong = agreement_sentence(rank_agreement([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 6, 5]))
    assert strong.startswith("Strong:") and "too few" not in strong
    assert "too few" in agreement_sentence(rank_agreement([1, 2, 3], [1, 2, 3]))
    moderate = agreement_sentence(rank_agreement([1, 2, 3, 4, 5, 6, 7, 8], [3, 1, 2, 8, 4, 5, 7, 6]))
    assert moderate.startswith("Moderate:"), moderate
    assert agreement_sentence(rank_agreement([1, 2], [5, 5])).startswith("No ranking")


def test_front_dominates_baselines_at_equal_cost() -> None:
    front = [(0.80, 1.0), (0.90, 2.0), (0.95, 4.0)]  # (accuracy, latency ms)
    baselines = {"cheap_bad": (0.70, 1.5), "equal": (0.90, 2.0), "better": (0.97, 3.0), "too_cheap": (0.5, 0.5)}
    verdicts = {v.name: v for v in front_vs_baselines(front, baselines)}
    assert verdicts["cheap_bad"].dominated and verdicts["cheap_bad"].dominated_by == 0
    assert verdicts["cheap_bad"].margin == pytest.approx(0.10)
    assert not verdicts["equal"].dominated and verdicts["equal"].margin == pytest.approx(0.0)  # a tie is no win
    assert not verdicts["better"].dominated and verdicts["better"].margin == pytest.approx(-0.07)
    assert not verdicts["too_cheap"].dominated and verdicts["too_cheap"].margin is None
    sentence = dominance_sentence(list(verdicts.values()), "latency")
    assert sentence == ("The fully trained front dominates 1 of 4 baselines at equal latency "
                        "(not: equal, better, too_cheap).")
