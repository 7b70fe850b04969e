"""Hypothesis strategies for random valid ArchSpecs, one block strategy per block kind."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from searchspace.blocks import (
    BLOCK_KINDS,
    ConvSpec,
    DepthwiseSeparableSpec,
    FireSpec,
    GhostBottleneckSpec,
    MBConvSpec,
)
from searchspace.blocks.micro import MicroBlockSpec
from searchspace.blocks.shuffle import ShuffleV1Spec, ShuffleV2Spec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

ACTS = st.sampled_from(["relu", "relu6", "swish", "hswish"])
CHANNELS = st.integers(1, 12).map(lambda n: 8 * n)
SE = st.sampled_from([0.0, 0.25])


def _se_fields() -> dict[str, st.SearchStrategy]:
    return {
        "se_ratio": SE,
        "se_from": st.sampled_from(["in", "mid"]),
        "se_round": st.sampled_from([0, 4, 8]),
        "se_gate": st.sampled_from(["sigmoid", "hsigmoid"]),
    }


BLOCK_STRATEGIES: dict[str, Callable[[], st.SearchStrategy]] = {
    "mbconv": lambda: st.builds(
        MBConvSpec, out_chs=CHANNELS, stride=st.sampled_from([1, 2]), kernel=st.sampled_from([3, 5, 7]),
        act=ACTS, expansion=st.sampled_from([1.0, 3.0, 4.0, 6.0, 2.5]), skip=st.booleans(), **_se_fields(),
    ),
    "ds": lambda: st.builds(
        DepthwiseSeparableSpec, out_chs=CHANNELS, stride=st.sampled_from([1, 2]), kernel=st.sampled_from([3, 5]),
        act=ACTS, pw_act=st.booleans(), skip=st.booleans(), **_se_fields(),
    ),
    "ghost": lambda: st.builds(
        GhostBottleneckSpec, out_chs=CHANNELS, stride=st.sampled_from([1, 2]), kernel=st.sampled_from([3, 5, 7]),
        act=ACTS, expansion=st.sampled_from([1.0, 3.0, 4.0, 6.0]), se_ratio=SE,
    ),
    "micro": lambda: st.builds(
        MicroBlockSpec, out_chs=CHANNELS, stride=st.sampled_from([1, 2]), kernel=st.sampled_from([3, 5, 7]),
        act=ACTS, expansion=st.sampled_from([1.0, 3.0, 4.0, 6.0]), se_ratio=SE,
    ),
    # Shuffle and Fire units constrain their input channels; arch_specs() rejects draws that do not fit.
    "shuffle_v2": lambda: st.builds(
        ShuffleV2Spec, out_chs=st.integers(1, 12).map(lambda n: 16 * n), stride=st.sampled_from([1, 2]),
    ),
    "shuffle_v1": lambda: st.builds(
        ShuffleV1Spec, out_chs=st.integers(2, 8).map(lambda n: 48 * n), stride=st.sampled_from([1, 2]),
        groups=st.sampled_from([1, 2, 3]), group_first=st.booleans(),
    ),
    "conv": lambda: st.builds(
        ConvSpec, out_chs=CHANNELS, stride=st.sampled_from([1, 2]), kernel=st.sampled_from([1, 3]), act=ACTS,
    ),
    "fire": lambda: st.builds(FireSpec, out_chs=CHANNELS.map(lambda c: 2 * c), stride=st.sampled_from([1, 2])),
}


def blocks() -> st.SearchStrategy:
    """A block of any registered kind that has a strategy."""
    return st.one_of(*(make() for kind, make in BLOCK_STRATEGIES.items() if kind in BLOCK_KINDS))


@st.composite
def arch_specs(draw: st.DrawFn, max_stages: int = 4, max_resolution: int = 64) -> ArchSpec:
    """A random network that passes validation (draws that violate a block's input constraint are rejected)."""
    from hypothesis import assume

    from searchspace.errors import SpecError

    stages = tuple(
        StageSpec(block=draw(blocks()), repeats=draw(st.integers(1, 3)))
        for _ in range(draw(st.integers(1, max_stages)))
    )
    head = HeadSpec(
        conv_chs=draw(st.sampled_from([0, 32, 64])),
        act=draw(ACTS),
        hidden=draw(st.sampled_from([0, 48])),
        hidden_norm=draw(st.booleans()),
        dropout=draw(st.sampled_from([0.0, 0.2])),
    )
    try:
        return ArchSpec(
            stem=StemSpec(out_chs=draw(CHANNELS), stride=draw(st.sampled_from([1, 2])), act=draw(ACTS)),
            stages=stages,
            head=head,
            resolution=draw(st.integers(16, max_resolution)),
            in_chans=draw(st.sampled_from([1, 3])),
            num_classes=draw(st.sampled_from([10, 100])),
        )
    except SpecError:
        assume(False)
        raise
