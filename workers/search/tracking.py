"""Following a search in the tools teams already run: MLflow and TensorBoard.

- MLflow (``TrackingConfig.mlflow_uri``, e.g. ``sqlite:///mlflow.db`` or a tracking server's URL): one run per
  search with its configuration as parameters, and a child run per trial with the architecture's per-stage
  choices as parameters, the validation accuracy of every epoch as a metric with its step, the final accuracy,
  latency, MACs and parameters, and the spec as an artifact (``spec.json``).
- TensorBoard (``TrackingConfig.tensorboard_dir``): one event directory per trial with the accuracy per epoch and
  an HParams entry (in its ``hparams`` sub-directory) (the per-stage choices against accuracy, latency and MACs), so TensorBoard's HParams view
  compares trials.

Tracking is best-effort: a tracker that fails (a server gone, a full disk) is switched off for the rest of the
search with one warning naming why; the search itself never fails because of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from searchspace.fields import doc
from workers.runtime import TrialState
from workers.search.results import TrialRecord

log = logging.getLogger(__name__)
MAX_PARAM_CHARS = 500  # MLflow parameter values are short strings


@dataclass(frozen=True, kw_only=True)
class TrackingConfig:
    """Where a search is followed besides its own database (both off by default)."""

    mlflow_uri: str | None = field(default=None, metadata=doc(
        "MLflow tracking URI (sqlite:///mlflow.db, or a server's http://host:port): a run per search, a child run "
        "per trial"))
    mlflow_experiment: str = field(default="nas-scaler", metadata=doc("MLflow experiment the runs go to"))
    tensorboard_dir: str | None = field(default=None, metadata=doc(
        "directory of TensorBoard event files: accuracy per epoch and HParams, one sub-directory per trial"))

    def __post_init__(self) -> None:
        for name in ("mlflow_uri", "mlflow_experiment", "tensorboard_dir"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value or "\x00" in value or len(value) > 4096):
                from searchspace.errors import SpecError

                raise SpecError(name, "must be a non-empty string of at most 4096 characters without NUL")


class Tracker(Protocol):
    def start(self, name: str, config: dict[str, Any]) -> None: ...
    def trial(self, record: TrialRecord) -> None: ...
    def finish(self, summary: dict[str, float]) -> None: ...


def flat(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """A nested configuration as dotted keys and leaf values."""
    for key, value in data.items():
        if isinstance(value, dict):
            yield from flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def stage_choices(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The choices a search makes, as flat parameters: the resolution and per stage its block's kind, kernel,
    expansion, SE ratio, activation, repeats and output channels."""
    if not spec:
        return {}
    out: dict[str, Any] = {"resolution": spec.get("resolution")}
    for i, stage in enumerate(spec.get("stages", []), start=1):
        block = stage.get("block", {})
        for key in ("kind", "kernel", "expansion", "se_ratio", "act", "out_chs"):
            if block.get(key) is not None:
                out[f"stage{i}.{key}"] = block[key]
        out[f"stage{i}.repeats"] = stage.get("repeats")
    return out


def _finals(record: TrialRecord) -> dict[str, float]:
    return {k: float(v) for k in ("accuracy", "latency_ms", "macs", "params")
            if (v := getattr(record, k)) is not None}


