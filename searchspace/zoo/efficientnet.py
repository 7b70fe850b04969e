"""EfficientNet-B0..B7 (torchvision's layout: MBConv, SE from the block input, swish, BN eps 1e-3)."""

from __future__ import annotations

import math

from searchspace.blocks import MBConvSpec
from searchspace.rounding import make_divisible
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

# (expansion, kernel, stride, out channels, repeats) per stage of B0.
B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
             (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
# Published (width, depth, resolution, dropout) of B0..B7.
OFFICIAL = {
    0: (1.0, 1.0, 224, 0.2), 1: (1.0, 1.1, 240, 0.2), 2: (1.1, 1.2, 260, 0.3), 3: (1.2, 1.4, 300, 0.3),
    4: (1.4, 1.8, 380, 0.4), 5: (1.6, 2.2, 456, 0.4), 6: (1.8, 2.6, 528, 0.5), 7: (2.0, 3.1, 600, 0.5),
}


def efficientnet(variant: int) -> ArchSpec:
    width, depth, resolution, dropout = OFFICIAL[variant]

    def chs(c: int) -> int:
        return make_divisible(c * width, 8)

    stages = tuple(
        StageSpec(
            block=MBConvSpec(expansion=e, kernel=k, stride=s, out_chs=chs(c), se_ratio=0.25, act="swish"),
            repeats=math.ceil(depth * n),
        )
        for e, k, s, c, n in B0_STAGES
    )
    return ArchSpec(
        name=f"efficientnet_b{variant}",
        stem=StemSpec(out_chs=chs(32), act="swish"),
        stages=stages,
        head=HeadSpec(conv_chs=chs(1280), act="swish", dropout=dropout),
        resolution=resolution,
        bn_eps=1e-3,
        bn_momentum=0.01,
        drop_path_rate=0.2,
    )


NETWORKS = {f"efficientnet_b{v}": (lambda v=v: efficientnet(v)) for v in OFFICIAL}
