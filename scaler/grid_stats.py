"""Is a grid's winner better than its runner-up, or is the gap seed noise? A paired t-test over seeds.

Run i of every candidate trains with the same seed (``GridConfig.run_seeds``): the same data split and batch
order, so the accuracies pair by seed and the test takes the per-seed differences winner - runner-up
(two-sided, ``n - 1`` degrees of freedom, at ``GridConfig.significance``). With zero spread of the
differences the gap is exact: distinguishable unless it is 0.
"""

from __future__ import annotations

import enum
import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any

TEST = "paired t-test over seeds, two-sided"
_EXACT = 1e-12  # a standard error below this is zero: the same difference on every seed


class Verdict(enum.StrEnum):
    """``distinguishable``: the winner's mean accuracy beats the runner-up's at the level; ``not_distinguishable``:
    the gap is within seed noise; ``untested``: fewer than two complete candidates or two shared seeds."""

    DISTINGUISHABLE = "distinguishable"
    NOT_DISTINGUISHABLE = "not_distinguishable"
    UNTESTED = "untested"


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """The winner against the runner-up: the mean per-seed difference, its confidence interval and p-value."""

    verdict: Verdict
    level: float
    test: str = TEST
    winner: str | None = None
    runner_up: str | None = None
    seeds: int = 0
    mean_difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    t: float | None = None
    p_value: float | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict.value}

    def summary(self) -> str:
        """One line: the verdict with its numbers."""
        if self.verdict is Verdict.UNTESTED:
            return f"{self.verdict}: {self.reason}"
        t = self.reason if self.t is None else f"t = {self.t:.2f}"
        return (f"{self.verdict} at {self.level:g}: {self.winner} - {self.runner_up} = {self.mean_difference:+.4f} "
                f"accuracy ({100 * (1 - self.level):g}% CI {self.ci_low:+.4f} to {self.ci_high:+.4f}), {t}, "
                f"p = {self.p_value:.3g}, {self.seeds} seeds ({self.test})")


def compare(winner: str, first: dict[int, float], runner_up: str, second: dict[int, float],
            level: float) -> Comparison:
    """Test ``winner``'s per-seed accuracies ``first`` against ``runner_up``'s ``second`` on their shared seeds."""
    from scipy import stats

    shared = sorted(set(first) & set(second))
    names = {"winner": winner, "runner_up": runner_up, "seeds": len(shared), "level": level}
    if len(shared) < 2:
        return Comparison(verdict=Verdict.UNTESTED, reason=f"{len(shared)} shared seed(s): the test needs 2",
                          **names)
    diffs = [first[s] - second[s] for s in shared]
    mean = statistics.fmean(diffs)
    spread = statistics.stdev(diffs) / math.sqrt(len(diffs))
    t: float | None = None  # undefined (not JSON's Infinity) when every seed gives the same difference
    reason = ""
    if spread < _EXACT:  # float noise of equal differences
        p, half, reason = (0.0 if mean else 1.0), 0.0, "every seed gives the same difference"
    else:
        t = mean / spread
        p = float(2 * stats.t.sf(abs(t), len(diffs) - 1))
        half = float(stats.t.ppf(1 - level / 2, len(diffs) - 1)) * spread
    verdict = Verdict.DISTINGUISHABLE if p < level and mean > 0 else Verdict.NOT_DISTINGUISHABLE
    return Comparison(verdict=verdict, mean_difference=mean, ci_low=mean - half, ci_high=mean + half, t=t, p_value=p,
                      reason=reason, **names)


def no_comparison(level: float, reason: str) -> Comparison:
    return Comparison(verdict=Verdict.UNTESTED, level=level, reason=reason)
