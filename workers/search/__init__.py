"""The architecture search: its configuration, the driver (a source for the engine), trial sampling, MO-ASHA rungs,
baselines, warm start, results (Pareto fronts, hypervolume) and proxy truth (rank agreement with full-fidelity
accuracy, the front against the baselines at equal cost)."""

from __future__ import annotations

from workers.search.baselines import BaselineRecord, baseline_study_name, verdict
from workers.search.config import (
    DEFAULT_BASELINES,
    TASK_BUDGET_DEFAULTS,
    Objective,
    SearchConfig,
    Strategy,
    Task,
    check_baselines,
    task_budget_defaults,
)
from workers.search.detection_task import box_data
from workers.search.driver import SearchDriver
from workers.search.finalize import (
    FinalizeConfig,
    FinalizeMismatch,
    NetworkTask,
    choose,
    finalize,
    train_networks,
)
from workers.search.finalize_cli import (
    add_finalize_flags,
    add_flag_set,
    config_flags,
    finalize_command,
    given_flags,
)
from workers.search.finalize_report import Candidate, FinalizeReport, NetworkKind, NetworkResult
from workers.search.oneshot import SupernetState, judge_candidate, supernet_checkpoint, supernet_config
from workers.search.profile_file import load_profile_file
from workers.search.proxy_check import ProxyCheckConfig, ProxyCheckReport, ProxySetting, proxy_check
from workers.search.proxy_check_cli import add_proxy_check_flags, proxy_check_command
from workers.search.results import TrialRecord, best_trial, hypervolume, pareto_front
from workers.search.search_result import SearchResult, load_result
from workers.search.task import TASKS, SearchTask, evaluate_trial
from workers.search.tracking import Tracking, TrackingConfig, trackers_for
from workers.search.truth import (
    BaselineVerdict,
    RankAgreement,
    TooFewPoints,
    agreement_sentence,
    dominance_sentence,
    front_vs_baselines,
    rank_agreement,
)

__all__ = [
    "DEFAULT_BASELINES",
    "TASKS",
    "TASK_BUDGET_DEFAULTS",
    "BaselineRecord",
    "BaselineVerdict",
    "Candidate",
    "FinalizeConfig",
    "FinalizeMismatch",
    "FinalizeReport",
    "NetworkKind",
    "NetworkResult",
    "NetworkTask",
    "Objective",
    "ProxyCheckConfig",
    "ProxyCheckReport",
    "ProxySetting",
    "RankAgreement",
    "SearchConfig",
    "SearchDriver",
    "SearchResult",
    "SearchTask",
    "Strategy",
    "SupernetState",
    "Task",
    "TooFewPoints",
    "Tracking",
    "TrackingConfig",
    "TrialRecord",
    "add_finalize_flags",
    "add_flag_set",
    "add_proxy_check_flags",
    "agreement_sentence",
    "baseline_study_name",
    "best_trial",
    "box_data",
    "check_baselines",
    "choose",
    "config_flags",
    "dominance_sentence",
    "evaluate_trial",
    "finalize",
    "finalize_command",
    "front_vs_baselines",
    "given_flags",
    "hypervolume",
    "judge_candidate",
    "load_profile_file",
    "load_result",
    "pareto_front",
    "proxy_check",
    "proxy_check_command",
    "rank_agreement",
    "supernet_checkpoint",
    "supernet_config",
    "task_budget_defaults",
    "trackers_for",
    "train_networks",
    "verdict",
]
