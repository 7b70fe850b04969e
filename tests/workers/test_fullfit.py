"""Full-fidelity training: the recipe, Kornia augmentation, the loop on digits with a held-out test split,
resuming a run killed with SIGKILL, and the trained product reproduced in a fresh interpreter with only torch
(and by ONNX Runtime)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from searchspace.errors import SpecError
from tests.workers import tiny_spec
from workers.data import DatasetConfig
from workers.training import FILES, CheckpointMismatch, FullFitResult, TrainRecipe, fit, save_product
from workers.training.augment import Augment
from workers.training.fullfit import warmup_cosine

ROOT = Path(__file__).resolve().parents[2]
DATA = DatasetConfig(subset=0.5)
RECIPE = TrainRecipe(epochs=2, resolution=12, batch_size=64)
KILL_DATA = DatasetConfig(subset=0.3)


def kill_recipe(epochs: int) -> TrainRecipe:
    return TrainRecipe(epochs=epochs, resolution=8, batch_size=32, auto_augment="randaugment", drop_path_rate=0.1)


# --- the recipe ---------------------------------------------------------------------------------------------


def test_recipe_validates_and_round_trips() -> None:
    recipe = TrainRecipe(optimizer="adamw", lr=2e-3, weight_decay=0.05, patience=3)
    assert TrainRecipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe
    for bad, field in (({"epochs": 0}, "epochs"), ({"optimizer": "adam"}, "optimizer"), ({"crop_scale": 0.0},
                       "crop_scale"), ({"ema_decay": 1.0}, "ema_decay"), ({"resolution": 4}, "resolution"),
                       ({"flip": "yes"}, "flip"), ({"drop_path_rate": 0.95}, "drop_path_rate")):
        with pytest.raises(SpecError, match=field):
            TrainRecipe.from_dict(bad)
    with pytest.raises(SpecError, match="unknown field"):
        TrainRecipe.from_dict({"epoch": 3})


def test_int8_is_a_recipe_switch_that_leaves_training_and_old_recipes_alone() -> None:
    from workers.training.fullfit import fingerprint

    assert "int8" not in TrainRecipe().to_dict()  # a recipe stored before the switch reads (and hashes) the same
    assert TrainRecipe(int8=False).to_dict()["int8"] is False
    assert TrainRecipe.from_dict({"int8": False}) == TrainRecipe(int8=False)
    with pytest.raises(SpecError, match="int8"):
        TrainRecipe.from_dict({"int8": "yes"})
    spec, data = tiny_spec(), DatasetConfig()
    assert fingerprint(spec, data, RECIPE) == fingerprint(spec, data, replace(RECIPE, int8=False))
    assert fingerprint(spec, data, RECIPE) != fingerprint(spec, data, replace(RECIPE, lr=0.05))


def test_warmup_then_cosine_to_zero() -> None:
    factor = warmup_cosine(total_steps=100, warmup_steps=10)
    assert [factor(s) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert factor(10) == pytest.approx(1.0) and factor(55) == pytest.approx(0.5)
    assert factor(99) < 0.01 and all(factor(s) >= factor(s + 1) for s in range(10, 99))
    assert warmup_cosine(10, 0)(0) == 1.0


# --- augmentation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["randaugment", "trivialaugment"])
@pytest.mark.parametrize("chans", [1, 3])
def test_augmentation_keeps_shape_and_statistics_and_is_seeded(policy: str, chans: int) -> None:
    mean, std = (0.4,) * chans, (0.2,) * chans
    augment = Augment(TrainRecipe(auto_augment=policy), 12, mean, std)
    x = (torch.rand(32, chans, 12, 12) - 0.4) / 0.2
    torch.manual_seed(0)
    first = augment(x)
    torch.manual_seed(0)
    again = augment(x)
    assert first.shape == x.shape and torch.isfinite(first).all()
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, x)
    assert first.min() >= -0.4 / 0.2 - 1e-4 and first.max() <= 0.6 / 0.2 + 1e-4  # still images in [0, 1]
    off = Augment(TrainRecipe(crop_scale=1.0, flip=False, auto_augment="none"), 12, mean, std)
    assert off(x) is x


# --- training, the product, a fresh interpreter -------------------------------------------------------------


@pytest.fixture(scope="module")
def trained() -> FullFitResult:
    return fit(tiny_spec(), DATA, RECIPE, threads=1)


def test_fit_selects_on_validation_and_scores_the_test_split(trained: FullFitResult) -> None:
    info = DATA.validate()
    assert trained.spec.resolution == 12 and trained.spec.num_classes == 10
    assert len(trained.epochs) == 2 and trained.stopped == "" and trained.resumed_from == 0
    assert trained.test_size == info.test_size > 300  # the held-out split, not the validation one
    best = max(max(e.val_accuracy, e.ema_val_accuracy) for e in trained.epochs)
    assert trained.val_accuracy == best
    chosen = trained.epochs[trained.best_epoch]
    assert best == (chosen.ema_val_accuracy if trained.selected == "ema" else chosen.val_accuracy)
    assert trained.test_accuracy > 0.2  # chance is 0.1; two epochs of a tiny net under heavy augmentation
    y_test = DATA.load(12, 1, test=True).y_test
    assert trained.test_accuracy == float((trained.test_predictions == y_test).float().mean())
    assert trained.epochs[0].lr == pytest.approx(0.1) and trained.epochs[-1].lr == pytest.approx(0.0, abs=1e-9)


FRESH = """
import importlib.util, json, sys
import torch
spec = importlib.util.spec_from_file_location("model", sys.argv[1] + "/model.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
torch.set_num_threads(1)
model = module.load_model(sys.argv[1] + "/weights.pt")
x, y = torch.load(sys.argv[2], weights_only=True)
with torch.inference_mode():
    predictions = model(x).argmax(1)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("searchspace", "workers", "safetensors", "onnxruntime"))
