"""GhostNet 1.0x (timm ``ghostnet_100`` = the authors' code: Ghost bottlenecks, ReLU, GhostNet-style SE)."""

from __future__ import annotations

from searchspace.blocks import GhostBottleneckSpec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

# (kernel, hidden channels, out channels, SE ratio, stride, repeats); hidden widths are absolute.
GHOSTNET_BLOCKS = (
    (3, 16, 16, 0.0, 1, 1),
    (3, 48, 24, 0.0, 2, 1), (3, 72, 24, 0.0, 1, 1),
    (5, 72, 40, 0.25, 2, 1), (5, 120, 40, 0.25, 1, 1),
    (3, 240, 80, 0.0, 2, 1), (3, 200, 80, 0.0, 1, 1), (3, 184, 80, 0.0, 1, 2),
    (3, 480, 112, 0.25, 1, 1), (3, 672, 112, 0.25, 1, 1),
    (5, 672, 160, 0.25, 2, 1), (5, 960, 160, 0.0, 1, 1), (5, 960, 160, 0.25, 1, 1),
    (5, 960, 160, 0.0, 1, 1), (5, 960, 160, 0.25, 1, 1),
)


def ghostnet_1_0() -> ArchSpec:
    stem = 16
    stages, in_chs = [], stem
    for k, mid, c, se, s, n in GHOSTNET_BLOCKS:
        block = GhostBottleneckSpec(
            out_chs=c, stride=s, kernel=k, expansion=mid / in_chs, se_ratio=se, act="relu", se_act="relu"
        )
        stages.append(StageSpec(block=block, repeats=n))
        in_chs = c
    return ArchSpec(
        name="ghostnet_1_0",
        stem=StemSpec(out_chs=stem, act="relu"),
        stages=tuple(stages),
        head=HeadSpec(conv_chs=960, act="relu", hidden=1280, hidden_bias=True, hidden_act="relu", dropout=0.2),
    )


NETWORKS = {"ghostnet_1_0": ghostnet_1_0}
