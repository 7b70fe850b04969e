"""SqueezeNet 1.0 and 1.1 (torchvision): Fire modules, no batch norm, a conv classifier.

Every Fire module of both versions has squeeze ratio 1/8 and half of its expand channels in the 3x3 branch
(the FireSpec defaults); a stride-2 Fire module is the ceil-mode max pool in front of it.
"""

from __future__ import annotations

from searchspace.blocks import FireSpec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

# Per version: stem (channels, kernel), then stages of (out channels, stride, repeats).
VERSIONS = {
    "1_0": ((96, 7), ((128, 1, 2), (256, 1, 1), (256, 2, 1), (384, 1, 2), (512, 1, 1), (512, 2, 1))),
    "1_1": ((64, 3), ((128, 1, 2), (256, 2, 2), (384, 2, 2), (512, 1, 2))),
}


def squeezenet(version: str) -> ArchSpec:
    (stem_chs, stem_kernel), rows = VERSIONS[version]
    return ArchSpec(
        name=f"squeezenet{version}",
        stem=StemSpec(out_chs=stem_chs, kernel=stem_kernel, padding="valid", norm=False, bias=True, pool="max_ceil"),
        stages=tuple(StageSpec(block=FireSpec(out_chs=c, stride=s), repeats=n) for c, s, n in rows),
        head=HeadSpec(classifier="conv", dropout=0.5),
    )


NETWORKS = {f"squeezenet{v}": (lambda v=v: squeezenet(v)) for v in VERSIONS}
