"""Proxy truth: whether the proxy's accuracies rank architectures as full-fidelity training does, whether the
fully trained front still dominates each baseline at equal cost (latency or MACs), and a sentence saying so."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workers.search.results import dominates

STRONG = 0.7  # Spearman at or above: the proxy ranks as full training does
WEAK = 0.4  # below: the proxy's ranking says little about full-fidelity accuracy
MIN_RELIABLE = 5  # fewer architectures than this: no correlation is reliable


class TooFewPoints(ValueError):
    """A rank correlation needs at least two architectures with both accuracies."""


@dataclass(frozen=True, kw_only=True)
class RankAgreement:
    """Spearman's rho and Kendall's tau (with their two-sided p-values) between proxy and full-fidelity accuracy
    over ``n`` architectures; NaN when one side is constant (no ranking to compare)."""

    spearman: float
    spearman_p: float
    kendall: float
    kendall_p: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in ((k, getattr(self, k)) for k in self.__dataclass_fields__)}


def rank_agreement(proxy: Sequence[float], full: Sequence[float]) -> RankAgreement:
    """Rank correlations of paired accuracies (``proxy[i]`` and ``full[i]`` of the same architecture)."""
    from scipy import stats

    if len(proxy) != len(full):
        raise ValueError(f"{len(proxy)} proxy accuracies but {len(full)} full-fidelity ones")
    if len(proxy) < 2:
        raise TooFewPoints(f"a rank correlation needs at least 2 architectures, got {len(proxy)}")
    if len(set(proxy)) < 2 or len(set(full)) < 2:
        nan = math.nan
        return RankAgreement(spearman=nan, spearman_p=nan, kendall=nan, kendall_p=nan, n=len(proxy))
    rho = stats.spearmanr(proxy, full)
    tau = stats.kendalltau(proxy, full)
    return RankAgreement(spearman=float(rho.statistic), spearman_p=float(rho.pvalue),
                         kendall=float(tau.statistic), kendall_p=float(tau.pvalue), n=len(proxy))


def agreement_sentence(agreement: RankAgreement) -> str:
    """One sentence on how far the proxy's ranking can be trusted; it says "weak" in words when it is."""
    n = agreement.n
    if math.isnan(agreement.spearman):
        return (f"No ranking to compare: every one of the {n} architectures has the same proxy or the same "
                "full-fidelity accuracy.")
    figures = f"Spearman {agreement.spearman:.2f}, Kendall {agreement.kendall:.2f} over {n} architectures"
    few = (f"; {n} architectures are too few for a reliable figure (p = {agreement.spearman_p:.2f})"
           if n < MIN_RELIABLE else "")
    rho = agreement.spearman
    if rho >= STRONG:
        return f"Strong: the proxy ranks the architectures as full training does ({figures}{few})."
    if rho >= WEAK:
        return (f"Moderate: the proxy's ranking partly holds after full training ({figures}{few}); train the "
                "candidates you would pick at full fidelity before choosing between them.")
    reverse = " and tends to reverse it" if rho <= -WEAK else ""
    return (f"Weak: the proxy's ranking says little about full-fidelity accuracy{reverse} ({figures}{few}); the "
            "proxy front's order is not to be trusted: compare architectures only by their full-fidelity accuracy.")


@dataclass(frozen=True, kw_only=True)
class BaselineVerdict:
    """Whether the front dominates a baseline on (accuracy, cost), by which member (its index), and the margin:
    the best accuracy of a front member that costs no more than the baseline, minus the baseline's (None when no
    member is that cheap)."""

    name: str
    dominated: bool
    dominated_by: int | None
    margin: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def front_vs_baselines(front: Sequence[tuple[float, float]],
                       baselines: Mapping[str, tuple[float, float]]) -> list[BaselineVerdict]:
    """For each baseline (name -> (accuracy, cost)), whether some (accuracy, cost) point of ``front`` dominates it
    (no less accurate at no higher cost, better in one), with the front member that does it most cheaply."""
    verdicts = []
    for name, point in baselines.items():
        by = min((i for i, member in enumerate(front) if dominates(member, point)),
                 key=lambda i: (front[i][1], -front[i][0]), default=None)
        cheaper = [acc for acc, cost in front if cost <= point[1]]
        margin = max(cheaper) - point[0] if cheaper else None
        verdicts.append(BaselineVerdict(name=name, dominated=by is not None, dominated_by=by, margin=margin))
    return verdicts


def dominance_sentence(verdicts: Sequence[BaselineVerdict], cost: str) -> str:
    """"The fully trained front dominates 3 of 5 baselines at equal <cost> (not: a, b)."""
    beaten = [v.name for v in verdicts if v.dominated]
    rest = [v.name for v in verdicts if not v.dominated]
    tail = f" (not: {', '.join(rest)})" if rest else ""
    return f"The fully trained front dominates {len(beaten)} of {len(verdicts)} baselines at equal {cost}{tail}."
