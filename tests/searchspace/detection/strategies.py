"""Hypothesis strategies for random valid detectors on small random backbones that reach stride 32."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume
from hypothesis import strategies as st

from searchspace.detection import DetectorSpec, NeckSpec, SSDLiteHeadSpec, YOLOXHeadSpec
from searchspace.detection.spec import FEATURE_STRIDES, NECK_KINDS
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec
from tests.searchspace.strategies import ACTS, blocks


@st.composite
def backbones(draw: st.DrawFn) -> ArchSpec:
    """Stem at stride 2, then four stages of a random block kind at stride 2 (strides 4 to 32)."""
    try:
        stages = tuple(
            StageSpec(block=replace(draw(blocks()), stride=2), repeats=draw(st.integers(1, 2))) for _ in range(4)
        )
        return ArchSpec(
            stem=StemSpec(out_chs=16, act=draw(ACTS)),
            stages=stages,
            head=HeadSpec(conv_chs=draw(st.sampled_from([0, 48]))),
            resolution=draw(st.sampled_from([64, 80, 96])),
            bn_eps=draw(st.sampled_from([1e-5, 1e-3])),
        )
    except SpecError:  # a block kind whose input channels do not fit
        assume(False)
        raise


@st.composite
def detectors(draw: st.DrawFn) -> DetectorSpec:
    backbone = draw(backbones())
    kind = draw(st.sampled_from(NECK_KINDS))
    width = 0 if kind == "none" else draw(st.sampled_from([16, 24]))
    neck = NeckSpec(kind=kind, width=width, kernel=draw(st.sampled_from([3, 5])), act=draw(ACTS))
    if draw(st.booleans()):
        head: SSDLiteHeadSpec | YOLOXHeadSpec = SSDLiteHeadSpec(
            extra_chs=tuple(draw(st.lists(st.sampled_from([16, 32, 48]), max_size=3))),
            aspect_ratios=draw(st.sampled_from([(), (2.0,), (2.0, 3.0)])),
            min_ratio=draw(st.sampled_from([0.1, 0.2])),
            kernel=draw(st.sampled_from([3, 5])),
            act=draw(ACTS),
        )
    else:
        head = YOLOXHeadSpec(
            width=draw(st.sampled_from([16, 32])),
            convs=draw(st.integers(0, 2)),
            kernel=draw(st.sampled_from([3, 5])),
            depthwise=draw(st.booleans()),
            act=draw(ACTS),
        )
    try:
        return DetectorSpec(
            backbone=backbone,
            neck=neck,
            head=head,
            feature_strides=draw(st.sampled_from(FEATURE_STRIDES)),
            last_conv=bool(backbone.head.conv_chs) and draw(st.booleans()),
            num_classes=draw(st.integers(2, 12)),
            resolution=backbone.resolution,
            name=draw(st.sampled_from(["", "det-1"])),
        )
    except SpecError as err:  # pan_lite on maps that do not halve (a Fire unit's ceil-mode pool)
        assert err.field == "neck.kind", err
        assume(False)
        raise
