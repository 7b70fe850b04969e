"""Proxy training: a short, seeded, cosine-scheduled training run and its validation top-1 accuracy.

The loop is deliberately bare (index a batch, forward, loss, backward, step): the only per-step extras are
setting the learning rate, summing the loss and a clock read for the time budget, so its throughput stays within a few percent of a plain
PyTorch loop on the same model and data (``benchmarks/train_throughput.py`` measures it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from searchspace.builder import build
from searchspace.checks import check_int
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig, SplitData, stratified_subset

if TYPE_CHECKING:
    import torch
    from torch import nn
from workers.training.budget import (
    DeviceUnavailable,
    EpochCallback,
    Stopped,
    TrainBudget,
    TrainDevice,
    TrainResult,
)
from workers.training.recipe import TrainRecipe


def build_seeded(spec: ArchSpec, seed: int) -> nn.Module:
    """``build(spec)`` with weights initialised from ``seed``, leaving the global RNG untouched."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(spec)


def check_data(spec: ArchSpec, data: SplitData) -> None:
    """SpecError unless the spec's resolution, input channels and classes match the data."""
    if spec.resolution != data.resolution:
        raise SpecError("resolution", f"is {spec.resolution} but the data was loaded at {data.resolution}")
    if spec.in_chans != data.in_chans:
        raise SpecError("in_chans", f"is {spec.in_chans} but the data was loaded with {data.in_chans} channels")
    if spec.num_classes != data.info.num_classes:
        raise SpecError("num_classes", f"is {spec.num_classes} but the data has {data.info.num_classes} classes")


def cosine_lrs(lr: float, steps: int) -> list[float]:
    """Per-step learning rates: cosine annealing from ``lr`` to 0 over ``steps`` steps."""
    return [0.5 * lr * (1 + math.cos(math.pi * i / steps)) for i in range(steps)]


def train_device(requested: TrainDevice | str) -> str:
    """The torch device a trial trains on: ``cuda`` only where this process sees one (Ray hides the GPUs it did
    not assign a task through CUDA_VISIBLE_DEVICES, so ``auto`` in a zero-GPU task is the CPU)."""
    import torch

    requested = TrainDevice(requested)
    if requested is TrainDevice.CPU:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested is TrainDevice.CUDA:
        raise DeviceUnavailable("training.device is 'cuda' but this worker has no CUDA device (none installed, or "
                                "Ray assigned the trial no GPU); set training.device to 'auto' or 'cpu', or add "
                                "GPU nodes to the Ray cluster")
    return "cpu"


def make_optimizer(model: nn.Module, budget: TrainBudget | TrainRecipe) -> torch.optim.Optimizer:
    """The budget's (or recipe's) optimizer; weight decay on weights only (params with more than one dimension)."""
    import torch

    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": budget.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if budget.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=budget.lr, momentum=budget.momentum, nesterov=budget.momentum > 0)
    cls = torch.optim.Adam if budget.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=budget.lr)


