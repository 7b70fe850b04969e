"""MobileNetV3 Large and Small (torchvision's layout: MBConv, SE from the expanded width, BN eps 1e-3)."""

from __future__ import annotations

from searchspace.blocks import MBConvSpec
from searchspace.rounding import make_divisible
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

# (kernel, expanded channels, out channels, SE, activation, stride, repeats) as in the paper's Tables 1 and 2.
LARGE_BLOCKS = (
    (3, 16, 16, False, "relu", 1, 1),
    (3, 64, 24, False, "relu", 2, 1), (3, 72, 24, False, "relu", 1, 1),
    (5, 72, 40, True, "relu", 2, 1), (5, 120, 40, True, "relu", 1, 2),
    (3, 240, 80, False, "hswish", 2, 1), (3, 200, 80, False, "hswish", 1, 1), (3, 184, 80, False, "hswish", 1, 2),
    (3, 480, 112, True, "hswish", 1, 1), (3, 672, 112, True, "hswish", 1, 1),
    (5, 672, 160, True, "hswish", 2, 1), (5, 960, 160, True, "hswish", 1, 2),
)
SMALL_BLOCKS = (
    (3, 16, 16, True, "relu", 2, 1),
    (3, 72, 24, False, "relu", 2, 1), (3, 88, 24, False, "relu", 1, 1),
    (5, 96, 40, True, "hswish", 2, 1), (5, 240, 40, True, "hswish", 1, 2),
    (5, 120, 48, True, "hswish", 1, 1), (5, 144, 48, True, "hswish", 1, 1),
    (5, 288, 96, True, "hswish", 2, 1), (5, 576, 96, True, "hswish", 1, 2),
)
# name -> (blocks, last conv channels, hidden linear width)
VARIANTS = {
    "mobilenet_v3_large": (LARGE_BLOCKS, 960, 1280),
    "mobilenet_v3_small": (SMALL_BLOCKS, 576, 1024),
}


def mobilenet_v3(name: str, reduced_tail: bool = False) -> ArchSpec:
    """The classifier; ``reduced_tail`` halves the channels from the last stride-2 block on (the paper's Table 6,
    torchvision's ``reduced_tail``, which its SSDLite uses)."""
    blocks, last_conv, hidden = VARIANTS[name]
    last_down = max(i for i, row in enumerate(blocks) if row[5] == 2)
    divider = 2 if reduced_tail else 1
    stem = 16
    stages, in_chs = [], stem
    for i, (k, exp, c, se, act, s, n) in enumerate(blocks):
        if i >= last_down:
            c //= divider
            exp = exp // divider if i > last_down else exp
        block = MBConvSpec(
            out_chs=c, stride=s, kernel=k, act=act, expansion=exp / in_chs, se_ratio=0.25 if se else 0.0,
            se_from="mid", se_round=8, se_act="relu", se_gate="hsigmoid",
        )
        stages.append(StageSpec(block=block, repeats=n))
        in_chs = c
    return ArchSpec(
        name=name,
        stem=StemSpec(out_chs=stem, act="hswish"),
        stages=tuple(stages),
        head=HeadSpec(conv_chs=6 * in_chs if reduced_tail else last_conv, act="hswish",
                      hidden=make_divisible(hidden // divider, 8), hidden_act="hswish", dropout=0.2),
        bn_eps=1e-3,
        bn_momentum=0.01,
    )


NETWORKS = {name: (lambda name=name: mobilenet_v3(name)) for name in VARIANTS}
