"""Task detection on a search: the config's checks and defaults, and a CLI detection search end to end (real
Ray, real training of detectors on the generated box set, one epoch on 64 px images), then its finalize."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from searchspace.detection import DetectorSpec
from searchspace.errors import SpecError
from searchspace.space import DETECTION_SPACE, PROXY_SPACE
from workers.cli import main
from workers.data import DatasetConfig
from workers.search import SearchConfig
from workers.search.config import DEFAULT_BASELINES, DETECTION_BASELINES, Task

# A tiny backbone skeleton that reaches strides 8, 16, 32 at 64 px; one choice per stage but the first's expansion.
TINY_SPACE = {
    "stages": [{"stride": s, "out_chs": c, "repeats": 1, "kinds": ["mbconv"], "expansions": e, "repeat_deltas": [0],
                "kernels": [3], "se_ratios": [0.0], "acts": ["relu"], "width_factors": [1.0]}
               for s, c, e in ((1, 8, [1.0, 3.0]), (2, 16, [3.0]), (2, 16, [3.0]), (2, 24, [3.0]), (2, 32, [3.0]))],
    "resolutions": [64], "stem_chs": 8, "head_chs": 0, "stem_stride": 2, "dropout": 0.0}
TINY = {"task": "detection", "dataset": {"source": "builtin-boxes", "subset": 0.2}, "space": TINY_SPACE,
        "detector": {"widths": [8, 16], "head_convs": [1]}, "budget": {"epochs": 1, "batch_size": 16},
        "n_trials": 2, "n_workers": 2, "sampler": "random", "objective": "macs", "pruner": "none", "seed": 1,
        "baselines": ["ssdlite320_mobilenet_v2"]}


def test_a_detection_search_takes_the_detection_defaults() -> None:
    config = SearchConfig(task=Task.DETECTION, dataset=DatasetConfig(source="builtin-boxes"))
    assert config.space == DETECTION_SPACE and config.baselines == DETECTION_BASELINES
    again = SearchConfig.from_dict(json.loads(config.to_json()))
    assert again == config and again.task is Task.DETECTION
    plain = SearchConfig()  # a classification search's stored form (and study name) is unchanged
    assert "task" not in plain.to_dict() and "detector" not in plain.to_dict()
    assert plain.space == PROXY_SPACE and plain.baselines == DEFAULT_BASELINES


@pytest.mark.parametrize(("given", "field", "words"), [
    ({"task": "detection", "dataset": {"source": "digits"}}, "dataset.source", "classification dataset"),
    ({"dataset": {"source": "builtin-boxes"}}, "dataset.source", "task 'detection'"),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "strategy": "oneshot"}, "strategy", "one-shot"),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "space": {**PROXY_SPACE.to_dict(), "resolutions": [64]}},
     "space",
     "strides 8, 16 and 32"),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "baselines": ["mobilenet_v2"]}, "baselines",
     "detector zoo"),
    ({"task": "detection", "dataset": {"source": "builtin-boxes"}, "screening": {"proxy": "naswot"}},
     "screening.proxy", "classifiers only"),
    ({"task": "segmentation"}, "task", "detection"),
])
def test_what_a_detection_search_cannot_take_names_its_field(given: dict, field: str, words: str) -> None:
    with pytest.raises(SpecError) as err:
        SearchConfig.from_dict(given)
    assert err.value.field == field and words in err.value.message, err.value


def test_the_cli_refuses_a_classification_dataset_for_detection(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--task", "detection", "--dataset", "digits"])
    assert exit_.value.code == 2 and "--dataset" in capsys.readouterr().err


@pytest.fixture(scope="module")
def searched(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """The tiny detection search run by the command line: its storage URL and its JSON result."""
    tmp = tmp_path_factory.mktemp("detsearch")
    config = tmp / "search.json"
    config.write_text(json.dumps(TINY))
    storage = f"sqlite:///{tmp / 'study.db'}"
    out = tmp / "result.json"
    with open(out, "w") as sink, _stdout_to(sink):
        code = main(["search", "--config", str(config), "--storage", storage, "--study", "det", "--json",
                     "--log-file", str(tmp / "log")])
    assert code == 0 and os.path.getsize(out) > 0
    return storage, json.loads(out.read_text())


def test_a_cli_detection_search_reports_real_map_for_trials_and_baselines(searched: tuple[str, dict]) -> None:
    _, result = searched
    assert result["counts"] == {"COMPLETE": 2}
    for trial in result["trials"]:
        spec = DetectorSpec.from_dict(trial["spec"])  # the stored key is the whole detector's
        assert spec.resolution == 64 and spec.object_classes == 3 and trial["macs"] > 0
        assert 0.0 <= trial["accuracy"] <= 1.0 and trial["epoch_accuracies"] == [trial["accuracy"]]  # val mAP
    [baseline] = result["baselines"]
    assert baseline["name"] == "ssdlite320_mobilenet_v2" and baseline["state"] == "COMPLETE", baseline
    assert 0.0 <= baseline["accuracy"] <= 1.0 and baseline["spec_key"].startswith("det:")
    assert baseline["dominated"] in (True, False) and baseline["macs"] > 0


def test_finalize_trains_the_front_and_baselines_as_detectors(searched: tuple[str, dict], tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    storage, _ = searched
    out = tmp_path / "final"
    assert main(["finalize", "--storage", storage, "--study", "det", "--out", str(out), "--top-k", "1",
                 "--epochs", "1", "--batch-size", "16", "--json"]) == 0
    report = json.loads(capfd.readouterr().out)
    names = {n["name"]: n for n in report["networks"]}
    assert set(names) == {report["proxy_truth"]["front"][0], "baseline-ssdlite320_mobilenet_v2"}
    for network in names.values():
        assert network["error"] is None, network
        assert 0.0 <= network["test_accuracy"] <= 1.0 and 0.0 <= network["test_map50"] <= 1.0  # test mAPs
        assert network["test_map50"] >= network["test_accuracy"]
        files = {kind: Path(path) for kind, path in network["files"].items()}
        assert DetectorSpec.from_json(files["spec"].read_text()).object_classes == 3
        assert files["weights"].stat().st_size > 0 and files["onnx"].stat().st_size > 0
        assert "def load_model" in files["python"].read_text()


@contextlib.contextmanager
def _stdout_to(sink: TextIO) -> Iterator[None]:
    """The process's file descriptor 1 (where the command prints its JSON) into ``sink``."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(sink.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@pytest.mark.usefixtures("ray_session")
