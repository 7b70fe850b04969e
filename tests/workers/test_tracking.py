"""Tracking a search in MLflow (a local SQLite tracking store) and TensorBoard (its event files, read back)."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pytest

from searchspace import zoo
from workers.search import Tracking, TrackingConfig, TrialRecord, trackers_for
from workers.search.tracking import MLflowTracker, TensorBoardTracker, stage_choices

SPEC = zoo.get("mobilenet_v2")
DONE = TrialRecord(number=0, state="COMPLETE", accuracy=0.8, latency_ms=3.5, macs=1_000, params=50,
                   spec_key=SPEC.to_string(), epoch_accuracies=[0.5, 0.7, 0.8])
FAILED = TrialRecord(number=1, state="FAIL", error="boom", spec_key=SPEC.to_string())


def test_stage_choices_are_flat_per_stage_parameters() -> None:
    choices = stage_choices(SPEC.to_dict())
    assert choices["resolution"] == 224
    assert choices["stage1.kind"] == SPEC.stages[0].block.kind and choices["stage1.repeats"] == SPEC.stages[0].repeats
    assert f"stage{len(SPEC.stages)}.out_chs" in choices and stage_choices(None) == {}


def test_mlflow_run_per_search_and_child_run_per_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # artifacts go beside the database, never into the working directory
    tracking = Tracking(trackers_for(TrackingConfig(mlflow_uri=uri, mlflow_experiment="t")))
    tracking.start("search-abc", {"n_trials": 2, "dataset": {"source": "digits"}})
    tracking.trial(DONE)
    tracking.trial(FAILED)
    tracking.finish({"trials_complete": 1.0})
    assert len(tracking.trackers) == 1  # nothing failed

    client = tracking.trackers[0].client  # type: ignore[attr-defined]
    experiment = client.get_experiment_by_name("t").experiment_id
    runs = {r.info.run_name: r for r in client.search_runs([experiment])}
    parent = runs["search-abc"]
    assert parent.data.params["dataset.source"] == "digits" and parent.data.metrics["trials_complete"] == 1.0
    done, failed = runs["trial 0"], runs["trial 1"]
    assert done.data.tags["mlflow.parentRunId"] == failed.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert (done.info.status, failed.info.status) == ("FINISHED", "FAILED")
    assert done.data.params["stage1.kind"] == SPEC.stages[0].block.kind
    assert done.data.metrics["accuracy"] == 0.8 and done.data.metrics["macs"] == 1000
    history = client.get_metric_history(done.info.run_id, "val_accuracy")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [(1, 0.5), (2, 0.7), (3, 0.8)]
    local = client.download_artifacts(done.info.run_id, "spec.json", str(tmp_path))
    assert Path(local).read_text().strip().startswith("{") and '"stages"' in Path(local).read_text()
    assert list(workdir.iterdir()) == [] and (tmp_path / "mlartifacts").is_dir()


def _events(directory: Path) -> list:
    """Every event in the TFRecord files under ``directory`` (length, CRC, payload, CRC per record)."""
    from tensorboardX.proto import event_pb2

    out = []
    for path in sorted(directory.rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            out.append(event_pb2.Event.FromString(data[at + 12:at + 12 + length]))
            at += 12 + length + 4
    return out


def test_tensorboard_scalars_and_hparams_per_trial(tmp_path: Path) -> None:
    tracking = Tracking([TensorBoardTracker(str(tmp_path))])
    tracking.start("search/abc", {})
    tracking.trial(DONE)
    trial_dir = tmp_path / "search_abc" / "trial-0000"
    events = _events(trial_dir)
    scalars = [(e.step, v.simple_value) for e in events for v in e.summary.value if v.tag == "val_accuracy"]
    assert scalars == [(1, 0.5), (2, pytest.approx(0.7)), (3, pytest.approx(0.8))]
    plugins = {v.metadata.plugin_data.plugin_name for e in events for v in e.summary.value}
    assert "hparams" in plugins
    hparam_accuracy = [v.simple_value for e in events for v in e.summary.value if v.tag == "hparam/accuracy"]
    assert hparam_accuracy == [pytest.approx(0.8)]


class _Broken:
    def start(self, name: str, config: dict) -> None:
        raise ConnectionError("tracking server gone")

    def trial(self, record: TrialRecord) -> None:
        raise AssertionError("never called once off")

    def finish(self, summary: dict) -> None:
        raise AssertionError("never called once off")


def test_a_failing_tracker_goes_off_and_the_others_go_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tensorboard = TensorBoardTracker(str(tmp_path))
    tracking = Tracking([_Broken(), tensorboard])
    with caplog.at_level(logging.WARNING):
        tracking.start("s", {})
        tracking.trial(DONE)
        tracking.finish({})
    assert tracking.trackers == [tensorboard]
    assert "tracking server gone" in caplog.text and "off for the rest of this search" in caplog.text
    assert _events(tmp_path / "s" / "trial-0000")


def test_config_refuses_nul_and_empty() -> None:
    from searchspace.errors import SpecError

    for bad in ("", "sqlite:///a\x00b"):
        with pytest.raises(SpecError, match="mlflow_uri"):
            TrackingConfig(mlflow_uri=bad)
    assert isinstance(trackers_for(TrackingConfig(tensorboard_dir=".")) [0], TensorBoardTracker)
    assert not any(isinstance(t, MLflowTracker) for t in trackers_for(TrackingConfig()))
