"""The proxy-training budget (TrainBudget: epochs, batch, optimizer, time limit, device placement) and its result (TrainResult)."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from searchspace.checks import check_bool, check_float, check_int
from searchspace.fields import as_dict, check_enum, doc

EpochCallback = Callable[[int, float], bool | None]


class Optimizer(enum.StrEnum):
    SGD = "sgd"
    ADAM = "adam"
    ADAMW = "adamw"


class Stopped(enum.StrEnum):
    """Why a training run ended before its last epoch (``TrainResult.stopped``; None when all epochs ran)."""

    CALLBACK = "callback"  # the early-stopping rule (``on_epoch``) said stop
    TIME = "time"  # the per-trial ``max_seconds`` cap
    DIVERGED = "diverged"  # the loss became NaN or infinite
    PLATEAU = "plateau"  # full-fidelity training: validation accuracy stopped improving (``TrainRecipe.patience``)


class TrainDevice(enum.StrEnum):
    """Where a trial trains: ``auto`` is CUDA when the worker was given a GPU, else the CPU."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class DeviceUnavailable(RuntimeError):
    """``training.device`` asks for CUDA where there is none (the message says where and what to set)."""


@dataclass(frozen=True, kw_only=True)
class TrainBudget:
    """How much to train: epochs, batch, optimizer and learning rate (cosine-annealed to 0 per step).

    ``subset`` trains on that (stratified, seeded) fraction of the training split; ``max_seconds`` stops
    training once that many seconds have passed since it started (the model is then validated and the run
    marked stopped).

    Before each validation pass the batch-norm running statistics are re-estimated on ``bn_calibration``
    training images (0: off): after a few hundred steps the running averages still lag far behind the weights
    (with the momentum of 0.01 that EfficientNet uses, most of the initial statistics remain), which would
    make proxy accuracy meaningless (on digits: 0.18 instead of 0.52 after one epoch).
    """

    epochs: int = field(default=3, metadata=doc("training epochs per trial"))
    batch_size: int = field(default=64, metadata=doc("training batch size"))
    lr: float = field(default=0.1,
                      metadata=doc("peak learning rate, cosine-annealed to 0 (SGD; Adam(W) wants about 3e-3)"))
    optimizer: Optimizer = field(default=Optimizer.SGD,
                                 metadata=doc("sgd (Nesterov momentum), adam or adamw"))
    momentum: float = field(default=0.9, metadata=doc("SGD momentum"))
    weight_decay: float = field(default=5e-5,
                                metadata=doc("on weights only, not on norm parameters and biases"))
    subset: float = field(default=1.0, metadata=doc("fraction of the training split used per epoch"))
    label_smoothing: float = field(default=0.0, metadata=doc("label smoothing of the cross-entropy loss"))
    max_seconds: float | None = field(default=None,
                                      metadata=doc("training time cap per trial (seconds, at least 0.001; "
                                                  "null: none); the first step always runs"))
    eval_batch_size: int = field(default=512, metadata=doc("validation batch size"))
    bn_calibration: int = field(default=512, metadata=doc("training images that re-estimate batch-norm "
                                                          "statistics before each validation (0: off)"))
    device: TrainDevice = field(default=TrainDevice.AUTO,
                                metadata=doc("auto (CUDA when the trial's Ray worker has a GPU), cpu or cuda"))
    gpus_per_trial: float = field(default=0.25, metadata=doc("GPUs each trial asks Ray for when it trains on "
                                                             "CUDA (fractions pack trials: 0.25 = 4 per GPU)"))
    amp: bool = field(default=False, metadata=doc("mixed precision: float16 autocast with loss scaling on CUDA, "
                                                  "bfloat16 autocast on the CPU"))

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1, 10_000)
        check_int("batch_size", self.batch_size, 2, 65_536)
        for name, lo, hi in (("lr", 1e-8, 10.0), ("momentum", 0.0, 0.999), ("weight_decay", 0.0, 1.0),
                             ("subset", 1e-4, 1.0), ("label_smoothing", 0.0, 0.5)):
            object.__setattr__(self, name, float(check_float(name, getattr(self, name), lo, hi)))
        object.__setattr__(self, "optimizer", check_enum("optimizer", self.optimizer, Optimizer))
        if self.max_seconds is not None:
            # at least 1 ms: JSON's 1e-400 reads as 0, which no clock measures
            object.__setattr__(self, "max_seconds", float(check_float("max_seconds", self.max_seconds, 1e-3, 1e7)))
        check_int("eval_batch_size", self.eval_batch_size, 1, 65_536)
        check_int("bn_calibration", self.bn_calibration, 0, 10_000_000)
        object.__setattr__(self, "device", check_enum("device", self.device, TrainDevice))
        object.__setattr__(self, "gpus_per_trial", float(check_float("gpus_per_trial", self.gpus_per_trial,
                                                                     0.01, 64.0)))
        check_bool("amp", self.amp)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON; the placement fields (device, gpus_per_trial, amp) only when set to other than their
        defaults, so that configs written before they existed keep their bytes (and their study names)."""
        data = as_dict(self)
        for name in PLACEMENT_FIELDS:
            if getattr(self, name) == self.__dataclass_fields__[name].default:
                del data[name]
        return data


PLACEMENT_FIELDS = ("device", "gpus_per_trial", "amp")


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    """Validation top-1 after the last epoch run, per-epoch history, timing and why training stopped early.

    ``stopped`` is None (all epochs ran) or a ``Stopped``: ``CALLBACK`` (``on_epoch`` returned False), ``TIME``
    (``max_seconds`` reached) or ``DIVERGED`` (the training loss became NaN or infinite).
    ``train_seconds`` counts the training steps only (wall clock; ``train_cpu_seconds`` is the process's CPU
    time over the same steps: far below ``train_seconds * threads`` means the CPUs were oversubscribed);
    validation passes are ``eval_seconds``.
    """

    accuracy: float
    epoch_accuracies: tuple[float, ...]
    epoch_losses: tuple[float, ...]
    epochs_run: int
    train_seconds: float
    train_cpu_seconds: float
    eval_seconds: float
    images_per_second: float
    images_seen: int
    train_size: int
    val_size: int
    stopped: Stopped | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["stopped"] = None if self.stopped is None else self.stopped.value
        data["epoch_accuracies"] = list(self.epoch_accuracies)
        data["epoch_losses"] = [v if math.isfinite(v) else None for v in self.epoch_losses]
        return data
