"""A trained detector's predictions on a few validation images, beside the true boxes (the architecture page shows
them): the images as PNG data URLs and the boxes in their pixels, from the weights its full-fidelity training
wrote and the data it trained on. torch is imported here, when a page asks, never at the service's start."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from searchspace.detection import DetectorSpec
from store.errors import ConflictError
from store.models import Architecture

SCORE_SHOWN = 0.3  # predictions below this score are left out of the picture
MAX_SHOWN = 20  # predictions per image, best first


def _png(image: Any) -> str:
    """A uint8 (C, H, W) tensor as a PNG data URL."""
    from PIL import Image

    pixels = image.permute(1, 2, 0).numpy()
    picture = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _box(values: list[float]) -> list[float]:
    return [round(float(v), 1) for v in values]


def predicted_boxes(row: Architecture, weights: Path, count: int) -> dict[str, Any]:
    """The first ``count`` validation images of the data ``row``'s detector was trained on, each with its true
    boxes and the trained detector's predictions scoring at least ``SCORE_SHOWN``; ConflictError when ``row``
    is not a detector trained at full fidelity."""
    import torch
    from safetensors.torch import load_file

    from searchspace.detection import build_detector
    from workers.detection import BoxDatasetConfig, postprocess

    trained = row.trained or {}
    if "dataset" not in trained or "backbone" not in (trained.get("spec") or {}):
        raise ConflictError(f"architecture {row.id} is not a detector trained at full fidelity: finalize its search")
    spec = DetectorSpec.from_dict(trained["spec"])
    data_cfg = BoxDatasetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in trained["dataset"].items()})
    data = data_cfg.load(spec.resolution, spec.backbone.in_chans)
    split = data.val
    n = min(count, len(split))
    model = build_detector(spec)
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    mean = torch.tensor(trained.get("mean") or data.mean).view(1, -1, 1, 1)
    std = torch.tensor(trained.get("std") or data.std).view(1, -1, 1, 1)
    with torch.inference_mode():
        x = (split.images[:n].float() / 255 - mean) / std
        detections = postprocess(*(t.float() for t in model.detect(x)))
    names = list(data.class_names)
    images = []
    for i, found in enumerate(detections):
        keep = (found.scores >= SCORE_SHOWN).nonzero().squeeze(1)[:MAX_SHOWN]
        images.append({
            "image": _png(split.images[i]),
            "truth": [{"box": _box(b), "label": names[int(c)]}
                      for b, c in zip(split.boxes[i].tolist(), split.labels[i].tolist(), strict=True)],
            "predicted": [{"box": _box(found.boxes[k].tolist()), "label": names[int(found.labels[k])],
                           "score": round(float(found.scores[k]), 3)} for k in keep.tolist()],
        })
    return {"size": spec.resolution, "classes": names, "score_threshold": SCORE_SHOWN, "split": "validation",
            "images": images}
