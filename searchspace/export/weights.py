"""The loader appended to a standalone ``.py`` that ships with trained weights: ``load_model(path)`` reads
the weights saved beside it, a ``.safetensors`` file (read with ``torch.from_file`` and the standard library's
json: an 8-byte header length, a JSON header, the raw tensors) or a state_dict ``.pt``
(``torch.load(weights_only=True)``: tensors only, no pickled code), so the file and its weights need nothing
but torch."""

from __future__ import annotations

import math
from collections.abc import Sequence

from searchspace.export.base import ExportError
from searchspace.export.safety import check_source

LOADER = '''

INPUT_MEAN = {mean}
INPUT_STD = {std}
SAFETENSORS_DTYPES = {{
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}}


def read_safetensors(path: str) -> dict:
    """The tensors of a ``.safetensors`` file, read with torch and json alone (little-endian data)."""
    import json

    size = int.from_bytes(bytes(torch.from_file(path, False, 8, dtype=torch.uint8).tolist()), "little")
    header = json.loads(bytes(torch.from_file(path, False, 8 + size, dtype=torch.uint8)[8:].tolist()))
    entries = [(name, entry) for name, entry in header.items() if name != "__metadata__"]
    end = max([entry["data_offsets"][1] for _, entry in entries] + [0])
    data = torch.from_file(path, False, 8 + size + end, dtype=torch.uint8)[8 + size :]
    tensors = {{}}
    for name, entry in entries:
        start, stop = entry["data_offsets"]
        raw = data[start:stop].clone()  # its own storage: the view below needs no alignment
        tensors[name] = raw.view(SAFETENSORS_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors


def load_model(path: str) -> nn.Module:
    """The network with the trained weights saved at ``path`` (``.safetensors``, or a state_dict ``.pt``), in
    eval mode.

    Inputs are normalised per channel as in training: ``(images - mean) / std`` with ``INPUT_MEAN`` and
    ``INPUT_STD``, images in [0, 1].
    """
    model = build_model()
    if str(path).endswith(".safetensors"):
        state = read_safetensors(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
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
