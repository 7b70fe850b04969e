"""A search's whole configuration as one frozen, validated, JSON-serialisable dataclass."""

from __future__ import annotations

import enum
import json
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from typing import Any

from searchspace.checks import check_float, check_int
from searchspace.detection import DetectorSpace
from searchspace.detection import zoo as detector_zoo
from searchspace.errors import SpecError
from searchspace.fields import as_dict, check_enum, doc
from searchspace.space import DETECTION_SPACE, PROXY_SPACE, SearchSpace
from searchspace.zoo import names as zoo_names
from workers.data import BOX_BUILT_IN, BUILT_IN, DatasetConfig, nested_from_dict
from workers.detection import RECIPE_DEFAULTS
from workers.latency import LatencyConfig
from workers.oneshot import SupernetTraining
from workers.screening import ScreeningConfig
from workers.search.rungs import RungConfig
from workers.training import TrainBudget

MAX_TRIALS = 100_000
MAX_BASELINES = 16


class Objective(enum.StrEnum):
    """The cost traded against accuracy: measured latency (ms) or counted multiply-adds."""

    LATENCY = "latency"
    MACS = "macs"


class Mode(enum.StrEnum):
    """Pareto front of accuracy and cost; MnasNet's reward ACC x (COST/T)^w; accuracy subject to COST <= T."""

    PARETO = "pareto"
    REWARD = "reward"
    CONSTRAINT = "constraint"


class Reward(enum.StrEnum):
    """MnasNet's reward exponent w: soft -0.07 on both sides of the target, hard -1 above it (0 below)."""

    SOFT = "soft"
    HARD = "hard"


class Sampler(enum.StrEnum):
    NSGA2 = "nsga2"
    TPE = "tpe"
    RANDOM = "random"


class Strategy(enum.StrEnum):
    """How candidates are judged: ``multi-trial`` trains every one (``budget``); ``oneshot`` trains one weight-
    sharing supernet first (``supernet``) and judges every candidate with the weights it inherits from it (batch
    norm re-estimated, then validated: about a second each on a CPU). The registry: workers.search.strategies."""

    MULTI_TRIAL = "multi-trial"
    ONESHOT = "oneshot"


class Task(enum.StrEnum):
    """What the searched networks do: ``classification`` (an ArchSpec, top-1 accuracy) or ``detection`` (a
    DetectorSpec: the sampled backbone under a sampled neck and head, COCO mAP@[.5:.95] in the accuracy slot).
    The registry of what each means for a trial, its baselines and finalize: workers.search.task."""

    CLASSIFICATION = "classification"
    DETECTION = "detection"


class Pruner(enum.StrEnum):
    """``asha``: MO-ASHA rungs (workers.search.rungs: at each rung only the best 1/eta by non-dominated sorting over
    accuracy so far and counted MACs go on); ``median``: stop a trial whose accuracy is below the median of the
    finished trials' at the same epoch (accuracy only)."""

    NONE = "none"
    MEDIAN = "median"
    ASHA = "asha"


# One network of each family in the seed chapter, the cheapest variant that is still the family's own design.
DEFAULT_BASELINES = ("mobilenet_v2", "ghostnet_1_0", "shufflenet_v2_x1_0", "micronet_m1", "efficientnet_b0")
# A detection search's: SSDLite on MobileNetV2 and MobileNetV3-Large, and the YOLOX-Nano-style net.
DETECTION_BASELINES = ("ssdlite320_mobilenet_v2", "ssdlite320_mobilenet_v3_large", "yolox_nano_style")
# The budget fields a task trains its trials with where a search does not give them (TrainBudget's defaults are
# classification's): a detector from scratch on a few hundred box images gets too few steps at batch 64.
TASK_BUDGET_DEFAULTS: dict[Task, dict[str, Any]] = {Task.DETECTION: {"batch_size": RECIPE_DEFAULTS["batch_size"]}}
_ENUMS = {"objective": Objective, "mode": Mode, "reward": Reward, "sampler": Sampler, "pruner": Pruner,
          "strategy": Strategy, "task": Task}

