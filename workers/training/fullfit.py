"""Full-fidelity training of one architecture: the recipe's loop on the training split, model selection on the
validation split, the selected weights scored once on the held-out test split; a checkpoint every epoch, from
which a killed run resumes."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_int
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig, DatasetInfo, SplitData
from workers.training.augment import Augment
from workers.training.budget import Stopped
from workers.training.checkpoint import (
    averaged,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    sync_buffers,
)
from workers.training.loop import (
    accuracy,
    build_seeded,
    calibrate_bn,
    check_data,
    make_optimizer,
    train_device,
)
from workers.training.recipe import TrainRecipe

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True, kw_only=True)
class EpochRecord:
    """One epoch: mean training loss, validation top-1 of the weights and of their EMA (None without EMA)."""

    epoch: int
    train_loss: float | None
    val_accuracy: float
    ema_val_accuracy: float | None
    lr: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


EpochHook = Callable[[EpochRecord], bool | None]
Weights = Mapping[str, "torch.Tensor"]  # a state dict a run starts from


@dataclass(frozen=True, kw_only=True)
class FullFitResult:
    """A finished full-fidelity run: its curves, the selected checkpoint and its test accuracy.

    ``selected`` is ``"weights"`` or ``"ema"`` (which of the two won on validation at ``best_epoch``);
    ``stopped`` is ``""`` (all epochs ran), ``"plateau"`` (``patience`` epochs without improvement),
    ``"diverged"`` (non-finite training loss) or ``"callback"``. ``resumed_from`` is the number of epochs a
    checkpoint already held when this call started. ``train_seconds`` is the wall time of the training steps and
    ``train_cpu_seconds`` the process's CPU time over them (both over every run of a resumed training).
    ``mean``/``std`` normalise the inputs of the weights. With the recipe's ``int8``, ``int8_onnx`` is the selected
    weights quantized to int8 (``workers.training.int8``) and ``int8_test_accuracy`` its accuracy on the same test
    split; ``int8_error`` says why there is none.
    """

    spec: ArchSpec
    recipe: TrainRecipe
    dataset: DatasetInfo
    epochs: tuple[EpochRecord, ...]
    best_epoch: int
    selected: str
    val_accuracy: float
    test_accuracy: float
    test_size: int
    stopped: str
    resumed_from: int
    train_seconds: float
    images_per_second: float
    train_cpu_seconds: float = 0.0
    mean: tuple[float, ...]
    std: tuple[float, ...]
    state_dict: dict[str, Any] = field(repr=False)
    test_predictions: Any = field(repr=False, default=None)
    int8_test_accuracy: float | None = None
    int8_error: str | None = None
    int8_onnx: bytes | None = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON data (no weights, no predictions, no int8 model)."""
        skip = {"spec", "recipe", "dataset", "epochs", "state_dict", "test_predictions", "int8_onnx"}
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip}
        return {"spec": self.spec.to_dict(), "recipe": self.recipe.to_dict(), "dataset": self.dataset.to_dict(),
                "epochs": [e.to_dict() for e in self.epochs], **data,
                "mean": list(self.mean), "std": list(self.std)}


def trained_spec(spec: ArchSpec, info: DatasetInfo, recipe: TrainRecipe) -> ArchSpec:
    """``spec`` as the recipe trains it: the data's classes, the recipe's (or the data's own) resolution and
    the recipe's stochastic depth."""
    resolution = recipe.resolution
    if resolution is None:
        resolution = max(info.image_size) if info.image_size else spec.resolution
    drop = spec.drop_path_rate if recipe.drop_path_rate is None else recipe.drop_path_rate
    return replace(spec, num_classes=info.num_classes, resolution=resolution, drop_path_rate=drop)


