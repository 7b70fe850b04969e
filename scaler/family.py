"""Whole families: the published EfficientNet B0..B7 table applied to any base, and phi = 0..N by formula."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from scaler.scaling import ALPHA, BETA, GAMMA, Rounding, ScaledSpec, derive, member_name, scale
from searchspace.checks import check_choice
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from searchspace.zoo.efficientnet import OFFICIAL

# The table's (width, depth, resolution, dropout) per phi, as published (one copy: the zoo's).
OFFICIAL_TABLE = OFFICIAL
OFFICIAL_BASE_RESOLUTION = OFFICIAL[0][2]


def official(base: ArchSpec, phi: float) -> ScaledSpec:
    """Member ``phi`` (0..7) of the published EfficientNet table applied to ``base``, dropout included.

    The table's resolution is used exactly when the base runs at the table's B0 resolution (224); any other
    base resolution is scaled by the table's ratio (e.g. 240/224) and rounded to a multiple of 8.
    """
    if isinstance(phi, float) and phi.is_integer():
        phi = int(phi)
    check_choice("phi", phi, tuple(OFFICIAL_TABLE))
    width, depth, size, dropout = OFFICIAL_TABLE[phi]
    resolution: float | int = (
        size if base.resolution == OFFICIAL_BASE_RESOLUTION else size / OFFICIAL_BASE_RESOLUTION
    )
    try:
        scaled = scale(base, width=width, depth=depth, resolution=resolution, dropout=dropout)
    except SpecError as err:
        raise SpecError("phi", f"the published B{phi} row gives an invalid network: {err}") from None
    spec = scaled.spec
    if spec != base:
        spec = replace(spec, name=member_name(base.name, f"b{phi}"))
    return replace(
        scaled, spec=spec, method="official", phi=phi, resolution_mult=size / OFFICIAL_BASE_RESOLUTION
    )


def family(
    base: ArchSpec,
    phis: Iterable[float] = range(8),
    *,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    use_official: bool = False,
    rounding: Rounding | str = Rounding.FIT,
) -> list[ScaledSpec]:
    """Members ``phis`` of ``base``'s family, by formula (rounded by ``rounding``, see ``derive``) or
    (``use_official``) from the published table."""
    if use_official:
        return [official(base, phi) for phi in phis]
    return [derive(base, alpha, beta, gamma, phi, rounding=rounding) for phi in phis]