@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Everything a search needs. ``target`` is in ms (objective latency) or MACs (objective macs)."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig,
                                   metadata=doc("the data candidates train and validate on"))
    space: SearchSpace = field(default=PROXY_SPACE, metadata=doc("the architectures searched"))
    budget: TrainBudget = field(default_factory=TrainBudget,
                                metadata=doc("proxy training of every candidate"))
    latency: LatencyConfig = field(default_factory=LatencyConfig,
                                   metadata=doc("how every candidate's latency is measured"))
    objective: Objective = field(default=Objective.LATENCY, metadata=doc("the cost: latency (ms) or MACs"))
    mode: Mode = field(default=Mode.PARETO,
                       metadata=doc("pareto front, MnasNet reward, or accuracy under a cost constraint"))
    target: float | None = field(default=None,
                                 metadata=doc("latency in ms or MACs; needed by modes reward, constraint"))
    reward: Reward = field(default=Reward.SOFT,
                           metadata=doc("MnasNet reward: soft (w = -0.07) or hard (w = -1 above the target)"))
    sampler: Sampler = field(default=Sampler.TPE,
                             metadata=doc("Optuna sampler (tpe: multi-objective TPE in mode pareto)"))
    n_trials: int = field(default=20, metadata=doc("trials trained (completed or pruned) before it stops; "
                                                   "duplicate architectures do not count"))
    n_workers: int = field(default=2, metadata=doc("evaluations in parallel on Ray"))
    timeout_s: float | None = field(default=None, metadata=doc("wall-clock budget in seconds"))
    cpu_budget_s: float | None = field(default=None,
                                       metadata=doc("CPU-seconds budget: the search stops once its evaluations' "
                                                    "measured CPU time adds up to it"))
    seed: int = field(default=0, metadata=doc("sampler and training seed"))
    max_params: int | None = field(default=None,
                                   metadata=doc("candidates above are rejected before training"))
    max_macs: int | None = field(default=None, metadata=doc("candidates above are rejected before training"))
    baselines: tuple[str, ...] = field(
        default=DEFAULT_BASELINES,
        metadata=doc("zoo networks fitted to the data and the space's MACs range, trained with the same budget and "
                     "reported beside the front (never shown to the sampler); [] for none", may_be_empty=True))
    pruner: Pruner = field(default=Pruner.ASHA,
                           metadata=doc("asha: multi-objective successive halving at rungs of rung_min_epochs x "
                                        "rung_eta^k epochs; median: stop trials below the median learning curve; "
                                        "none: off"))
    rung_min_epochs: int = field(default=1, metadata=doc("asha: epochs at the first rung"))
    rung_eta: int = field(default=3, metadata=doc("asha: reduction factor; 1 in rung_eta trials at a rung goes on, "
                                                  "rungs at rung_min_epochs x rung_eta^k epochs"))
    pruner_warmup_epochs: int = field(default=1,
                                      metadata=doc("epochs a trial runs before the pruner may stop it"))
    pruner_min_trials: int = field(default=3, metadata=doc("finished trials that must have reached an epoch "
                                                           "before the pruner judges a trial at it"))
    screening: ScreeningConfig = field(default_factory=ScreeningConfig, metadata=doc(
        "zero-cost screening of sampled candidates that warms the sampler"))
    strategy: Strategy = field(default=Strategy.MULTI_TRIAL, metadata=doc(
        "multi-trial: train every candidate (budget); oneshot: train a weight-sharing supernet once (supernet), "
        "then judge each candidate with inherited weights (n_trials of them; the pruner does not apply)"))
    supernet: SupernetTraining = field(default_factory=SupernetTraining, metadata=doc(
        "strategy oneshot: how the supernet trains (its CPU time counts against cpu_budget_s)"))
    task: Task = field(default=Task.CLASSIFICATION, metadata=doc(
        "classification, or detection: the dataset is a box dataset (builtin-boxes, builtin-boxes-small or a "
        "COCO/VOC/YOLO directory), candidates are the space's backbones under the detector choices, accuracy is "
        "validation mAP@[.5:.95]; the space defaults to the detection skeleton and the baselines to SSDLite-"
        "MobileNetV2/V3 and the YOLOX-Nano-style net"))
    detector: DetectorSpace = field(default_factory=DetectorSpace, metadata=doc(
        "task detection: the neck and head choices searched beside the backbone's"))

    def __post_init__(self) -> None:
        for name, cls in (("dataset", DatasetConfig), ("space", SearchSpace), ("budget", TrainBudget),
                          ("latency", LatencyConfig), ("screening", ScreeningConfig),
                          ("supernet", SupernetTraining), ("detector", DetectorSpace)):
            if not isinstance(getattr(self, name), cls):
                raise SpecError(name, f"must be a {cls.__name__}")
        for name, kind in _ENUMS.items():
            object.__setattr__(self, name, check_enum(name, getattr(self, name), kind))
        self._check_task()
        check_int("n_trials", self.n_trials, 1, MAX_TRIALS)
        check_int("n_workers", self.n_workers, 1, 256)
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_int("pruner_warmup_epochs", self.pruner_warmup_epochs, 0, 1000)
        check_int("pruner_min_trials", self.pruner_min_trials, 1, 1000)
        object.__setattr__(self, "baselines", check_baselines(self.baselines, self.task))
        check_int("rung_min_epochs", self.rung_min_epochs, 1, 10_000)
        check_int("rung_eta", self.rung_eta, 2, 100)
        for name, most in (("timeout_s", 30 * 86400.0), ("cpu_budget_s", 1e9)):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, float(check_float(name, getattr(self, name), 1.0, most)))
        for name in ("max_params", "max_macs"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1, 10**15)
        if self.target is not None:
            object.__setattr__(self, "target", float(check_float("target", self.target, 1e-6, 1e15)))
        elif self.mode != Mode.PARETO:
            raise SpecError("target", f"mode {self.mode.value!r} needs a target ({self.target_unit})")

    def _check_task(self) -> None:
        """The dataset must be of the task's kind; a detection search takes the detection defaults (skeleton,
        baselines) where the classification ones were left, and refuses what only classifies."""
        source = self.dataset.source
        if self.task == Task.CLASSIFICATION:
            if source in BOX_BUILT_IN:
                raise SpecError("dataset.source", f"{source!r} is a box (detection) dataset: set task 'detection'")
            return
        if source in BUILT_IN:
            raise SpecError("dataset.source", f"{source!r} is a classification dataset; task 'detection' needs "
                                              f"{' or '.join(BOX_BUILT_IN)} or a COCO, VOC or YOLO directory")
        if self.strategy != Strategy.MULTI_TRIAL:
            raise SpecError("strategy", "the one-shot strategy searches classifiers only; task 'detection' needs "
                                        "'multi-trial'")
        if self.screening.proxy != "none":
            raise SpecError("screening.proxy", "zero-cost screening scores classifiers only; task 'detection' needs "
                                               "'none'")
        if self.latency.profile_id is not None:
            raise SpecError("latency.device", "a device profile covers classifier blocks only, not detection necks "
                                              "and heads: measure on the workers (cpu / cuda) or use objective macs")
        if self.space == PROXY_SPACE:
            object.__setattr__(self, "space", DETECTION_SPACE)
        reductions, stride = set(), self.space.stem_stride
        for stage in self.space.stages:
            stride *= stage.stride
            reductions.add(stride)
        if not {8, 16, 32} <= reductions:
            raise SpecError("space", f"a detection backbone needs stages at strides 8, 16 and 32 (these reach "
                                     f"{sorted(reductions)}): use the 'detection' skeleton")
        if isinstance(self.baselines, list | tuple) and tuple(self.baselines) == DEFAULT_BASELINES:
            object.__setattr__(self, "baselines", DETECTION_BASELINES)

    @property
    def rungs(self) -> RungConfig:
        """The asha pruner's rungs: below the full budget of ``budget.epochs``."""
        return RungConfig.geometric(self.rung_min_epochs, self.rung_eta, self.budget.epochs)

    @property
    def times_latency(self) -> bool:
        """Whether workers time each candidate's latency: the cost is latency (the front, the reward or the
        constraint needs it) or ``latency.always`` asks for it; a device profile's prediction costs nothing."""
        return self.objective == Objective.LATENCY or self.latency.always

    @property
    def target_unit(self) -> str:
        return "ms" if self.objective == Objective.LATENCY else "MACs"

    def with_data_shape(self, num_classes: int, in_chans: int) -> SearchConfig:
        """The same search with the space sized for the dataset's classes and channels."""
        return replace(self, space=replace(self.space, num_classes=num_classes, in_chans=in_chans))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (stored, and hashed into study names: keep it byte-stable).

        ``screening``, ``cpu_budget_s``, ``rung_min_epochs``, ``rung_eta``, ``strategy``, ``supernet``, ``task`` and
        ``detector`` came after
        study names were pinned: each is written only when it is not its default, so that every earlier config
        keeps its bytes and its study name.
        """
        data = as_dict(self)
        data.update(dataset=self.dataset.to_dict(), space=self.space.to_dict(), budget=self.budget.to_dict(),
                    latency=self.latency.to_dict(), baselines=list(self.baselines),
                    screening=self.screening.to_dict(), supernet=self.supernet.to_dict(),
                    detector=self.detector.to_dict())
        for name, default in (("screening", ScreeningConfig()), ("supernet", SupernetTraining()),
                              ("detector", DetectorSpace())):
            if getattr(self, name) == default:
                del data[name]
        for name in ("cpu_budget_s", "rung_min_epochs", "rung_eta", "strategy", "task"):
            if getattr(self, name) == _DEFAULTS[name]:
                del data[name]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> SearchConfig:
        """The config of JSON data; a budget field the data leaves out takes its task's default
        (``TASK_BUDGET_DEFAULTS``), TrainBudget's otherwise."""
        return nested_from_dict(cls, with_task_defaults(data), {"dataset": DatasetConfig, "budget": TrainBudget, "latency": LatencyConfig,
                                            "screening": ScreeningConfig, "supernet": SupernetTraining,
                                            "detector": DetectorSpace}, "config")


