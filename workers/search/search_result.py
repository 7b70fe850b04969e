"""A search's result: its trials, why it stopped, its baselines; the Pareto front and the best trial derived from
them; read back from the study at any time (``load_result``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna

from workers.runtime import Stop, TrialState, open_storage
from workers.search.baselines import BaselineRecord, judged, load_baselines
from workers.search.config import SearchConfig
from workers.search.results import TrialRecord, best_trial, pareto_front

CONFIG_ATTR = "search_config"  # the study's user attribute holding its SearchConfig (JSON), for finalize


@dataclass(frozen=True)
class SearchResult:
    study_name: str
    config: SearchConfig
    trials: list[TrialRecord]
    stopped: Stop | None  # None: read back while no run goes on
    baselines: list[BaselineRecord] = field(default_factory=list)

    @property
    def pareto(self) -> list[TrialRecord]:
        return pareto_front(self.trials, self.config.objective)

    @property
    def best(self) -> TrialRecord | None:
        return best_trial(self.trials, self.config)

    @property
    def stopped_early(self) -> dict[int, int]:
        """How many trials early stopping stopped after how many epochs (they keep their measurements; the
        front is over trials trained to the full budget)."""
        out: dict[int, int] = {}
        for t in self.trials:
            if t.state is TrialState.PRUNED and not t.rejected and t.fidelity is not None:
                out[t.fidelity] = out.get(t.fidelity, 0) + 1
        return out

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state.value] = out.get(t.state.value, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "study_name": self.study_name,
            "stopped": None if self.stopped is None else str(self.stopped),
            "counts": self.counts(),
            "pareto": [t.to_dict() for t in self.pareto],
            "best": best.to_dict() if best else None,
            "stopped_early": {str(epochs): n for epochs, n in sorted(self.stopped_early.items())},
            "trials": [t.to_dict() for t in self.trials],
            "baselines": judged(self.baselines, self.pareto, self.config.objective),
            "config": self.config.to_dict(),
        }


def load_result(storage_url: str, study_name: str, config: SearchConfig, stopped: Stop | None = None) -> SearchResult:
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    records = [TrialRecord.from_trial(t) for t in study.get_trials(deepcopy=False)]
    return SearchResult(study_name, config, records, stopped, load_baselines(storage_url, study_name))


def stored_config(storage_url: str, study_name: str) -> SearchConfig | None:
    """The config a search stored in its study when it ran (None for a study written before it did).
    KeyError when there is no such study."""
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    data = study.user_attrs.get(CONFIG_ATTR)
    return None if data is None else SearchConfig.from_dict(data)
