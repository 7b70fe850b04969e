"""The supernet: every extracted sub-network, built as an ordinary ArchSpec with the inherited weights, computes
what the supernet's active path computes; elastic choices outside the space are refused by field."""

from __future__ import annotations

import functools
import random
from dataclasses import replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchspace import SpecError, build
from searchspace.space import SearchSpace, StageSpace, assemble, stage_block
from searchspace.spec import ArchSpec, StageSpec
from searchspace.supernet import Supernet, check_member, extreme_subnet, neighbour_subnet, random_subnet
from searchspace.supernet.ops import KernelConv

KINDS = ("mbconv", "ghost", "micro")


def small_space(kinds: tuple[str, ...] = KINDS) -> SearchSpace:
    """Three stages (stride 1, 2, 2), widths 8-32, kernels 3/5/7, expansions 1/3, SE off/on, depth 1-3."""
    common = {
        "kinds": kinds,
        "kernels": (3, 5, 7),
        "expansions": (1.0, 3.0),
        "se_ratios": (0.0, 0.25),
        "width_factors": (0.5, 1.0, 1.5),
    }
    stages = (
        StageSpace(stride=1, out_chs=16, repeats=1, repeat_deltas=(0, 1), **common),
        StageSpace(stride=2, out_chs=16, repeats=2, **common),
        StageSpace(stride=2, out_chs=24, repeats=1, repeat_deltas=(0, 1), **common),
    )
    return SearchSpace(stages=stages, resolutions=(8, 12), stem_chs=16, head_chs=24, stem_stride=1, num_classes=5)


@functools.cache
def supernet(kinds: tuple[str, ...]) -> Supernet:
    """A supernet with every weight, transform matrix and BN statistic moved away from its initial value."""
    torch.manual_seed(0)
    net = Supernet(small_space(kinds), bn_eps=1e-3, bn_momentum=0.05)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.2)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


@st.composite
def subnets(draw: st.DrawFn, space: SearchSpace) -> ArchSpec:
    stages = []
    for s in space.stages:
        block = stage_block(
            s,
            kind=draw(st.sampled_from(s.kinds)),
            width=draw(st.sampled_from(s.width_factors)),
            kernel=draw(st.sampled_from(s.kernels)),
            expansion=draw(st.sampled_from(s.expansions)),
            se_ratio=draw(st.sampled_from(s.se_ratios)),
            act=draw(st.sampled_from(s.acts)),
        )
        stages.append(StageSpec(block=block, repeats=draw(st.sampled_from(s.repeat_options))))
    return assemble(space, tuple(stages), draw(st.sampled_from(space.resolutions)))


