"""Request and response schemas (``XCreate`` / ``XPublic`` / ``XsPublic(data, count)``).

The request models are derived from the domain dataclasses (``api.derive``): SearchConfig, DatasetConfig,
TrainBudget, LatencyConfig and GridConfig declare every field, its default and its description once. Request
models check types and shapes; ``to_config()`` builds the dataclass, which checks ranges and raises
SpecError/DatasetError with the field's path in the request body.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from api.derive import Input, Text, config_model, request_fields, within
from api.progress import Progress, SupernetProgress
from api.reference_point import HypervolumeReference
from scaler.grid_config import GridConfig
from scaler.scaling import ALPHA, BETA, GAMMA
from searchspace.detection import DetectorSpace
from searchspace.space import SKELETONS, SearchSpace, StageSpace
from store.models import JobState
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.oneshot import SupernetTraining
from workers.runtime import FINISHED, TrialState
from workers.screening import ScreeningConfig
from workers.search import SearchConfig, task_budget_defaults
from workers.training import TrainBudget, TrainRecipe

# the states the API answers and filters by, derived from the one enum of each: a job's is the store's
# ``JobState``; a trial's the finished ``TrialState``s; a baseline's also RUNNING while it trains (never pruned)
TrialStateName = Literal[tuple(s.value for s in FINISHED)]  # type: ignore[valid-type]
BaselineState = Literal[tuple(s.value for s in (TrialState.RUNNING, *FINISHED) if s is not TrialState.PRUNED)]  # type: ignore[valid-type]
RENAMED = {"budget": "training"}  # dataclass field -> request field
# a job's label: no control characters (PostgreSQL text cannot hold NUL)
Label = Annotated[Text | None, Field(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$",
                                    description="a label (no control characters)")]


# --- searches -----------------------------------------------------------------------------------------------

DatasetIn = config_model(DatasetConfig, "DatasetIn", docs={
    "source": "'digits' or 'shapes' (built in), for task detection 'builtin-boxes' or 'builtin-boxes-small' "
              "(generated), or a directory under the service's NAS_DATA_ROOT"})
TrainingIn = config_model(TrainBudget, "TrainingIn")
LatencyIn = config_model(LatencyConfig, "LatencyIn")
RecipeIn = config_model(TrainRecipe, "RecipeIn")
ScreeningIn = config_model(ScreeningConfig, "ScreeningIn")
DetectorIn = config_model(DetectorSpace, "DetectorIn")
SupernetIn = config_model(SupernetTraining, "SupernetIn", rename=RENAMED, nested=(TrainingIn,))

_STAGE_CHOICES = ("kinds", "kernels", "expansions", "se_ratios", "acts", "repeat_deltas", "width_factors")
_SPACE_FIELDS = ("resolutions", "stem_chs", "head_chs", "stem_stride", "dropout")


class _Space(Input):
    """A skeleton and choice lists that replace the defaults in every stage (null: keep the skeleton's)."""

    config_class: ClassVar[type] = SearchSpace
    skeleton: Literal[tuple(SKELETONS)] = "proxy"  # type: ignore[valid-type]

    def to_config(self) -> SearchSpace:
        given = {k: tuple(v) if isinstance(v, list) else v
                 for k, v in self.model_dump(exclude={"skeleton"}, exclude_none=True).items()}
        space = SKELETONS[self.skeleton]
        lists = {k: v for k, v in given.items() if k in _STAGE_CHOICES}
        return replace(space.with_choices(**lists) if lists else space,
                       **{k: v for k, v in given.items() if k not in _STAGE_CHOICES})

    @classmethod
    def from_config(cls, space: SearchSpace) -> _Space:
        return cls(skeleton=next(name for name, skeleton in SKELETONS.items() if skeleton == space))


SpaceIn = create_model("SpaceIn", __base__=_Space, __doc__=_Space.__doc__,
                       **request_fields(SearchSpace, include=_SPACE_FIELDS, optional=True),
                       **request_fields(StageSpace, include=_STAGE_CHOICES, optional=True))


class SearchCreate(config_model(SearchConfig, "SearchFields", rename=RENAMED,
                                nested=(DatasetIn, SpaceIn, TrainingIn, LatencyIn, ScreeningIn, SupernetIn,
                                        DetectorIn))):  # type: ignore[misc]
    """A search to queue. Everything has a default: ``{}`` is a valid search on digits."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "name": "digits-latency",
                "dataset": {"source": "digits", "subset": 0.5},
                "space": {"skeleton": "proxy", "kinds": ["mbconv", "ghost"], "kernels": [3, 5]},
                "objective": "latency", "mode": "pareto", "sampler": "tpe", "pruner": "asha",
                "n_trials": 12, "n_workers": 2, "seed": 0, "training": {"epochs": 2},
            }]
        }
    )

    name: Label = None

    def to_config(self, **given: Any) -> SearchConfig:
        """The SearchConfig; a training field the request leaves out takes its task's default
        (``TASK_BUDGET_DEFAULTS``: batch 16 for detection) where the task has one, TrainBudget's otherwise."""
        given_fields = self.training.model_fields_set if "training" in self.model_fields_set else set()
        defaults = task_budget_defaults(self.task, given_fields)  # (the default training sets every field)
        if defaults and "budget" not in given:
            given["budget"] = within("training", lambda: replace(self.training.to_config(), **defaults))
        return super().to_config(**given)


class ArchitectureLinks(BaseModel):
    self: str
    code: str
    onnx: str
    torchscript: str
    weights: str


class ArchitecturePublic(BaseModel):
    """A network with its cost and, for a search trial, what was measured; ``origin`` says where it came from."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str | None
    search_id: uuid.UUID | None
    trial_number: int | None
    state: TrialStateName | None = Field(description="trial state; null for a scaled network")
    spec: dict[str, Any] | None = Field(description="the ArchSpec JSON")
    spec_string: str | None = Field(description="the ArchSpec's one-line form")
    params: int | None
    macs: int | None
    resolution: int | None
    accuracy: float | None = Field(description="the proxy's: validation accuracy after the search's short training")
    test_accuracy: float | None = Field(description="full fidelity: held-out test accuracy once trained (trained)")
    trained: dict[str, Any] | None = Field(description=(
        "what full-fidelity training found: curves (epochs), validation and test accuracy, recipe, trained spec, "
        "input mean and std, product files, the job (null until trained)"))
    latency_ms: float | None
    latency_p90_ms: float | None
    reward: float | None
    details: dict[str, Any] = Field(description="per-epoch accuracies, durations, CPU seconds, fidelity (epochs "
                                                "trained) and asha rung, device, reuse, rejection")
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
            return {**fields, "links": {"self": base, **{name: f"{base}/{name}"
                                                          for name in ("code", "onnx", "torchscript", "weights")}}}
        return data


class ArchitecturesPublic(BaseModel):
    data: list[ArchitecturePublic]
    count: int


class BaselinePublic(BaseModel):
    """A zoo network fitted to the search and trained with its budget, judged against its front."""

    name: str = Field(description="the zoo network")
    state: BaselineState
    dominated: bool | None = Field(description="whether a trial on the search's front dominates it (no worse in "
                                               "accuracy and cost, better in one); null until it is measured")
    dominated_by: int | None = Field(description="the cheapest front trial that dominates it")
    width: float | None = Field(description="the width multiplier that put it in the space's MACs range")
    changes: list[str] = Field(description="every change made to fit it to the data, resolution and MACs range")
    architecture: ArchitecturePublic


class BaselinesPublic(BaseModel):
    data: list[BaselinePublic]
    count: int


STUDY = Field(description="its Optuna study in the service database (optuna-dashboard lists it by this name; "
                          "nas finalize --study takes it)")


class SearchPublic(BaseModel):
    id: uuid.UUID
    name: str | None
    study: str = STUDY
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
    baselines: list[BaselinePublic] | None = Field(
        None, description="the zoo baselines beside the front (null in the list of searches: GET the search)")
    hypervolume_reference: HypervolumeReference | None = Field(
        None, description="the fixed cost the hypervolume is measured up to (null in the list of searches, and "
                          "before the first completed trial)")
    supernet: SupernetProgress | None = Field(
        None, description="strategy oneshot: the supernet's training (null before it starts, and for multi-trial)")
    config: dict[str, Any]


class SearchesPublic(BaseModel):
    data: list[SearchPublic]
    count: int


# --- scaling ------------------------------------------------------------------------------------------------


class BaseRef(Input):
    """Exactly one of: a stored architecture, a zoo network, an ArchSpec JSON."""

    architecture_id: uuid.UUID | None = None
    zoo: Text | None = Field(None, max_length=100, examples=["efficientnet_b0"])
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
    official: bool = Field(False, description=(
        "use the published EfficientNet B0..B7 table (phi 0..7) instead of alpha, beta, gamma: row phi's width, "
        "depth and dropout, and its resolution (exactly, for a base at 224 px; else scaled by the row's ratio to "
        "224). On efficientnet_b0 that gives B0..B7; on any other base, EfficientNet's hand-set multipliers "
        "applied to it (not fitted to it)"))

    @model_validator(mode="after")
    def _one_phi(self) -> ScalingCreate:
        if self.phi is not None and self.phi_range is not None:
            raise ValueError("give phi or phi_range, not both")
        return self


class ScalingsPublic(BaseModel):
    base: dict[str, Any] = Field(description="name, params, MACs and resolution of the base")
    data: list[ArchitecturePublic] = Field(description="scaled networks; origin holds phi and the multipliers")
    count: int


class ScalingSearchCreate(config_model(GridConfig, "GridFields", rename=RENAMED,
                                       nested=(DatasetIn, TrainingIn, LatencyIn, RecipeIn))):  # type: ignore[misc]
    """A grid search of alpha, beta, gamma >= 1 with alpha * beta^2 * gamma^2 near 2, run as a job.

    Each candidate proxy-trains the phi = 1 member of a proxy base (the base at ``proxy_width``,
    ``proxy_depth`` and ``resolution`` px) on the dataset; with ``fidelity: full`` it trains with ``recipe``
    instead, and the winner's family (``phis``) and its baselines train the same way.
    """

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"base": {"zoo": "efficientnet_b0"}, "dataset": {"source": "digits"},
                                         "step": 0.1, "max_candidates": 4, "training": {"epochs": 1}}]}
    )

    name: Label = None
    base: BaseRef


class ScalingSearchPublic(BaseModel):
    id: uuid.UUID
    name: str | None
    study: str = STUDY
    state: JobState
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None
    attempts: int
    config: dict[str, Any]
    result: dict[str, Any] | None = Field(description=(
        "every candidate's ratios and per-seed accuracies with their mean and spread, the rejected grid points, "
        "at full fidelity the family and its baselines trained (family: members and baselines with their test "
        "accuracy per seed, MACs, latency and product directory; comparisons: each member against its baselines), "
        "the choice and its comparison with the runner-up (verdict distinguishable, not_distinguishable or "
        "untested)"))


class ScalingSearchesPublic(BaseModel):
    data: list[ScalingSearchPublic]
    count: int


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


class ZooNetwork(ZooEntry):
    spec: dict[str, Any]


class ZooPublic(BaseModel):
    data: list[ZooEntry]
    count: int


class EmbeddedDriver(BaseModel):
    """The driver process the API runs beside it (``python -m api --with-driver``), restarted when it exits."""

    alive: bool
    pid: int | None
    restarts: int = Field(description="times it exited and was started again")
    last_exit_code: int | None = Field(description="how it last exited (negative: killed by that signal)")


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: jobs are queued and no driver is alive to run them (GET /v1/readyz answers 503)")
    database: str
    drivers: int = Field(description="drivers with a recent heartbeat (0: queued jobs wait)")
    queued: int
    running: int
    embedded_driver: EmbeddedDriver | None = Field(None, description="null when the API runs no driver itself")