def artifact_location(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a SQLite tracking database (``mlartifacts/`` in its
    directory), not MLflow's default of ``./mlruns`` under whatever directory the process runs in; a tracking
    server's own default otherwise (None)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return (Path(uri[len(prefix):]).resolve().parent / "mlartifacts").as_uri()


class MLflowTracker:
    """A run per search and a child run per trial in MLflow (through ``MlflowClient``: no global active run)."""

    def __init__(self, uri: str, experiment: str) -> None:
        from mlflow.entities import RunStatus
        from mlflow.tracking import MlflowClient

        ended = {TrialState.COMPLETE: RunStatus.FINISHED, TrialState.PRUNED: RunStatus.KILLED,
                 TrialState.FAIL: RunStatus.FAILED}
        self.status = {state: RunStatus.to_string(status) for state, status in ended.items()}
        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        self.experiment = found.experiment_id if found else self.client.create_experiment(
            experiment, artifact_location=artifact_location(uri))
        self.parent: str | None = None

    def start(self, name: str, config: dict[str, Any]) -> None:
        run = self.client.create_run(self.experiment, run_name=name, tags={"nas.kind": "search"})
        self.parent = run.info.run_id
        for key, value in flat(config):
            self.client.log_param(self.parent, key, str(value)[:MAX_PARAM_CHARS])

    def trial(self, record: TrialRecord) -> None:
        tags = {"mlflow.parentRunId": self.parent, "nas.kind": "trial", "nas.state": str(record.state)}
        run = self.client.create_run(self.experiment, run_name=f"trial {record.number}", tags=tags).info.run_id
        for key, value in stage_choices(record.spec).items():
            self.client.log_param(run, key, str(value))
        for epoch, accuracy in enumerate(record.epoch_accuracies, start=1):
            self.client.log_metric(run, "val_accuracy", accuracy, step=epoch)
        for key, value in _finals(record).items():
            self.client.log_metric(run, key, value)
        if record.spec is not None:
            self.client.log_text(run, json.dumps(record.spec, indent=2), "spec.json")
        self.client.set_terminated(run, status=self.status.get(record.state, self.status[TrialState.COMPLETE]))

    def finish(self, summary: dict[str, float]) -> None:
        for key, value in summary.items():
            self.client.log_metric(self.parent, key, value)
        self.client.set_terminated(self.parent)


class TensorBoardTracker:
    """TensorBoard event files: ``<dir>/<search>/trial-NNNN`` per trial (scalars and an HParams entry)."""

    def __init__(self, directory: str) -> None:
        self.root = Path(directory)
        self.search = self.root

    def start(self, name: str, config: dict[str, Any]) -> None:
        self.search = self.root / "".join(c if c.isalnum() or c in "-_." else "_" for c in name)

    def trial(self, record: TrialRecord) -> None:
        from tensorboardX import SummaryWriter

        with SummaryWriter(str(self.search / f"trial-{record.number:04d}")) as writer:
            for epoch, accuracy in enumerate(record.epoch_accuracies, start=1):
                writer.add_scalar("val_accuracy", accuracy, epoch)
            hparams = {k: v for k, v in stage_choices(record.spec).items() if v is not None}
            metrics = {f"hparam/{k}": v for k, v in _finals(record).items()}
            if hparams and metrics:
                writer.add_hparams(hparams, metrics, name="hparams")  # its own writer: its own sub-directory

    def finish(self, summary: dict[str, float]) -> None:
        return None


def trackers_for(config: TrackingConfig) -> list[Tracker]:
    """The trackers ``config`` turns on."""
    out: list[Tracker] = []
    if config.mlflow_uri is not None:
        out.append(MLflowTracker(config.mlflow_uri, config.mlflow_experiment))
    if config.tensorboard_dir is not None:
        out.append(TensorBoardTracker(config.tensorboard_dir))
    return out


class Tracking:
    """Several trackers behind one search: each call goes to every tracker still on; one that raises is
    switched off with a warning (tracking never fails a search)."""

    def __init__(self, trackers: list[Tracker]) -> None:
        self.trackers = list(trackers)

    def _each(self, what: str, call: Callable[[Tracker], None]) -> None:
        for tracker in list(self.trackers):
            try:
                call(tracker)
            except Exception as err:  # noqa: BLE001 - any backend failure: that tracker goes off, the search goes on
                log.warning("%s: %s failed (%s: %s); it is off for the rest of this search",
                            type(tracker).__name__, what, type(err).__name__, err)
                self.trackers.remove(tracker)

    def start(self, name: str, config: dict[str, Any]) -> None:
        self._each("start", lambda t: t.start(name, config))

    def trial(self, record: TrialRecord) -> None:
        self._each(f"trial {record.number}", lambda t: t.trial(record))

    def finish(self, summary: dict[str, float]) -> None:
        self._each("finish", lambda t: t.finish(summary))

    def around(self, on_trial: Callable[[TrialRecord], None]) -> Callable[[TrialRecord], None]:
        """``on_trial`` followed by every tracker."""
        def both(record: TrialRecord) -> None:
            on_trial(record)
            self.trial(record)
        return both
