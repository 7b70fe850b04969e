"""How far a search got: its trials against the budget, and a one-shot search's supernet training."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from workers.search import SupernetState

SupernetStateName = Literal[tuple(s.value for s in SupernetState)]  # type: ignore[valid-type]


class Progress(BaseModel):
    budget: int = Field(description="trials to train")
    complete: int
    pruned: int
    failed: int
    rejected: int = Field(description="pruned before training: above max_params or max_macs")


class SupernetProgress(BaseModel):
    """How far a one-shot search's supernet training got: its steps and its per-epoch curves."""

    state: SupernetStateName = Field(description="training, trained, or stopped (the search was stopped while "
                                                 "it trained; a resumed search trains on)")
    step: int = Field(description="optimizer steps done")
    steps: int = Field(description="steps of the whole training (0 until the trainer has counted them)")
    resumed_at_step: int = Field(0, description="the step its last run resumed at, from its checkpoint")
    epochs_run: int = 0
    epoch_losses: list[float | None] = Field([], description="per epoch: the largest sub-network's mean loss")
    epoch_distill_losses: list[float | None] = Field([], description="per epoch: the other sub-networks' mean "
                                                                     "distillation loss")
    largest_accuracies: list[float | None] = Field([], description="per epoch: the largest sub-network's "
                                                                   "validation accuracy (inherited weights)")
    smallest_accuracies: list[float | None] = Field([], description="per epoch: the smallest's")
    random_accuracies: list[float | None] = Field([], description="per epoch: the median of random sub-networks' "
                                                                  "(how well the weights serve the sub-networks "
                                                                  "between the extremes)")
    train_seconds: float | None = None
    cpu_seconds: float | None = Field(None, description="CPU time of the training so far (counts against the "
                                                        "search's cpu_budget_s)")
    stopped: str | None = None
