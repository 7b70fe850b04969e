"""Zoo networks fitted to a search (searchspace.fit): data shape, resolution, small-input stem, MACs range."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchspace import zoo
from searchspace.builder import build
from searchspace.counter import count
from searchspace.fit import MIN_FEATURE, adapt_to_space, macs_range
from searchspace.space import B0_SKELETON, PROXY_SPACE, SearchSpace, StageSpace, sample


class _Random:
    """A trial that picks uniformly at random."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def suggest_categorical(self, name: str, choices: tuple) -> object:
        return self.rng.choice(choices)


def _space(resolution: int = 32, classes: int = 10, chans: int = 1) -> SearchSpace:
    return replace(PROXY_SPACE, resolutions=(resolution,), num_classes=classes, in_chans=chans)


@pytest.mark.parametrize("space", [_space(), replace(_space(16), resolutions=(16, 24)),
                                   replace(_space(), stages=tuple(StageSpace(stride=s, out_chs=c, repeats=n)
                                                                  for s, c, n in B0_SKELETON[:4]))])
def test_macs_range_bounds_every_sampled_candidate(space: SearchSpace) -> None:
    lo, hi = macs_range(space)
    sampled = [count(sample(_Random(seed), space)).macs for seed in range(300)]
    assert lo <= min(sampled) and max(sampled) <= hi
    assert lo < hi / 10  # the extremes, not two typical candidates


def test_default_baselines_at_32_px_keep_their_design_and_say_what_changed() -> None:
    a = adapt_to_space(zoo.get("mobilenet_v2"), _space())
    assert a.spec.num_classes == 10 and a.spec.in_chans == 1 and a.spec.resolution == 32
    assert a.spec.stem.stride == 1 and a.width == 1.0 and a.in_range
    assert a.changes == ("classes 1000 -> 10", "input channels 3 -> 1", "resolution 224 -> 32", "stem stride 2 -> 1")
    shuffle = adapt_to_space(zoo.get("shufflenet_v2_x1_0"), _space())
    assert shuffle.spec.stem.pool == "none" and "stem max pool (max) removed" in shuffle.changes


def test_early_downsampling_dropped_below_the_minimum_feature_map() -> None:
    a = adapt_to_space(zoo.get("efficientnet_b0"), _space(16))
    assert "stages[1] stride 2 -> 1" in a.changes  # 16 px / 16 would leave a 1x1 map
    assert min(count(a.spec).stages[-1].out_size) >= MIN_FEATURE


def test_width_brings_a_large_network_into_the_range() -> None:
    space = _space()
    lo, hi = macs_range(space)
    base = adapt_to_space(zoo.get("efficientnet_b7"), space)
    assert count(replace(zoo.get("efficientnet_b7"), resolution=32)).macs > hi  # far above before fitting
    assert base.width < 1.0 and lo <= base.macs <= hi and any(c.startswith("width x") for c in base.changes)


def test_a_macs_cap_caps_the_range() -> None:
    capped = adapt_to_space(zoo.get("efficientnet_b0"), _space(), max_macs=5_000_000)
    assert capped.macs <= 5_000_000 and capped.macs_range[1] == 5_000_000 and capped.width < 1.0


def test_micronet_groups_follow_the_channels_when_its_width_must_change() -> None:
    a = adapt_to_space(zoo.get("micronet_m0"), _space())
    assert a.in_range and a.width != 1.0
    assert any("G = sqrt(C/R)" in c for c in a.changes)
    assert all(not s.block.groups for s in a.spec.stages)


def test_large_input_keeps_the_stem() -> None:
    a = adapt_to_space(zoo.get("mobilenet_v2"), _space(96))
    assert a.spec.stem.stride == 2 and not any("stem" in c for c in a.changes)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(zoo.names()), resolution=st.sampled_from([16, 24, 32, 48, 64]),
       classes=st.integers(2, 200), chans=st.sampled_from([1, 3]))
def test_every_zoo_network_fits_builds_and_runs_on_the_data_shape(name: str, resolution: int, classes: int,
                                                                   chans: int) -> None:
    space = _space(resolution, classes, chans)
    a = adapt_to_space(zoo.get(name), space)
    lo, hi = macs_range(space)
    assert lo <= a.macs <= hi and a.macs == count(a.spec).macs
    assert (a.spec.num_classes, a.spec.in_chans, a.spec.resolution) == (classes, chans, resolution)
    assert a.spec.stem.reduction == 1  # at most 64 px: the small-input stem
    model = build(a.spec).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, chans, resolution, resolution))
    assert tuple(out.shape) == (2, classes)
    assert sum(p.numel() for p in model.parameters()) == a.params
