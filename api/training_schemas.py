"""Request and response schemas of full-fidelity training: ``POST /v1/trainings`` (one architecture) and
``POST /v1/searches/{id}/finalize`` (a search's top-k and baselines), derived from ``TrainConfig``,
``FinalizeConfig`` and ``TrainRecipe`` (``api.derive``), and the jobs as responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.derive import config_model
from api.schemas import BaseRef, DatasetIn, JobState, Label
from workers.search import FinalizeConfig
from workers.training import TrainConfig, TrainRecipe

RecipeIn = config_model(TrainRecipe, "RecipeIn")


class TrainingCreate(config_model(TrainConfig, "TrainingFields", nested=(DatasetIn, RecipeIn))):  # type: ignore[misc]
    """One architecture to train at full fidelity: a stored architecture, a zoo network (fitted to the data's
    classes, channels and resolution as a search fits its baselines) or an ArchSpec."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"architecture": {"zoo": "mobilenet_v2"}, "dataset": {"source": "digits"},
         "recipe": {"epochs": 10, "resolution": 16, "batch_size": 64}},
        {"architecture": {"architecture_id": "00000000-0000-0000-0000-000000000000"}, "recipe": {"epochs": 30}},
    ]})

    name: Label = None
    architecture: BaseRef
    dataset: DatasetIn | None = Field(None, description=(  # type: ignore[valid-type]
        "the data; null: a search's architecture trains on its search's data (all of it: subset 1), any other "
        "on the built-in digits"))


class FinalizeCreate(config_model(FinalizeConfig, "FinalizeFields", nested=(RecipeIn,))):  # type: ignore[misc]
    """How to finalize the search: its top-k architectures and its baselines, trained with the recipe."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"top_k": 3, "baselines": True, "recipe": {"epochs": 10, "resolution": 16, "batch_size": 64}}]})

    name: Label = None


class _Job(BaseModel):
    id: uuid.UUID
    name: str | None
    state: JobState
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None
    attempts: int = Field(description="times a driver claimed it (more than 1: resumed after a restart)")
    config: dict[str, Any]


class TrainingPublic(_Job):
    architecture_id: uuid.UUID | None = Field(description="the architecture it trains (the trained network is "
                                                          "recorded there: test_accuracy, trained)")
    result: dict[str, Any] | None = Field(description=(
        "network: its state (WAITING, RUNNING, COMPLETE, FAIL), epochs_total and every finished epoch (training "
        "loss, validation accuracy of the weights and of their EMA, learning rate, seconds) as it trains; once "
        "trained, the selected checkpoint's validation and held-out test accuracy, resumed_from (epochs a "
        "checkpoint held when the last run started) and the product's files"))


class TrainingsPublic(BaseModel):
    data: list[TrainingPublic]
    count: int


class FinalizePublic(_Job):
    search_id: uuid.UUID | None = Field(description="the search it finalizes (null once the search is deleted)")
    result: dict[str, Any] | None = Field(description=(
        "networks: per network (trial-N, baseline-NAME) its state, proxy accuracy, epochs so far and, once "
        "trained, full-fidelity validation and test accuracy and its architecture_id; at the end proxy_truth, "
        "cpu_seconds and stopped"))
    proxy_truth: dict[str, Any] | None = Field(None, description=(
        "once it ends: agreement (Spearman's rho and Kendall's tau between proxy and full-fidelity test accuracy, "
        "with p-values, over n networks), agreement_sentence (says in words when the correlation is weak), front "
        "(the trials on the fully trained front), baselines (whether that front dominates each at the search's "
        "cost) and dominance_sentence"))


class FinalizesPublic(BaseModel):
    data: list[FinalizePublic]
    count: int
