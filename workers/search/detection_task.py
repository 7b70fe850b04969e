"""Task ``detection`` of a search (``workers.search.task``): what a trial, a baseline and finalize do with a detector.

- **Data**: the search's ``dataset`` read as a box dataset (``box_data``): its source (``builtin-boxes``,
  ``builtin-boxes-small`` or a COCO/VOC/YOLO directory), subset, fractions and seed.
- **Trial**: the sampled DetectorSpec trained by ``workers.detection.fit_detector`` for the budget's epochs at
  its batch size (a detection search's budget defaults to 16 where the request, flags or file give none), with the detector training's own optimizer settings (AdamW at 0.005, ``RECIPE_DEFAULTS``; the
  classification budget's SGD at 0.1 does not train a detector from scratch). After every epoch the validation
  mAP@[.5:.95] goes to the search's referee (MO-ASHA rungs or the median rule), which may stop it. Its
  ``accuracy`` is the best epoch's validation mAP@[.5:.95]; its latency, when asked for, is the whole network's
  forward pass (backbone, neck, head; box decoding and NMS excluded) timed by the plain loop on the worker.
- **Baselines**: a zoo detector (``searchspace.detection.zoo``) fitted to the search
  (``searchspace.detection.fit``): the data's classes and channels, the space's largest resolution, and one
  width multiplier on its backbone, neck and head together that puts the whole detector's counted MACs in the
  detection space's range (capped by ``max_macs``), by the classification baselines' rule.
- **Finalize**: ``train_detector_network`` trains a detector at full fidelity with the finalize recipe (where the
  recipe leaves the classification defaults, the detector training's: AdamW at 0.005, crop 0.5) and writes its
  product in a classifier's layout (spec.json, weights.safetensors, weights.pt, model.py with ``load_model``,
  model.onnx with the box decoding, report.json); ``accuracy`` is the test mAP@[.5:.95], ``test_map50`` the
  test mAP@.5.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from searchspace.detection import DetectorSpec, count_detector
from searchspace.detection import adapt_detector as adapt_to_detection_space
from searchspace.detection import zoo as detector_zoo
from searchspace.fit import Adapted
from workers.data import DatasetConfig
from workers.detection import RECIPE_DEFAULTS, BoxDatasetConfig
from workers.search.trial import Ticket, epoch_check
from workers.training import FILES, Measurements, Stopped, TrainRecipe, with_latency, write_json

if TYPE_CHECKING:
    from workers.search.config import SearchConfig

IN_CHANS = 3  # box images are read as RGB


def box_data(dataset: DatasetConfig) -> BoxDatasetConfig:
    """The search's dataset as a box dataset (the fields they share)."""
    return BoxDatasetConfig(source=dataset.source, subset=dataset.subset, val_fraction=dataset.val_fraction,
                            test_fraction=dataset.test_fraction, seed=dataset.seed, max_gib=dataset.max_gib)


def detection_recipe(recipe: TrainRecipe) -> TrainRecipe:
    """``recipe`` with the detector training's defaults wherever it keeps the classification ones (the epochs and
    anything set stay)."""
    plain = TrainRecipe()
    changed = {f.name for f in fields(TrainRecipe) if getattr(recipe, f.name) != getattr(plain, f.name)}
    return replace(recipe, **{k: v for k, v in RECIPE_DEFAULTS.items() if k not in changed and k != "epochs"})


def trial_recipe(config: SearchConfig) -> TrainRecipe:
    """A trial's training: the budget's epochs, batch size (a detection search's defaults to 16:
    ``config.TASK_BUDGET_DEFAULTS``), device and the search's seed, with the detector training's optimizer."""
    budget = config.budget
    return TrainRecipe.from_dict({**RECIPE_DEFAULTS, "epochs": budget.epochs, "batch_size": budget.batch_size,
                                  "eval_batch_size": budget.eval_batch_size, "device": budget.device.value,
                                  "seed": config.seed})


