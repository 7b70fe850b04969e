"""ShuffleNetV1/V2 units and the Fire module: shapes, analytic counts against the built module, validation."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import searchspace as ss
from searchspace.blocks import BLOCK_KINDS, BlockSpec, FireSpec, ShuffleV1Spec, ShuffleV2Spec
from searchspace.nn.context import BuildContext
from searchspace.tally import Tally
from tests.searchspace.fvcore_count import fvcore_macs


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _check_block(spec: BlockSpec, in_chs: int, size: int) -> None:
    """Forward shape == analytic shape; analytic params == built params; gradients flow."""
    spec.check_input(in_chs)
    block = spec.build(in_chs, BuildContext(drop_path=0.1)).train()
    x = torch.randn(2, in_chs, size, size, requires_grad=True)
    out = block(x)
    t = spec.count(Tally(in_chs, size, size))
    assert out.shape == (2, t.chs, t.h, t.w)
    assert t.chs == spec.out_chs
    assert t.params == _params(block)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@st.composite
def _blocks(draw: st.DrawFn) -> tuple[BlockSpec, int]:
    """A random valid block of one of the three kinds, with an input width it accepts."""
    kind, stride = draw(st.sampled_from(["shuffle_v1", "shuffle_v2", "fire"])), draw(st.sampled_from([1, 2]))
    kernel, act = draw(st.sampled_from([3, 5, 7])), draw(st.sampled_from(["relu", "hswish"]))
    if kind == "shuffle_v1":
        groups = draw(st.sampled_from([1, 2, 3, 4, 8]))
        out_chs = 4 * groups * draw(st.integers(1, 6))
        in_chs = out_chs if stride == 1 else groups * draw(st.integers(1, out_chs // groups - 1 or 1))
        spec: BlockSpec = ShuffleV1Spec(out_chs=out_chs, stride=stride, kernel=kernel, act=act, groups=groups)
        if in_chs >= out_chs:
            spec, in_chs = replace(spec, stride=1), out_chs
    elif kind == "shuffle_v2":
        out_chs = 2 * draw(st.integers(1, 24))
        in_chs = out_chs if stride == 1 else draw(st.integers(1, 48))
        spec = ShuffleV2Spec(out_chs=out_chs, stride=stride, kernel=kernel, act=act)
    else:
        out_chs, in_chs = draw(st.integers(4, 64)), draw(st.integers(1, 48))
        spec = FireSpec(
            out_chs=out_chs, stride=stride, kernel=kernel, act=act, norm=draw(st.booleans()),
            squeeze_ratio=draw(st.sampled_from([0.125, 0.25, 0.5])), pct3x3=draw(st.sampled_from([0.25, 0.5, 0.75])),
        )
    return spec, in_chs


@settings(max_examples=15, deadline=None)
@given(_blocks(), st.integers(3, 9))
def test_random_blocks_count_matches_module(block: tuple[BlockSpec, int], size: int) -> None:
    _check_block(*block, size)


def test_registered() -> None:
    assert BLOCK_KINDS["shuffle_v1"] is ShuffleV1Spec
    assert BLOCK_KINDS["shuffle_v2"] is ShuffleV2Spec
    assert BLOCK_KINDS["fire"] is FireSpec


@pytest.mark.parametrize(
    ("in_chs", "out_chs", "stride", "groups", "group_first", "kernel", "size"),
    [
        (24, 240, 2, 3, False, 3, 56),
        (24, 240, 2, 3, True, 3, 9),
        (240, 240, 1, 3, True, 3, 28),
        (480, 960, 2, 3, True, 5, 14),
        (16, 144, 2, 1, True, 3, 7),
        (24, 200, 2, 2, False, 7, 8),
        (64, 64, 1, 8, True, 3, 5),
        (32, 128, 2, 4, True, 3, 6),
    ],
)
def test_shuffle_v1(
    in_chs: int, out_chs: int, stride: int, groups: int, group_first: bool, kernel: int, size: int
) -> None:
    spec = ShuffleV1Spec(out_chs=out_chs, stride=stride, groups=groups, group_first=group_first, kernel=kernel)
    _check_block(spec, in_chs, size)
    t = spec.count(Tally(in_chs, size, size))
    assert (t.h, t.w) == (((size + 1) // 2,) * 2 if stride == 2 else (size, size))


@pytest.mark.parametrize(
    ("in_chs", "out_chs", "stride", "kernel", "act", "size"),
    [
        (24, 116, 2, 3, "relu", 56),
        (116, 116, 1, 3, "relu", 28),
        (3, 8, 2, 5, "hswish", 9),
        (48, 48, 1, 7, "swish", 7),
        (17, 2, 2, 3, "relu", 4),
    ],
)
def test_shuffle_v2(in_chs: int, out_chs: int, stride: int, kernel: int, act: str, size: int) -> None:
    _check_block(ShuffleV2Spec(out_chs=out_chs, stride=stride, kernel=kernel, act=act), in_chs, size)


def test_shuffle_v2_stride1_keeps_half_of_the_input() -> None:
    block = ShuffleV2Spec(out_chs=8).build(8, BuildContext()).eval()
    x = torch.randn(1, 8, 4, 4)
    out = block(x)
    # after the 2-group shuffle the untouched half sits on the even channels
    assert torch.equal(out[:, 0::2], x[:, :4])


@pytest.mark.parametrize(
    ("in_chs", "out_chs", "stride", "squeeze_ratio", "pct3x3", "norm", "kernel", "size"),
    [
        (96, 128, 1, 0.125, 0.5, False, 3, 55),
        (128, 256, 2, 0.125, 0.5, False, 3, 55),
        (256, 256, 2, 0.125, 0.5, False, 3, 27),
        (10, 30, 1, 0.3, 0.25, True, 5, 8),
        (7, 9, 2, 0.5, 0.75, True, 7, 6),
        (3, 2, 1, 0.0, 0.5, False, 3, 3),
    ],
)
def test_fire(
    in_chs: int, out_chs: int, stride: int, squeeze_ratio: float, pct3x3: float, norm: bool, kernel: int, size: int
) -> None:
    spec = FireSpec(out_chs=out_chs, stride=stride, squeeze_ratio=squeeze_ratio, pct3x3=pct3x3, norm=norm, kernel=kernel)
    assert spec.expand1x1_chs + spec.expand3x3_chs == out_chs
    assert 1 <= spec.squeeze_chs < out_chs
    _check_block(spec, in_chs, size)


def test_fire_widths_and_ceil_pool() -> None:
    spec = FireSpec(out_chs=384, stride=2)
    assert (spec.squeeze_chs, spec.expand1x1_chs, spec.expand3x3_chs) == (48, 192, 192)
    # SqueezeNet's ceil-mode max pool: 55 -> 27 -> 13, and an even map rounds up (8 -> 4, 6 -> 3)
    for size, pooled in ((55, 27), (27, 13), (8, 4), (6, 3)):
        assert spec.count(Tally(256, size, size)).h == pooled


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ShuffleV2Spec(out_chs=115), "out_chs"),
        (lambda: ShuffleV2Spec(out_chs=116, kernel=4), "kernel"),
        (lambda: ShuffleV2Spec(out_chs=116, stride=3), "stride"),
        (lambda: ShuffleV1Spec(out_chs=240, groups=0), "groups"),
        (lambda: ShuffleV1Spec(out_chs=240, groups=7), "out_chs"),  # bottleneck 60 not a multiple of 7
        (lambda: ShuffleV1Spec(out_chs=8, groups=3), "out_chs"),
        (lambda: ShuffleV1Spec(out_chs=240, group_first=1), "group_first"),
        (lambda: FireSpec(out_chs=128, squeeze_ratio=1.0), "squeeze_ratio"),
        (lambda: FireSpec(out_chs=128, squeeze_ratio=1.5), "squeeze_ratio"),
        (lambda: FireSpec(out_chs=128, pct3x3=1.0), "pct3x3"),
        (lambda: FireSpec(out_chs=128, pct3x3=0.0), "pct3x3"),
        (lambda: FireSpec(out_chs=1), "squeeze_ratio"),
        (lambda: FireSpec(out_chs=128, norm="yes"), "norm"),
    ],
)
def test_field_validation(make: object, field: str) -> None:
    with pytest.raises(ss.SpecError) as err:
        make()  # type: ignore[operator]
    assert err.value.field == field


@pytest.mark.parametrize(
    ("spec", "in_chs", "field"),
    [
        (ShuffleV2Spec(out_chs=116), 24, "out_chs"),
        (ShuffleV1Spec(out_chs=240), 120, "out_chs"),
        (ShuffleV1Spec(out_chs=240, stride=2), 240, "out_chs"),
        (ShuffleV1Spec(out_chs=240, stride=2), 25, "groups"),  # branch makes 215, not a multiple of 3
        (ShuffleV1Spec(out_chs=240, stride=2), 30, None),
        (ShuffleV1Spec(out_chs=240, stride=2, groups=4), 24, None),
        (ShuffleV1Spec(out_chs=240, stride=2, groups=4), 20, None),
        (ShuffleV1Spec(out_chs=242, stride=2, groups=4), 22, "groups"),  # branch 220 fine, input 22 not
        (ShuffleV1Spec(out_chs=242, stride=2, groups=4, group_first=False), 22, None),
    ],
)
def test_input_validation(spec: BlockSpec, in_chs: int, field: str | None) -> None:
    if field is None:
        spec.check_input(in_chs)
        return
    with pytest.raises(ss.SpecError) as err:
        spec.check_input(in_chs)
    assert err.value.field == field
    assert "allowed" in err.value.message or "must" in err.value.message


def _arch(*blocks: BlockSpec, stem_chs: int = 24) -> ss.ArchSpec:
    return ss.ArchSpec(
        stem=ss.StemSpec(out_chs=stem_chs, pool="max"),
        stages=tuple(ss.StageSpec(block=b) for b in blocks),
        head=ss.HeadSpec(),
        resolution=64,
        num_classes=10,
    )


def test_arch_validation_names_the_stage() -> None:
    with pytest.raises(ss.SpecError) as err:
        _arch(ShuffleV2Spec(out_chs=48, stride=2), ShuffleV2Spec(out_chs=64))
    assert err.value.field == "stages[1].block.out_chs"


def test_networks_round_trip_count_and_run() -> None:
    spec = _arch(
        ShuffleV1Spec(out_chs=120, stride=2, group_first=False),
        ShuffleV1Spec(out_chs=120, kernel=5),
        ShuffleV2Spec(out_chs=64, stride=2),
        ShuffleV2Spec(out_chs=64, act="hswish"),
        FireSpec(out_chs=96, stride=2, norm=True),
        FireSpec(out_chs=96, pct3x3=0.25, squeeze_ratio=0.25),
    )
    assert ss.ArchSpec.from_json(spec.to_json()) == spec
    assert ss.ArchSpec.from_string(spec.to_string()) == spec
    model = ss.build(spec).eval()
    counted = ss.count(spec)
    assert counted.params == _params(model)
    assert counted.macs == fvcore_macs(model, spec.resolution)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 10)


def test_classifier_bias() -> None:
    for classifier in ("linear", "conv"):
        head = ss.HeadSpec(classifier=classifier, classifier_bias=False)
        spec = replace(_arch(FireSpec(out_chs=32)), head=head)
        model = ss.build(spec)
        assert model.head.classifier.bias is None
        biased = replace(spec, head=replace(head, classifier_bias=True))
        assert ss.count(spec).params == _params(model) == ss.count(biased).params - 10
        assert ss.ArchSpec.from_string(spec.to_string()) == spec
