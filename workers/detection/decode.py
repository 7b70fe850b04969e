"""Decoding a box dataset's images to uint8 tensors at one square resolution (the boxes are scaled apart)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from workers.data import open_image


def decode_images(pixels: np.ndarray | None, files: list[str], resolution: int, in_chans: int) -> Any:
    """uint8 tensor (N, in_chans, R, R): ``pixels`` (uint8 (N, 3, H, W)) when given, else every image file,
    resized (bilinear) to R x R, grey or RGB."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    if pixels is not None:
        x = torch.from_numpy(pixels)
        if x.shape[-1] != resolution:
            x = F.interpolate(x.float(), size=(resolution, resolution), mode="bilinear", align_corners=False,
                              antialias=True).round_().clamp_(0, 255).to(torch.uint8)
        if in_chans == 1:
            x = (x.float() * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
            x = x.round_().to(torch.uint8)
        return x.contiguous()
    mode = "L" if in_chans == 1 else "RGB"

    def one(i: int) -> np.ndarray:
        with open_image(files[i], "cannot be decoded") as img:
            return np.asarray(img.convert(mode).resize((resolution, resolution), Image.Resampling.BILINEAR),
                              dtype=np.uint8)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(one, range(len(files))))
    x = torch.from_numpy(np.stack(arrays))
    return (x[:, None] if mode == "L" else x.permute(0, 3, 1, 2)).contiguous()