def evaluate_detector(spec: DetectorSpec, config: SearchConfig, ticket: Ticket | None = None) -> dict[str, Any]:
    """Train and (when asked) time ``spec``; the JSON-ready measurements a trial records. Runs in a Ray worker."""
    import torch

    from workers.detection import fit_detector
    from workers.latency import PlainLoop, as_result, cpu_lock, time_module

    start = time.perf_counter()
    torch.set_num_threads(config.latency.threads)
    ask = epoch_check(ticket)
    with cpu_lock.training():
        result = fit_detector(spec, box_data(config.dataset), trial_recipe(config),
                              on_epoch=lambda e: ask(e.epoch, e.val_map), test=False)
    measured = Measurements(accuracy=result.val_map, epoch_accuracies=[e.val_map for e in result.epochs],
                            stopped=Stopped.CALLBACK if result.stopped else None,
                            train_seconds=result.train_seconds, eval_seconds=time.perf_counter() - start)
    if config.times_latency:
        from searchspace.detection import build_detector

        latency = config.latency
        model = build_detector(result.spec)
        model.load_state_dict(result.state_dict)
        loop = PlainLoop(threads=latency.threads, batch_size=latency.batch_size, warmup=latency.warmup)
        with cpu_lock.measuring() if latency.exclusive else contextlib.nullcontext():
            timing = as_result(time_module(model, (IN_CHANS, result.spec.resolution, result.spec.resolution), loop))
        measured = replace(with_latency(measured, timing), eval_seconds=time.perf_counter() - start)
    return measured.to_dict()


def adapt_detector(name: str, config: SearchConfig) -> Adapted:
    """Zoo detector ``name`` fitted to the search (see the module docstring); SpecError when it cannot be."""
    return adapt_to_detection_space(detector_zoo.get(name), config.space, config.detector, name, config.max_macs)


def train_detector_network(spec_key: str, data: BoxDatasetConfig, recipe: TrainRecipe, directory: str,
                           threads: int) -> dict[str, Any]:
    """Train one detector at full fidelity into ``directory`` (resuming its checkpoint there) and write its
    product as a classifier's is laid out (``FILES``: report.json lists the files by kind, so that the service
    serves them as the architecture's downloads); the JSON-ready figures finalize reports (``accuracy``: test
    mAP@[.5:.95], ``test_map50``: test mAP@.5). Runs in a Ray worker."""
    import torch
    from safetensors.torch import save_file

    from searchspace.detection.export import detector_to_onnx, detector_to_python
    from searchspace.export.base import ExportError
    from searchspace.export.weights import with_loader
    from workers.detection import fit_detector

    torch.set_num_threads(threads)
    out = Path(directory)
    result = fit_detector(DetectorSpec.from_string(spec_key), data, recipe, checkpoint=out / "checkpoint.pt")
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in result.state_dict.items()}
    (out / FILES["spec"]).write_text(result.spec.to_json() + "\n")
    save_file(state, str(out / FILES["weights"]), metadata={"mean": json.dumps(result.mean),
                                                             "std": json.dumps(result.std)})
    torch.save(state, out / FILES["state_dict"])
    (out / FILES["python"]).write_text(with_loader(detector_to_python(result.spec), result.mean, result.std))
    files = {k: FILES[k] for k in ("weights", "state_dict", "python", "spec", "report")}
    errors: dict[str, str] = {}
    try:
        (out / FILES["onnx"]).write_bytes(detector_to_onnx(result.spec, state_dict=state))
        files["onnx"] = FILES["onnx"]
    except ExportError as err:  # reported beside the trained network, as a classifier's product does
        errors["onnx"] = str(err)
    errors["torchscript"] = "detectors ship as .py, weights and ONNX"
    cost = count_detector(result.spec)
    figures = {"accuracy": result.test_map, "test_map50": result.test_map50,
               "val_accuracy": result.val_map, "val_map50": result.val_map50, "test_size": result.test_size,
               "best_epoch": result.best_epoch, "selected": "best", "train_seconds": result.train_seconds,
               "resolution": result.spec.resolution,
               "epochs": [{"epoch": e.epoch, "train_loss": e.train_loss, "val_accuracy": e.val_map,
                           "val_map50": e.val_map50, "lr": e.lr} for e in result.epochs],
               "trained_macs": cost.macs, "trained_params": cost.params, "export_errors": errors,
               "spec": result.spec.to_dict(), "mean": list(result.mean), "std": list(result.std),
               "dataset": data.to_dict(), "recipe": recipe.to_dict()}
    write_json(out / FILES["report"], {**figures, "test_accuracy": result.test_map, "files": files})
    return {**figures, "files": {k: str(out / name) for k, name in files.items()}}
