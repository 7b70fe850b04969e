"""The product of a full-fidelity run, written to a directory: the trained weights (safetensors, and a torch
state_dict for the standalone file), the standalone ``.py`` that loads them with torch alone, ONNX and
TorchScript with the trained weights, the int8 ONNX (the recipe's ``int8``), the spec, and a JSON report (curves,
validation and test accuracy, the int8 model's beside it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from workers.training.fullfit import FullFitResult

FILES = {
    "weights": "weights.safetensors",
    "state_dict": "weights.pt",
    "python": "model.py",
    "onnx": "model.onnx",
    "int8_onnx": "model.int8.onnx",
    "torchscript": "model.torchscript.pt",
    "spec": "spec.json",
    "report": "report.json",
}


def save_product(result: FullFitResult, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write every file of ``FILES`` under ``out`` (created if missing); the report's JSON data. A format that
    cannot express the spec (ExportError) is left out of ``files`` and named in ``export_errors``; so is the int8
    model when quantizing failed (none when the recipe turned ``int8`` off)."""
    import torch
    from safetensors.torch import save_file

    from searchspace.export import ExportError, to_onnx, to_python_trained, to_torchscript

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in result.state_dict.items()}
    spec_json = result.spec.to_json(indent=None)
    stats = {"spec": spec_json, "mean": json.dumps(list(result.mean)), "std": json.dumps(list(result.std))}
    _write(out / FILES["weights"], lambda path: save_file(state, str(path), metadata=stats))
    _write(out / FILES["state_dict"], lambda path: torch.save(state, path))
    _write_bytes(out / FILES["python"], to_python_trained(result.spec, result.mean, result.std).encode())
    files = dict(FILES)
    errors: dict[str, str] = {}
    for kind, export in (("onnx", to_onnx), ("torchscript", to_torchscript)):
        try:
            _write_bytes(out / FILES[kind], export(result.spec, state_dict=state))
        except ExportError as err:  # a spec the format cannot express: the other files still ship
            errors[kind] = str(err)
            del files[kind]
    if result.int8_onnx is not None:
        _write_bytes(out / FILES["int8_onnx"], result.int8_onnx)
    else:
        del files["int8_onnx"]
        (out / FILES["int8_onnx"]).unlink(missing_ok=True)  # an earlier run's would not match these weights
        if result.int8_error is not None:
            errors["int8_onnx"] = result.int8_error
    _write_bytes(out / FILES["spec"], (result.spec.to_json() + "\n").encode())
    report = {**result.to_dict(), "files": files, "export_errors": errors}
    _write_bytes(out / FILES["report"], (json.dumps(report, indent=2) + "\n").encode())
    return report


def _write_bytes(path: Path, data: bytes) -> None:
    _write(path, lambda tmp: tmp.write_bytes(data))


def _write(path: Path, writer: Any) -> None:
    """Write through a temporary file renamed into place, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
