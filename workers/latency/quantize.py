"""The int8 runtime: ONNX Runtime's static quantization of an exported float model (its recommended pre-processing,
``quant_pre_process``: shape inference and graph optimisation; then ``quantize_static`` with its defaults: QDQ
format, signed 8-bit weights and activations, per-tensor MinMax calibration) calibrated on a few hundred training
images, then run by ONNX Runtime like any ONNX model."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

CALIBRATION_IMAGES = 256  # training images the activations' ranges are calibrated on
CALIBRATION_DATA = "digits"  # the built-in dataset, resized to the model's input
CALIBRATION_SUBSET = 0.2  # of digits' 1,797 images: 288 in the training split, at least CALIBRATION_IMAGES


def training_images(shape: Sequence[int], count: int = CALIBRATION_IMAGES, source: str = CALIBRATION_DATA) -> Any:
    """``count`` normalised training images of ``source`` (float32, ``(count, *shape)``) at ``shape``'s channels and
    square resolution; fewer when the training split has fewer."""
    from workers.data import DatasetConfig

    chans, height, width = shape
    if height != width:
        from searchspace.errors import SpecError

        raise SpecError("shape", f"calibration images are square; got {height}x{width}")
    data = DatasetConfig(source=source, subset=CALIBRATION_SUBSET)  # resized: only the images needed
    split = data.load(height, chans)
    return split.x_train[:count].numpy().astype("float32")


def random_inputs(shape: Sequence[int], count: int = 16) -> Any:
    """Standard normal inputs: a part of a network, whose input is no image, is calibrated on these."""
    import numpy as np

    return np.random.default_rng(0).standard_normal((count, *shape)).astype("float32")


def reader(name: str, inputs: Any, batch: int) -> Any:
    """The calibration inputs a batch at a time (the graph's fixed batch size, else 1), as ``quantize_static``
    reads them (a ``CalibrationDataReader``; onnxruntime is imported only here, not with the package)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            whole = len(inputs) - len(inputs) % batch
            self.batches: Iterator[Any] = iter(inputs[i:i + batch] for i in range(0, whole, batch))

        def get_next(self) -> dict[str, Any] | None:
            x = next(self.batches, None)
            return None if x is None else {name: x}

    return Reader()


def quantize(model: bytes, inputs: Any) -> bytes:
    """``model`` (float ONNX, one input) statically quantized to int8, its activations' ranges calibrated on
    ``inputs`` (one row per example)."""
    import onnx
    from onnxruntime.quantization import quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    proto = onnx.load_from_string(model)
    initializers = {i.name for i in proto.graph.initializer}
    graph_inputs = [i for i in proto.graph.input if i.name not in initializers]
    if len(graph_inputs) != 1:
        from searchspace.errors import SpecError

        raise SpecError("model", f"int8 calibrates a model with one input (images); this one has {len(graph_inputs)}")
    graph_input = graph_inputs[0]
    batch = graph_input.type.tensor_type.shape.dim[0].dim_value or 1  # 0: a symbolic batch axis
    with tempfile.TemporaryDirectory(prefix="int8-") as tmp:
        prepared, out = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(proto, prepared)
        quantize_static(prepared, out, reader(graph_input.name, inputs, batch))
        return out.read_bytes()
