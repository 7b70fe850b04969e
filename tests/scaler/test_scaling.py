"""Pure scaling: rounding rules, identity at phi = 0, the published B1..B7, per-kind channel rules."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Self

import pytest

from scaler import derive, family, official, round_channels, round_repeats, round_resolution, scale
from scaler.scaling import ScaledSpec, check_limits, scale_block
from searchspace import zoo
from searchspace.blocks import DepthwiseSeparableSpec, GhostBottleneckSpec, MBConvSpec
from searchspace.counter import count
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec


@pytest.fixture(scope="module")
def b0() -> ArchSpec:
    return zoo.get("efficientnet_b0")


def tiny(**kw) -> ArchSpec:
    stages = (
        StageSpec(block=DepthwiseSeparableSpec(out_chs=18), repeats=1),
        StageSpec(block=MBConvSpec(out_chs=40, stride=2, expansion=6.0, se_ratio=0.25), repeats=3),
    )
    fields = {
        "stem": StemSpec(out_chs=12),
        "stages": stages,
        "head": HeadSpec(conv_chs=100, hidden=60),
        "resolution": 64,
        "num_classes": 10,
        "name": "tiny",
    }
    return ArchSpec(**{**fields, **kw})


# --- rounding rules, hand-computed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chs", "width", "expected"),
    [
        (32, 1.1, 32),  # 35.2 -> int(39.2) // 8 * 8 = 32, not below 0.9 * 35.2 = 31.7
        (16, 1.1, 16),  # 17.6 -> 16 (>= 15.84)
        (40, 1.1, 48),  # 44 -> int(48) // 8 * 8 = 48 (half rounds up)
        (112, 1.1, 120),  # 123.2 -> int(127.2) = 127 -> 120
        (192, 1.1, 208),  # 211.2 -> int(215.2) = 215 -> 208
        (1280, 1.4, 1792),
        (18, 0.5, 16),  # 9 -> 8, but 8 < 0.9 * 9 = 8.1, so + 8 = 16
        (16, 0.25, 8),  # 4 -> at least the divisor, 8
        (12, 1.0, 12),  # width 1.0 is the identity, even off the multiple of 8
        (12, 1.5, 24),  # 18 -> int(22) // 8 * 8 = 16 >= 16.2? no -> 24
    ],
)
def test_round_channels(chs, width, expected):
    assert round_channels(chs, width) == expected


@pytest.mark.parametrize(
    ("repeats", "depth", "expected"),
    [
        (1, 1.1, 2),
        (3, 1.1, 4),
        (4, 1.4, 6),
        (3, 1.2, 4),
        (1, 1.0, 1),
        (1, 0.5, 1),
        (4, 0.5, 2),
        (10, 1.1, 11),  # 1.1 * 10 = 11.000000000000002 in floating point: still 11
        (3, 3.1, 10),
    ],
)
def test_round_repeats(repeats, depth, expected):
    assert round_repeats(repeats, depth) == expected


@pytest.mark.parametrize(
    ("res", "mult", "expected"),
    [
        (224, 1.15, 256),  # 257.6 -> int(261.6) = 261 -> 256
        (224, 1.15**2, 296),  # 296.24 -> 296
        (224, 1.15**3, 344),  # 340.7 -> int(344.7) = 344
        (225, 1.0, 225),  # multiplier 1.0 is the identity
        (224, 0.5, 112),
    ],
)
def test_round_resolution(res, mult, expected):
    assert round_resolution(res, mult) == expected


def test_scale_applies_every_rule():
    base = tiny()
    s = scale(base, width=1.5, depth=1.4, resolution=1.3)
    assert isinstance(s, ScaledSpec) and s.base is base
    assert (s.width_mult, s.depth_mult, s.resolution_mult) == (1.5, 1.4, 1.3)
    assert s.spec.stem.out_chs == 24  # 18 -> 24 (see above)
    assert [st.block.out_chs for st in s.spec.stages] == [
        32,
        64,
    ]  # 27 -> int(31)//8*8 = 24 < 24.3 -> 32; 60 -> 64
    assert [st.repeats for st in s.spec.stages] == [2, 5]  # ceil(1.4), ceil(4.2)
    assert (s.spec.head.conv_chs, s.spec.head.hidden) == (152, 88)  # 150 -> 152, 90 -> 88
    assert s.spec.resolution == 80  # 83.2 -> int(87.2) // 8 * 8 = 80
    assert s.spec.stages[1].block.expansion == 6.0 and s.spec.stages[1].block.se_ratio == 0.25
    assert s.spec.name == "tiny" and s.spec.num_classes == 10
    assert base.stem.out_chs == 12  # the base is untouched


def test_scale_exact_resolution_and_dropout():
    s = scale(tiny(), resolution=100, dropout=0.4, name="big")
    assert s.spec.resolution == 100 and s.resolution_mult == 100 / 64
    assert s.spec.head.dropout == 0.4 and s.spec.name == "big"
    assert s.spec.stages == tiny().stages


def test_scale_identity():
    assert scale(tiny()).spec == tiny()


def test_scale_sep_stem_keeps_the_product():
    base = tiny(stem=StemSpec(out_chs=12, kind="sep", groups=(4, 3)))
    stem = scale(base, width=1.5).spec.stem
    assert stem.groups == (8, 3) and stem.out_chs == 24  # 18 -> 24 total, 24 / 3 = 8 per group


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"width": 0.0}, "width"),
        ({"depth": -1.0}, "depth"),
        ({"resolution": float("nan")}, "resolution"),
        ({"resolution": 4}, "resolution"),  # exact size below the spec's minimum of 8
        ({"depth": 30.0}, "depth"),  # 3 * 30 = 90 repeats > 64
        ({"width": 90.0}, "width"),  # out of the multiplier range
        ({"width": 60.0, "base": {"head": HeadSpec(conv_chs=1000)}}, "width"),  # 60,000 channels > 8192
        ({"resolution": 40.0}, "resolution"),  # 2560 px > 2048
    ],
)
def test_scale_errors_name_the_multiplier(kwargs, field):
    base = tiny(**kwargs.pop("base", {}))
    with pytest.raises(SpecError) as err:
        scale(base, **kwargs)
    assert err.value.field == field


# --- derive -------------------------------------------------------------------------------------------------


def test_derive_phi0_is_the_base(b0):
    s = derive(b0, 1.2, 1.1, 1.15, 0)
    assert s.spec == b0 and s.spec.name == b0.name
    assert (s.width_mult, s.depth_mult, s.resolution_mult) == (1.0, 1.0, 1.0)
    assert s.ideal_ratio == 1.0 and s.macs_ratio == 1.0
    assert derive(tiny(), 1.3, 1.05, 1.2, 0).spec == tiny()


def test_derive_multipliers_paper_rounding(b0):
    s = derive(b0, 1.2, 1.1, 1.15, 2, rounding="paper")
    assert s.depth_mult == pytest.approx(1.44) and s.width_mult == pytest.approx(1.21)
    assert s.resolution_mult == pytest.approx(1.3225) and s.spec.resolution == 296
    assert [st.repeats for st in s.spec.stages] == [math.ceil(1.44 * n - 1e-9) for n in (1, 2, 2, 3, 3, 4, 1)]
    assert s.spec.stem.out_chs == 40  # 32 * 1.21 = 38.7 -> 40
    assert s.ideal_ratio == pytest.approx((1.2 * 1.1**2 * 1.15**2) ** 2)
    assert s.spec.name == "efficientnet_b0-phi2" and s.method == "derive"
    assert s.macs_ratio == pytest.approx(4.693, abs=1e-3)  # 27% above the formula's 3.687 (issue 32)
    d = s.to_dict()
    assert d["phi"] == 2 and d["alpha"] == 1.2 and d["base_macs"] == count(b0).macs
    assert d["macs"] == count(s.spec).macs and ArchSpec.from_dict(d["spec"]) == s.spec
    assert d["rounding"] == {"rule": "paper", "target_ratio": s.ideal_ratio, "width": s.width_mult,
                             "resolution_divisor": 8, "repeats": [st.repeats for st in s.spec.stages],
                             "adjusted": []}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((1.2, 1.1, 1.15, -1), "phi"),
        ((1.2, 1.1, 1.15, 13), "phi"),
        ((0.9, 1.1, 1.15, 1), "alpha"),
        ((1.2, 0.5, 1.15, 1), "beta"),
        ((1.2, 1.1, 0.99, 1), "gamma"),
        ((1.2, 1.1, 1e300, 1), "gamma"),
        ((3.0, 1.1, 1.15, 6), "alpha"),  # depth 729 -> repeats > 64: blamed on alpha
        ((1.2, 1.1, 1.6, 6), "gamma"),  # resolution 224 * 16.8 > 2048
    ],
)
def test_derive_errors_name_the_coefficient(b0, args, field):
    with pytest.raises(SpecError) as err:
        derive(b0, *args)
    assert err.value.field == field


# --- the published table ------------------------------------------------------------------------------------


@pytest.mark.parametrize("phi", range(8))
def test_official_matches_published(b0, phi):
    s = official(b0, phi)
    ref = zoo.published()[f"efficientnet_b{phi}"]
    c = count(s.spec)
    assert c.params == ref["reference_params"]
    assert abs(c.macs / ref["reference_macs"] - 1) < 0.005
    assert s.spec.resolution == ref["resolution"] and s.method == "official" and s.phi == phi
    assert replace(s.spec, name="") == replace(zoo.get(f"efficientnet_b{phi}"), name="")


def test_official_other_resolution_scales_by_ratio():
    s = official(tiny(), 2)  # base at 64 px: 64 * 260 / 224 = 74.3 -> 72
    assert s.spec.resolution == 72 and s.spec.head.dropout == 0.3 and s.spec.name == "tiny-b2"


def test_official_rejects_phi_outside_table(b0):
    with pytest.raises(SpecError) as err:
        official(b0, 8)
    assert err.value.field == "phi"


def test_family(b0):
    members = family(b0, range(3))
    assert [m.phi for m in members] == [0, 1, 2] and members[0].spec == b0
    assert [m.spec.resolution for m in family(b0, [1, 7], use_official=True)] == [240, 600]


def test_check_limits(b0):
    s = derive(b0, phi=1)
    check_limits(s, s.count.params, s.count.macs)
    for kwargs, field in (
        ({"max_params": s.count.params - 1}, "max_params"),
        ({"max_macs": 10**6}, "max_macs"),
    ):
        with pytest.raises(SpecError) as err:
            check_limits(s, **kwargs)
        assert err.value.field == field


# --- block kinds --------------------------------------------------------------------------------------------


def test_every_registered_kind_has_a_width_rule():
    """Each block kind of the registry scales its channels (its integer fields are all accounted for)."""
    from searchspace.blocks import BLOCK_KINDS

    for kind, cls in BLOCK_KINDS.items():
        block = cls(out_chs=48)
        scaled = scale_block(block, 1.3)
        assert type(scaled) is cls and scaled.out_chs > block.out_chs, kind


@dataclass(frozen=True, kw_only=True)
class _TwoWidthSpec(MBConvSpec):
    kind = "two_width_test"
    side_chs: int = 16
    pair: tuple[int, ...] = (8, 0)


@dataclass(frozen=True, kw_only=True)
class _ScaledTwoWidthSpec(_TwoWidthSpec):
    kind = "two_width_scaled_test"

    def scale_width(self, width: float) -> Self:
        return self.scale_channels(width, "side_chs", "pair")


@dataclass(frozen=True, kw_only=True)
class _GhostWithSideSpec(GhostBottleneckSpec):
    kind = "ghost_side_test"
    side_chs: int = 16


def test_kind_with_extra_channel_fields_needs_a_rule():
    block = _TwoWidthSpec(out_chs=40)
    with pytest.raises(SpecError, match="two_width_test.*side_chs, pair") as err:
        scale_block(block, 2.0)
    assert err.value.field == "width"
    assert scale_block(block, 1.0) is block
    scaled = scale_block(_ScaledTwoWidthSpec(out_chs=40), 2.0)
    assert (scaled.out_chs, scaled.side_chs, scaled.pair) == (80, 32, (16, 0))
    # A kind inheriting a width rule still declares its own integer fields: ratio and dw_size are not enough.
    with pytest.raises(SpecError, match=r"ghost_side_test.*\(side_chs\)") as err:
        scale_block(_GhostWithSideSpec(out_chs=40), 2.0)
    assert err.value.field == "width"


def test_shuffle_v1_rounds_to_its_groups():
    from searchspace.blocks import ShuffleV1Spec

    block = ShuffleV1Spec(out_chs=240, groups=3)
    assert scale_block(block, 1.1).out_chs == 264  # 264 = 11 * 24: out_chs // 4 = 66 divides by 3


def test_micro_with_explicit_groups_is_refused(b0):
    with pytest.raises(SpecError, match=r"stages\[0\].block: a micro-block with explicit groups") as err:
        scale(zoo.get("micronet_m0"), width=1.1)
    assert err.value.field == "width"
    base = zoo.get("micronet_m0")
    assert scale(base, resolution=1.5).spec.resolution == 336
    with pytest.raises(SpecError, match=r"depth 1.5 gives an invalid network: stages\[2\]") as err:
        scale(
            base, depth=1.5
        )  # a repeated block would take its own output width, which its groups do not divide
    assert err.value.field == "depth"


@pytest.mark.parametrize(
    "name", ["ghostnet_1_0", "shufflenet_v2_x1_0", "squeezenet1_1", "mobilenet_v3_small"]
)
def test_scaled_zoo_networks_build_with_counted_params(name):
    from searchspace import build

    s = scale(zoo.get(name), width=1.1, depth=1.3, resolution=1.15).spec
    assert sum(p.numel() for p in build(s).parameters()) == count(s).params
