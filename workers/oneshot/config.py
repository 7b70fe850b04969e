"""A supernet training run's configuration: how the shared weights train (``SupernetTraining``, also a search's
``supernet`` field) and the whole run (``OneShotConfig``: data, space, training, seed), frozen, validated and
JSON-serialisable."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from typing import Any

from searchspace.checks import check_bool, check_float, check_int
from searchspace.errors import SpecError
from searchspace.fields import as_dict, check_enum, doc
from searchspace.space import PROXY_SPACE, SearchSpace
from workers.data import DatasetConfig, nested_from_dict
from workers.training import TrainBudget

MAX_RANDOM_SUBNETS = 16
MAX_DDP_WORKERS = 256
MAX_JUDGED_RANDOM = 64


class ExtremeKinds(enum.StrEnum):
    """The block kinds of the sandwich's largest and smallest sub-networks, per stage: the kind with the most
    (fewest) counted MACs, or a kind at random each step (every kind's extremes then learn from the labels)."""

    MACS = "macs"
    RANDOM = "random"


class Sampling(enum.StrEnum):
    """How the sandwich's random sub-networks are drawn: every choice uniformly (``uniform``), or one block kind
    for the whole network (``kind``: a random kind, every stage of it, the other choices uniform; a network of
    mixed kinds is then never trained, only judged) or ``mixed``: the two alternately, step by step."""

    UNIFORM = "uniform"
    KIND = "kind"
    MIXED = "mixed"


@dataclass(frozen=True, kw_only=True)
class SupernetTraining:
    """How a supernet's shared weights train by the sandwich rule (BigNAS).

    Every step trains the largest sub-network on the labels, then the smallest and ``random_subnets`` random
    ones on the largest's soft predictions (in-place distillation; on the labels when ``distill`` is off),
    accumulating the gradients of all of them into one optimizer step. ``budget`` gives the epochs, batch,
    optimizer, learning rate (cosine-annealed per step), weight decay, label smoothing (of the largest's loss),
    the training subset, the batch-norm calibration images and the validation batch with which sub-networks are
    judged; its ``max_seconds`` stops training. A checkpoint is written after every epoch and, with
    ``checkpoint_steps``, every that many steps. ``ddp_workers`` > 0 trains with Ray Train's ``TorchTrainer``
    (DistributedDataParallel over that many workers, each on its share of every batch) instead of one process.
    """

    budget: TrainBudget = field(default_factory=lambda: TrainBudget(epochs=10),
                                metadata=doc("epochs, batch, optimizer and schedule of the shared training"))
    random_subnets: int = field(default=2, metadata=doc("random sub-networks trained each step beside the "
                                                        "largest and the smallest"))
    sampling: Sampling = field(default=Sampling.UNIFORM, metadata=doc(
        "how the random sub-networks are drawn: uniform (every choice at random), kind (one block kind for the "
        "whole network) or mixed (the two alternately)"))
    extreme_kinds: ExtremeKinds = field(default=ExtremeKinds.MACS, metadata=doc(
        "block kind per stage of the largest and smallest sub-networks: macs (the kind with the most / fewest "
        "MACs) or random (any kind, drawn each step)"))
    progressive: float = field(default=0.0, metadata=doc(
        "fraction of the training over which the random sub-networks grow from the largest one to the whole "
        "space: at step s of S each of their choices is drawn with probability min(1, s / (progressive x S)) and "
        "is the largest one's otherwise (0: the whole space from the first step)"))
    judged_random: int = field(default=4, metadata=doc(
        "random sub-networks judged after each epoch besides the largest and the smallest (their median "
        "accuracy is a curve of its own: how well the weights serve the sub-networks between the extremes)"))
    distill: bool = field(default=True, metadata=doc("in-place distillation: sub-networks learn the largest "
                                                     "one's soft predictions (off: the labels)"))
    temperature: float = field(default=1.0, metadata=doc("softmax temperature of the distillation"))
    checkpoint_steps: int = field(default=0, metadata=doc("also checkpoint every that many steps (0: after each "
                                                          "epoch only)"))
    ddp_workers: int = field(default=0, metadata=doc(
        "0: train in one process (a Ray task); n: Ray Train's TorchTrainer, DistributedDataParallel over n "
        "workers (gloo on CPUs, nccl on GPUs)"))

    def __post_init__(self) -> None:
        if not isinstance(self.budget, TrainBudget):
            raise SpecError("budget", "must be a TrainBudget")
        check_int("random_subnets", self.random_subnets, 0, MAX_RANDOM_SUBNETS)
        object.__setattr__(self, "sampling", check_enum("sampling", self.sampling, Sampling))
        object.__setattr__(self, "extreme_kinds", check_enum("extreme_kinds", self.extreme_kinds, ExtremeKinds))
        object.__setattr__(self, "progressive", float(check_float("progressive", self.progressive, 0.0, 1.0)))
        check_int("judged_random", self.judged_random, 0, MAX_JUDGED_RANDOM)
        check_bool("distill", self.distill)
        object.__setattr__(self, "temperature", float(check_float("temperature", self.temperature, 0.1, 20.0)))
        check_int("checkpoint_steps", self.checkpoint_steps, 0, 10_000_000)
        check_int("ddp_workers", self.ddp_workers, 0, MAX_DDP_WORKERS)

    def to_dict(self) -> dict[str, Any]:
        return {**as_dict(self), "budget": self.budget.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> SupernetTraining:
        """From JSON data; a SpecError names the field path below this config (put it under the caller's name
        with ``SpecError.within``)."""
        return nested_from_dict(cls, data, {"budget": TrainBudget}, "")


@dataclass(frozen=True, kw_only=True)
class OneShotConfig:
    """Train a weight-sharing supernet over ``space`` on ``dataset`` as ``training`` says (the sandwich rule with
    in-place distillation), seeded by ``seed``."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig, metadata=doc("the data the supernet trains on"))
    space: SearchSpace = field(default=PROXY_SPACE,
                               metadata=doc("the search space whose sub-networks share weights"))
    training: SupernetTraining = field(default_factory=SupernetTraining,
                                       metadata=doc("how the shared weights train"))
    seed: int = field(default=0, metadata=doc("seed of the weights, the batch order and the sampled sub-networks"))

    def __post_init__(self) -> None:
        for name, cls in (("dataset", DatasetConfig), ("space", SearchSpace), ("training", SupernetTraining)):
            if not isinstance(getattr(self, name), cls):
                raise SpecError(name, f"must be a {cls.__name__}")
        check_int("seed", self.seed, 0, 2**31 - 1)

    @property
    def budget(self) -> TrainBudget:
        return self.training.budget

    def with_data_shape(self, num_classes: int, in_chans: int) -> OneShotConfig:
        """The same run with the space sized for the dataset's classes and channels."""
        return replace(self, space=replace(self.space, num_classes=num_classes, in_chans=in_chans))

    def to_dict(self) -> dict[str, Any]:
        data = as_dict(self)
        data.update(dataset=self.dataset.to_dict(), space=self.space.to_dict(), training=self.training.to_dict())
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> OneShotConfig:
        return nested_from_dict(cls, data, {"dataset": DatasetConfig, "training": SupernetTraining}, "config")
