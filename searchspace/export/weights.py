"""The loader appended to a standalone ``.py`` that ships with trained weights: ``load_model(path)`` reads the
``.pt`` state_dict saved beside it with ``torch.load(weights_only=True)`` (tensors only, no pickled code), so the
file and its weights need nothing but torch."""

from __future__ import annotations

import math
from collections.abc import Sequence

from searchspace.export.base import ExportError
from searchspace.export.safety import check_source

LOADER = '''

INPUT_MEAN = {mean}
INPUT_STD = {std}


def load_model(path: str) -> nn.Module:
    """The network with the trained weights saved at ``path`` (a state_dict ``.pt``), in eval mode.

    Inputs are normalised per channel as in training: ``(images - mean) / std`` with ``INPUT_MEAN`` and
    ``INPUT_STD``, images in [0, 1].
    """
    model = build_model()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
'''


def with_loader(source: str, mean: Sequence[float], std: Sequence[float]) -> str:
    """``source`` (a rendered standalone file) with the trained-weights loader and the input statistics."""
    if "\nimport torch\n" not in source or "\nfrom torch import nn\n" not in source:
        raise ExportError("source", "does not import torch and nn, which the weights loader needs")
    text = source + LOADER.format(mean=_floats(mean, "mean"), std=_floats(std, "std"))
    check_source(text)
    return text


def _floats(values: Sequence[float], where: str) -> str:
    items = [float(v) for v in values]
    if not items or not all(math.isfinite(v) for v in items):
        raise ExportError(where, "must be finite numbers")
    return "(" + ", ".join(repr(v) for v in items) + ("," if len(items) == 1 else "") + ")"
