"""Training detectors on the built-in boxes: a tiny SSDLite learns in two epochs; the train-detector command
trains a tiny YOLOX-head detector from a spec file and writes its product."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from searchspace.blocks import MBConvSpec
from searchspace.detection import DetectorSpec, SSDLiteHeadSpec, YOLOXHeadSpec, build_detector
from searchspace.detection.spec import NeckSpec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec
from workers.cli import main
from workers.detection import BoxDatasetConfig, evaluate_map, fit_detector, fitted
from workers.training import CheckpointMismatch, TrainRecipe

from .test_box_data import write_yolo


def tiny_backbone(resolution: int = 64) -> ArchSpec:
    stages = tuple(StageSpec(block=MBConvSpec(out_chs=c, stride=2, kernel=3, expansion=3.0)) for c in (24, 32, 48, 64))
    return ArchSpec(stem=StemSpec(out_chs=16), stages=stages, head=HeadSpec(conv_chs=0), resolution=resolution)


def tiny_ssdlite(resolution: int = 64) -> DetectorSpec:
    head = SSDLiteHeadSpec(extra_chs=(64,), aspect_ratios=(2.0,), min_ratio=0.1, max_ratio=0.6)
    return DetectorSpec(backbone=tiny_backbone(resolution), head=head, num_classes=4, resolution=resolution)


@pytest.fixture
def one_thread() -> object:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_tiny_ssdlite_trains_beyond_an_untrained_one(one_thread: object) -> None:
    data = BoxDatasetConfig(images=240, seed=2)
    recipe = TrainRecipe(epochs=2, batch_size=8, optimizer="adamw", lr=0.01, weight_decay=0.01, warmup_epochs=0.3,
                         crop_scale=1.0, auto_augment="none", eval_batch_size=64)
    result = fit_detector(tiny_ssdlite(), data, recipe)
    split = data.load(64)
    torch.manual_seed(recipe.seed)
    untrained = evaluate_map(build_detector(fitted(tiny_ssdlite(), 3, 3)), split.val, split, 64, "cpu")
    assert len(result.epochs) == 2 and all(e.train_loss is not None for e in result.epochs)
    assert result.epochs[1].train_loss < result.epochs[0].train_loss
    assert result.val_map50 > untrained[1] and result.val_map >= untrained[0]
    assert result.test_size == len(split.test) and 0.0 <= result.test_map <= result.test_map50 <= 1.0
    assert result.spec.num_classes == 4 and result.images_per_second > 0


def test_train_detector_command_writes_the_product(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   one_thread: object) -> None:
    spec = DetectorSpec(backbone=tiny_backbone(), neck=NeckSpec(kind="pan_lite", width=16),
                        head=YOLOXHeadSpec(width=16, convs=1), num_classes=3, resolution=64)
    (tmp_path / "det.json").write_text(spec.to_json())
    out = tmp_path / "out"
    code = main(["train-detector", "--spec", str(tmp_path / "det.json"), "--images", "40", "--epochs", "1",
                 "--batch-size", "8", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "val mAP" in printed and "held-out images" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["spec"]["head"]["kind"] == "yolox" and len(report["epochs"]) == 1
    assert (out / "weights.safetensors").stat().st_size > 0 and (out / "checkpoint.pt").exists()
    assert DetectorSpec.from_json((out / "spec.json").read_text()).num_classes == 3
    import onnxruntime

    session = onnxruntime.InferenceSession(str(out / "detector.onnx"), providers=["CPUExecutionProvider"])
    image = ((torch.rand(1, 3, 64, 64) - torch.tensor(report["mean"]).view(1, 3, 1, 1))
             / torch.tensor(report["std"]).view(1, 3, 1, 1))
    boxes, scores = session.run(None, {session.get_inputs()[0].name: image.numpy()})
    assert boxes.shape[0] == 1 and boxes.shape[2] == 4 and scores.shape[2] == 3
    assert "def build_model" in (out / "detector.py").read_text()


def test_train_detector_command_names_a_bad_annotation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_yolo(tmp_path, "0 0.5 0.5 -0.2 0.2")
    with pytest.raises(SystemExit) as err:
        main(["train-detector", "--zoo", "yolox_nano_style", "--dataset", str(tmp_path), "--epochs", "1"])
    assert err.value.code == 2
    assert "1.txt: annotation 1: box" in capsys.readouterr().err


def test_a_rerun_resumes_from_its_checkpoint_and_refuses_another_runs(tmp_path: Path, one_thread: object) -> None:
    data = BoxDatasetConfig(images=40)
    recipe = TrainRecipe(epochs=1, batch_size=8, optimizer="adamw", lr=0.01, auto_augment="none")
    first = fit_detector(tiny_ssdlite(), data, recipe, checkpoint=tmp_path / "c.pt")
    again = fit_detector(tiny_ssdlite(), data, recipe, checkpoint=tmp_path / "c.pt")  # nothing left to train
    assert again.epochs == first.epochs and again.test_map == first.test_map
    assert all(torch.equal(again.state_dict[k], v) for k, v in first.state_dict.items())
    with pytest.raises(CheckpointMismatch):
        fit_detector(tiny_ssdlite(), data, replace(recipe, lr=0.02), checkpoint=tmp_path / "c.pt")
