"""The micro-block kind (MicroNet): shapes, analytic counts against the built module and fvcore, Dynamic
Shift-Max, the official table's layouts, validation."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import searchspace as ss
from searchspace.blocks import BLOCK_KINDS, MicroBlockSpec
from searchspace.blocks.micro import micro_groups
from searchspace.nn.context import BuildContext
from searchspace.nn.micro import DynamicShiftMax, shift_index, shuffle_index
from searchspace.tally import Tally
from searchspace.zoo.micronet import micronet
from tests.searchspace.fvcore_count import fvcore_macs


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _check(spec: MicroBlockSpec, in_chs: int, size: int = 9) -> None:
    """Built output shape == counted shape, counted params == built params, output finite."""
    block = spec.build(in_chs, BuildContext()).eval()
    t = spec.count(Tally(in_chs, size, size))
    with torch.no_grad():
        out = block(torch.randn(2, in_chs, size, size))
    assert out.shape == (2, spec.out_chs, t.h, t.w) == (2, t.chs, t.h, t.w)
    assert torch.isfinite(out).all()
    assert t.params == _params(block)


# Official rows (M0 first: block A; M1 fourth: B/C; M0 last: pointwise only), as the zoo writes them.
ROW_A = MicroBlockSpec(
    out_chs=8,
    stride=2,
    kernel=3,
    act="relu6",
    expansion=4,
    dw_mult=(2, 2),
    groups=(0, 4, 2, 2),
    dsm=(2, 0, 1),
    reduction=8,
)
ROW_BC = MicroBlockSpec(
    out_chs=32,
    stride=1,
    kernel=5,
    act="relu6",
    expansion=6,
    dw_mult=(1, 6),
    groups=(4, 4, 4, 4),
    dsm=(2, 2, 1),
    reduction=8,
)
ROW_P = MicroBlockSpec(
    out_chs=384,
    kernel=3,
    act="relu6",
    expansion=4,
    dw_mult=(1, 4),
    groups=(12, 12, 0, 0),
    dsm=(2, 2, 1),
    reduction=16,
)


def test_registered() -> None:
    assert BLOCK_KINDS["micro"] is MicroBlockSpec


@pytest.mark.parametrize("expansion", [1, 3, 4, 6])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("se_ratio", [0.0, 0.25])
def test_forward_shape(expansion: int, stride: int, se_ratio: float) -> None:
    spec = MicroBlockSpec(
        out_chs=24, stride=stride, kernel=5, expansion=expansion, se_ratio=se_ratio, act="hswish"
    )
    for in_chs in (16, 24):
        _check(spec, in_chs, 10)
        block = spec.build(in_chs, BuildContext())
        assert block.has_skip == (stride == 1 and in_chs == 24)
        assert isinstance(block.act_dw, DynamicShiftMax) == (se_ratio > 0)


@settings(max_examples=25, deadline=None)
@given(
    in_chs=st.integers(1, 72),
    out_chs=st.integers(1, 72),
    stride=st.sampled_from([1, 2]),
    kernel=st.sampled_from([3, 5, 7]),
    expansion=st.sampled_from([1.0, 3.0, 4.0, 6.0]),
    se_ratio=st.sampled_from([0.0, 0.25]),
    act=st.sampled_from(["relu", "swish", "hswish"]),
)
def test_generic_fields_count_any_channels(
    in_chs: int, out_chs: int, stride: int, kernel: int, expansion: float, se_ratio: float, act: str
) -> None:
    spec = MicroBlockSpec(
        out_chs=out_chs, stride=stride, kernel=kernel, expansion=expansion, se_ratio=se_ratio, act=act
    )
    spec.check_input(in_chs)
    _check(spec, in_chs, 7)


@pytest.mark.parametrize(("spec", "in_chs"), [(ROW_A, 4), (ROW_BC, 16), (ROW_P, 96)], ids=["A", "BC", "P"])
def test_official_layouts(spec: MicroBlockSpec, in_chs: int) -> None:
    _check(spec, in_chs, 12)
    block = spec.build(in_chs, BuildContext())
    # registration order == forward order == the official block's, so weights port over in order
    order = ["conv_pw", "act_pw", "shuffle_pw", "conv_dw", "act_dw", "shuffle_dw", "conv_pwl", "act_pwl"]
    assert [name for name, _ in block.named_children()][:8] == order


def test_official_layout_details() -> None:
    a, bc, p = ROW_A.resolve(4), ROW_BC.resolve(16), ROW_P.resolve(96)
    assert (a.layout, a.dw_chs, a.mid_chs, a.act_dw, a.act_pwl.candidates, a.act_pwl.squeeze) == (
        "A",
        8,
        16,
        "relu6",
        1,
        4,
    )
    assert a.shuffle_dw == (4,) and a.shuffle_pwl == (2, 4)
    assert (bc.layout, bc.mid_chs, bc.act_pw.candidates, bc.act_dw.groups, bc.act_pwl.squeeze) == (
        "BC",
        96,
        2,
        24,
        8,
    )
    assert bc.shuffle_dw == (24,)
    assert (p.layout, p.mid_chs, p.act_pw.squeeze, p.act_pw.init_a) == ("P", 384, 24, (1.0, 0.0))


@pytest.mark.parametrize(
    "spec",
    [
        MicroBlockSpec(out_chs=32, stride=2, kernel=5, expansion=6, se_ratio=0.25),
        MicroBlockSpec(out_chs=24, stride=1, kernel=3, expansion=1, se_ratio=0.25, act="hswish"),
        ROW_A,
    ],
)
def test_counter_matches_fvcore(spec: MicroBlockSpec) -> None:
    arch = ss.ArchSpec(
        stem=ss.StemSpec(out_chs=16),
        stages=(ss.StageSpec(block=spec, repeats=2),),
        head=ss.HeadSpec(),
        resolution=32,
        num_classes=10,
    )
    assert ss.count(arch).macs == fvcore_macs(ss.build(arch), 32)


def test_micro_groups_near_sqrt() -> None:
    assert micro_groups(16, 96) == 4 and micro_groups(64, 384) == 8 and micro_groups(96, 32) == 4
    assert micro_groups(7, 7) == 1 and micro_groups(1, 40) == 1 and micro_groups(13, 39) == 1


def test_shift_index_matches_official_permutation() -> None:
    # two groups of four: move to the next group, then to the next channel within it
    assert shift_index(8, 2).tolist() == [5, 6, 7, 4, 1, 2, 3, 0]
    assert shift_index(4, 1).tolist() == [1, 2, 3, 0]
    assert shuffle_index(6, (2,)).tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize("candidates", [1, 2])
def test_dynamic_shift_max_starts_at_init(candidates: int) -> None:
    dsm = DynamicShiftMax(8, groups=2, squeeze=4, candidates=candidates, init_a=(0.0, 1.0), init_b=(1.0, 0.0))
    assert _params(dsm) == 8 * 4 + 4 + 4 * 2 * candidates * 8 + 2 * candidates * 8
    for p in dsm.parameters():
        nn.init.zeros_(p)  # hypernetwork outputs hsigmoid(0) = 0.5, so the coefficients are exactly init_a/b
    x = torch.randn(2, 8, 3, 3)
    shifted = x[:, shift_index(8, 2)]
    expected = shifted if candidates == 1 else torch.maximum(shifted, x)
    assert torch.equal(dsm(x), expected)


def test_round_trips() -> None:
    spec = micronet("m3")
    assert ss.ArchSpec.from_json(spec.to_json()) == spec
    assert ss.ArchSpec.from_string(spec.to_string()) == spec
    assert "micro:" in spec.to_string() and "dsm=0x2x0" in spec.to_string()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"groups": (4, 4, 4)}, "groups"),
        ({"groups": (4, 0, 4, 4)}, "groups[1]"),
        ({"groups": (0, 4, 0, 0)}, "groups"),
        ({"groups": (4, 4, 4, 0)}, "groups"),
        ({"groups": (4, 4, 0, 0), "stride": 2}, "stride"),
        ({"expansion": 4, "dw_mult": (1, 6)}, "dw_mult"),
        ({"dw_mult": (0, 1)}, "dw_mult[0]"),
        ({"dsm": (2, 3, 1)}, "dsm[1]"),
        ({"dsm": (2, 2, 1), "se_ratio": 0.25}, "se_ratio"),
        ({"init_a": (1.0,)}, "init_a"),
        ({"init_b": (0.0, 99.0)}, "init_b[1]"),
        ({"reduction": 0}, "reduction"),
        ({"expansion": 0.5}, "expansion"),
        ({"act_max": -1.0}, "act_max"),
        ({"kernel": 4}, "kernel"),
    ],
)
def test_validation_names_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ss.SpecError) as err:
        MicroBlockSpec(out_chs=32, **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("block", "in_chs", "field"),
    [
        (MicroBlockSpec(out_chs=32, expansion=6, dw_mult=(1, 6), groups=(5, 5, 4, 4)), 16, "groups"),
        (MicroBlockSpec(out_chs=30, expansion=6, dw_mult=(1, 6), groups=(4, 4, 4, 4)), 16, "groups"),
        (MicroBlockSpec(out_chs=100, expansion=4, dw_mult=(1, 4), groups=(4, 4, 0, 0)), 16, "out_chs"),
        (MicroBlockSpec(out_chs=32, expansion=2.5, groups=(0, 1, 1, 1)), 16, "expansion"),
    ],
)
def test_input_constraints_name_field(block: MicroBlockSpec, in_chs: int, field: str) -> None:
    with pytest.raises(ss.SpecError) as err:
        block.check_input(in_chs)
    assert err.value.field == field
    with pytest.raises(ss.SpecError) as err:
        ss.ArchSpec(stem=ss.StemSpec(out_chs=in_chs), stages=(ss.StageSpec(block=block),), head=ss.HeadSpec())
    assert err.value.field == f"stages[0].block.{field}"
