"""One network trained at full fidelity as a job's task: its configuration (TrainConfig: the data, the recipe,
the threads), the Ray task that trains it into a directory (resuming the checkpoint there) and writes its
product, the progress file it keeps per epoch, and a zoo network fitted to the data.

A task's directory holds ``checkpoint.pt`` (every epoch, see ``workers.training.checkpoint``), ``progress.json``
(the epochs so far, rewritten atomically after each one: what a driver shows while the task runs) and, once it
ends, the product (``workers.training.product.FILES``). The directory must be one every Ray node writes where
the driver reads (one machine, or a shared volume).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_int
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig, DatasetInfo, nested_from_dict
from workers.training.recipe import TrainRecipe

if TYPE_CHECKING:
    from workers.training.fullfit import Weights

CHECKPOINT = "checkpoint.pt"
PROGRESS = "progress.json"


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How one architecture is trained at full fidelity as a job: on which data, with which recipe, on how
    many threads."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig, metadata=doc(
        "the data (full-fidelity training reads the whole of it unless subset says otherwise; the test split is "
        "always whole)"))
    recipe: TrainRecipe = field(default_factory=TrainRecipe, metadata=doc("the full-fidelity training recipe"))
    threads: int = field(default=1, metadata=doc("torch threads (and Ray CPUs) of the training task"))

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, DatasetConfig):
            raise SpecError("dataset", "must be a DatasetConfig")
        if not isinstance(self.recipe, TrainRecipe):
            raise SpecError("recipe", "must be a TrainRecipe")
        check_int("threads", self.threads, 1, 256)

    def to_dict(self) -> dict[str, Any]:
        return {**as_dict(self), "dataset": self.dataset.to_dict(), "recipe": self.recipe.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """From JSON data; unknown keys and bad values are SpecErrors naming the field path."""
        return nested_from_dict(cls, data, {"dataset": DatasetConfig, "recipe": TrainRecipe}, "training")


def fitted_zoo(name: str, info: DatasetInfo, recipe: TrainRecipe) -> ArchSpec:
    """Zoo network ``name`` fitted to the data's classes, channels and resolution (the recipe's, else the
    data's own) as a search fits its baselines; SpecError naming ``zoo`` for an unknown name."""
    from searchspace.fit import adapt_to_space
    from searchspace.space import PROXY_SPACE
    from searchspace.zoo import UnknownNetworkError, get

    resolution = recipe.resolution or (max(info.image_size) if info.image_size else max(PROXY_SPACE.resolutions))
    space = replace(PROXY_SPACE, num_classes=info.num_classes, in_chans=info.in_chans, resolutions=(resolution,))
    try:
        return adapt_to_space(get(name), space, name).spec
    except UnknownNetworkError as err:
        raise SpecError("zoo", str(err)) from None


def train_network(spec_key: str, data: DatasetConfig, recipe: TrainRecipe, directory: str,
                  threads: int, init: Weights | None = None) -> dict[str, Any]:
    """Train one architecture at full fidelity into ``directory`` (resuming its checkpoint there), keeping its
    progress file, and write its product; the JSON-ready figures (``accuracy`` is the test accuracy). ``init``:
    the weights it starts from instead of its seeded ones (see ``fit``). Runs in a Ray worker."""
    from searchspace.counter import count
    from workers.training.fullfit import EpochRecord, fit
    from workers.training.product import save_product

    out = Path(directory)

    def progress(record: EpochRecord) -> None:
        earlier = [e for e in read_progress(out).get("epochs", []) if e["epoch"] < record.epoch]
        write_json(out / PROGRESS, {"epochs_total": recipe.epochs, "epochs": [*earlier, record.to_dict()]})

    result = fit(ArchSpec.from_string(spec_key), data, recipe, checkpoint=out / CHECKPOINT, threads=threads,
                 on_epoch=progress, init=init)
    report = save_product(result, out)
    cost = count(result.spec)
    return {"accuracy": result.test_accuracy, "val_accuracy": result.val_accuracy, "test_size": result.test_size,
            "int8_test_accuracy": result.int8_test_accuracy,
            "best_epoch": result.best_epoch, "selected": result.selected, "stopped": result.stopped or None,
            "resumed_from": result.resumed_from, "train_seconds": result.train_seconds,
            "epochs": [e.to_dict() for e in result.epochs], "resolution": result.spec.resolution,
            "trained_macs": cost.macs, "trained_params": cost.params, "files": report["files"],
            "export_errors": report["export_errors"], "spec": result.spec.to_dict(),
            "mean": list(result.mean), "std": list(result.std)}


def read_progress(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The progress file of a task's directory (``{}`` when none was written yet, or it cannot be read)."""
    try:
        data = json.loads((Path(directory) / PROGRESS).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: Any) -> None:
    """Written through a temporary file renamed into place: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
