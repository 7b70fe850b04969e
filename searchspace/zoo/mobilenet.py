"""MobileNetV1 (timm mobilenetv1_100) and MobileNetV2 (torchvision mobilenet_v2)."""

from __future__ import annotations

from searchspace.blocks import DepthwiseSeparableSpec, MBConvSpec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec


def mobilenet_v1() -> ArchSpec:
    rows = ((64, 1, 1), (128, 2, 2), (256, 2, 2), (512, 2, 6), (1024, 2, 2))  # (out, stride, repeats)
    stages = tuple(
        StageSpec(block=DepthwiseSeparableSpec(out_chs=c, stride=s), repeats=n) for c, s, n in rows
    )
    return ArchSpec(name="mobilenet_v1", stem=StemSpec(out_chs=32), stages=stages, head=HeadSpec())


def mobilenet_v2() -> ArchSpec:
    rows = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
    stages = tuple(
        StageSpec(block=MBConvSpec(expansion=e, out_chs=c, stride=s, act="relu6"), repeats=n)
        for e, c, n, s in rows
    )
    return ArchSpec(
        name="mobilenet_v2",
        stem=StemSpec(out_chs=32, act="relu6"),
        stages=stages,
        head=HeadSpec(conv_chs=1280, act="relu6", dropout=0.2),
    )


NETWORKS = {"mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2}
