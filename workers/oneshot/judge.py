"""Judging one sub-network with inherited weights: extract it, build it, re-estimate its batch-norm statistics on
training images, and measure its validation top-1 accuracy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from searchspace.builder import build
from searchspace.spec import ArchSpec
from workers.training import accuracy, calibrate_bn

if TYPE_CHECKING:
    import torch
    from torch import nn

    from searchspace.supernet import Supernet
    from workers.data import SplitData


def inherited_model(net: Supernet, spec: ArchSpec) -> nn.Module:
    """``searchspace.build(spec)`` holding the supernet's weights for ``spec``, on the supernet's device."""
    arch, state = net.extract(spec)
    model = build(arch)
    model.load_state_dict(state)
    return model.to(next(net.parameters()).device)


def calibration_images(data: SplitData, count: int, seed: int) -> torch.Tensor:
    """A seeded sample of ``count`` training images (all of them when there are fewer)."""
    import torch

    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))
    return data.x_train[order[:count]]


def judged_model(
    net: Supernet, spec: ArchSpec, data: SplitData, calibration: torch.Tensor, batch_size: int,
    eval_batch_size: int = 512,
) -> tuple[nn.Module, float]:
    """``spec`` built with inherited weights, its batch norms re-estimated on ``calibration`` (images at
    ``spec.resolution``, as ``data``) in batches of ``batch_size``, and its validation top-1."""
    if data.resolution != spec.resolution:
        raise ValueError(f"data at {data.resolution} px judge a sub-network at {spec.resolution} px")
    model = inherited_model(net, spec)
    device = next(model.parameters()).device
    calibrate_bn(model, calibration.to(device), batch_size)
    return model, accuracy(model, data.x_val.to(device), data.y_val.to(device), eval_batch_size)


def judge_subnet(
    net: Supernet, spec: ArchSpec, data: SplitData, calibration: torch.Tensor, batch_size: int,
    eval_batch_size: int = 512,
) -> float:
    """Validation top-1 of ``spec`` with inherited weights (``judged_model``)."""
    return judged_model(net, spec, data, calibration, batch_size, eval_batch_size)[1]