def fingerprint(spec: ArchSpec, data: DatasetConfig, recipe: TrainRecipe, init: Weights | None = None) -> str:
    """What a checkpoint must match to be resumed: the trained spec, the data config, the recipe (but ``int8``,
    which happens after training) and the weights it started from (``init``, when not its seeded ones)."""
    trained = {k: v for k, v in recipe.to_dict().items() if k != "int8"}
    text = json.dumps([spec.to_dict(), data.to_dict(), trained], sort_keys=True)
    digest = hashlib.sha256(text.encode())
    for name in sorted(init or {}):
        digest.update(name.encode())
        digest.update(init[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """The learning-rate factor at a step: linear warm-up to 1, then a cosine to 0 at ``total_steps``."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        done = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, done)))
    return factor


def fit(spec: ArchSpec, data: DatasetConfig, recipe: TrainRecipe, checkpoint: str | os.PathLike[str] | None = None,
        threads: int | None = None, on_epoch: EpochHook | None = None, init: Weights | None = None) -> FullFitResult:
    """Train ``spec`` on ``data`` with ``recipe`` (see the module docstring).

    With ``checkpoint``, every epoch's state is written there atomically, and a call that finds one (of the same
    spec, data, recipe and ``init``) resumes after its last epoch; CheckpointMismatch when it is another run's.
    ``threads`` sets torch's intra-op threads for the run (restored afterwards). ``on_epoch`` is called after
    each epoch's checkpoint; returning False stops training (``stopped="callback"``). ``init``: the state dict
    the network starts from instead of its seeded initialisation (fine-tuning inherited weights).
    """
    import torch

    info = data.validate()
    spec = trained_spec(spec, info, recipe)
    split = data.load(spec.resolution, spec.in_chans, test=True)
    check_data(spec, split)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, 1, 1024))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(recipe.seed)
            result = _Run(spec, split, recipe, fingerprint(spec, data, recipe, init), checkpoint, on_epoch,
                          init).run()
            return with_int8(result, split) if recipe.int8 else result
    finally:
        torch.set_num_threads(previous_threads)


class _Run:
    """The state of one run, built fresh or restored from a checkpoint."""

    def __init__(self, spec: ArchSpec, split: SplitData, recipe: TrainRecipe, key: str,
                 path: str | os.PathLike[str] | None, on_epoch: EpochHook | None, init: Weights | None = None) -> None:
        import torch
        from torch import nn

        self.spec, self.split, self.recipe, self.key, self.path, self.on_epoch = spec, split, recipe, key, path, on_epoch
        self.device = train_device(recipe.device)
        self.model = build_seeded(spec, recipe.seed)
        if init is not None:
            self.model.load_state_dict(init)
        self.model = self.model.to(self.device)
        self.ema = averaged(self.model, recipe.ema_decay) if recipe.ema_decay > 0 else None
        self.optimizer = make_optimizer(self.model, recipe)
        n = len(split.y_train)
        self.batch = min(recipe.batch_size, n)
        self.steps = n // self.batch
        total = self.steps * recipe.epochs
        warmup = min(round(recipe.warmup_epochs * self.steps), total // 2)  # a short run still anneals
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, warmup_cosine(total, warmup))
        self.criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
        self.augment = Augment(recipe, spec.resolution, split.mean, split.std, self.device)
        self.generator = torch.Generator().manual_seed(recipe.seed)
        pick = torch.randperm(n, generator=torch.Generator().manual_seed(recipe.seed))[: recipe.bn_calibration]
        self.calibration = split.x_train[pick].to(self.device)
        self.autocast, self.scaler = _mixed_precision(recipe.amp, self.device)
        self.history: list[EpochRecord] = []
        self.best: dict[str, Any] = {"epoch": -1, "accuracy": -1.0, "selected": "weights", "state": None}
        self.stopped = ""
        self.train_seconds = self.train_cpu_seconds = 0.0
        self.images = 0
        self.resumed_from = 0
        saved = None if path is None else load_checkpoint(path, key)
        if saved is not None:
            self._restore(saved)

    def run(self) -> FullFitResult:

        x, y = self.split.x_train.to(self.device), self.split.y_train.to(self.device)
        while not self.stopped and len(self.history) < self.recipe.epochs:
            epoch = len(self.history)
            loss, seconds = self._train_epoch(x, y)
            record = self._validate(epoch, loss, seconds)
            self.history.append(record)
            if loss is None:
                self.stopped = Stopped.DIVERGED
            elif self.recipe.patience and epoch - self.best["epoch"] >= self.recipe.patience:
                self.stopped = Stopped.PLATEAU
            if self.path is not None:
                save_checkpoint(self.path, self._state())
            if self.on_epoch is not None and self.on_epoch(record) is False and not self.stopped:
                self.stopped = Stopped.CALLBACK if len(self.history) < self.recipe.epochs else ""
        self.model.load_state_dict(self.best["state"])
        x_test, y_test = self.split.x_test.to(self.device), self.split.y_test.to(self.device)
        predictions = _predict(self.model, x_test, self.recipe.eval_batch_size)
        test_accuracy = float((predictions == y_test).float().mean()) if len(y_test) else 0.0
        return FullFitResult(
            spec=self.spec, recipe=self.recipe, dataset=self.split.info, epochs=tuple(self.history),
            best_epoch=self.best["epoch"], selected=self.best["selected"], val_accuracy=self.best["accuracy"],
            test_accuracy=test_accuracy, test_size=len(y_test), stopped=self.stopped,
            resumed_from=self.resumed_from, train_seconds=self.train_seconds,
            images_per_second=self.images / self.train_seconds if self.train_seconds > 0 else 0.0,
            train_cpu_seconds=self.train_cpu_seconds,
            mean=self.split.mean, std=self.split.std,
            state_dict={k: v.cpu() for k, v in self.best["state"].items()}, test_predictions=predictions.cpu(),
        )

    def _train_epoch(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float | None, float]:
        """One epoch of steps; its mean loss (None when it became non-finite) and wall seconds."""
        import torch

        model, optimizer, scheduler, ema, augment = self.model, self.optimizer, self.scheduler, self.ema, self.augment
        model.train()
        order = torch.randperm(len(y), generator=self.generator)[: self.steps * self.batch]
        order = order.view(self.steps, self.batch).to(self.device)
        loss_sum = torch.zeros((), device=self.device)
        start, cpu_start = time.perf_counter(), time.process_time()
        for idx in order:
            with self.autocast():
                loss = self.criterion(model(augment(x[idx])), y[idx])
            optimizer.zero_grad(set_to_none=True)
            if self.scaler is None:
                loss.backward()
                optimizer.step()
            else:
                self.scaler.scale(loss).backward()
                self.scaler.step(optimizer)
                self.scaler.update()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            loss_sum += loss.detach()
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        self.train_seconds += seconds
        self.train_cpu_seconds += time.process_time() - cpu_start
        self.images += self.steps * self.batch
        mean = float(loss_sum) / max(1, self.steps)
        return (mean if math.isfinite(mean) else None), seconds

    def _validate(self, epoch: int, loss: float | None, seconds: float) -> EpochRecord:
        """Validate the weights (and their EMA); keep the better of them as the best state when it improves."""
        recipe, x_val, y_val = self.recipe, self.split.x_val.to(self.device), self.split.y_val.to(self.device)
        calibrate_bn(self.model, self.calibration, self.batch)
        scores = {"weights": accuracy(self.model, x_val, y_val, recipe.eval_batch_size)}
        if self.ema is not None:
            sync_buffers(self.ema.module, self.model)
            calibrate_bn(self.ema.module, self.calibration, self.batch)
            scores["ema"] = accuracy(self.ema.module, x_val, y_val, recipe.eval_batch_size)
        selected = max(scores, key=lambda k: (scores[k], k == "ema"))  # a tie goes to the smoother EMA
        if loss is not None and scores[selected] > self.best["accuracy"]:
            module = self.model if selected == "weights" else self.ema.module
            state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            self.best = {"epoch": epoch, "accuracy": scores[selected], "selected": selected, "state": state}
        if self.best["state"] is None:  # diverged in the first epoch: keep what there is
            self.best["state"] = copy.deepcopy(self.model.state_dict())
            self.best.update(epoch=epoch, accuracy=scores["weights"])
        return EpochRecord(epoch=epoch, train_loss=loss, val_accuracy=scores["weights"],
                           ema_val_accuracy=scores.get("ema"), lr=self.optimizer.param_groups[0]["lr"],
                           seconds=seconds)

    def _state(self) -> dict[str, Any]:
        return {
            "fingerprint": self.key, "epochs_done": len(self.history),
            "model": self.model.state_dict(), "ema": None if self.ema is None else self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": rng_state(), "generator": self.generator.get_state(),
            "history": [e.to_dict() for e in self.history], "best": self.best, "stopped": self.stopped,
            "train_seconds": self.train_seconds, "train_cpu_seconds": self.train_cpu_seconds,
            "images": self.images,
        }

    def _restore(self, saved: dict[str, Any]) -> None:
        self.model.load_state_dict(saved["model"])
        if self.ema is not None:
            self.ema.load_state_dict(saved["ema"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        if self.scaler is not None and saved["scaler"] is not None:
            self.scaler.load_state_dict(saved["scaler"])
        set_rng_state(saved["rng"])
        self.generator.set_state(saved["generator"])
        self.history = [EpochRecord(**e) for e in saved["history"]]
        self.best = saved["best"]
        self.best["state"] = {k: v.to(self.device) for k, v in self.best["state"].items()}
        self.stopped = saved["stopped"]
        self.train_seconds, self.images = saved["train_seconds"], saved["images"]
        self.train_cpu_seconds = saved.get("train_cpu_seconds", 0.0)  # absent from checkpoints written before it
        self.resumed_from = saved["epochs_done"]


def with_int8(result: FullFitResult, split: SplitData) -> FullFitResult:
    """``result`` with its selected weights quantized to int8 and scored on the test split."""
    import torch

    from workers.training.int8 import quantized

    recipe, threads = result.recipe, torch.get_num_threads()
    int8 = quantized(result.spec, result.state_dict, split, recipe.eval_batch_size, recipe.seed, threads)
    return replace(result, int8_test_accuracy=int8.test_accuracy, int8_error=int8.error, int8_onnx=int8.model)


def _predict(model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Top-1 class of every row of ``x`` (eval mode, float32)."""
    import torch

    model.eval()
    with torch.inference_mode():
        out = [model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=x.device)


def _mixed_precision(amp: bool, device: str) -> tuple[Callable[[], Any], Any]:
    """Autocast on CUDA only (bfloat16 where supported, else float16 with a gradient scaler); on the CPU never:
    bfloat16 autocast trained slower there (docs/benchmarks.md)."""
    import contextlib

    import torch

    if not amp or not device.startswith("cuda"):
        return contextlib.nullcontext, None
    if torch.cuda.is_bf16_supported():
        return (lambda: torch.autocast("cuda", dtype=torch.bfloat16)), None
    return (lambda: torch.autocast("cuda", dtype=torch.float16)), torch.amp.GradScaler("cuda")
