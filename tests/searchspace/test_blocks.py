"""MBConv and depthwise-separable blocks: shapes, counts and validation (other kinds have their own files)."""

from __future__ import annotations

import pytest
import torch

from searchspace import SpecError
from searchspace.blocks import BLOCK_KINDS, BlockSpec, DepthwiseSeparableSpec, MBConvSpec
from searchspace.nn.context import BuildContext
from searchspace.tally import Tally


def _check(block: BlockSpec, in_chs: int, size: int = 16) -> None:
    module = block.build(in_chs, BuildContext()).eval()
    with torch.no_grad():
        out = module(torch.randn(2, in_chs, size, size))
    t = block.count(Tally(in_chs, size, size))
    assert out.shape == (2, block.out_chs, t.h, t.w)
    assert t.h == (size if block.stride == 1 else size // 2)
    assert t.params == sum(p.numel() for p in module.parameters())


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
    assert set(BLOCK_KINDS) == {"ds", "mbconv", "ghost", "micro", "shuffle_v1", "shuffle_v2", "fire"}