def task_budget_defaults(task: object, given: Collection[str]) -> dict[str, Any]:
    """The budget fields task ``task`` (a Task or its value) sets where a search's budget does not give them
    (``given``: the fields it gives); {} for an unknown task (the config then names the bad task)."""
    known = {t.value: d for t, d in TASK_BUDGET_DEFAULTS.items()}  # an Enum member hashes by name, not value
    defaults = known.get(task, {}) if isinstance(task, str) else {}
    return {k: v for k, v in defaults.items() if k not in given}


def with_task_defaults(data: Any) -> Any:
    """``data`` (a SearchConfig's JSON form, as a config file, the command line or a stored search gives it) with
    its task's budget defaults where its budget leaves them out; anything not a JSON object as it is."""
    if not isinstance(data, dict) or not isinstance(data.get("budget", {}), dict):
        return data
    budget = data.get("budget", {})
    defaults = task_budget_defaults(data.get("task", Task.CLASSIFICATION.value), budget)
    return {**data, "budget": {**budget, **defaults}} if defaults else data


def check_baselines(baselines: object, task: Task = Task.CLASSIFICATION) -> tuple[str, ...]:
    """A list of distinct zoo network names (detector zoo names for task detection), as a tuple; SpecError naming
    ``baselines`` and the allowed names otherwise."""
    allowed = detector_zoo.names() if task == Task.DETECTION else zoo_names()
    if isinstance(baselines, list):
        baselines = tuple(baselines)
    if not isinstance(baselines, tuple) or not all(isinstance(b, str) for b in baselines):
        raise SpecError("baselines", f"must be a list of zoo network names; allowed: {', '.join(allowed)}")
    unknown = [b for b in baselines if b not in allowed]
    if unknown:
        raise SpecError("baselines", f"unknown {'detector ' if task == Task.DETECTION else ''}zoo network "
                                     f"{unknown[0]!r:.80}; allowed: {', '.join(allowed)}")
    if len(set(baselines)) != len(baselines):
        raise SpecError("baselines", f"must not repeat a network, got {list(baselines)}")
    if len(baselines) > MAX_BASELINES:
        raise SpecError("baselines", f"at most {MAX_BASELINES} networks, got {len(baselines)}")
    return baselines


_DEFAULTS = {f.name: f.default for f in dataclass_fields(SearchConfig)}