def test_mo_asha_stops_a_detection_trial_on_its_first_epochs_map() -> None:
    """The per-epoch validation mAP goes to the MO-ASHA referee, which stops a trial that a stopped one
    dominates at the first rung: one epoch trained of three, recorded as stopped by the callback."""
    import optuna
    import ray

    from searchspace.detection import count_detector, sample_detector
    from workers.search import TASKS
    from workers.search.rungs import Decision, Report, RungConfig
    from workers.search.trial import RungReferee, Ticket

    config = TASKS[Task.DETECTION].sized(SearchConfig.from_dict({**TINY, "budget": {"epochs": 3, "batch_size": 16}}))
    choices = {f"stage{i}/{k}": v for i in range(5) for k, v in (
        ("kind", "mbconv"), ("width", 1.0), ("kernel", 3), ("expansion", 3.0), ("se_ratio", 0.0), ("act", "relu"),
        ("repeats", 1))}
    choices.update({"resolution": 64, "detector/head": "yolox", "detector/neck": "none", "detector/width": 8,
                    "detector/head_convs": 1})
    spec = sample_detector(optuna.trial.FixedTrial(choices), config.space, config.detector, config.space.num_classes)
    cheap = float(count_detector(spec).macs) / 2  # a stopped trial: better mAP at half the cost
    referee = ray.remote(num_cpus=0)(RungReferee).remote(RungConfig(milestones=(1,), eta=3),
                                                         [Report(7, 0, 0.9, cheap, Decision.STOP)])
    measured = TASKS[Task.DETECTION].evaluate(spec, config, Ticket(referee, 8, float(count_detector(spec).macs)))
    ray.kill(referee)
    assert measured["stopped"] == "callback" and len(measured["epoch_accuracies"]) == 1
    assert measured["accuracy"] == measured["epoch_accuracies"][0] and measured["train_seconds"] > 0


def test_a_detection_baseline_is_fitted_on_the_whole_detector_and_capped_by_max_macs() -> None:
    from searchspace.detection import count_detector
    from workers.search import TASKS

    config = SearchConfig.from_dict({**TINY, "max_macs": 1_500_000}).with_data_shape(3, 3)
    fitted = TASKS[Task.DETECTION].baseline("yolox_nano_style", config)
    assert isinstance(fitted.spec, DetectorSpec) and fitted.macs == count_detector(fitted.spec).macs
    assert fitted.macs_range[1] == 1_500_000 and fitted.macs <= 1_500_000 and fitted.width < 1.0