def assert_extract_matches(net: Supernet, spec: ArchSpec) -> None:
    arch, state = net.extract(spec)
    assert arch.stages == spec.stages and arch.resolution == spec.resolution
    model = build(arch)
    model.load_state_dict(state, strict=True)
    model.eval()
    x = torch.randn(3, 3, spec.resolution, spec.resolution, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(net(x), model(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_extracted_subnet_of_each_kind_equals_active_path(kind: str, data: st.DataObject) -> None:
    net = supernet((kind,))
    assert_extract_matches(net, data.draw(subnets(net.space)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("largest", [True, False])
def test_largest_and_smallest_subnets_extract_exactly(kind: str, largest: bool) -> None:
    net = supernet((kind,))
    assert_extract_matches(net, extreme_subnet(net.space, largest, random.Random(0)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_extracted_random_subnet_of_mixed_space_equals_active_path(data: st.DataObject) -> None:
    net = supernet(KINDS)
    assert_extract_matches(net, data.draw(subnets(net.space)))


def test_extremes_of_any_kind_take_every_kind_and_bound_that_kinds_macs() -> None:
    from searchspace import count

    space = small_space()
    rng = random.Random(0)
    seen = set()
    for _ in range(20):
        big, small = extreme_subnet(space, True, rng, any_kind=True), extreme_subnet(space, False, rng, any_kind=True)
        seen |= {stage.block.kind for stage in (*big.stages, *small.stages)}
        one = space.with_choices(kinds=(big.stages[0].block.kind,))
        assert big.stages[0].block.out_chs == 24 and big.resolution == 12 and small.resolution == 8
        assert count(big).macs >= count(extreme_subnet(one, False, random.Random(0))).macs
    assert seen == set(KINDS)


def test_random_subnet_is_a_member_and_extremes_bound_the_macs() -> None:
    from searchspace import count

    space = small_space()
    rng = random.Random(3)
    big, small = (count(extreme_subnet(space, flag, rng)).macs for flag in (True, False))
    for _ in range(30):
        macs = count(random_subnet(space, rng)).macs
        assert small <= macs <= big


def _sizes(spec: ArchSpec) -> list[tuple]:
    """Every choice of ``spec`` but the activations."""
    return [(s.repeats, replace(s.block, act="relu")) for s in spec.stages] + [spec.resolution]


@given(seed=st.integers(0, 10_000), spread=st.floats(0.0, 1.0))
def test_neighbour_subnet_is_a_member_between_the_largest_and_the_whole_space(seed: int, spread: float) -> None:
    space = small_space()
    largest = extreme_subnet(space, True, random.Random(seed), any_kind=True)
    rng = random.Random(seed)
    near = neighbour_subnet(space, largest, spread, rng)
    check_member(space, near)
    if spread == 0.0:
        assert _sizes(near) == _sizes(largest)


def test_neighbour_subnets_stray_from_the_largest_as_the_spread_grows() -> None:
    space = small_space()
    largest = extreme_subnet(space, True, random.Random(0))
    rng = random.Random(1)
    changed = {}
    for spread in (0.1, 0.5, 1.0):
        same = [a == b for _ in range(200)
                for a, b in zip(_sizes(neighbour_subnet(space, largest, spread, rng)), _sizes(largest), strict=True)]
        changed[spread] = 1 - sum(same) / len(same)
    assert 0.0 < changed[0.1] < changed[0.5] < changed[1.0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: replace(s, resolution=16), "resolution"),
        (lambda s: replace(s, num_classes=7), "num_classes"),
        (lambda s: _stage0(s, block=replace(s.stages[0].block, kernel=9)), "stages[0].block.kernel"),
        (lambda s: _stage0(s, block=replace(s.stages[0].block, out_chs=40)), "stages[0].block.out_chs"),
        (lambda s: _stage0(s, repeats=4), "stages[0].repeats"),
        (lambda s: _stage0(s, block=replace(s.stages[0].block, act="relu6")), "stages[0].block.act"),
        (lambda s: replace(s, stages=s.stages[:2]), "stages"),
    ],
)
def test_spec_outside_the_space_is_refused_by_field(change, field: str) -> None:
    net = supernet(("mbconv",))
    spec = extreme_subnet(net.space, True, random.Random(0))
    with pytest.raises(SpecError) as err:
        net.set_active(change(spec))
    assert err.value.field == field


def test_field_the_space_does_not_search_is_refused() -> None:
    net = supernet(("ghost",))
    spec = extreme_subnet(net.space, True, random.Random(0))
    bad = _stage0(spec, block=replace(spec.stages[0].block, dw_size=5))
    with pytest.raises(SpecError) as err:
        net.set_active(bad)
    assert err.value.field == "stages[0].block"


def _stage0(spec: ArchSpec, **changes: object) -> ArchSpec:
    return replace(spec, stages=(replace(spec.stages[0], **changes), *spec.stages[1:]))


def test_kernel_transform_starts_at_the_centre_crop_and_is_learned() -> None:
    conv = KernelConv(4, (3, 5, 7))
    assert [tuple(p.shape) for p in conv.transforms.values()] == [(9, 9), (25, 25)]
    torch.testing.assert_close(conv.weight_for(4, 3), conv.weight[:, :, 2:5, 2:5])
    torch.testing.assert_close(conv.weight_for(4, 5), conv.weight[:, :, 1:6, 1:6])
    conv.weight_for(2, 3).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in conv.transforms.values())
    column = KernelConv(4, (3, 5, 7), "column")
    assert column.weight_for(4, 3).shape == (4, 1, 3, 1)
    assert [tuple(p.shape) for p in column.transforms.values()] == [(3, 3), (5, 5)]


def test_training_step_updates_shared_weights_and_only_the_active_statistics() -> None:
    torch.manual_seed(0)
    net = Supernet(small_space(("mbconv",))).train()
    spec = extreme_subnet(net.space, False, random.Random(0))
    net.set_active(spec)
    pwl = net.stages[0][0]["mbconv"].conv_pwl
    width = spec.stages[0].block.out_chs
    assert width < pwl.bn.num_features
    net(torch.randn(4, 3, spec.resolution, spec.resolution)).sum().backward()
    assert pwl.bn.running_mean[:width].abs().sum() > 0
    assert pwl.bn.running_mean[width:].abs().sum() == 0
    grad = pwl.conv.weight.grad
    assert grad is not None and grad[:width].abs().sum() > 0 and grad[width:].abs().sum() == 0


@st.composite
def spaces(draw: st.DrawFn) -> SearchSpace:
    """Small spaces of every shape the supernet must cover: any kernel set, fractional expansions, widths that
    make the first layer's input equal its output or not, 1-2 stages, a head with or without its 1x1 conv."""
    stages = []
    for _ in range(draw(st.integers(1, 2))):
        stages.append(StageSpace(
            stride=draw(st.sampled_from([1, 2])),
            out_chs=draw(st.sampled_from([8, 16])),
            repeats=draw(st.integers(1, 2)),
            kinds=tuple(draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))),
            kernels=tuple(draw(st.lists(st.sampled_from([3, 5, 7]), min_size=1, max_size=3, unique=True))),
            expansions=tuple(draw(st.lists(st.sampled_from([1.0, 2.5, 4.0]), min_size=1, max_size=2, unique=True))),
            se_ratios=tuple(draw(st.lists(st.sampled_from([0.0, 0.25, 0.5]), min_size=1, max_size=2, unique=True))),
            repeat_deltas=(0, 1),
            width_factors=tuple(draw(st.lists(st.sampled_from([0.5, 1.0, 1.5]), min_size=1, max_size=2,
                                              unique=True))),
        ))
    return SearchSpace(stages=tuple(stages), resolutions=(8,), stem_chs=draw(st.sampled_from([8, 16])),
                       head_chs=draw(st.sampled_from([0, 16])), stem_stride=draw(st.sampled_from([1, 2])),
                       dropout=0.0, num_classes=3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_extraction_is_exact_for_any_small_space(data: st.DataObject) -> None:
    space = data.draw(spaces())
    torch.manual_seed(0)
    net = Supernet(space)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    assert_extract_matches(net.eval(), data.draw(subnets(space)))


def test_dropout_regularises_only_when_asked() -> None:
    net = Supernet(small_space(("mbconv",))).train()
    x = torch.randn(4, 3, 12, 12)
    net.set_active(extreme_subnet(net.space, True, random.Random(0)))
    net.regularise(False)
    torch.testing.assert_close(net(x), net(x))
    net.regularise(True)
    assert net.head.dropout.p == net.space.dropout > 0
    assert not torch.equal(net(x), net(x))
