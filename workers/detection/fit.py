"""Training a DetectorSpec on a box dataset with a TrainRecipe, validated by COCO mAP each epoch.

The recipe's fields used: epochs, resolution (null: the spec's), batch_size, optimizer, lr, momentum,
warmup_epochs (linear warm-up, then a cosine to 0), weight_decay (weights only), crop_scale and flip (Kornia's
random-resized crop and horizontal flip, boxes moved with the pixels), auto_augment (any policy but ``none``
turns on colour jitter: the classification policies do not move boxes), device, eval_batch_size and seed. The
loss is the head's own (``ssd_loss`` or ``yolox_loss``); gradients are clipped at norm 10. The weights of the
epoch with the best validation mAP@[.5:.95] are kept and scored on the test split. With ``checkpoint``, every
epoch's state is written atomically and a rerun of the same spec, data and recipe resumes after the last one.
An ``on_epoch`` callback that returns False stops training after that epoch (a search's early stopping); the
result then says ``stopped``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from searchspace.detection import DetectorSpec, build_detector
from workers.detection.augment import augment_boxes, box_pipeline
from workers.detection.config import BoxData, BoxDatasetConfig, BoxSplit
from workers.detection.metrics import coco_map, postprocess
from workers.detection.ssd_loss import ssd_loss
from workers.detection.yolox_loss import yolox_loss
from workers.training import (
    AutoAugment,
    TrainRecipe,
    load_checkpoint,
    make_optimizer,
    rng_state,
    save_checkpoint,
    set_rng_state,
    train_device,
    warmup_cosine,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

CLIP_NORM = 10.0
# The recipe fields train-detector sets where the classification defaults (SGD at 0.1, 30 epochs) do not suit a
# detector trained from scratch; the command's flags override them.
RECIPE_DEFAULTS: dict[str, Any] = {"optimizer": "adamw", "lr": 0.005, "weight_decay": 0.01, "batch_size": 16,
                                   "epochs": 10, "warmup_epochs": 0.5, "crop_scale": 0.5}


@dataclass(frozen=True)
class DetectionEpoch:
    epoch: int
    train_loss: float | None
    val_map: float
    val_map50: float
    lr: float
    train_seconds: float


@dataclass(frozen=True, eq=False)
class DetectionResult:
    """What a run gives: the trained spec, the per-epoch records, the best epoch's validation and test mAPs,
    the training throughput (augmentation included, validation not) and the best weights."""

    spec: DetectorSpec
    epochs: tuple[DetectionEpoch, ...]
    best_epoch: int
    val_map: float
    val_map50: float
    test_map: float | None  # None: not scored on the test split (``fit_detector(..., test=False)``)
    test_map50: float | None
    test_size: int
    train_seconds: float
    images_per_second: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    state_dict: dict[str, Any]
    stopped: bool = False  # on_epoch returned False before the recipe's last epoch

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "epochs": [asdict(e) for e in self.epochs],
                **{k: getattr(self, k) for k in ("best_epoch", "val_map", "val_map50", "test_map", "test_map50",
                                                 "test_size", "train_seconds", "images_per_second",
                                                 "stopped")},
                "mean": list(self.mean), "std": list(self.std)}


def fitted(spec: DetectorSpec, classes: int, in_chans: int, resolution: int | None = None) -> DetectorSpec:
    """``spec`` predicting ``classes`` object classes (plus SSD's background) from ``in_chans``-channel images
    at ``resolution`` (None: the spec's)."""
    resolution = resolution or spec.resolution
    backbone = replace(spec.backbone, in_chans=in_chans, resolution=resolution)
    num_classes = classes + 1 if spec.head.kind == "ssdlite" else classes
    return replace(spec, backbone=backbone, num_classes=num_classes, resolution=resolution)


def detection_loss(model: nn.Module, outputs: tuple[list[torch.Tensor], list[torch.Tensor]],
                   boxes: list[torch.Tensor], labels: list[torch.Tensor]) -> torch.Tensor:
    """The loss of the detector's head kind on one batch of raw outputs."""
    import torch

    logits, deltas = torch.cat(outputs[0], 1), torch.cat(outputs[1], 1)
    decoder = model.decoder
    if hasattr(decoder, "priors"):
        return ssd_loss(logits, deltas, decoder.priors, boxes, labels)
    return yolox_loss(logits, deltas, decoder.cells, decoder.strides, boxes, labels)


def evaluate_map(model: nn.Module, split: BoxSplit, data: BoxData, batch_size: int, device: str) -> tuple[float, float]:
    """(mAP@[.5:.95], mAP@.5) of ``model`` on ``split``."""
    import torch

    model.eval()
    mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)
    detections = []
    with torch.inference_mode():
        for i in range(0, len(split), batch_size):
            x = (split.images[i:i + batch_size].to(device).float() / 255 - mean) / std
            detections += postprocess(*(t.float().cpu() for t in model.detect(x)))
    return coco_map(detections, split.boxes, split.labels, (data.resolution, data.resolution),
                    len(data.class_names))


def fingerprint(spec: DetectorSpec, data: BoxDatasetConfig, recipe: TrainRecipe) -> str:
    text = json.dumps([spec.to_dict(), data.to_dict(), recipe.to_dict()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def fit_detector(spec: DetectorSpec, data_cfg: BoxDatasetConfig, recipe: TrainRecipe,
                 checkpoint: str | os.PathLike[str] | None = None,
                 on_epoch: Callable[[DetectionEpoch], Any] | None = None, test: bool = True) -> DetectionResult:
    """Train ``spec`` (fitted to the data's classes and channels, the recipe's resolution) on ``data_cfg``;
    ``test=False`` leaves the test split alone (a search's trials never look at it)."""
    import torch

    source = data_cfg.read()
    in_chans = spec.backbone.in_chans if spec.backbone.in_chans in (1, 3) else 3
    spec = fitted(spec, len(source.class_names), in_chans, recipe.resolution)
    data = data_cfg.load(spec.resolution, in_chans)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        return _Run(spec, data, recipe, fingerprint(spec, data_cfg, recipe), checkpoint, on_epoch).run(test)


class _Run:
    def __init__(self, spec: DetectorSpec, data: BoxData, recipe: TrainRecipe, key: str,
                 path: str | os.PathLike[str] | None, on_epoch: Callable[[DetectionEpoch], Any] | None) -> None:
        import torch

        self.spec, self.data, self.recipe, self.key, self.path, self.on_epoch = spec, data, recipe, key, path, on_epoch
        self.device = train_device(recipe.device)
        self.model = build_detector(spec).to(self.device)
        self.optimizer = make_optimizer(self.model, recipe)
        n = len(data.train)
        self.batch = max(1, min(recipe.batch_size, n))
        self.steps = n // self.batch
        total = self.steps * recipe.epochs
        warmup = min(round(recipe.warmup_epochs * self.steps), total // 2)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, warmup_cosine(total, warmup))
        self.pipeline = box_pipeline(spec.resolution, recipe.crop_scale, recipe.flip,
                                     recipe.auto_augment != AutoAugment.NONE)
        self.mean = torch.tensor(data.mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(data.std, device=self.device).view(1, -1, 1, 1)
        self.generator = torch.Generator().manual_seed(recipe.seed)
        self.history: list[DetectionEpoch] = []
        self.best: dict[str, Any] = {"epoch": -1, "map": -1.0, "map50": 0.0, "state": None}
        self.train_seconds = 0.0
        self.images = 0
        saved = None if path is None else load_checkpoint(path, key)
        if saved is not None:
            self._restore(saved)

    def run(self, test: bool = True) -> DetectionResult:
        stopped = False
        while len(self.history) < self.recipe.epochs and not stopped:
            epoch = len(self.history)
            loss, seconds = self._train_epoch()
            val_map, val_map50 = evaluate_map(self.model, self.data.val, self.data, self.recipe.eval_batch_size,
                                              self.device)
            if val_map > self.best["map"] or self.best["state"] is None:
                state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                self.best = {"epoch": epoch, "map": val_map, "map50": val_map50, "state": state}
            record = DetectionEpoch(epoch, loss, val_map, val_map50, self.optimizer.param_groups[0]["lr"], seconds)
            self.history.append(record)
            if self.path is not None:
                save_checkpoint(self.path, self._state())
            if self.on_epoch is not None:
                stopped = self.on_epoch(record) is False and len(self.history) < self.recipe.epochs
            if loss is None:
                break
        self.model.load_state_dict(self.best["state"])
        test_map = test_map50 = None
        if test:
            test_map, test_map50 = evaluate_map(self.model, self.data.test, self.data, self.recipe.eval_batch_size,
                                                self.device)
        return DetectionResult(
            spec=self.spec, epochs=tuple(self.history), best_epoch=self.best["epoch"], val_map=self.best["map"],
            val_map50=self.best["map50"], test_map=test_map, test_map50=test_map50, test_size=len(self.data.test),
            train_seconds=self.train_seconds,
            images_per_second=self.images / self.train_seconds if self.train_seconds > 0 else 0.0,
            mean=self.data.mean, std=self.data.std,
            state_dict={k: v.cpu() for k, v in self.best["state"].items()}, stopped=stopped,
        )

    def _train_epoch(self) -> tuple[float | None, float]:
        """One epoch of steps: its mean loss (None once non-finite) and wall seconds."""
        import torch

        model, train = self.model, self.data.train
        model.train()
        order = torch.randperm(len(train), generator=self.generator)[: self.steps * self.batch].view(self.steps, -1)
        loss_sum = 0.0
        start = time.perf_counter()
        for idx in order.tolist():
            x = train.images[idx].to(self.device).float().div_(255)
            boxes = [train.boxes[i].to(self.device) for i in idx]
            labels = [train.labels[i].to(self.device) for i in idx]
            x, boxes, labels = augment_boxes(self.pipeline, x, boxes, labels)
            loss = detection_loss(model, model((x - self.mean) / self.std), boxes, labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            self.optimizer.step()
            self.scheduler.step()
            loss_sum += float(loss.detach())
        seconds = time.perf_counter() - start
        self.train_seconds += seconds
        self.images += self.steps * self.batch
        mean = loss_sum / max(1, self.steps)
        return (mean if math.isfinite(mean) else None), seconds

    def _state(self) -> dict[str, Any]:
        return {"fingerprint": self.key, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": rng_state(), "generator": self.generator.get_state(),
                "history": [asdict(e) for e in self.history], "best": self.best,
                "train_seconds": self.train_seconds, "images": self.images}

    def _restore(self, saved: dict[str, Any]) -> None:
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        set_rng_state(saved["rng"])
        self.generator.set_state(saved["generator"])
        self.history = [DetectionEpoch(**e) for e in saved["history"]]
        self.best = saved["best"]
        self.train_seconds, self.images = saved["train_seconds"], saved["images"]