print(json.dumps({"accuracy": float((predictions == y).float().mean()), "predictions": predictions.tolist(),
                  "mean": list(module.INPUT_MEAN), "foreign": loaded}))
"""


def test_product_reproduces_the_test_accuracy_with_only_torch(trained: FullFitResult, tmp_path: Path) -> None:
    import onnxruntime as ort
    from safetensors.torch import load_file

    report = save_product(trained, tmp_path / "out")
    out = tmp_path / "out"
    assert report["test_accuracy"] == trained.test_accuracy and len(report["epochs"]) == 2
    assert report["export_errors"] == {} and set(report["files"]) == set(FILES)
    assert json.loads((out / "report.json").read_text())["test_accuracy"] == trained.test_accuracy
    split = DATA.load(12, 1, test=True)
    torch.save((split.x_test, split.y_test), tmp_path / "test.pt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of this project importable
    done = subprocess.run([sys.executable, "-c", FRESH, str(out), str(tmp_path / "test.pt")], check=False,
                          capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    fresh = json.loads(done.stdout)
    assert fresh["foreign"] == []
    assert fresh["predictions"] == trained.test_predictions.tolist()
    assert fresh["accuracy"] == trained.test_accuracy
    assert fresh["mean"] == pytest.approx(list(split.mean))

    weights = load_file(str(out / "weights.safetensors"))
    assert weights.keys() == trained.state_dict.keys()
    assert all(torch.equal(weights[k], v) for k, v in trained.state_dict.items())
    scripted = torch.jit.load(str(out / "model.torchscript.pt")).eval()
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        reference = scripted(split.x_test)
    onnx_logits = session.run(None, {"images": split.x_test.numpy()})[0]
    assert abs(onnx_logits - reference.numpy()).max() < 1e-4
    assert (onnx_logits.argmax(1) == trained.test_predictions.numpy()).mean() > 0.99


def test_the_int8_model_ships_and_is_scored_beside_the_float_one(trained: FullFitResult, tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort

    assert trained.int8_error is None and trained.int8_onnx is not None
    assert abs(trained.int8_test_accuracy - trained.test_accuracy) < 0.1  # 8 bits lose little of a trained net
    report = save_product(trained, tmp_path)
    assert report["int8_test_accuracy"] == trained.int8_test_accuracy and report["files"]["int8_onnx"]
    path = tmp_path / FILES["int8_onnx"]
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    split = DATA.load(12, 1, test=True)  # scored again here, by ONNX Runtime on the shipped file alone
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"images": split.x_test.numpy()})[0]
    assert float((logits.argmax(1) == split.y_test.numpy()).mean()) == pytest.approx(trained.int8_test_accuracy)

    failed = save_product(replace(trained, int8_onnx=None, int8_error="ExportError: no"), tmp_path)
    assert "int8_onnx" not in failed["files"] and failed["export_errors"] == {"int8_onnx": "ExportError: no"}
    assert not path.exists()  # the earlier file went with its weights
    off = save_product(replace(trained, int8_onnx=None, int8_test_accuracy=None), tmp_path)
    assert "int8_onnx" not in off["files"] and off["export_errors"] == {}


def test_without_int8_nothing_is_quantized() -> None:
    quick = TrainRecipe(epochs=1, resolution=8, batch_size=32, auto_augment="none", ema_decay=0.0, int8=False)
    result = fit(tiny_spec(resolution=8), KILL_DATA, quick, threads=1)
    assert result.int8_onnx is None and result.int8_test_accuracy is None and result.int8_error is None


def test_train_command_writes_the_product(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workers.cli import main

    (tmp_path / "spec.json").write_text(tiny_spec().to_json())
    argv = ["train", "--spec", str(tmp_path / "spec.json"), "--subset", "0.3", "--epochs", "1", "--resolution", "8",
            "--batch-size", "32", "--no-flip", "--auto-augment", "none", "--ema-decay", "0", "--threads", "1",
            "--out", str(tmp_path / "out"), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["recipe"]["flip"] is False and report["recipe"]["ema_decay"] == 0.0
    assert report["epochs"][0]["ema_val_accuracy"] is None and report["selected"] == "weights"
    assert report["dataset"]["test_size"] > 0 and 0.0 <= report["test_accuracy"] <= 1.0
    assert report["epochs"][0]["lr"] < 1e-6  # one epoch: half warm-up, half cosine down to 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [*report["files"].values(), "checkpoint.pt"])
    with pytest.raises(SystemExit) as err:  # the same checkpoint with another recipe is refused, by flag
        main([*argv[:-2], "--lr", "0.05", "--json"])
    assert err.value.code == 2


def test_early_stopping_on_a_validation_plateau() -> None:
    still = TrainRecipe(epochs=5, resolution=8, batch_size=32, lr=1e-8, warmup_epochs=0, crop_scale=1.0, flip=False,
                        auto_augment="none", ema_decay=0.0, patience=2)
    result = fit(tiny_spec(resolution=8), KILL_DATA, still, threads=1)  # the weights barely move: no improvement
    assert result.stopped == "plateau" and len(result.epochs) == 3 and result.best_epoch == 0


# --- checkpoints: kill -9, then resume ----------------------------------------------------------------------


def test_a_run_killed_with_sigkill_resumes_from_its_last_epoch(tmp_path: Path) -> None:
    epochs = 4
    path = tmp_path / "run" / "checkpoint.pt"
    child = subprocess.Popen([sys.executable, str(ROOT / "tests/workers/fullfit_child.py"), str(path), str(epochs),
                              "3"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 240
        while not path.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.exists(), "the child wrote no checkpoint"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    done = torch.load(path, weights_only=True)["epochs_done"]
    assert 1 <= done < epochs
    resumed = fit(tiny_spec(resolution=8), KILL_DATA, kill_recipe(epochs), checkpoint=path, threads=1)
    assert resumed.resumed_from == done and len(resumed.epochs) == epochs
    clean = fit(tiny_spec(resolution=8), KILL_DATA, kill_recipe(epochs), threads=1)
    strip = [replace(e, seconds=0.0) for e in resumed.epochs]
    assert strip == [replace(e, seconds=0.0) for e in clean.epochs]  # as if never killed
    assert resumed.test_accuracy == clean.test_accuracy and resumed.best_epoch == clean.best_epoch
    again = fit(tiny_spec(resolution=8), KILL_DATA, kill_recipe(epochs), checkpoint=path, threads=1)
    assert again.resumed_from == epochs and again.test_accuracy == clean.test_accuracy  # finished: nothing to do
    with pytest.raises(CheckpointMismatch):
        fit(tiny_spec(resolution=8), KILL_DATA, kill_recipe(epochs + 1), checkpoint=path, threads=1)
