"""Training a supernet by the sandwich rule with in-place distillation (BigNAS), resumable from checkpoints.

Each step: the largest sub-network learns the labels; the smallest and ``random_subnets`` random ones learn
the largest's soft predictions (temperature-scaled KL divergence) on the same images, each at its own
resolution; their gradients add up into one optimizer step. Only the largest trains with dropout (BigNAS:
regularising the smaller ones, which underfit, hurts them). Images of every resolution of the space are the
same training images loaded at that resolution (so a sub-network sees what it would see trained alone).
After each epoch the largest and the smallest sub-networks and ``judged_random`` random ones are judged (batch
norm re-estimated, validation top-1; the random ones' median is a curve) and a checkpoint is written.

Every random draw is seeded by (seed, step) or (seed, epoch): the weights from ``seed``, each epoch's batch
order, each step's sub-networks and dropout. A run resumed from a checkpoint therefore continues exactly where
the checkpointed run was, and ends with the weights an uninterrupted run ends with (same thread count).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchspace.spec import ArchSpec
from workers.data import SplitData, stratified_subset
from workers.oneshot.checkpoint import Progress, check_same_run, read_checkpoint, restore, save_checkpoint
from workers.oneshot.config import ExtremeKinds, OneShotConfig, Sampling
from workers.oneshot.judge import calibration_images, judge_subnet
from workers.training import Stopped, cosine_lrs, make_optimizer, train_device

if TYPE_CHECKING:
    import torch

    from searchspace.supernet import Supernet

# (epoch index, the result so far) after each epoch; returning False stops training.
SupernetEpochCallback = Callable[[int, "SupernetResult"], bool | None]


@dataclass(frozen=True, kw_only=True)
class SupernetResult:
    """Per-epoch curves (the largest's label loss, the others' mean distillation loss, the judged accuracies of
    the largest and the smallest sub-networks), steps run, training time (wall: ``train_seconds``, the training
    steps; ``cpu_seconds``: every process's CPU time, judging and checkpoints included), and why training
    stopped early:
    ``""`` (all epochs ran), ``"time"`` (``budget.max_seconds``), ``"callback"`` or ``"diverged"``."""

    epochs_run: int
    steps: int
    epoch_losses: tuple[float, ...]
    epoch_distill_losses: tuple[float, ...]
    largest_accuracies: tuple[float, ...]
    smallest_accuracies: tuple[float, ...]
    random_accuracies: tuple[float, ...] = ()
    train_seconds: float
    cpu_seconds: float
    resumed_at_step: int
    stopped: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for name in _CURVES:
            data[name] = [v if math.isfinite(v) else None for v in data[name]]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SupernetResult:
        curves = {name: tuple(math.nan if v is None else float(v) for v in data.get(name, ())) for name in _CURVES}
        return cls(**{**{k: data[k] for k in cls.__dataclass_fields__ if k in data}, **curves})


_CURVES = ("epoch_losses", "epoch_distill_losses", "largest_accuracies", "smallest_accuracies", "random_accuracies")


def _result(progress: Progress, resumed_at: int, stopped: str) -> SupernetResult:
    return SupernetResult(
        epochs_run=len(progress.epoch_losses), steps=progress.step,
        epoch_losses=tuple(progress.epoch_losses), epoch_distill_losses=tuple(progress.epoch_distill_losses),
        largest_accuracies=tuple(progress.largest_accuracies),
        smallest_accuracies=tuple(progress.smallest_accuracies),
        random_accuracies=tuple(progress.random_accuracies),
        train_seconds=progress.train_seconds, cpu_seconds=progress.cpu_seconds, resumed_at_step=resumed_at,
        stopped=stopped,
    )


def load_resolutions(config: OneShotConfig) -> dict[int, SplitData]:
    """The dataset at every resolution of the space (same split, same image order)."""
    return {r: config.dataset.load(r, config.space.in_chans) for r in sorted(config.space.resolutions)}


def _kept(config: OneShotConfig, labels: Any) -> Any:
    """The indices of the training images the run trains on (the budget's stratified subset)."""
    return stratified_subset(labels.numpy(), config.budget.subset, config.seed)


def planned_steps(config: OneShotConfig) -> int:
    """The optimizer steps a run of ``config`` (sized to its data) takes over all its epochs."""
    labels = config.dataset.load(min(config.space.resolutions), config.space.in_chans).y_train
    kept = len(_kept(config, labels))
    return kept // min(config.budget.batch_size, kept) * config.budget.epochs


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Shard:
    """This process's part of a run that several processes train together (``workers.oneshot.distributed``):
    its rank among ``world``, the model its forward passes go through (``wrap``: DistributedDataParallel), and
    the collectives: ``agree(code)`` is rank 0's code on every rank, ``total(x)`` the sum over ranks. Each rank
    takes its share of every batch; rank 0 alone judges, checkpoints and reports epochs."""

    rank: int = 0
    world: int = 1
    wrap: Callable[[Any], Any] = _same
    agree: Callable[[int], int] = _same
    total: Callable[[float], float] = _same


_GO_ON, _CALLBACK, _TIME, _DIVERGED = 0, 1, 2, 3
_STOPS = {_GO_ON: "", _CALLBACK: Stopped.CALLBACK, _TIME: Stopped.TIME, _DIVERGED: Stopped.DIVERGED}


def train_supernet(
    config: OneShotConfig,
    checkpoint: Path | None = None,
    on_epoch: SupernetEpochCallback | None = None,
    on_step: Callable[[int], bool | None] | None = None,
    threads: int | None = None,
    shard: Shard = Shard(),
) -> tuple[Supernet, SupernetResult]:
    """Train (or, when ``checkpoint`` exists, resume training) the supernet of ``config``.

    The space is sized to the data's classes and channels first. ``on_step(step)`` runs after every optimizer
    step and checkpoint: returning False stops training there (``stopped`` "callback", after a checkpoint); an
    exception from it ends the run as a crash would. Returns the supernet (on the budget's device) and the result.
    """
    import torch

    from searchspace.supernet import Supernet  # torch: imported when training, not with the package

    info = config.dataset.validate()
    config = config.with_data_shape(info.num_classes, info.in_chans)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            net = Supernet(config.space)
            return _Run(config, net, checkpoint, on_epoch, on_step, shard).run()
    finally:
        torch.set_num_threads(previous_threads)


def _every_stage_kinds(space: Any) -> list[str]:
    """The block kinds every stage of ``space`` offers."""
    return sorted(set.intersection(*(set(st.kinds) for st in space.stages)))


class _Run:
    """One training run's state: the supernet, its optimizer, the data and the progress."""

    def __init__(self, config: OneShotConfig, net: Supernet, checkpoint: Path | None,
                 on_epoch: SupernetEpochCallback | None, on_step: Callable[[int], bool | None] | None,
                 shard: Shard) -> None:
        import torch
        from torch import nn

        self.config, self.budget, self.checkpoint, self.shard = config, config.budget, checkpoint, shard
        self.rank, self.world = shard.rank, shard.world
        self.on_epoch, self.on_step = on_epoch, on_step
        self.device = train_device(self.budget.device)
        self.net = net.to(self.device)
        self.data = load_resolutions(config)
        labels = next(iter(self.data.values())).y_train
        self.keep = torch.from_numpy(_kept(config, labels))
        self.y = labels[self.keep].to(self.device)
        self.x = {r: d.x_train[self.keep].to(self.device) for r, d in self.data.items()}
        self.batch = min(self.budget.batch_size, len(self.y))
        if self.batch < self.world:
            raise ValueError(f"a batch of {self.batch} images cannot be shared by {self.world} workers")
        self.steps_per_epoch = len(self.y) // self.batch
        self.lrs = cosine_lrs(self.budget.lr, self.steps_per_epoch * self.budget.epochs)
        self.optimizer = make_optimizer(self.net, self.budget)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=self.budget.label_smoothing)
        self.progress = Progress()
        if checkpoint is not None and checkpoint.exists():
            data = read_checkpoint(checkpoint)
            check_same_run(data, config, checkpoint)
            self.progress = restore(data, self.net, self.optimizer)
        self.model = shard.wrap(self.net)
        self.resumed_at = self.progress.step
        self.cpu_start, self.cpu_before = time.process_time(), self.progress.cpu_seconds

    def _seed(self, *parts: int) -> int:
        return hash((self.config.seed, *parts)) & (2**62 - 1)

    def run(self) -> tuple[Supernet, SupernetResult]:
        total = self.steps_per_epoch * self.budget.epochs
        deadline = math.inf if self.budget.max_seconds is None else time.perf_counter() + self.budget.max_seconds
        stopped = ""
        while not stopped:
            p = self.progress
            if p.step // self.steps_per_epoch > len(p.epoch_losses):  # an epoch's steps ran: close it
                stopped = self._end_epoch(len(p.epoch_losses))
            elif p.step >= total:
                break
            else:
                stopped = self._train_epoch(deadline)
            self._save()
        return self.net.eval(), _result(self.progress, self.resumed_at, stopped)

    def _train_epoch(self, deadline: float) -> str:
        """The remaining steps of the current epoch; why it stopped early ("" when it did not)."""
        epoch, index = divmod(self.progress.step, self.steps_per_epoch)
        start = time.perf_counter()
        self.net.train()
        try:
            for idx in self._order(epoch)[index:]:
                self._step(idx)
                if self.config.training.checkpoint_steps and \
                        self.progress.step % self.config.training.checkpoint_steps == 0:
                    self.progress.train_seconds += time.perf_counter() - start
                    start = time.perf_counter()
                    self._save()
                code = _GO_ON
                if self.on_step is not None and self.on_step(self.progress.step) is False:
                    code = _CALLBACK
                elif time.perf_counter() > deadline:
                    code = _TIME
                code = self.shard.agree(code)
                if code != _GO_ON:
                    return _STOPS[code]
            return ""
        finally:
            self.progress.train_seconds += time.perf_counter() - start

    def _order(self, epoch: int) -> torch.Tensor:
        import torch

        generator = torch.Generator().manual_seed(self._seed(epoch, -1))
        n = self.steps_per_epoch * self.batch
        return torch.randperm(len(self.y), generator=generator)[:n].view(self.steps_per_epoch, self.batch)

    def _subnets(self, step: int) -> list[ArchSpec]:
        """The step's sandwich: the largest, the smallest and the random sub-networks (seeded by the step)."""
        from searchspace.supernet import extreme_subnet, neighbour_subnet, random_subnet

        rng = random.Random(self._seed(step))
        t, space = self.config.training, self.config.space
        any_kind = t.extreme_kinds == ExtremeKinds.RANDOM
        specs = [extreme_subnet(space, True, rng, any_kind), extreme_subnet(space, False, rng, any_kind)]
        one_kind = t.sampling == Sampling.KIND or (t.sampling == Sampling.MIXED and step % 2 == 1)
        kinds = _every_stage_kinds(space) if one_kind else []
        total = self.steps_per_epoch * self.budget.epochs
        spread = min(1.0, step / (t.progressive * total)) if t.progressive > 0 else 1.0
        for _ in range(t.random_subnets):
            drawn = space.with_choices(kinds=(rng.choice(kinds),)) if kinds else space
            near = spread < 1.0
            specs.append(neighbour_subnet(drawn, specs[0], spread, rng) if near else random_subnet(drawn, rng))
        return specs

    def _step(self, idx: torch.Tensor) -> None:
        import torch
        import torch.nn.functional as F

        step = self.progress.step
        for group in self.optimizer.param_groups:
            group["lr"] = self.lrs[step]
        torch.manual_seed(self._seed(step))  # dropout
        specs = self._subnets(step)
        idx = idx[self.rank::self.world].to(self.device)
        y, t = self.y[idx], self.config.training.temperature
        self.optimizer.zero_grad(set_to_none=True)
        teacher: torch.Tensor | None = None
        losses = []
        for spec in specs:
            self.net.set_active(spec)
            self.net.regularise(teacher is None)
            logits = self.model(self.x[spec.resolution][idx])
            if teacher is None or not self.config.training.distill:
                loss = self.criterion(logits, y)
                teacher = (logits.detach() / t).softmax(1) if teacher is None else teacher
            else:
                loss = F.kl_div((logits / t).log_softmax(1), teacher, reduction="batchmean") * t * t
            loss.backward()
            losses.append(float(loss.detach()))
        self.net.regularise(True)
        self.optimizer.step()
        others = losses[1:]
        running = self.progress.running
        running[0] += losses[0]
        running[1] += sum(others) / max(1, len(others))
        running[2] += 1
        self.progress.step += 1

    def _end_epoch(self, epoch: int) -> str:
        """Close the epoch's curves, judge the largest and smallest sub-networks; why to stop ("" to go on)."""
        p = self.progress
        done = max(1.0, p.running[2])
        p.epoch_losses.append(p.running[0] / done)
        p.epoch_distill_losses.append(p.running[1] / done)
        p.running = [0.0, 0.0, 0.0]
        from searchspace.supernet import extreme_subnet, random_subnet

        rng = random.Random(self._seed(epoch, -2))
        code = _GO_ON
        if self.rank == 0:
            space = self.config.space
            p.largest_accuracies.append(self._judge(extreme_subnet(space, True, rng)))
            p.smallest_accuracies.append(self._judge(extreme_subnet(space, False, rng)))
            judged = [self._judge(random_subnet(space, rng)) for _ in range(self.config.training.judged_random)]
            p.random_accuracies.append(statistics.median(judged) if judged else math.nan)
            result = _result(p, self.resumed_at, "")
            if not math.isfinite(p.epoch_losses[-1]):
                code = _DIVERGED
            elif self.on_epoch is not None and self.on_epoch(epoch, result) is False \
                    and p.step < self.steps_per_epoch * self.budget.epochs:
                code = _CALLBACK
        return _STOPS[self.shard.agree(code)]

    def _judge(self, spec: ArchSpec) -> float:
        """Validation top-1 of ``spec`` with the current weights (batch norm re-estimated)."""
        data = self.data[spec.resolution]
        calibration = calibration_images(data, self.budget.bn_calibration, self.config.seed)
        return judge_subnet(self.net, spec, data, calibration, self.batch, self.budget.eval_batch_size)

    def _save(self) -> None:
        """Checkpoint (rank 0), with the CPU time of every rank so far."""
        spent = self.shard.total(time.process_time() - self.cpu_start)
        self.progress.cpu_seconds = self.cpu_before + spent
        if self.checkpoint is not None and self.rank == 0:
            save_checkpoint(self.checkpoint, self.config, self.net, self.optimizer, self.progress)
