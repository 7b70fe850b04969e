"""The selected weights of a full-fidelity run in int8: exported to ONNX, statically quantized by ONNX Runtime
(``workers.latency.quantize``: QDQ, calibrated on a few hundred un-augmented training images of the run's own
split) and scored on the same held-out test split as the float weights, in ONNX Runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace.spec import ArchSpec

if TYPE_CHECKING:
    from workers.data import SplitData


@dataclass(frozen=True, kw_only=True)
class Int8Result:
    """The quantized model (None when it could not be made: ``error`` says why) and its test accuracy."""

    model: bytes | None
    test_accuracy: float | None
    error: str | None = None


def calibration_images(split: SplitData, count: int, seed: int) -> Any:
    """``count`` training images (as loaded: normalised, not augmented), picked at random with ``seed``."""
    import torch

    pick = torch.randperm(len(split.y_train), generator=torch.Generator().manual_seed(seed))[:count]
    return split.x_train[pick].cpu().numpy().astype("float32")


def int8_accuracy(model: bytes, x: Any, y: Any, batch_size: int, threads: int) -> float:
    """Top-1 accuracy of the ONNX ``model`` on ``x`` (float32 tensors) against ``y``, in ONNX Runtime."""
    import numpy as np

    from workers.latency import onnx_session

    if len(y) == 0:
        return 0.0
    session = onnx_session(model, threads)
    name = session.get_inputs()[0].name
    x = x.cpu().numpy().astype("float32")
    hits = 0
    for i in range(0, len(x), batch_size):
        logits = session.run(None, {name: x[i:i + batch_size]})[0]
        hits += int((np.asarray(logits).argmax(1) == y[i:i + batch_size].cpu().numpy()).sum())
    return hits / len(y)


def quantized(spec: ArchSpec, state_dict: dict[str, Any], split: SplitData, batch_size: int, seed: int,
              threads: int) -> Int8Result:
    """``spec`` with ``state_dict`` quantized to int8 and scored on ``split``'s test images; a spec ONNX cannot
    express, or that ONNX Runtime cannot quantize, is an ``Int8Result`` with the error and no model."""
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, RuntimeException

    from searchspace.errors import SpecError
    from searchspace.export import ExportError, to_onnx
    from workers.latency import CALIBRATION_IMAGES, quantize

    try:
        model = quantize(to_onnx(spec, state_dict=state_dict),
                         calibration_images(split, CALIBRATION_IMAGES, seed))
        accuracy = int8_accuracy(model, split.x_test, split.y_test, batch_size, threads)
    except (ExportError, SpecError, Fail, RuntimeException) as err:
        return Int8Result(model=None, test_accuracy=None, error=f"{type(err).__name__}: {str(err)[:500]}")
    return Int8Result(model=model, test_accuracy=accuracy)
