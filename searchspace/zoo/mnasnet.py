"""MnasNet-A1 (timm semnasnet_100, the paper's 3.9M / 312M model) and MnasNet-B1 (torchvision mnasnet1_0)."""

from __future__ import annotations

from searchspace.blocks import DepthwiseSeparableSpec, MBConvSpec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

# (expansion, kernel, stride, out channels, repeats, se ratio) after the first depthwise-separable block.
A1_STAGES = ((6, 3, 2, 24, 2, 0.0), (3, 5, 2, 40, 3, 0.25), (6, 3, 2, 80, 4, 0.0), (6, 3, 1, 112, 2, 0.25),
             (6, 5, 2, 160, 3, 0.25), (6, 3, 1, 320, 1, 0.0))
B1_STAGES = ((3, 3, 2, 24, 3, 0.0), (3, 5, 2, 40, 3, 0.0), (6, 5, 2, 80, 3, 0.0), (6, 3, 1, 96, 2, 0.0),
             (6, 5, 2, 192, 4, 0.0), (6, 3, 1, 320, 1, 0.0))


def _mnasnet(name: str, rows: tuple[tuple[float, int, int, int, int, float], ...], bn_momentum: float) -> ArchSpec:
    first = StageSpec(block=DepthwiseSeparableSpec(out_chs=16, pw_act=False))
    stages = tuple(
        StageSpec(block=MBConvSpec(expansion=e, kernel=k, stride=s, out_chs=c, se_ratio=se), repeats=n)
        for e, k, s, c, n, se in rows
    )
    return ArchSpec(
        name=name,
        stem=StemSpec(out_chs=32),
        stages=(first, *stages),
        head=HeadSpec(conv_chs=1280, dropout=0.2),
        bn_momentum=bn_momentum,
    )


NETWORKS = {
    "mnasnet_a1": lambda: _mnasnet("mnasnet_a1", A1_STAGES, 0.1),
    "mnasnet_b1": lambda: _mnasnet("mnasnet_b1", B1_STAGES, 0.0003),
}
