"""Training: the proxy budget and its seeded loop, one trial's evaluation (training, then latency and counted
MACs), and full-fidelity training (the recipe, Kornia augmentation, checkpoints, the product files, the
``train`` command)."""

from __future__ import annotations

from workers.training.budget import (
    DeviceUnavailable,
    EpochCallback,
    Stopped,
    TrainBudget,
    TrainDevice,
    TrainResult,
)
from workers.training.checkpoint import (
    CheckpointMismatch,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from workers.training.evaluation import Durations, Evaluation, evaluate, measured, with_latency
from workers.training.fullfit import EpochRecord, FullFitResult, fit, trained_spec, warmup_cosine
from workers.training.loop import (
    accuracy,
    build_seeded,
    calibrate_bn,
    cosine_lrs,
    make_optimizer,
    train_and_evaluate,
    train_device,
)
from workers.training.measurements import Measurements
from workers.training.network import (
    CHECKPOINT,
    PROGRESS,
    TrainConfig,
    fitted_zoo,
    read_progress,
    train_network,
    write_json,
)
from workers.training.product import FILES, save_product
from workers.training.recipe import AutoAugment, RecipeOptimizer, TrainRecipe
from workers.training.train_cli import add_train_flags, train_command

__all__ = [
    "CHECKPOINT",
    "FILES",
    "PROGRESS",
    "AutoAugment",
    "CheckpointMismatch",
    "DeviceUnavailable",
    "Durations",
    "EpochCallback",
    "EpochRecord",
    "Evaluation",
    "FullFitResult",
    "Measurements",
    "RecipeOptimizer",
    "Stopped",
    "TrainBudget",
    "TrainConfig",
    "TrainDevice",
    "TrainRecipe",
    "TrainResult",
    "accuracy",
    "add_train_flags",
    "build_seeded",
    "calibrate_bn",
    "cosine_lrs",
    "evaluate",
    "fit",
    "fitted_zoo",
    "load_checkpoint",
    "make_optimizer",
    "measured",
    "read_progress",
    "rng_state",
    "save_checkpoint",
    "save_product",
    "set_rng_state",
    "train_and_evaluate",
    "train_command",
    "train_device",
    "train_network",
    "trained_spec",
    "warmup_cosine",
    "with_latency",
    "write_json",
]
