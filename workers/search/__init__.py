"""The architecture search: its configuration, the driver (a source for the engine), trial sampling, MO-ASHA rungs,
baselines, warm start and results (Pareto fronts, hypervolume)."""

from __future__ import annotations

from workers.search.baselines import BaselineRecord, baseline_study_name, verdict
from workers.search.config import DEFAULT_BASELINES, SearchConfig
from workers.search.driver import SearchDriver, SearchResult
from workers.search.profile_file import load_profile_file
from workers.search.results import TrialRecord, best_trial, hypervolume, pareto_front
from workers.search.trial import evaluate_trial

__all__ = [
    "DEFAULT_BASELINES",
    "BaselineRecord",
    "SearchConfig",
    "SearchDriver",
    "SearchResult",
    "TrialRecord",
    "baseline_study_name",
    "best_trial",
    "evaluate_trial",
    "hypervolume",
    "load_profile_file",
    "pareto_front",
    "verdict",
]