def calibrate_bn(model: nn.Module, x: torch.Tensor, batch_size: int) -> None:
    """Replace every batch norm's running mean/var by their average over ``x`` (forward passes in train mode)."""
    import torch
    from torch import nn

    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms or len(x) < 2:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for i in range(max(1, len(x) // batch_size)):  # full batches: every batch weighs the same
                model(x[i * batch_size:(i + 1) * batch_size])
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy of ``model`` (put in eval mode) on ``x``/``y``."""
    import torch

    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(y), batch_size):
            correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    return correct / max(1, len(y))


def train_and_evaluate(
    spec: ArchSpec,
    data: SplitData | DatasetConfig,
    budget: TrainBudget,
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    threads: int | None = None,
    model: nn.Module | None = None,
) -> TrainResult:
    """Train ``spec`` (or the given, already built ``model``) on the training split and return its accuracy.

    Deterministic given ``seed`` (weights as ``build_seeded``, batch order, dropout) and the thread count. After each epoch the
    validation accuracy is passed to ``on_epoch(epoch_index, accuracy)``; returning False stops training.
    ``threads`` sets torch's intra-op threads for the run (restored afterwards). The model and the data move to
    ``budget.device`` (see ``train_device``); the model stays there afterwards.
    """
    import torch

    device = train_device(budget.device)
    if isinstance(data, DatasetConfig):
        data = data.load(spec.resolution, spec.in_chans)
    check_data(spec, data)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, 1, 1024))
    try:
        if model is None:
            model = build_seeded(spec, seed)
        model.to(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _train(model, data, budget, seed, on_epoch, device)
    finally:
        torch.set_num_threads(previous_threads)


def _train(model: nn.Module, data: SplitData, budget: TrainBudget, seed: int,
           on_epoch: EpochCallback | None, device: str = "cpu") -> TrainResult:
    import torch
    from torch import nn

    x, y = data.x_train, data.y_train
    if budget.subset < 1.0:
        keep = torch.from_numpy(stratified_subset(y.numpy(), budget.subset, seed))
        x, y = x[keep], y[keep]
    x, y = x.to(device), y.to(device)  # proxy datasets fit on the device: batches are indexed there
    x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    autocast, scaler = _mixed_precision(budget.amp, device)
    n = len(y)
    batch = min(budget.batch_size, n)
    steps = n // batch
    lrs = cosine_lrs(budget.lr, steps * budget.epochs)
    optimizer = make_optimizer(model, budget)
    groups = optimizer.param_groups
    criterion = nn.CrossEntropyLoss(label_smoothing=budget.label_smoothing)
    generator = torch.Generator().manual_seed(seed)
    calibration = x[torch.randperm(n, generator=torch.Generator().manual_seed(seed))[: budget.bn_calibration]]
    deadline = math.inf if budget.max_seconds is None else time.perf_counter() + budget.max_seconds

    accuracies: list[float] = []
    losses: list[float] = []
    train_seconds = train_cpu_seconds = eval_seconds = 0.0
    images = 0
    stopped: Stopped | None = None
    for epoch in range(budget.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)[: steps * batch].view(steps, batch).to(device)
        loss_sum = torch.zeros((), device=device)
        lr_iter = iter(lrs[epoch * steps:(epoch + 1) * steps])
        done = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        for idx in order:
            lr = next(lr_iter)
            for group in groups:
                group["lr"] = lr
            with autocast():
                loss = criterion(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:  # float16 on CUDA: scaled loss, so that small gradients do not underflow
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            loss_sum += loss.detach()
            done += 1
            if time.perf_counter() > deadline:
                stopped = Stopped.TIME
                break
        if device.startswith("cuda"):  # the clock stops when the kernels are done, not when they are queued
            torch.cuda.synchronize()
        train_seconds += time.perf_counter() - start
        train_cpu_seconds += time.process_time() - cpu_start
        images += done * batch
        mean_loss = float(loss_sum) / max(1, done)
        losses.append(mean_loss)
        start = time.perf_counter()
        calibrate_bn(model, calibration, batch)
        with autocast():
            accuracies.append(accuracy(model, x_val, y_val, budget.eval_batch_size))
        eval_seconds += time.perf_counter() - start
        if not math.isfinite(mean_loss):
            stopped = Stopped.DIVERGED
        go_on = on_epoch is None or on_epoch(epoch, accuracies[-1]) is not False
        if not go_on and epoch + 1 < budget.epochs:
            stopped = stopped or Stopped.CALLBACK
        if stopped is not None:
            break
    return TrainResult(
        accuracy=accuracies[-1], epoch_accuracies=tuple(accuracies), epoch_losses=tuple(losses),
        epochs_run=len(accuracies), train_seconds=train_seconds, train_cpu_seconds=train_cpu_seconds,
        eval_seconds=eval_seconds,
        images_per_second=images / train_seconds if train_seconds > 0 else 0.0, images_seen=images,
        train_size=n, val_size=len(data.y_val), stopped=stopped,
    )


def _mixed_precision(amp: bool, device: str) -> tuple[Callable[[], Any], Any]:
    """The autocast context factory of a run and its gradient scaler (None: plain backward and step)."""
    import contextlib

    import torch

    if not amp:
        return contextlib.nullcontext, None
    if device.startswith("cuda"):  # float16 needs loss scaling
        return (lambda: torch.autocast("cuda", dtype=torch.float16)), torch.amp.GradScaler("cuda")
    return (lambda: torch.autocast("cpu", dtype=torch.bfloat16)), None
