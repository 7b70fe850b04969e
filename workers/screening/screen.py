"""Training-free screening: its configuration, the candidates it samples and the ones it keeps.

Before a new search's first trial, ``workers.search.warm_start.warm_start`` samples ``candidates`` distinct architectures from the space
(Optuna's RandomSampler, seeded by the search seed; candidates above ``max_params``/``max_macs`` are skipped),
scores each untrained on one batch of training images (workers/zero_cost.py) in Ray tasks, one per worker slot,
keeps the candidates on the successive non-dominated fronts of (score up, MACs down) until ``enqueued`` are
chosen, and enqueues their parameters into the study, so that the sampler evaluates them first (for NSGA-II:
they make up the start of the first generation). Each enqueued trial carries ``screened`` (proxy, score, rank
and the CPU-seconds the screen cost per candidate) into its record (a later trial that reuses its result, a
duplicate proposal, copies its record with ``reused_from``, the mark included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna

from searchspace.checks import check_int
from searchspace.counter import count
from searchspace.fields import as_dict, check_enum, doc
from searchspace.space import SearchSpace, sample
from workers.screening.zero_cost import Proxy

SCREENED = "screened"  # the user attribute (and record key) of a trial enqueued by the screen
MAX_CANDIDATES = 100_000


@dataclass(frozen=True, kw_only=True)
class ScreeningConfig:
    """Which zero-cost proxy screens how many sampled candidates, and how many of them the sampler tries first."""

    proxy: Proxy = field(default=Proxy.NONE, metadata=doc(
        "zero-cost proxy scoring untrained candidates before the search (none: no screening)"))
    candidates: int = field(default=256, metadata=doc("candidates sampled and scored before the first trial"))
    enqueued: int = field(default=8, metadata=doc(
        "best non-dominated (score up, MACs down) candidates the sampler evaluates first"))
    batch: int = field(default=64, metadata=doc("training images each candidate is scored on"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxy", check_enum("proxy", self.proxy, Proxy))
        check_int("candidates", self.candidates, 1, MAX_CANDIDATES)
        check_int("enqueued", self.enqueued, 1, self.candidates)
        check_int("batch", self.batch, 2, 4096)

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


@dataclass(frozen=True)
class Candidate:
    """A sampled architecture: the study parameters that give it, its one-line form and its MACs."""

    params: dict[str, Any]
    spec_key: str
    macs: int


def sample_candidates(space: SearchSpace, n: int, seed: int, max_params: int | None = None,
                      max_macs: int | None = None) -> list[Candidate]:
    """Up to ``n`` distinct candidates within the limits (stops after ``20 n`` draws)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found: dict[str, Candidate] = {}
    for _ in range(20 * n):
        if len(found) == n:
            break
        trial = study.ask()
        spec = sample(trial, space)
        cost = count(spec)
        if (max_params is None or cost.params <= max_params) and (max_macs is None or cost.macs <= max_macs):
            found.setdefault(spec.to_string(), Candidate(dict(trial.params), spec.to_string(), cost.macs))
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)  # keeps the in-memory study small to ask
    return list(found.values())


def non_dominated_first(scores: list[float], macs: list[int], k: int) -> list[int]:
    """Indices of ``k`` candidates: whole non-dominated fronts of (score up, MACs down) in order, the last front
    thinned evenly along MACs; candidates with a non-finite score never."""
    left = [i for i, s in enumerate(scores) if math.isfinite(s)]
    chosen: list[int] = []
    while left and len(chosen) < k:
        front = [i for i in left if not any(_dominates(scores[j], macs[j], scores[i], macs[i]) for j in left)]
        front.sort(key=lambda i: (macs[i], -scores[i]))
        room = k - len(chosen)
        if len(front) > room:
            front = [front[round(j * (len(front) - 1) / max(1, room - 1))] for j in range(room)]
        chosen += front
        left = [i for i in left if i not in set(front)]
    return chosen


def _dominates(score_a: float, macs_a: int, score_b: float, macs_b: int) -> bool:
    return score_a >= score_b and macs_a <= macs_b and (score_a > score_b or macs_a < macs_b)


def screened_mark(trial: optuna.trial.BaseTrial) -> dict[str, Any]:
    """``{"screened": ...}`` for a trial the screen enqueued, else ``{}`` (merged into the trial's record)."""
    mark = trial.user_attrs.get(SCREENED)
    return {SCREENED: mark} if mark is not None else {}
