"""MicroNet-M0..M3 (liyunsheng13/micronet: DYMicroBlock, spatially separable stem, Dynamic Shift-Max)."""

from __future__ import annotations

from searchspace.blocks import MicroBlockSpec
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec

# Rows of backbone/microconfig.py: s, n, c, ks, c1, c2, g1, g2, c3, g3, g4, y1, y2, y3, r
# (c3 is unused by the released 'group' pointwise and is kept only to mirror the table).
M0_ROWS = (
    (2, 1, 8, 3, 2, 2, 0, 4, 8, 2, 2, 2, 0, 1, 1),
    (2, 1, 12, 3, 2, 2, 0, 8, 12, 4, 4, 2, 2, 1, 1),
    (2, 1, 16, 5, 2, 2, 0, 12, 16, 4, 4, 2, 2, 1, 1),
    (1, 1, 32, 5, 1, 4, 4, 4, 32, 4, 4, 2, 2, 1, 1),
    (2, 1, 64, 5, 1, 4, 8, 8, 64, 8, 8, 2, 2, 1, 1),
    (1, 1, 96, 3, 1, 4, 8, 8, 96, 8, 8, 2, 2, 1, 2),
    (1, 1, 384, 3, 1, 4, 12, 12, 0, 0, 0, 2, 2, 1, 2),
)
M1_ROWS = (
    (2, 1, 8, 3, 2, 2, 0, 6, 8, 2, 2, 2, 0, 1, 1),
    (2, 1, 16, 3, 2, 2, 0, 8, 16, 4, 4, 2, 2, 1, 1),
    (2, 1, 16, 5, 2, 2, 0, 16, 16, 4, 4, 2, 2, 1, 1),
    (1, 1, 32, 5, 1, 6, 4, 4, 32, 4, 4, 2, 2, 1, 1),
    (2, 1, 64, 5, 1, 6, 8, 8, 64, 8, 8, 2, 2, 1, 1),
    (1, 1, 96, 3, 1, 6, 8, 8, 96, 8, 8, 2, 2, 1, 2),
    (1, 1, 576, 3, 1, 6, 12, 12, 0, 0, 0, 2, 2, 1, 2),
)
M2_ROWS = (
    (2, 1, 12, 3, 2, 2, 0, 8, 12, 4, 4, 2, 0, 1, 1),
    (2, 1, 16, 3, 2, 2, 0, 12, 16, 4, 4, 2, 2, 1, 1),
    (1, 1, 24, 3, 2, 2, 0, 16, 24, 4, 4, 2, 2, 1, 1),
    (2, 1, 32, 5, 1, 6, 6, 6, 32, 4, 4, 2, 2, 1, 1),
    (1, 1, 32, 5, 1, 6, 8, 8, 32, 4, 4, 2, 2, 1, 2),
    (1, 1, 64, 5, 1, 6, 8, 8, 64, 8, 8, 2, 2, 1, 2),
    (2, 1, 96, 5, 1, 6, 8, 8, 96, 8, 8, 2, 2, 1, 2),
    (1, 1, 128, 3, 1, 6, 12, 12, 128, 8, 8, 2, 2, 1, 2),
    (1, 1, 768, 3, 1, 6, 16, 16, 0, 0, 0, 2, 2, 1, 2),
)
M3_ROWS = (
    (2, 1, 16, 3, 2, 2, 0, 12, 16, 4, 4, 0, 2, 0, 1),
    (2, 1, 24, 3, 2, 2, 0, 16, 24, 4, 4, 0, 2, 0, 1),
    (1, 1, 24, 3, 2, 2, 0, 24, 24, 4, 4, 0, 2, 0, 1),
    (2, 1, 32, 5, 1, 6, 6, 6, 32, 4, 4, 0, 2, 0, 1),
    (1, 1, 32, 5, 1, 6, 8, 8, 32, 4, 4, 0, 2, 0, 2),
    (1, 1, 64, 5, 1, 6, 8, 8, 48, 8, 8, 0, 2, 0, 2),
    (1, 1, 80, 5, 1, 6, 8, 8, 80, 8, 8, 0, 2, 0, 2),
    (1, 1, 80, 5, 1, 6, 10, 10, 80, 8, 8, 0, 2, 0, 2),
    (2, 1, 120, 5, 1, 6, 10, 10, 120, 10, 10, 0, 2, 0, 2),
    (1, 1, 120, 5, 1, 6, 12, 12, 120, 10, 10, 0, 2, 0, 2),
    (1, 1, 144, 3, 1, 6, 12, 12, 144, 12, 12, 0, 2, 0, 2),
    (1, 1, 864, 3, 1, 6, 12, 12, 0, 0, 0, 0, 2, 0, 2),
)
REDUCTION = 8  # MODEL.ACTIVATION.REDUCTION; each row multiplies it by its r
# name: (rows, stem groups (first conv channels, multiplier), classifier width, dropout, init_a, init_b)
VARIANTS = {
    "m0": (M0_ROWS, (2, 2), 640, 0.05, (1.0, 1.0), (0.0, 0.0)),
    "m1": (M1_ROWS, (3, 2), 960, 0.05, (1.0, 1.0), (0.0, 0.0)),
    "m2": (M2_ROWS, (4, 2), 1024, 0.1, (1.0, 1.0), (0.0, 0.0)),
    "m3": (M3_ROWS, (4, 3), 1024, 0.1, (1.0, 0.5), (0.0, 0.5)),
}


def micronet(variant: str) -> ArchSpec:
    rows, stem_groups, hidden, dropout, init_a, init_b = VARIANTS[variant]
    stages = tuple(
        StageSpec(
            block=MicroBlockSpec(
                out_chs=c,
                stride=s,
                kernel=ks,
                act="relu6",
                expansion=c1 * c2,
                dw_mult=(c1, c2),
                groups=(g1, g2, g3, g4),
                dsm=(y1, y2, y3),
                reduction=REDUCTION * r,
                init_a=init_a,
                init_b=init_b,
            ),
            repeats=n,
        )
        for s, n, c, ks, c1, c2, g1, g2, _c3, g3, g4, y1, y2, y3, r in rows
    )
    return ArchSpec(
        name=f"micronet_{variant}",
        stem=StemSpec(
            kind="sep",
            out_chs=stem_groups[0] * stem_groups[1],
            groups=stem_groups,
            act="relu6",
        ),
        stages=stages,
        head=HeadSpec(
            pre_pool_act="relu6",
            pool_act="hswish",
            hidden=hidden,
            hidden_norm=True,
            hidden_act="hswish",
            dropout=dropout,
            classifier_norm=True,
            classifier_act="hswish",
        ),
    )


NETWORKS = {f"micronet_{v}": (lambda v=v: micronet(v)) for v in VARIANTS}
