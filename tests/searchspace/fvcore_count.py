"""fvcore's MAC count with the papers' convention (batch norm and adaptive pooling not counted)."""

from __future__ import annotations

import logging

import torch
from torch import nn


def fvcore_macs(model: nn.Module, resolution: int, in_chans: int = 3) -> int:
    from fvcore.nn import FlopCountAnalysis

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    model.eval()
    fca = FlopCountAnalysis(model, torch.zeros(1, in_chans, resolution, resolution))
    fca.set_op_handle("aten::batch_norm", lambda i, o: 0, "aten::adaptive_avg_pool2d", lambda i, o: 0)
    fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(fca.total())
