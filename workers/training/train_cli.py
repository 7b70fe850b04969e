"""``python -m workers train``: train one architecture (a spec file or a zoo network fitted to the data) at full
fidelity and write its weights, exports and report; its flags derive from TrainRecipe and DatasetConfig."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from searchspace.errors import SpecError
from searchspace.fields import add_field_flag, flag_dest
from searchspace.spec import ArchSpec
from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.training.checkpoint import CheckpointMismatch
from workers.training.recipe import TrainRecipe

# DatasetConfig fields and their flags (the recipe's flags are its field names, dashed).
DATA_FLAGS = {"--dataset": "source", "--format": "format", "--subset": "subset", "--val-fraction": "val_fraction",
              "--test-fraction": "test_fraction", "--data-seed": "seed"}


def recipe_flags() -> dict[str, str]:
    """``--flag`` -> TrainRecipe field, for every field."""
    return {"--" + f.name.replace("_", "-"): f.name for f in dataclasses.fields(TrainRecipe)}


def add_train_flags(p: argparse.ArgumentParser) -> None:
    """The ``python -m workers train`` flags."""
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--spec", help="architecture: a spec JSON file (or its one-line form in a file)")
    which.add_argument("--zoo", metavar="NAME", help="a zoo network, fitted to the data as a search's baselines are")
    for flag, name in DATA_FLAGS.items():
        add_field_flag(p, flag, DatasetConfig, name)
    for flag, name in recipe_flags().items():
        is_bool = isinstance(getattr(TrainRecipe(), name), bool)
        add_field_flag(p, flag, TrainRecipe, name, **({"action": argparse.BooleanOptionalAction} if is_bool else {}))
    p.add_argument("--out", required=True, help="directory for the weights, the exports and report.json")
    p.add_argument("--checkpoint", help="checkpoint file (default OUT/checkpoint.pt); a rerun resumes from it")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _given(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    return {name: getattr(args, flag_dest(flag)) for flag, name in flags.items()
            if getattr(args, flag_dest(flag)) is not None}


def architecture(args: argparse.Namespace, data: DatasetConfig, recipe: TrainRecipe) -> ArchSpec:
    """The spec file's architecture, or the zoo network fitted to the data's shape and resolution."""
    from searchspace.export import validated

    if args.spec:
        try:
            text = Path(args.spec).read_text()
        except OSError as err:
            raise SpecError("--spec", f"cannot read {args.spec!r}: {err.strerror}") from None
        return validated(text)
    from workers.training.network import fitted_zoo

    try:
        return fitted_zoo(args.zoo, data.validate(), recipe)
    except SpecError as err:
        raise SpecError("--zoo", err.message) from None


def train_command(args: argparse.Namespace) -> int:
    """Run ``python -m workers train``: train, write the product, print the curves and the test accuracy."""
    from workers.training.fullfit import fit
    from workers.training.product import save_product

    data = DatasetConfig(**_given(args, DATA_FLAGS))
    recipe = TrainRecipe.from_dict(_given(args, recipe_flags()))
    spec = architecture(args, data, recipe)
    out = Path(args.out)
    checkpoint = Path(args.checkpoint) if args.checkpoint else out / "checkpoint.pt"

    def progress(record: Any) -> None:
        if not args.json:
            ema = "" if record.ema_val_accuracy is None else f", EMA {record.ema_val_accuracy:.4f}"
            print(f"epoch {record.epoch + 1}/{recipe.epochs}: loss {record.train_loss}, val {record.val_accuracy:.4f}"
                  f"{ema} ({record.seconds:.1f} s)", file=sys.stderr)

    try:
        result = fit(spec, data, recipe, checkpoint=checkpoint, threads=args.threads, on_epoch=progress)
    except CheckpointMismatch as err:
        raise SpecError("--checkpoint", str(err)) from None
    report = save_product(result, out)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rows = [[e.epoch + 1, e.train_loss, e.val_accuracy, e.ema_val_accuracy, e.lr] for e in result.epochs]
    print(format_table(["epoch", "train loss", "val acc", "EMA val acc", "lr"], rows))
    resumed = f"; resumed after epoch {result.resumed_from}" if result.resumed_from else ""
    print(f"selected: {result.selected} of epoch {result.best_epoch + 1} (val {result.val_accuracy:.4f}); "
          f"test accuracy {result.test_accuracy:.4f} on {result.test_size} held-out images"
          f"{'; stopped: ' + result.stopped if result.stopped else ''}{resumed}")
    if recipe.int8:
        print(f"int8 test accuracy {result.int8_test_accuracy:.4f} (ONNX Runtime, statically quantized)"
              if result.int8_test_accuracy is not None else f"no int8 model: {result.int8_error}")
    print(f"wrote {', '.join(report['files'].values())} to {out}")
    return 0
