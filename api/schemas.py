"""Request and response schemas (``XCreate`` / ``XPublic`` / ``XsPublic(data, count)``).

Request models check types and shapes; the domain dataclasses (SearchConfig, DatasetConfig, TrainBudget, ...)
check ranges when a request model is converted with ``to_config()``, raising SpecError/DatasetError with the
field's path in the request body. Defaults shown in the schema are the domain dataclasses' own.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scaler.scaling import ALPHA, BETA, GAMMA
from searchspace.errors import SpecError
from searchspace.space import SearchSpace
from workers.config import MODES, OBJECTIVES, PROXY_SPACE, PRUNERS, SAMPLERS, SearchConfig
from workers.data import FORMATS, DatasetConfig
from workers.evaluation import LatencyConfig
from workers.training import OPTIMIZERS, TrainBudget

_SEARCH, _DATA, _TRAIN, _LAT = SearchConfig(), DatasetConfig(), TrainBudget(), LatencyConfig()
SKELETONS = {"proxy": PROXY_SPACE, "efficientnet_b0": SearchSpace()}
JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TrialState = Literal["COMPLETE", "PRUNED", "FAIL"]


class Input(BaseModel):
    """Request bodies: unknown fields and non-finite numbers are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _build(prefix: str, fn: Any, **fields: Any) -> Any:
    """``fn(**fields)`` with any SpecError re-pointed under ``prefix``."""
    try:
        return fn(**fields)
    except SpecError as err:
        raise err.within(prefix) from None


# --- searches -----------------------------------------------------------------------------------------------


class DatasetIn(Input):
    source: str = Field(_DATA.source, max_length=4096,
                        description="'digits' (built in) or a directory under the service's NAS_DATA_ROOT")
    format: Literal[FORMATS] = _DATA.format  # type: ignore[valid-type]
    val_fraction: float = _DATA.val_fraction
    subset: float = Field(_DATA.subset, description="fraction of every class kept")
    seed: int = _DATA.seed

    def to_config(self) -> DatasetConfig:
        return _build("dataset", DatasetConfig, **self.model_dump())


class TrainingIn(Input):
    epochs: int = _TRAIN.epochs
    batch_size: int = _TRAIN.batch_size
    lr: float = _TRAIN.lr
    optimizer: Literal[OPTIMIZERS] = _TRAIN.optimizer  # type: ignore[valid-type]
    momentum: float = _TRAIN.momentum
    weight_decay: float = _TRAIN.weight_decay
    subset: float = Field(_TRAIN.subset, description="fraction of the training split used per epoch")
    label_smoothing: float = _TRAIN.label_smoothing
    max_seconds: float | None = Field(_TRAIN.max_seconds, description="training time cap per trial")

    def to_config(self) -> TrainBudget:
        return _build("training", TrainBudget, **self.model_dump())


class LatencyIn(Input):
    batch_size: int = _LAT.batch_size
    threads: int = _LAT.threads
    warmup: int = _LAT.warmup
    repeats: int = _LAT.repeats

    def to_config(self) -> LatencyConfig:
        return _build("latency", LatencyConfig, **self.model_dump())


_Choices = Field(None, min_length=1, max_length=16)


class SpaceIn(Input):
    """A skeleton and choice lists that replace the defaults in every stage (null: keep the skeleton's)."""

    skeleton: Literal[tuple(SKELETONS)] = "proxy"  # type: ignore[valid-type]
    resolutions: list[int] | None = _Choices
    kinds: list[str] | None = _Choices
    kernels: list[int] | None = _Choices
    expansions: list[float] | None = _Choices
    se_ratios: list[float] | None = _Choices
    acts: list[str] | None = _Choices
    repeat_deltas: list[int] | None = _Choices
    width_factors: list[float] | None = _Choices
    stem_chs: int | None = None
    head_chs: int | None = None
    dropout: float | None = None

    def to_space(self) -> SearchSpace:
        space = SKELETONS[self.skeleton]
        choices = {k: tuple(v) for k, v in self.model_dump(include=_STAGE_CHOICES).items() if v is not None}
        globals_ = {k: v for k, v in self.model_dump(include=_SPACE_FIELDS).items() if v is not None}
        if "resolutions" in globals_:
            globals_["resolutions"] = tuple(globals_["resolutions"])
        try:
            return replace(space.with_choices(**choices) if choices else space, **globals_)
        except SpecError as err:
            raise err.within("space") from None


