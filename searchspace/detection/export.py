"""A DetectorSpec as a standalone PyTorch file or as ONNX with the box decoding inside.

The ``.py`` file is rendered by the classifier exporter's machinery from the same ``Call`` tree the builder
instantiates, so it builds exactly the builder's module (same state_dict). The ONNX graph maps ``images`` to
``boxes`` (batch, n, 4: x1, y1, x2, y2 in input pixels, clipped to the image) and ``scores`` (batch, n,
object classes); non-maximum suppression is the caller's (per class, e.g. IoU 0.55 for SSDLite, 0.65 for
YOLOX, after a score threshold).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from typing import Any

from searchspace.detection.counter import count_detector
from searchspace.detection.spec import DetectorSpec
from searchspace.errors import SpecError
from searchspace.export.base import ExportError, check_plain

OUTPUT_NAMES = ("boxes", "scores")


def validated_detector(spec: DetectorSpec | Mapping[str, Any] | str | bytes) -> DetectorSpec:
    """A freshly validated DetectorSpec from a spec object, its JSON data, JSON text or one-line form."""
    import json

    if isinstance(spec, DetectorSpec):
        return DetectorSpec.from_dict(spec.to_dict())
    if isinstance(spec, str | bytes):
        text = spec.decode() if isinstance(spec, bytes) else spec
        if text.lstrip().startswith("det:"):
            return DetectorSpec.from_string(text.strip())
        try:
            data: Any = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise SpecError("spec", f"is not valid JSON: {str(err)[:200]}") from None
    elif isinstance(spec, Mapping):
        data = dict(spec)
    else:
        raise SpecError("spec", f"must be a DetectorSpec, a JSON object or JSON text, got {type(spec).__name__}")
    check_plain(data)
    return DetectorSpec.from_dict(data)


def _header(spec: DetectorSpec) -> str:
    from searchspace.export.header import provenance, wrapped

    c = count_detector(spec)
    bb = spec.backbone
    classes = "including the background" if spec.head.kind == "ssdlite" else "no background class"
    lines = [
        f"{spec.name or 'detector'}: standalone PyTorch detector ({spec.head.kind} head, {spec.neck.kind} neck).",
        "",
        "Architecture (the spec's one-line form, wrapped: join the lines with single spaces):",
        "",
        *wrapped(spec.to_string()),
        "",
        f"Parameters: {c.params:,}",
        f"Multiply-adds: {c.macs:,} at input {bb.in_chans}x{spec.resolution}x{spec.resolution}",
        *provenance(spec.to_json(indent=None)),
        "",
        f"Usage: model = build_model(num_classes={spec.num_classes}) ({classes}); outputs = model(images) gives",
        "per map class logits and box values; boxes, scores = model.decode(outputs) gives boxes (x1, y1, x2, y2)",
        "in input pixels and per-class scores; non-maximum suppression is the caller's. Images are float",
        "tensors of shape (batch, *INPUT_SIZE).",
    ]
    return "\n".join(lines)


def detector_to_python(spec: DetectorSpec | Mapping[str, Any] | str | bytes) -> str:
    """One self-contained ``.py`` file (imports only torch and the standard library) building the detector."""
    from searchspace.detection.assembly import detector_plan
    from searchspace.export.python import render_plan

    det = validated_detector(spec)
    bb = det.backbone
    doc = f"The detector with ``num_classes`` classes (the spec has {det.num_classes})."
    shared = {"bn_eps": bb.bn_eps, "bn_momentum": bb.bn_momentum}
    size = (bb.in_chans, det.resolution, det.resolution)
    return render_plan(detector_plan(det), header=_header(det), doc=doc, input_size=size, shared=shared)


def detector_to_onnx(
    spec: DetectorSpec | Mapping[str, Any] | str | bytes,
    opset: int = 17,
    state_dict: Mapping[str, Any] | None = None,
) -> bytes:
    """The detector with its box decoding as ONNX (``images`` -> ``boxes``, ``scores``; batch axis dynamic).

    ``state_dict`` (trained weights) is loaded strictly; without it the weights are freshly initialised.
    """
    import torch

    from searchspace.detection.assembly import build_detector
    from searchspace.export.onnx import INPUT_NAME, MAX_OPSET, MIN_OPSET
    from searchspace.nn.detector import Detections

    det = validated_detector(spec)
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError("opset", f"must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r:.20}")
    model = build_detector(det)
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    wrapper = Detections(model).eval()
    example = torch.zeros(1, det.backbone.in_chans, det.resolution, det.resolution)
    buffer = io.BytesIO()
    axes = {name: {0: "batch"} for name in (INPUT_NAME, *OUTPUT_NAMES)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter is deprecated; tracer warnings
            torch.onnx.export(wrapper, (example,), buffer, opset_version=opset, dynamo=False,
                              input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES), dynamic_axes=axes)
    except (RuntimeError, TypeError, ValueError, NotImplementedError, AttributeError) as err:
        raise ExportError(det.name or "detector", f"cannot be exported to ONNX: {str(err)[:300]}") from err
    return buffer.getvalue()
