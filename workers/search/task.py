"""What a search's task (``SearchConfig.task``) means for everything that builds, trains and scores a network.

One ``SearchTask`` per ``Task``, registered in ``TASKS``; the driver, the baselines, the CLI and finalize ask it
instead of branching on the task:

- ``sized(config)``: the config with its space sized to the data (classes, channels);
- ``propose(trial, config)``: the architecture the sampler's trial describes (ArchSpec or DetectorSpec);
- ``cost(spec)``: its counted (params, MACs), no module built;
- ``evaluate(spec, config, ticket)``: train and measure it in a Ray worker (the ``accuracy`` slot holds
  top-1 for classification, validation mAP@[.5:.95] for detection);
- ``baseline(name, config)``: a zoo network fitted to the search (``searchspace.fit.Adapted``);
- ``shipped(config)``: the dataset shipped to Ray nodes (None: read where the worker runs);
- ``data(config)``: the dataset its workers read (a job checks it again before it starts);
- ``recipe`` and ``train_network``: how finalize trains each network.

Adding a task: a member of ``Task``, a ``SearchTask`` here and its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace import zoo
from searchspace.counter import count
from searchspace.detection import DetectorSpec, count_detector, sample_detector
from searchspace.fit import Adapted, adapt_to_space
from searchspace.space import sample
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig
from workers.detection import BoxDatasetConfig
from workers.search.config import SearchConfig, Task
from workers.search.detection_task import (
    adapt_detector,
    box_data,
    detection_recipe,
    evaluate_detector,
    train_detector_network,
)
from workers.search.trial import Ticket, epoch_check
from workers.training import TrainRecipe, train_network

if TYPE_CHECKING:
    import optuna

Spec = ArchSpec | DetectorSpec


def _classification_sized(config: SearchConfig) -> SearchConfig:
    info = config.dataset.validate()
    return config.with_data_shape(info.num_classes, info.in_chans)


def _detection_sized(config: SearchConfig) -> SearchConfig:
    source = box_data(config.dataset).read()
    return config.with_data_shape(len(source.class_names), 3)


def _classification_about(config: SearchConfig) -> str:
    info = config.dataset.validate()
    return f"dataset {info.source}: {info.num_classes} classes, {info.train_size} train / {info.val_size} val"


def _detection_about(config: SearchConfig) -> str:
    source = box_data(config.dataset).read()
    return (f"box dataset {source.source}: {len(source.class_names)} classes, {len(source.records)} images; "
            f"heads {', '.join(config.detector.heads)}, necks {', '.join(config.detector.necks)}")


def _classification_cost(spec: ArchSpec) -> tuple[int, int]:
    c = count(spec)
    return c.params, c.macs


def _detection_cost(spec: DetectorSpec) -> tuple[int, int]:
    c = count_detector(spec)
    return c.params, c.macs


def _evaluate_classifier(spec: ArchSpec, config: SearchConfig, ticket: Ticket | None = None) -> dict[str, Any]:
    from workers.training import evaluate

    latency = config.latency if config.times_latency else None
    result = evaluate(spec, config.dataset, config.budget, seed=config.seed, latency=latency,
                      threads=config.latency.threads, on_epoch=epoch_check(ticket))
    return result.measurements()


@dataclass(frozen=True)
class SearchTask:
    """One task's parts (see the module docstring)."""

    sized: Callable[[SearchConfig], SearchConfig]
    propose: Callable[[optuna.trial.BaseTrial, SearchConfig], Spec]
    cost: Callable[[Any], tuple[int, int]]
    evaluate: Callable[..., dict[str, Any]]
    baseline: Callable[[str, SearchConfig], Adapted]
    shipped: Callable[[SearchConfig], DatasetConfig | None]
    data: Callable[[SearchConfig], DatasetConfig | BoxDatasetConfig]  # what its workers read (checked by jobs)
    train_network: Callable[..., dict[str, Any]]
    metric: str  # what the accuracy slot holds, for people
    describe: Callable[[SearchConfig], str]  # the data, for the terminal
    recipe: Callable[[TrainRecipe], TrainRecipe]  # finalize's recipe as this task trains with it


TASKS: dict[Task, SearchTask] = {
    Task.CLASSIFICATION: SearchTask(
        sized=_classification_sized,
        propose=lambda trial, config: sample(trial, config.space),
        cost=_classification_cost,
        evaluate=_evaluate_classifier,
        baseline=lambda name, config: adapt_to_space(zoo.get(name), config.space, name, config.max_macs),
        shipped=lambda config: config.dataset,
        data=lambda config: config.dataset,
        train_network=train_network,
        metric="accuracy",
        describe=_classification_about,
        recipe=lambda recipe: recipe,
    ),
    Task.DETECTION: SearchTask(
        sized=_detection_sized,
        propose=lambda trial, config: sample_detector(trial, config.space, config.detector, config.space.num_classes),
        cost=_detection_cost,
        evaluate=evaluate_detector,
        baseline=adapt_detector,
        shipped=lambda config: None,
        data=lambda config: box_data(config.dataset),
        train_network=train_detector_network,
        metric="mAP@[.5:.95]",
        describe=_detection_about,
        recipe=detection_recipe,
    ),
}


def evaluate_trial(spec: Spec, config: SearchConfig, referee: Ticket | None = None) -> dict[str, Any]:
    """Train and measure ``spec`` as the search's task does; the JSON-ready measurements the driver records. Runs
    in a Ray worker (the search's default evaluation)."""
    return TASKS[config.task].evaluate(spec, config, referee)
