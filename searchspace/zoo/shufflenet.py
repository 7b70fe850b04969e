"""ShuffleNetV1 (megvii ShuffleNet-Series, 1.0x, 3 groups) and ShuffleNetV2 1.0x (torchvision)."""

from __future__ import annotations

from searchspace.blocks import ShuffleV1Spec, ShuffleV2Spec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

# Stage output channels of ShuffleNetV1 1.0x per group count (the paper's Table 1), and the repeats.
V1_CHANNELS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088), 8: (384, 768, 1536)}
V1_REPEATS = (4, 8, 4)
# ShuffleNetV2 1.0x: stage output channels, repeats, then the final 1x1 conv.
V2_CHANNELS, V2_REPEATS, V2_HEAD = (116, 232, 464), (4, 8, 4), 1024


def shufflenet_v1(groups: int) -> ArchSpec:
    """The first unit's 1x1 is dense (24 input channels), so it is a stage of its own."""
    stages = []
    for i, (chs, repeats) in enumerate(zip(V1_CHANNELS[groups], V1_REPEATS, strict=True)):
        first = ShuffleV1Spec(out_chs=chs, stride=2, groups=groups, group_first=i > 0)
        if i == 0:
            stages += [StageSpec(block=first), StageSpec(block=ShuffleV1Spec(out_chs=chs, groups=groups), repeats=repeats - 1)]
        else:
            stages.append(StageSpec(block=first, repeats=repeats))
    return ArchSpec(
        name=f"shufflenet_v1_g{groups}",
        stem=StemSpec(out_chs=24, pool="max"),
        stages=tuple(stages),
        head=HeadSpec(classifier_bias=False),
    )


def shufflenet_v2() -> ArchSpec:
    stages = tuple(
        StageSpec(block=ShuffleV2Spec(out_chs=c, stride=2), repeats=n) for c, n in zip(V2_CHANNELS, V2_REPEATS, strict=True)
    )
    return ArchSpec(
        name="shufflenet_v2_x1_0", stem=StemSpec(out_chs=24, pool="max"), stages=stages, head=HeadSpec(conv_chs=V2_HEAD)
    )


NETWORKS = {"shufflenet_v1_g3": lambda: shufflenet_v1(3), "shufflenet_v2_x1_0": shufflenet_v2}
