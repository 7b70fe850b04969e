"""``python -m workers train-detector``: train one detector (a zoo detector or a DetectorSpec file, fitted to
the data's classes) on a box dataset and report its validation and test mAP; with ``--out``, write the spec,
the weights (safetensors), the standalone ``.py`` file, ONNX with the box decoding (inputs normalised with the
report's ``mean`` and ``std``) and the report. Flags derive from BoxDatasetConfig and TrainRecipe."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from searchspace.errors import SpecError
from searchspace.fields import add_field_flag, description, field_at, flag_dest
from searchspace.table import format_table
from workers.detection.config import BoxDatasetConfig
from workers.detection.fit import RECIPE_DEFAULTS, fit_detector
from workers.training import CheckpointMismatch, TrainRecipe

DATA_FLAGS = {"--dataset": "source", "--format": "format", "--annotations": "annotations", "--subset": "subset",
              "--val-fraction": "val_fraction", "--test-fraction": "test_fraction", "--data-seed": "seed",
              "--images": "images"}


def recipe_flags() -> dict[str, str]:
    return {"--" + f.name.replace("_", "-"): f.name for f in dataclasses.fields(TrainRecipe)
            if f.name not in ("label_smoothing", "ema_decay", "drop_path_rate", "amp", "patience", "bn_calibration")}


def add_detector_flags(p: argparse.ArgumentParser) -> None:
    """The ``python -m workers train-detector`` flags."""
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--spec", help="detector: a DetectorSpec JSON file (or its one-line form in a file)")
    which.add_argument("--zoo", metavar="NAME", help="a zoo detector (python -m searchspace zoo), fitted to the data")
    for flag, name in DATA_FLAGS.items():
        add_field_flag(p, flag, BoxDatasetConfig, name)
    p.add_argument("--classes", help="class names in label order, comma-separated (VOC, YOLO)")
    for flag, name in recipe_flags().items():
        options: dict[str, Any] = {}
        if isinstance(getattr(TrainRecipe(), name), bool):
            options["action"] = argparse.BooleanOptionalAction
        if name in RECIPE_DEFAULTS:
            options["help"] = f"{description(field_at(TrainRecipe, name)[0])} (default {RECIPE_DEFAULTS[name]})"
        add_field_flag(p, flag, TrainRecipe, name, **options)
    p.add_argument("--out", help="directory for spec.json, weights.safetensors, detector.py, detector.onnx, report.json and "
                                    "checkpoint.pt")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def detector(args: argparse.Namespace) -> Any:
    from searchspace.detection import zoo
    from searchspace.detection.export import validated_detector
    from searchspace.zoo import UnknownNetworkError

    if args.spec:
        try:
            return validated_detector(Path(args.spec).read_text())
        except OSError as err:
            raise SpecError("--spec", f"cannot read {args.spec!r}: {err.strerror}") from None
    try:
        return zoo.get(args.zoo)
    except UnknownNetworkError as err:
        raise SpecError("--zoo", str(err)) from None


def train_detector_command(args: argparse.Namespace) -> int:
    """Run ``python -m workers train-detector``: train, print the curve and the mAPs, write the product."""
    import torch

    from searchspace.checks import check_int
    if args.threads is not None:
        torch.set_num_threads(check_int("--threads", args.threads, 1, 1024))
    given = {name: getattr(args, flag_dest(flag)) for flag, name in DATA_FLAGS.items()
             if getattr(args, flag_dest(flag)) is not None}
    if args.classes:
        given["classes"] = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    data = BoxDatasetConfig(**given)
    recipe = TrainRecipe.from_dict({**RECIPE_DEFAULTS, **{name: getattr(args, flag_dest(flag))
                                                   for flag, name in recipe_flags().items()
                                                   if getattr(args, flag_dest(flag)) is not None}})
    spec = detector(args)
    out = Path(args.out) if args.out else None

    def progress(e: Any) -> None:
        if not args.json:
            print(f"epoch {e.epoch + 1}/{recipe.epochs}: loss {e.train_loss}, val mAP {e.val_map:.4f} "
                  f"(@.5 {e.val_map50:.4f}), {e.train_seconds:.1f} s", file=sys.stderr)

    try:
        result = fit_detector(spec, data, recipe, checkpoint=out / "checkpoint.pt" if out else None, on_epoch=progress)
    except CheckpointMismatch as err:
        raise SpecError("--out", str(err)) from None
    report = {**result.to_dict(), "dataset": data.to_dict(), "recipe": recipe.to_dict()}
    if out:
        from safetensors.torch import save_file

        from searchspace.detection.export import detector_to_onnx, detector_to_python

        out.mkdir(parents=True, exist_ok=True)
        (out / "spec.json").write_text(result.spec.to_json())
        save_file({k: v.contiguous() for k, v in result.state_dict.items()}, str(out / "weights.safetensors"))
        (out / "detector.py").write_text(detector_to_python(result.spec))
        (out / "detector.onnx").write_bytes(detector_to_onnx(result.spec, state_dict=result.state_dict))
        (out / "report.json").write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rows = [[e.epoch + 1, e.train_loss, e.val_map, e.val_map50, e.lr] for e in result.epochs]
    print(format_table(["epoch", "train loss", "val mAP", "val mAP@.5", "lr"], rows))
    print(f"best epoch {result.best_epoch + 1}: val mAP {result.val_map:.4f} (@.5 {result.val_map50:.4f}); test mAP "
          f"{result.test_map:.4f} (@.5 {result.test_map50:.4f}) on {result.test_size} held-out images; "
          f"{result.images_per_second:.1f} training images/s")
    if out:
        print(f"wrote spec.json, weights.safetensors, detector.py, detector.onnx, report.json to {out}")
    return 0
