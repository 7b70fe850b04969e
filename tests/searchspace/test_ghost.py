"""The Ghost bottleneck block kind: shapes, analytic counts against the built module and fvcore, validation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import searchspace as ss
from searchspace.blocks import BLOCK_KINDS, GhostBottleneckSpec
from searchspace.nn.context import BuildContext
from searchspace.nn.ghost import GhostModule
from searchspace.tally import Tally
from tests.searchspace.fvcore_count import fvcore_macs


def _count(spec: GhostBottleneckSpec, in_chs: int, size: int = 8) -> Tally:
    return spec.count(Tally(in_chs, size, size))


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_registered() -> None:
    assert BLOCK_KINDS["ghost"] is GhostBottleneckSpec


@pytest.mark.parametrize("expansion", [1, 3, 4, 6])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("se_ratio", [0.0, 0.25])
def test_forward_shape(expansion: int, stride: int, se_ratio: float) -> None:
    spec = GhostBottleneckSpec(out_chs=24, stride=stride, kernel=5, expansion=expansion, se_ratio=se_ratio)
    for in_chs in (16, 24):
        block = spec.build(in_chs, BuildContext()).eval()
        with torch.no_grad():
            out = block(torch.randn(2, in_chs, 10, 10))
        t = _count(spec, in_chs, 10)
        assert out.shape == (2, 24, 10 // stride, 10 // stride) == (2, t.chs, t.h, t.w)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize(("ratio", "dw_size"), [(2, 1), (3, 3), (4, 5)])
def test_ratio_and_dw_size(ratio: int, dw_size: int) -> None:
    spec = GhostBottleneckSpec(out_chs=10, expansion=3, ratio=ratio, dw_size=dw_size)
    block = spec.build(7, BuildContext())
    assert _count(spec, 7).params == _params(block)
    assert block(torch.randn(1, 7, 6, 6)).shape == (1, 10, 6, 6)


def test_ghost_module_keeps_first_out_chs() -> None:
    module = GhostModule(4, 7, "relu", 2, 3)
    assert module.primary_conv.conv.out_channels == 4 and module.cheap_operation.conv.out_channels == 4
    assert module(torch.randn(1, 4, 5, 5)).shape == (1, 7, 5, 5)


def test_layout_follows_ghostnet() -> None:
    """Stride-1 blocks have no depthwise conv; the shortcut is the identity only when the shapes match."""
    spec = GhostBottleneckSpec(out_chs=40, kernel=5, expansion=3, se_ratio=0.25)
    same = spec.build(40, BuildContext())
    assert isinstance(same.conv_dw, nn.Identity) and isinstance(same.shortcut, nn.Identity)
    assert same.se.conv_reduce.out_channels == 32  # make_divisible(120 * 0.25, 4)
    assert isinstance(same.se.gate, nn.Hardsigmoid)
    assert spec.has_skip(40) and not spec.has_skip(24)
    down = GhostBottleneckSpec(out_chs=40, stride=2, kernel=5, expansion=3).build(24, BuildContext())
    assert down.conv_dw.conv.stride == (2, 2) and down.conv_dw.conv.groups == 72
    assert not isinstance(down.shortcut, nn.Identity)


def test_macs_match_fvcore() -> None:
    block = GhostBottleneckSpec(out_chs=40, stride=2, kernel=5, expansion=6, se_ratio=0.25, act="hswish")
    spec = ss.ArchSpec(
        stem=ss.StemSpec(out_chs=16),
        stages=(ss.StageSpec(block=block, repeats=2),),
        head=ss.HeadSpec(),
        resolution=64,
        num_classes=10,
    )
    assert ss.count(spec).macs == fvcore_macs(ss.build(spec), 64)


def test_round_trip() -> None:
    block = GhostBottleneckSpec(out_chs=24, stride=2, kernel=7, expansion=2.3, se_ratio=0.25, act="swish", ratio=3)
    spec = ss.ArchSpec(stem=ss.StemSpec(out_chs=16), stages=(ss.StageSpec(block=block, repeats=3),), head=ss.HeadSpec())
    assert ss.ArchSpec.from_string(spec.to_string()) == spec
    assert ss.ArchSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("field", "value"),
    [("ratio", 1), ("ratio", 2.0), ("dw_size", 4), ("expansion", 0.5), ("expansion", 17), ("kernel", 4),
     ("stride", 3), ("out_chs", 0), ("act", "gelu"), ("se_ratio", 1.5), ("se_gate", "tanh"), ("se_round", -1)],
)
def test_validation_names_field(field: str, value: object) -> None:
    with pytest.raises(ss.SpecError) as info:
        GhostBottleneckSpec(**{"out_chs": 16, field: value})
    assert info.value.field == field


def test_validation_path_in_arch_json() -> None:
    data = ss.ArchSpec(
        stem=ss.StemSpec(out_chs=16), stages=(ss.StageSpec(block=GhostBottleneckSpec(out_chs=16)),), head=ss.HeadSpec()
    ).to_dict()
    data["stages"][0]["block"]["dw_size"] = 2
    with pytest.raises(ss.SpecError) as info:
        ss.ArchSpec.from_dict(data)
    assert info.value.field == "stages[0].block.dw_size"
