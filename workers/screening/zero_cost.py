"""Zero-cost proxies: scores of an untrained network from one batch, meant to rank candidates before training.

- ``naswot`` (Mellor et al., "Neural Architecture Search without Training", ICML 2021): every activation unit
  gives each image of the batch a binary code; ``K[i, j]`` counts the units on which images i and j agree (the
  number of units minus their Hamming distance), and the score is ``log|K|``. A network whose units tell the
  images apart has a K close to diagonal and a large determinant. The paper codes ReLU units (output > 0); our
  blocks also use ReLU6, swish (SiLU) and hard swish, so the code of a unit is **its pre-activation > 0** at
  every activation module (``nn.ReLU``, ``nn.ReLU6``, ``nn.SiLU``, ``nn.Hardswish``; the sigmoid gates of
  squeeze-excite are not activations of this kind and are left out). For ReLU this is exactly the paper's
  code. The batch runs with batch-norm in training mode (batch statistics), as the reference implementation.
- ``synflow`` (Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic
  flow", NeurIPS 2020, used as a NAS proxy by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR
  2021): every parameter is replaced by its absolute value, an all-ones input of one image is passed in double
  precision, ``R = sum(output)`` is back-propagated, and the score is ``sum |theta * dR/dtheta|`` over the
  conv and linear weights. Batch norm runs in eval mode with fresh statistics (mean 0, variance 1), i.e. as the
  identity, like the BN-free copy Abdelfattah et al. score. No data is needed. We return ``ln`` of the sum
  (the sum itself spans hundreds of orders of magnitude); the ranking is the same.
- ``jacob_cov`` (Mellor et al. 2020, the first version of the NASWOT paper, and Abdelfattah et al.): the
  Jacobian of the summed logits with respect to each input image, flattened; the score is
  ``-sum(log(v + k) + 1 / (v + k))`` over the eigenvalues ``v`` of the correlation matrix of these Jacobians
  (k = 1e-5): higher when the images' Jacobians are uncorrelated. Eval mode, so that each image's Jacobian is its own.

Higher is better for all three. Every function builds nothing itself: ``score(spec, proxy, x, seed)`` builds the
seeded untrained network and calls the one named.
"""

from __future__ import annotations

import enum
import math
from typing import TYPE_CHECKING

from workers.training import build_seeded

if TYPE_CHECKING:
    import torch
    from torch import nn

    from searchspace.spec import ArchSpec

JACOB_COV_K = 1e-5


class Proxy(enum.StrEnum):
    """A zero-cost proxy (``none``: no screening)."""

    NONE = "none"
    NASWOT = "naswot"
    SYNFLOW = "synflow"
    JACOB_COV = "jacob_cov"


def _activation_types() -> tuple[type[nn.Module], ...]:
    from torch import nn

    return nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish


def naswot(model: nn.Module, x: torch.Tensor) -> float:
    """log|K| of the activation-code kernel of the batch ``x`` (see the module docstring)."""
    import torch

    n = len(x)
    kernel = torch.zeros(n, n, dtype=torch.float64)

    def code(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        nonlocal kernel
        on = (inputs[0].detach().reshape(n, -1) > 0).double()  # before an in-place activation overwrites it
        kernel = kernel + on @ on.T + (1 - on) @ (1 - on).T

    hooks = [m.register_forward_pre_hook(code) for m in model.modules() if isinstance(m, _activation_types())]
    try:
        model.train()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else -math.inf


def synflow(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """ln of the summed synaptic flow ``|theta * dR/dtheta|`` of the conv and linear weights (model is changed)."""
    import torch
    from torch import nn

    model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad(set_to_none=True)
    model(torch.ones((1, *input_shape), dtype=torch.float64)).sum().backward()
    total = torch.zeros((), dtype=torch.float64)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear) and m.weight.grad is not None:
                total += (m.weight * m.weight.grad).abs().sum()
    return math.log(float(total)) if float(total) > 0 else -math.inf


def jacob_cov(model: nn.Module, x: torch.Tensor) -> float:
    """Score of the correlation of the per-image input Jacobians of the summed logits (higher: less correlated)."""
    import torch

    model.eval()
    x = x.detach().clone().requires_grad_(True)
    model(x).sum().backward()
    jacobian = x.grad.reshape(len(x), -1).double()
    corr = torch.corrcoef(jacobian)
    if not bool(torch.isfinite(corr).all()):  # an image with a constant Jacobian (a dead network)
        return -math.inf
    v = torch.linalg.eigvalsh(corr)
    return float(-(torch.log(v + JACOB_COV_K) + 1 / (v + JACOB_COV_K)).sum())


def score(spec: ArchSpec, proxy: Proxy | str, x: torch.Tensor, seed: int = 0) -> float:
    """``proxy``'s score of ``spec`` untrained (weights from ``seed``) on the batch ``x`` (N, C, R, R)."""
    proxy = Proxy(proxy)
    if proxy == Proxy.NONE:
        raise ValueError("proxy 'none' has no score")
    model = build_seeded(spec, seed)
    if proxy == Proxy.NASWOT:
        return naswot(model, x)
    if proxy == Proxy.SYNFLOW:
        return synflow(model, tuple(x.shape[1:]))
    return jacob_cov(model, x)
