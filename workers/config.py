"""A search's whole configuration as one frozen, validated, JSON-serialisable dataclass."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from searchspace.checks import check_choice, check_float, check_int
from searchspace.codec import from_dict, to_dict
from searchspace.errors import SpecError
from searchspace.space import SearchSpace, StageSpace
from workers.data import DatasetConfig, DatasetError
from workers.evaluation import LatencyConfig
from workers.training import TrainBudget

OBJECTIVES = ("latency", "macs")
MODES = ("pareto", "reward", "constraint")
SAMPLERS = ("nsga2", "tpe", "random")
PRUNERS = ("none", "median")
MAX_TRIALS = 100_000

# A small proxy skeleton for CPU searches on small images (stride 1 stem; 32x32 input -> 4x4 features).
PROXY_SPACE = SearchSpace(
    stages=tuple(StageSpace(stride=s, out_chs=c, repeats=n) for s, c, n in ((1, 16, 1), (2, 24, 2), (2, 40, 2), (2, 80, 2))),
    resolutions=(32,),
    stem_chs=16,
    head_chs=256,
    stem_stride=1,
    dropout=0.1,
)


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Everything a search needs. ``target`` is in ms (objective latency) or MACs (objective macs)."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    space: SearchSpace = PROXY_SPACE
    budget: TrainBudget = field(default_factory=TrainBudget)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    objective: str = "latency"
    mode: str = "pareto"
    target: float | None = None
    reward: str = "soft"
    sampler: str = "nsga2"
    n_trials: int = 20
    n_workers: int = 2
    timeout_s: float | None = None
    seed: int = 0
    max_params: int | None = None
    max_macs: int | None = None
    pruner: str = "median"
    pruner_warmup_epochs: int = 1
    pruner_min_trials: int = 3

    def __post_init__(self) -> None:
        for name, cls in (("dataset", DatasetConfig), ("space", SearchSpace), ("budget", TrainBudget),
                          ("latency", LatencyConfig)):
            if not isinstance(getattr(self, name), cls):
                raise SpecError(name, f"must be a {cls.__name__}")
        check_choice("objective", self.objective, OBJECTIVES)
        check_choice("mode", self.mode, MODES)
        check_choice("reward", self.reward, ("soft", "hard"))
        check_choice("sampler", self.sampler, SAMPLERS)
        check_int("n_trials", self.n_trials, 1, MAX_TRIALS)
        check_int("n_workers", self.n_workers, 1, 256)
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_choice("pruner", self.pruner, PRUNERS)
        check_int("pruner_warmup_epochs", self.pruner_warmup_epochs, 0, 1000)
        check_int("pruner_min_trials", self.pruner_min_trials, 1, 1000)
        if self.timeout_s is not None:
            object.__setattr__(self, "timeout_s", float(check_float("timeout_s", self.timeout_s, 1.0, 30 * 86400.0)))
        for name in ("max_params", "max_macs"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1, 10**15)
        if self.target is not None:
            object.__setattr__(self, "target", float(check_float("target", self.target, 1e-6, 1e15)))
        elif self.mode != "pareto":
            raise SpecError("target", f"mode {self.mode!r} needs a target ({self.target_unit})")

    @property
    def target_unit(self) -> str:
        return "ms" if self.objective == "latency" else "MACs"

    def with_data_shape(self, num_classes: int, in_chans: int) -> SearchConfig:
        """The same search with the space sized for the dataset's classes and channels."""
        return replace(self, space=replace(self.space, num_classes=num_classes, in_chans=in_chans))

    def to_dict(self) -> dict[str, Any]:
        data = to_dict(self)
        data["dataset"] = self.dataset.to_dict()
        data["space"] = self.space.to_dict()
        data["budget"] = to_dict(self.budget)
        data["latency"] = to_dict(self.latency)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> SearchConfig:
        if not isinstance(data, dict):
            raise SpecError("config", "must be a JSON object")
        fields = dict(data)
        nested = {"dataset": DatasetConfig, "budget": TrainBudget, "latency": LatencyConfig}
        for name, sub in nested.items():
            if name in fields:
                try:
                    fields[name] = from_dict(sub, fields[name], name)
                except DatasetError as err:
                    raise SpecError("dataset.source", err.message) from None
        if "space" in fields:
            try:
                fields["space"] = SearchSpace.from_dict(fields["space"])
            except SpecError as err:
                raise err.within("space") from None
        return from_dict(cls, fields)
