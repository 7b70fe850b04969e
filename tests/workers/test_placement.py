"""Where trials run: ``training.device`` / ``gpus_per_trial`` / ``amp`` (validated, stored only when set), the
device a worker picks, the GPUs every Ray task asks for, and datasets shipped to nodes that cannot read them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from searchspace.errors import SpecError
from tests.workers import tiny_spec
from workers.data import DatasetConfig, adopt, shipment
from workers.data import dataset as data_module
from workers.runtime import RayExecutor, Task
from workers.runtime.executor import gpus_per_task
from workers.search import SearchConfig
from workers.training import DeviceUnavailable, TrainBudget, TrainDevice, train_and_evaluate
from workers.training.loop import train_device

CUDA = torch.cuda.is_available()


def test_defaults_validation_and_stored_bytes() -> None:
    budget = TrainBudget()
    assert (budget.device, budget.gpus_per_trial, budget.amp) == (TrainDevice.AUTO, 0.25, False)
    assert not {"device", "gpus_per_trial", "amp"} & set(budget.to_dict())  # old configs keep their bytes
    set_ = TrainBudget(device="cuda", gpus_per_trial=0.5, amp=True)
    assert {k: set_.to_dict()[k] for k in ("device", "gpus_per_trial", "amp")} == {
        "device": "cuda", "gpus_per_trial": 0.5, "amp": True}
    config = SearchConfig(budget=set_)
    assert SearchConfig.from_dict(config.to_dict()) == config
    for bad, field in (({"device": "tpu"}, "device"), ({"gpus_per_trial": 0}, "gpus_per_trial"),
                       ({"gpus_per_trial": 65}, "gpus_per_trial"), ({"amp": "yes"}, "amp")):
        with pytest.raises(SpecError) as err:
            TrainBudget(**bad)
        assert err.value.field == field


@pytest.mark.skipif(CUDA, reason="checks the CPU-only behaviour")
def test_a_cpu_only_worker_trains_on_the_cpu_and_refuses_cuda() -> None:
    assert train_device("auto") == "cpu" and train_device("cpu") == "cpu"
    with pytest.raises(DeviceUnavailable, match="training.device is 'cuda' but this worker has no CUDA"):
        train_device("cuda")


def test_each_task_asks_ray_for_gpus_only_when_it_uses_cuda() -> None:
    auto, cpu, cuda = TrainBudget(), TrainBudget(device="cpu"), TrainBudget(device="cuda", gpus_per_trial=0.5)
    assert gpus_per_task(auto, "cpu", 0) == 0.0  # CPU-only cluster: as before
    assert gpus_per_task(auto, "cpu", 2) == 0.25  # fractional: 4 trials per GPU
    assert gpus_per_task(cpu, "cpu", 2) == 0.0
    assert gpus_per_task(cuda, "cpu", 1) == 0.5
    assert gpus_per_task(cpu, "cuda", 1) == 0.25  # timed on CUDA: needs a GPU too
    assert gpus_per_task(None, "cpu", 4) == 0.0
    with pytest.raises(DeviceUnavailable, match="training.device asks for CUDA but the Ray cluster has no GPU"):
        gpus_per_task(cuda, "cpu", 0)
    with pytest.raises(DeviceUnavailable, match="latency.device"):
        gpus_per_task(cpu, "cuda:0", 0)


def _assigned(*_: object) -> dict:
    import ray

    return {"accuracy": 0.5, "resources": ray.get_runtime_context().get_assigned_resources()}


@pytest.mark.usefixtures("ray_session")
@pytest.mark.skipif(CUDA, reason="checks the CPU-only behaviour")
def test_tasks_get_the_resources_they_ask_for_on_a_cpu_only_ray() -> None:
    executor = RayExecutor(1, 2, budget=TrainBudget())
    assert executor.num_gpus == 0.0
    executor.submit(Task(_assigned, (), "item"))
    [(task, evaluated)] = executor.wait(60)
    assert task.item == "item" and evaluated.measured["resources"] == {"CPU": 1.0}
    with pytest.raises(DeviceUnavailable, match="no GPU"):
        RayExecutor(1, 2, budget=TrainBudget(device="cuda"))


def test_mixed_precision_trains(tmp_path: Path) -> None:
    split = DatasetConfig(subset=0.3).load(16, 1)
    budget = TrainBudget(epochs=1, batch_size=32, amp=True, device="cpu")
    result = train_and_evaluate(tiny_spec(), split, budget, seed=0, threads=1)  # bfloat16 autocast on the CPU
    assert 0.0 <= result.accuracy <= 1.0 and np.isfinite(result.epoch_losses[0])


def _image_folder(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    for label in range(3):
        (root / f"c{label}").mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 60, (10, 14), dtype=np.uint8) + 90 * label
            Image.fromarray(pixels.astype(np.uint8)).save(root / f"c{label}" / f"{i}.png")


def test_a_shipped_dataset_loads_where_its_directory_is_gone(tmp_path: Path) -> None:
    root = tmp_path / "images"
    _image_folder(root)
    cfg = DatasetConfig(source=str(root), val_fraction=0.34)
    seen = cfg.load(16, 1)
    packed = shipment(cfg)
    assert packed is not None and packed.nbytes == sum(f.stat().st_size for f in root.rglob("*.png"))
    shutil.rmtree(root)
    data_module.clear_cache()
    try:
        adopt(packed)  # what a Ray worker on another node does with the object-store copy
        assert cfg.validate().num_images == 18
        loaded = cfg.load(16, 1)
        assert torch.equal(loaded.x_train, seen.x_train) and torch.equal(loaded.y_val, seen.y_val)
    finally:
        data_module.clear_cache()
    with pytest.raises(data_module.DatasetError, match="does not exist"):  # not adopted: the path is read
        cfg.load(16, 1)


def test_only_small_directories_are_shipped(tmp_path: Path) -> None:
    assert shipment(DatasetConfig()) is None  # digits: every node has them
    root = tmp_path / "images"
    _image_folder(root)
    assert shipment(DatasetConfig(source=str(root)), max_bytes=100) is None  # too large: a shared mount


@pytest.mark.usefixtures("ray_session")
@pytest.mark.skipif(CUDA, reason="checks the CPU-only behaviour")
def test_the_cli_names_the_missing_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workers.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["search", "--device", "cuda", "--trials", "1", "--storage", f"sqlite:///{tmp_path / 's.db'}"])
    assert exited.value.code == 2
    assert "error: training.device asks for CUDA but the Ray cluster has no GPU" in capsys.readouterr().err
