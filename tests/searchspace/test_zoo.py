"""Every zoo network against the reference implementation's exact sizes, fvcore, and a forward pass."""

from __future__ import annotations

import pytest
import torch

import searchspace as ss
from searchspace import zoo
from tests.searchspace.fvcore_count import fvcore_macs

REQUIRED = [
    *(f"efficientnet_b{i}" for i in range(8)),
    "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet_a1", "mnasnet_b1",
    "ghostnet_1_0", "micronet_m0", "micronet_m1", "micronet_m2", "micronet_m3", "shufflenet_v1_g3",
    "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1",
]
SMALL = [n for n in REQUIRED if n not in {f"efficientnet_b{i}" for i in range(4, 8)}]


def test_zoo_has_every_published_network() -> None:
    assert sorted(zoo.names()) == sorted(REQUIRED)
    assert set(zoo.published()) == set(REQUIRED)


@pytest.mark.parametrize("name", REQUIRED)
def test_counts_match_reference(name: str) -> None:
    spec, ref = zoo.get(name), zoo.published()[name]
    counted = ss.count(spec)
    assert spec.num_classes == ref["num_classes"] and spec.resolution == ref["resolution"]
    assert (counted.params, counted.macs) == (ref["reference_params"], ref["reference_macs"])


@pytest.mark.parametrize("name", REQUIRED)
def test_counter_matches_built_module(name: str) -> None:
    spec = zoo.get(name)
    model = ss.build(spec)
    assert ss.count(spec).params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", SMALL)
def test_counter_matches_fvcore(name: str) -> None:
    spec = zoo.get(name)
    assert ss.count(spec).macs == fvcore_macs(ss.build(spec), spec.resolution, spec.in_chans)


@pytest.mark.parametrize("name", REQUIRED)
def test_forward_pass(name: str) -> None:
    spec = zoo.get(name)
    model = ss.build(spec).eval()
    with torch.no_grad():
        out = model(torch.randn(2, spec.in_chans, spec.resolution, spec.resolution))
    assert out.shape == (2, spec.num_classes)
    assert torch.isfinite(out).all()