_STAGE_CHOICES = {"kinds", "kernels", "expansions", "se_ratios", "acts", "repeat_deltas", "width_factors"}
_SPACE_FIELDS = {"resolutions", "stem_chs", "head_chs", "dropout"}


class SearchCreate(Input):
    """A search to queue. Everything has a default: ``{}`` is a valid search on digits."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "name": "digits-latency",
                "dataset": {"source": "digits", "subset": 0.5},
                "space": {"skeleton": "proxy", "kinds": ["mbconv", "ghost"], "kernels": [3, 5]},
                "objective": "latency", "mode": "pareto", "sampler": "nsga2",
                "n_trials": 12, "n_workers": 2, "seed": 0, "training": {"epochs": 2},
            }]
        }
    )

    name: str | None = Field(None, max_length=100)
    dataset: DatasetIn = Field(default_factory=DatasetIn)
    space: SpaceIn = Field(default_factory=SpaceIn)
    objective: Literal[OBJECTIVES] = _SEARCH.objective  # type: ignore[valid-type]
    mode: Literal[MODES] = _SEARCH.mode  # type: ignore[valid-type]
    target: float | None = Field(None, description="latency in ms or MACs; needed by modes reward, constraint")
    reward: Literal["soft", "hard"] = _SEARCH.reward
    sampler: Literal[SAMPLERS] = _SEARCH.sampler  # type: ignore[valid-type]
    n_trials: int = Field(_SEARCH.n_trials, description="trials trained (completed or pruned) before it stops")
    n_workers: int = Field(_SEARCH.n_workers, description="evaluations in parallel on Ray")
    timeout_s: float | None = Field(None, description="wall-clock budget in seconds")
    seed: int = _SEARCH.seed
    training: TrainingIn = Field(default_factory=TrainingIn)
    latency: LatencyIn = Field(default_factory=LatencyIn)
    max_params: int | None = Field(None, description="candidates above are rejected before training")
    max_macs: int | None = Field(None, description="candidates above are rejected before training")
    pruner: Literal[PRUNERS] = _SEARCH.pruner  # type: ignore[valid-type]

    def to_config(self, dataset: DatasetConfig | None = None) -> SearchConfig:
        """The SearchConfig (``dataset`` replaces the request's, e.g. with its path resolved)."""
        fields = self.model_dump(exclude={"name", "dataset", "space", "training", "latency"})
        return SearchConfig(
            dataset=dataset or self.dataset.to_config(),
            space=self.space.to_space(),
            budget=self.training.to_config(),
            latency=self.latency.to_config(),
            **fields,
        )


class Progress(BaseModel):
    budget: int = Field(description="trials to train")
    complete: int
    pruned: int
    failed: int
    rejected: int = Field(description="pruned before training: above max_params or max_macs")


class ArchitectureLinks(BaseModel):
    self: str
    code: str
    onnx: str


class ArchitecturePublic(BaseModel):
    """A network with its cost and, for a search trial, what was measured; ``origin`` says where it came from."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str | None
    search_id: uuid.UUID | None
    trial_number: int | None
    state: TrialState | None = Field(description="trial state; null for a scaled network")
    spec: dict[str, Any] | None = Field(description="the ArchSpec JSON")
    spec_string: str | None = Field(description="the ArchSpec's one-line form")
    params: int | None
    macs: int | None
    resolution: int | None
    accuracy: float | None
    latency_ms: float | None
    latency_p90_ms: float | None
    reward: float | None
    details: dict[str, Any] = Field(description="per-epoch accuracies, durations, device, reuse, rejection")
    error: str | None
    origin: dict[str, Any]
    created_at: datetime
    links: ArchitectureLinks

    @model_validator(mode="before")
    @classmethod
    def _links(cls, data: Any) -> Any:
        if not isinstance(data, dict) and hasattr(data, "id"):
            base = f"/v1/architectures/{data.id}"
            fields = {name: getattr(data, name) for name in cls.model_fields if name != "links"}
            return {**fields, "links": {"self": base, "code": f"{base}/code", "onnx": f"{base}/onnx"}}
        return data


class ArchitecturesPublic(BaseModel):
    data: list[ArchitecturePublic]
    count: int


class SearchPublic(BaseModel):
    id: uuid.UUID
    name: str | None
    state: JobState
    stopped: str | None = Field(description="why the driver stopped: budget, timeout or cancelled")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None
    attempts: int = Field(description="times a driver claimed it (more than 1: resumed after a restart)")
    progress: Progress
    best: ArchitecturePublic | None = Field(description="best so far for the search's mode")
    config: dict[str, Any]


class SearchesPublic(BaseModel):
    data: list[SearchPublic]
    count: int


# --- scaling ------------------------------------------------------------------------------------------------


class BaseRef(Input):
    """Exactly one of: a stored architecture, a zoo network, an ArchSpec JSON."""

    architecture_id: uuid.UUID | None = None
    zoo: str | None = Field(None, max_length=100, examples=["efficientnet_b0"])
    spec: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> BaseRef:
        given = [k for k in ("architecture_id", "zoo", "spec") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of architecture_id, zoo, spec (got {', '.join(given) or 'none'})")
        return self


class PhiRange(Input):
    start: float = 0.0
    stop: float = Field(7.0, description="inclusive")
    step: float = 1.0


class ScalingCreate(Input):
    """Compound scaling of a base: phi (or a phi range) with alpha, beta, gamma, or the published table."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"base": {"zoo": "efficientnet_b0"}, "phi": 1},
                                        {"base": {"zoo": "efficientnet_b0"}, "phi_range": {"start": 0, "stop": 3},
                                         "alpha": 1.2, "beta": 1.1, "gamma": 1.15}]}
    )

    base: BaseRef
    alpha: float = ALPHA
    beta: float = BETA
    gamma: float = GAMMA
    phi: float | None = Field(None, description="one member (default 1 when phi_range is not given)")
    phi_range: PhiRange | None = None
    official: bool = Field(False, description="use the published EfficientNet B0..B7 table (phi 0..7)")

    @model_validator(mode="after")
    def _one_phi(self) -> ScalingCreate:
        if self.phi is not None and self.phi_range is not None:
            raise ValueError("give phi or phi_range, not both")
        return self


