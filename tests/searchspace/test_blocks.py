"""MBConv and depthwise-separable blocks: shapes, counts and validation (other kinds have their own files)."""

from __future__ import annotations

import pytest
import torch

from searchspace import SpecError
from searchspace.blocks import BLOCK_KINDS, BlockSpec, DepthwiseSeparableSpec, MBConvSpec
from searchspace.nn.context import BuildContext
from searchspace.space import SEARCHABLE_KINDS
from searchspace.tally import Tally
from tests.searchspace.fvcore_count import fvcore_macs


def _check(block: BlockSpec, in_chs: int, size: int = 16) -> None:
    """Output shape, parameters and MACs (fvcore, the papers' convention) of the built module equal the count."""
    module = block.build(in_chs, BuildContext()).eval()
    with torch.no_grad():
        out = module(torch.randn(2, in_chs, size, size))
    t = block.count(Tally(in_chs, size, size))
    assert out.shape == (2, block.out_chs, t.h, t.w)
    assert t.h == (size if block.stride == 1 else (size + 1) // 2)
    assert t.params == sum(p.numel() for p in module.parameters())
    assert t.macs == fvcore_macs(module, size, in_chs)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("expansion", [1.0, 3.0, 4.0, 6.0])
@pytest.mark.parametrize("se_ratio", [0.0, 0.25])
def test_mbconv_shapes_and_count(stride: int, expansion: float, se_ratio: float) -> None:
    for in_chs, out_chs in ((16, 16), (16, 24), (12, 40)):
        _check(MBConvSpec(out_chs=out_chs, stride=stride, kernel=5, expansion=expansion, se_ratio=se_ratio,
                          act="swish"), in_chs)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("pw_act", [True, False])
def test_depthwise_separable_shapes_and_count(stride: int, pw_act: bool) -> None:
    for in_chs, out_chs in ((32, 32), (32, 64)):
        _check(DepthwiseSeparableSpec(out_chs=out_chs, stride=stride, pw_act=pw_act, se_ratio=0.25, skip=True),
               in_chs)


SEARCH_CASES = [  # (in, out, stride, kernel, expansion, se_ratio, act): odd widths the search space can produce
    (1, 1, 1, 3, 1.0, 0.0, "relu"),
    (1, 1, 2, 3, 1.0, 0.25, "relu"),
    (3, 5, 1, 5, 3.0, 0.25, "swish"),
    (7, 7, 1, 7, 4.0, 0.25, "hswish"),
    (12, 18, 2, 7, 6.0, 0.0, "hswish"),
    (13, 40, 1, 3, 2.5, 0.25, "relu"),
    (20, 20, 2, 3, 6.0, 0.25, "swish"),
    (30, 30, 1, 5, 4.0, 0.0, "relu"),
    (40, 13, 1, 3, 2.3, 0.25, "relu"),
    (112, 192, 2, 5, 6.0, 0.25, "swish"),
    (160, 160, 1, 5, 6.0, 0.25, "relu"),
]


@pytest.mark.parametrize("kind", SEARCHABLE_KINDS)
@pytest.mark.parametrize(("in_chs", "out_chs", "stride", "kernel", "expansion", "se_ratio", "act"), SEARCH_CASES)
def test_searchable_kinds_count_matches_module(kind: str, in_chs: int, out_chs: int, stride: int, kernel: int,
                                               expansion: float, se_ratio: float, act: str) -> None:
    """Every kind the search samples builds from the generic fields alone; count == module (parameters and
    MACs); it trains."""
    spec = BLOCK_KINDS[kind](out_chs=out_chs, stride=stride, kernel=kernel, expansion=expansion,
                             se_ratio=se_ratio, act=act)
    _check(spec, in_chs, size=9)
    block = spec.build(in_chs, BuildContext(drop_path=0.1)).train()
    out = block(torch.randn(2, in_chs, 9, 9))
    assert out.shape[1] == out_chs and torch.isfinite(out).all()
    out.sum().backward()


def test_residual_only_when_shapes_match() -> None:
    block = MBConvSpec(out_chs=16, expansion=4.0)
    assert block.has_skip(16) and not block.has_skip(24)
    assert not MBConvSpec(out_chs=16, stride=2).has_skip(16)
    assert not MBConvSpec(out_chs=16, skip=False).has_skip(16)


def test_drop_path_only_in_training() -> None:
    module = MBConvSpec(out_chs=8, expansion=2.0).build(8, BuildContext(drop_path=0.5))
    x = torch.randn(64, 8, 4, 4)
    module.eval()
    assert torch.equal(module(x), module(x))
    module.train()
    torch.manual_seed(0)
    assert not torch.equal(module(x), module(x))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kernel": 4}, "kernel"), ({"stride": 3}, "stride"), ({"out_chs": 0}, "out_chs"),
    ({"expansion": 0.5}, "expansion"), ({"se_ratio": 1.5}, "se_ratio"), ({"act": "gelu"}, "act"),
    ({"se_gate": "tanh"}, "se_gate"), ({"se_from": "out"}, "se_from"), ({"skip": "yes"}, "skip"),
])
def test_validation_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(SpecError) as info:
        MBConvSpec(**{"out_chs": 16, **kwargs})
    assert info.value.field == field


def test_registry_holds_every_kind() -> None:
    assert set(BLOCK_KINDS) == {"ds", "mbconv", "ghost", "micro", "shuffle_v1", "shuffle_v2", "fire", "conv"}
