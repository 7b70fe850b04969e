"""The full-fidelity kinds' shared parts without Ray: a network's progress read from the files its task writes
(recorded only when it changes, at most every few seconds from the stop check), and what an architecture
records of a trained network."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from jobs.trained import ProgressWatch, network_progress, trained_record
from workers.runtime import StopReason, TrialState
from workers.training import FILES, PROGRESS, TrainConfig, write_json


def _epoch(n: int) -> dict:
    return {"epoch": n, "train_loss": 1.0, "val_accuracy": 0.1 * n, "ema_val_accuracy": None, "lr": 0.1,
            "seconds": 0.5}


def test_a_network_waits_runs_then_completes(tmp_path: Path) -> None:
    assert network_progress(tmp_path) == {"name": tmp_path.name, "state": TrialState.WAITING.value,
                                          "epochs_total": None, "epochs": []}
    write_json(tmp_path / PROGRESS, {"epochs_total": 3, "epochs": [_epoch(0)]})
    progress = network_progress(tmp_path)
    assert progress["state"] == TrialState.RUNNING.value and progress["epochs_total"] == 3
    (tmp_path / FILES["report"]).write_text("{}")
    assert network_progress(tmp_path)["state"] == TrialState.COMPLETE.value
    (tmp_path / PROGRESS).write_text("{not json")  # half-written by hand: read as nothing, never raised
    assert network_progress(tmp_path)["epochs"] == []


def test_the_watch_records_changes_only_and_polls_from_the_stop_check(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    recorded: list[dict] = []
    watch = ProgressWatch(lambda: [a, b], recorded.append, epochs_total=2, every_s=3600)
    stops = iter([None, None, StopReason.CANCELLED])
    check = watch.stop_check(lambda: next(stops))
    assert check() is None and len(recorded) == 1  # the first check reads at once
    write_json(a / PROGRESS, {"epochs_total": 2, "epochs": [_epoch(0)]})
    assert check() is None and len(recorded) == 1  # not again within every_s
    assert check() is StopReason.CANCELLED
    watch.poll()
    assert len(recorded) == 2 and recorded[-1]["a"]["epochs"] == [_epoch(0)] and recorded[-1]["b"]["epochs"] == []
    assert recorded[-1]["b"]["epochs_total"] == 2  # the recipe's, before the network's task wrote its own
    watch.poll()
    assert len(recorded) == 2  # unchanged: not recorded again
    watch.poll(force=True)
    assert len(recorded) == 3


def test_trained_record_points_at_the_files_relative_to_the_artifacts(tmp_path: Path) -> None:
    directory = tmp_path / "finalizes" / "abc" / "networks" / "trial-3"
    directory.mkdir(parents=True)
    report = {"test_accuracy": 0.9, "epochs": [_epoch(0)], "files": {"weights": "weights.safetensors"}}
    (directory / FILES["report"]).write_text(json.dumps(report))
    job = uuid.uuid4()
    record = trained_record(directory, tmp_path, "finalize", job, cpu_seconds=2.5)
    assert record["files"] == {"weights": "finalizes/abc/networks/trial-3/weights.safetensors"}
    assert record["directory"] == "finalizes/abc/networks/trial-3" and record["job"] == {"kind": "finalize",
                                                                                         "id": str(job)}
    assert record["test_accuracy"] == 0.9 and record["cpu_seconds"] == 2.5 and record["epochs"] == [_epoch(0)]


def test_train_config_round_trips_and_names_bad_fields() -> None:
    import pytest

    from searchspace.errors import SpecError

    config = TrainConfig.from_dict({"dataset": {"subset": 0.5}, "recipe": {"epochs": 3}, "threads": 2})
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    for bad, field in (({"threads": 0}, "threads"), ({"recipe": {"epochs": 0}}, "recipe.epochs"),
                       ({"dataset": {"subset": 2}}, "dataset"), ({"epochs": 3}, "unknown field")):
        with pytest.raises(SpecError, match=field):
            TrainConfig.from_dict(bad)
