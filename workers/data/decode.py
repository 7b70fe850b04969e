"""Resizing arrays and decoding image files into float tensors at a network's resolution."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from workers.data.formats import LUMA
from workers.data.safety import open_image
from workers.data.scan import Raw


def resize_images(images: np.ndarray, resolution: int, in_chans: int, chunk: int = 1024) -> Any:
    """(N, C, H, W) uint8 or [0, 1] float array -> float tensor (N, in_chans, R, R) in [0, 1], bilinear."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = images.shape
    out = torch.empty(n, in_chans, resolution, resolution)
    scale = 1 / 255 if images.dtype == np.uint8 else 1.0
    luma = torch.tensor(LUMA).view(1, 3, 1, 1)
    for i in range(0, n, chunk):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + chunk])).float().mul_(scale)
        if c == 3 and in_chans == 1:
            x = (x * luma).sum(1, keepdim=True)
        if (h, w) != (resolution, resolution):
            x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                              antialias=resolution < min(h, w))
        out[i:i + chunk] = x.expand(-1, in_chans, -1, -1) if x.shape[1] == 1 else x
    return out


def decode_files(raw: Raw, order: np.ndarray, resolution: int, in_chans: int) -> Any:
    """Decode and resize (PIL bilinear) the selected image files; float tensor (N, in_chans, R, R) in [0, 1]."""
    import torch
    from PIL import Image

    mode = "L" if in_chans == 1 or raw.in_chans == 1 else "RGB"

    def one(i: int) -> np.ndarray:
        with open_image(raw.files[i], "cannot be decoded", raw.blobs[i] if raw.blobs else None) as img:
            img = img.convert(mode)
            if img.size != (resolution, resolution):
                img = img.resize((resolution, resolution), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(one, order.tolist()))
    x = torch.from_numpy(np.stack(arrays))
    x = x[:, None] if mode == "L" else x.permute(0, 3, 1, 2)
    x = x.float().div_(255)
    return x.expand(-1, in_chans, -1, -1).contiguous() if x.shape[1] != in_chans else x.contiguous()
