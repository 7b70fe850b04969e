"""Supernet training by the sandwich rule: a tiny supernet trains an epoch on digits at 16 px, checkpoints, is
killed mid-epoch and resumes to exactly the weights of an uninterrupted run; configs validate by field."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from searchspace.errors import SpecError
from searchspace.space import SearchSpace, StageSpace
from searchspace.supernet import extreme_subnet
from workers.data import DatasetConfig
from workers.oneshot import (
    CheckpointError,
    OneShotConfig,
    SupernetTraining,
    calibration_images,
    judge_subnet,
    load_resolutions,
    load_supernet,
    train_supernet,
)
from workers.oneshot.sandwich import Shard
from workers.search.inherit import inherited_weights, train_inherited
from workers.training import TrainBudget, TrainRecipe, fit, train_network
from workers.training.fullfit import fingerprint

_CHOICES = {"kernels": (3, 5), "expansions": (1.0, 3.0), "se_ratios": (0.0, 0.25), "width_factors": (0.5, 1.0)}
SPACE = SearchSpace(
    stages=(
        StageSpace(stride=2, out_chs=16, repeats=1, repeat_deltas=(0, 1), **_CHOICES),
        StageSpace(stride=2, out_chs=16, repeats=1, repeat_deltas=(0, 1), **_CHOICES),
    ),
    resolutions=(12, 16),
    stem_chs=8,
    head_chs=32,
    stem_stride=1,
)
CONFIG = OneShotConfig(
    dataset=DatasetConfig(source="digits", subset=0.4),
    space=SPACE,
    training=SupernetTraining(budget=TrainBudget(epochs=1, batch_size=64, lr=0.1, bn_calibration=128),
                              checkpoint_steps=3),
    seed=5,
)


class Killed(Exception):
    """Raised from the step callback: the run dies as a crash would, between two checkpoints."""


def _kill_at(step: int):
    def on_step(done: int) -> None:
        if done == step:
            raise Killed

    return on_step


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("straight") / "supernet.pt"
    net, result = train_supernet(CONFIG, path, threads=1)
    return path, net, result


def test_trains_an_epoch_and_judges_the_extremes(uninterrupted) -> None:
    path, net, result = uninterrupted
    train_size = CONFIG.dataset.validate().train_size  # one step per full batch of the training split
    assert result.epochs_run == 1 and result.steps == train_size // 64 and result.stopped == ""
    assert result.epoch_losses[0] < 2.3  # below chance's cross-entropy (ln 10) after one epoch
    assert result.largest_accuracies[0] > 0.2 and 0.0 <= result.smallest_accuracies[0] <= 1.0
    assert len(result.random_accuracies) == result.epochs_run and 0.0 <= result.random_accuracies[0] <= 1.0
    config, loaded = load_supernet(path)
    assert config.space.num_classes == 10 and config.space.in_chans == 1
    for key, value in net.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value.cpu(), atol=0, rtol=0)


def test_killed_run_resumes_to_the_uninterrupted_weights(uninterrupted, tmp_path: Path) -> None:
    _, straight, expected = uninterrupted
    path = tmp_path / "supernet.pt"
    with pytest.raises(Killed):
        train_supernet(CONFIG, path, on_step=_kill_at(5), threads=1)  # checkpoint at step 3, dies at step 5
    net, result = train_supernet(CONFIG, path, threads=1)
    assert result.resumed_at_step == 3 and result.steps == expected.steps
    assert result.epoch_losses == expected.epoch_losses
    assert result.largest_accuracies == expected.largest_accuracies
    for key, value in straight.state_dict().items():
        torch.testing.assert_close(net.state_dict()[key], value, atol=0, rtol=0)
    _, again = train_supernet(CONFIG, path, threads=1)  # a finished run resumes to its end at once
    assert again.resumed_at_step == again.steps == expected.steps and again.epoch_losses == expected.epoch_losses


def test_checkpoint_of_another_run_is_refused_by_field(uninterrupted) -> None:
    path = uninterrupted[0]
    lr = replace(CONFIG.training, budget=replace(CONFIG.budget, lr=0.2))
    for other, field in ((replace(CONFIG, seed=6), "seed"), (replace(CONFIG, training=lr), "training.budget.lr")):
        with pytest.raises(CheckpointError, match=rf"another {field};"):
            train_supernet(other, path)


def test_judged_accuracy_is_the_inherited_networks(uninterrupted) -> None:
    net = uninterrupted[1]
    config = CONFIG.with_data_shape(10, 1)
    data = load_resolutions(config)
    spec = extreme_subnet(config.space, True, random.Random(0))
    calibration = calibration_images(data[spec.resolution], 128, 0)
    first = judge_subnet(net, spec, data[spec.resolution], calibration, 64)
    assert first == judge_subnet(net, spec, data[spec.resolution], calibration, 64)
    assert 0.2 < first <= 1.0
    with pytest.raises(ValueError, match="px"):
        judge_subnet(net, spec, data[12 if spec.resolution == 16 else 16], calibration, 64)


def test_progressive_training_grows_its_random_subnets_from_the_largest() -> None:
    from searchspace.supernet import Supernet
    from workers.oneshot.sandwich import _Run  # the run's per-step draw of its sandwich

    training = replace(CONFIG.training, progressive=0.5, random_subnets=4)
    info = CONFIG.dataset.validate()
    config = replace(CONFIG, training=training).with_data_shape(info.num_classes, info.in_chans)
    run = _Run(config, Supernet(config.space), None, None, None, Shard())
    total = run.steps_per_epoch * config.budget.epochs

    def sizes(spec):
        return [(s.repeats, replace(s.block, act="relu")) for s in spec.stages] + [spec.resolution]

    first, last = run._subnets(0), run._subnets(total - 1)
    assert all(sizes(spec) == sizes(first[0]) for spec in first[2:])
    assert any(sizes(spec) != sizes(last[0]) for spec in last[2:])


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"random_subnets": 17}, "random_subnets"), ({"temperature": 0.0}, "temperature"),
     ({"checkpoint_steps": -1}, "checkpoint_steps"), ({"distill": "yes"}, "distill"), ({"budget": 3}, "budget"),
     ({"extreme_kinds": "largest"}, "extreme_kinds"), ({"sampling": "all"}, "sampling"),
     ({"ddp_workers": -1}, "ddp_workers"), ({"progressive": 1.5}, "progressive"),
     ({"judged_random": -1}, "judged_random")],
)
def test_config_is_validated_by_field(changes: dict, field: str) -> None:
    with pytest.raises(SpecError) as err:
        SupernetTraining(**changes)
    assert err.value.field == field
    with pytest.raises(SpecError) as err:
        OneShotConfig.from_dict({"training": changes})
    assert err.value.field == f"training.{field}"


def test_config_round_trips_through_json() -> None:
    assert OneShotConfig.from_dict(CONFIG.to_dict()) == CONFIG
    with pytest.raises(SpecError) as err:
        OneShotConfig.from_dict({**CONFIG.to_dict(), "space": {"resolutions": [4]}})
    assert err.value.field.startswith("space.resolutions")


def test_unreadable_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "supernet.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable supernet checkpoint"):
        train_supernet(CONFIG, path)
    torch.save({"format": 0}, path)
    with pytest.raises(CheckpointError, match="format 1"):
        train_supernet(CONFIG, path)


def test_a_finalized_trial_starts_from_the_weights_it_inherits(uninterrupted, tmp_path: Path) -> None:
    path, net, _ = uninterrupted
    spec = extreme_subnet(CONFIG.with_data_shape(10, 1).space, True, random.Random(1))
    init = inherited_weights(str(path), spec.to_string())
    for key, value in net.extract(spec)[1].items():
        torch.testing.assert_close(init[key], value.cpu(), atol=0, rtol=0)
    still = TrainRecipe(epochs=1, lr=1e-8, weight_decay=0.0, ema_decay=0.0, batch_size=64, bn_calibration=128,
                        resolution=spec.resolution)
    data = replace(CONFIG.dataset, subset=0.2)
    tuned = fit(spec, data, still, init=init)
    conv = next(k for k, v in init.items() if v.dim() == 4)
    torch.testing.assert_close(tuned.state_dict[conv], init[conv], atol=1e-6, rtol=0)  # trained from init
    assert fingerprint(spec, data, still, init) != fingerprint(spec, data, still)  # a scratch checkpoint is not resumed
    figures = train_inherited(spec.to_string(), data, still, str(tmp_path / "inherited"), 1, str(path))
    scratch = train_network(spec.to_string(), data, still, str(tmp_path / "scratch"), 1)
    assert figures["inherited"] is True and "inherited" not in scratch
    assert figures["accuracy"] > scratch["accuracy"] + 0.05, (figures["accuracy"], scratch["accuracy"])