class ScalingsPublic(BaseModel):
    base: dict[str, Any] = Field(description="name, params, MACs and resolution of the base")
    data: list[ArchitecturePublic] = Field(description="scaled networks; origin holds phi and the multipliers")
    count: int


class ScalingSearchCreate(Input):
    """A grid search of alpha, beta, gamma >= 1 with alpha * beta^2 * gamma^2 near 2, run as a job.

    Each candidate proxy-trains the phi = 1 member of a proxy base (the base at ``proxy_width``,
    ``proxy_depth`` and ``resolution`` px) on the dataset; null fields take ``scaler.grid_config.GridConfig``'s defaults
    (step 0.05, tolerance 0.1, resolution 32, proxy width and depth 0.5, 2 workers, 1 epoch).
    """

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"base": {"zoo": "efficientnet_b0"}, "dataset": {"source": "digits"},
                                         "step": 0.1, "max_candidates": 4, "training": {"epochs": 1}}]}
    )

    name: str | None = Field(None, max_length=100)
    base: BaseRef
    dataset: DatasetIn = Field(default_factory=DatasetIn)
    training: TrainingIn = Field(default_factory=lambda: TrainingIn(epochs=1))
    step: float | None = Field(None, description="grid step of each coefficient")
    tolerance: float | None = Field(None, description="|alpha*beta^2*gamma^2 - 2| allowed")
    max_candidates: int | None = Field(None, description="keep the candidates closest to the ratio 2")
    resolution: int | None = Field(None, description="input size of the proxy base")
    proxy_width: float | None = None
    proxy_depth: float | None = None
    workers: int | None = Field(None, description="candidates trained at once on Ray")
    seed: int | None = None

    def grid_fields(self) -> dict[str, Any]:
        """The GridConfig fields the request sets (besides dataset and budget)."""
        return self.model_dump(exclude={"name", "base", "dataset", "training"}, exclude_none=True)


class ScalingSearchPublic(BaseModel):
    id: uuid.UUID
    name: str | None
    state: JobState
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None
    attempts: int
    config: dict[str, Any]
    result: dict[str, Any] | None = Field(description="every candidate's ratios and accuracy, and the choice")


# --- the rest -----------------------------------------------------------------------------------------------


class ZooEntry(BaseModel):
    name: str
    resolution: int
    params: int
    macs: int
    reference_params: int | None
    reference_macs: int | None
    macs_deviation_pct: float | None
    published_params: float | None
    published_macs: float | None
    reference_implementation: str | None


class ZooPublic(BaseModel):
    data: list[ZooEntry]
    count: int


class Health(BaseModel):
    status: Literal["ok"]
    database: str
    drivers: int = Field(description="drivers with a recent heartbeat (0: queued jobs wait)")
    queued: int
    running: int
