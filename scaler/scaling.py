"""Compound scaling as pure functions over ArchSpecs (EfficientNet, arXiv:1905.11946 section 3.3).

``scale`` multiplies a network's widths, depths and input resolution; ``derive`` turns the compound
coefficients (alpha, beta, gamma) and phi into those multipliers. Both return a ``ScaledSpec`` that keeps the
base network and the coefficients beside the new spec, so nothing about the scaling is baked into the config.

Rules (TF EfficientNet / timm / torchvision):

- width: every absolute channel count becomes ``make_divisible(c * width, 8)`` (nearest multiple of 8, at
  least 8, never below 90% of ``c * width``): the stem, each stage's block ``out_chs`` and any other absolute
  channel field of the block kind (the kind's own ``BlockSpec.scale_width`` says which), the head's
  ``conv_chs`` and its ``hidden`` width (torchvision scales MobileNetV3's last hidden layer the same way;
  EfficientNet has none). Relative widths (expansion, SE ratio) stay as they are. A width of exactly 1.0
  leaves every channel count untouched.
- depth: each stage's repeats become ``ceil(depth * repeats)`` (a product within 1e-9 of an integer counts as
  that integer, so that 1.1 * 10 gives 11, not 12).
- resolution: a float is a multiplier of the base resolution, rounded to a multiple of 8 (1.0 leaves it
  untouched); an int is the exact input size in pixels.

These are the paper's rules (``Rounding.PAPER``). ``derive`` applies them on request; by default
(``Rounding.FIT``, ``scaler.rounding``) it chooses each family member's rounding so that its counted MACs ratio
keeps (alpha * beta^2 * gamma^2)^phi, and records what it chose (``ScaledSpec.rounding``).
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass, replace
from typing import Any

from scaler.rounding import (
    RESOLUTION_DIVISOR,
    Rounding,
    RoundingRecord,
    fit,
    round_repeats,
    round_resolution,
)
from searchspace.checks import check_float
from searchspace.counter import Count, count
from searchspace.errors import SpecError
from searchspace.fields import check_enum
from searchspace.rounding import round_channels
from searchspace.spec import ArchSpec
from searchspace.width import scale_block, scale_width

__all__ = [  # round_channels and scale_block are the shared rules, re-exported for the scaler's users
    "ALPHA", "BETA", "GAMMA", "MAX_COEFFICIENT", "MAX_PHI", "MULTIPLIER_RANGE", "RESOLUTION_DIVISOR",
    "Rounding", "RoundingRecord", "ScaledSpec", "check_limits", "derive", "member_name", "round_channels",
    "round_repeats", "round_resolution", "scale", "scale_block",
]

MAX_PHI = 12.0
MAX_COEFFICIENT = 4.0
# The paper's grid-search result on B0 (alpha * beta^2 * gamma^2 = 1.92).
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
# Multipliers ``scale`` accepts (the scaled spec's own limits apply on top).
MULTIPLIER_RANGE = (0.05, 64.0)


# --- block channels -----------------------------------------------------------------------------------------

# Each block kind scales its own channels (``BlockSpec.scale_width``); ``searchspace.width`` holds the rule for
# a whole network (shared with the baselines a search fits to its cost range): this module names no kind.


# --- the scaled spec ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ScaledSpec:
    """A scaled network with its base and the multipliers (and compound coefficients) that produced it.

    ``method`` is ``'scale'`` (explicit multipliers), ``'derive'`` (alpha^phi, beta^phi, gamma^phi) or
    ``'official'`` (the published EfficientNet table). The multipliers are the unrounded ones; ``rounding``
    (``derive``) says how they were rounded and what moved from the paper's rules.
    """

    base: ArchSpec
    spec: ArchSpec
    width_mult: float
    depth_mult: float
    resolution_mult: float
    method: str = "scale"
    phi: float | None = None
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    rounding: RoundingRecord | None = None

    @property
    def resolution(self) -> int:
        return self.spec.resolution

    @property
    def ideal_ratio(self) -> float:
        """MACs ratio the multipliers promise: (alpha*beta^2*gamma^2)^phi, or depth*width^2*resolution^2."""
        if (
            self.phi is not None
            and self.alpha is not None
            and self.beta is not None
            and self.gamma is not None
        ):
            return (self.alpha * self.beta**2 * self.gamma**2) ** self.phi
        return self.depth_mult * self.width_mult**2 * self.resolution_mult**2

    @functools.cached_property
    def count(self) -> Count:
        return count(self.spec)

    @functools.cached_property
    def base_count(self) -> Count:
        return count(self.base)

    @property
    def macs_ratio(self) -> float:
        """Counted MACs of the scaled network over the base's."""
        return self.count.macs / self.base_count.macs

    def to_dict(self) -> dict[str, Any]:
        """Coefficients, multipliers, counts and the scaled ArchSpec as JSON-ready data."""
        return {
            "name": self.spec.name,
            "method": self.method,
            "phi": _number(self.phi),
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "width_mult": self.width_mult,
            "depth_mult": self.depth_mult,
            "resolution_mult": self.resolution_mult,
            "resolution": self.spec.resolution,
            "dropout": self.spec.head.dropout,
            "params": self.count.params,
            "macs": self.count.macs,
            "base_name": self.base.name,
            "base_params": self.base_count.params,
            "base_macs": self.base_count.macs,
            "macs_ratio": self.macs_ratio,
            "ideal_ratio": self.ideal_ratio,
            "rounding": None if self.rounding is None else self.rounding.to_dict(),
            "spec": self.spec.to_dict(),
        }


def _number(value: float | None) -> float | int | None:
    """Integral floats as ints (phi = 3, not 3.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# --- the pure functions -------------------------------------------------------------------------------------


def scale(
    spec: ArchSpec,
    width: float = 1.0,
    depth: float = 1.0,
    resolution: float | int = 1.0,  # noqa: PYI041 (an int is an exact size, a float a multiplier)
    *,
    dropout: float | None = None,
    name: str | None = None,
) -> ScaledSpec:
    """``spec`` with widths, depths and resolution scaled (module docstring has the rules).

    ``resolution``: a float multiplies the base resolution, an int is the exact size in pixels. ``dropout``
    replaces the head's dropout when given; ``name`` the spec's name (default: kept). Raises SpecError naming
    ``width``, ``depth`` or ``resolution`` when a multiplier is out of range or gives an invalid network.
    """
    if not isinstance(spec, ArchSpec):
        raise SpecError("spec", f"must be an ArchSpec, got {type(spec).__name__}")
    width = float(check_float("width", width, *MULTIPLIER_RANGE))
    depth = float(check_float("depth", depth, *MULTIPLIER_RANGE))
    if isinstance(resolution, numbers.Integral) and not isinstance(resolution, bool):
        size, res_mult = int(resolution), int(resolution) / spec.resolution
    else:
        res_mult = float(check_float("resolution", resolution, *MULTIPLIER_RANGE))
        size = round_resolution(spec.resolution, res_mult)

    # One step per multiplier, each validated, so that an invalid network is blamed on the right multiplier.
    scaled = scale_width(spec, width)
    try:
        stages = [replace(s, repeats=round_repeats(s.repeats, depth)) for s in scaled.stages]
        scaled = replace(scaled, stages=tuple(stages))
    except SpecError as err:
        raise _blame("depth", depth, err) from None
    try:
        scaled = replace(scaled, resolution=size)
    except SpecError as err:
        raise SpecError("resolution", f"resolution {resolution:g} gives an invalid network: {err}") from None
    changes: dict[str, Any] = {}
    if dropout is not None:
        changes["head"] = replace(scaled.head, dropout=dropout)
    if name is not None:
        changes["name"] = name
    scaled = replace(scaled, **changes) if changes else scaled
    return ScaledSpec(base=spec, spec=scaled, width_mult=width, depth_mult=depth, resolution_mult=res_mult)


def _blame(argument: str, value: float, err: SpecError) -> SpecError:
    """A SpecError about the scaled network, reported against the multiplier that caused it."""
    if err.field == argument:
        return err
    return SpecError(argument, f"{argument} {value:g} gives an invalid network: {err}")


def derive(
    base: ArchSpec,
    alpha: float = ALPHA,
    beta: float = BETA,
    gamma: float = GAMMA,
    phi: float = 1,
    *,
    rounding: Rounding | str = Rounding.FIT,
) -> ScaledSpec:
    """The phi member of ``base``'s family: depth alpha^phi, width beta^phi, resolution gamma^phi.

    ``rounding``: ``fit`` (default) rounds so that the counted MACs ratio keeps (alpha*beta^2*gamma^2)^phi
    (``scaler.rounding``); ``paper`` applies the paper's rules (module docstring). phi = 0 returns the base
    unchanged. Coefficients must be in [1, 4] and phi in [0, 12]; errors name the coefficient responsible
    (``alpha`` for depth, ``beta`` for width, ``gamma`` for resolution).
    """
    rule = check_enum("rounding", rounding, Rounding)
    phi = float(check_float("phi", phi, 0.0, MAX_PHI))
    alpha, beta, gamma = (
        float(check_float(n, v, 1.0, MAX_COEFFICIENT))
        for n, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma))
    )
    width, depth, resolution = beta**phi, alpha**phi, gamma**phi
    target = (alpha * beta**2 * gamma**2) ** phi
    fitted = fit(base, width, depth, resolution, target) if rule is Rounding.FIT else None
    if fitted is not None:
        spec, record = fitted.spec, fitted.record
    else:  # the paper's rules, also when no fitted rounding is valid: their error names the coefficient
        try:
            spec = scale(base, width=width, depth=depth, resolution=resolution).spec
        except SpecError as err:
            coefficient, value = {"width": ("beta", beta), "depth": ("alpha", alpha),
                                  "resolution": ("gamma", gamma)}.get(err.field, (err.field, None))
            prefix = f"{coefficient}^phi = {value**phi:.4g} at phi {phi:g}: " if value is not None else ""
            raise SpecError(coefficient, prefix + err.message) from None
        record = RoundingRecord(
            rule=Rounding.PAPER, target_ratio=target, width=width,
            resolution_divisor=1 if resolution == 1.0 else RESOLUTION_DIVISOR,
            repeats=tuple(s.repeats for s in spec.stages),
            adjusted=() if rule is Rounding.PAPER else ("no fitted rounding gives a valid network: the paper's",))
    if spec != base:
        spec = replace(spec, name=member_name(base.name, f"phi{phi:g}"))
    return ScaledSpec(base=base, spec=spec, width_mult=beta**phi, depth_mult=alpha**phi,
                      resolution_mult=gamma**phi, method="derive", phi=phi, alpha=alpha, beta=beta, gamma=gamma,
                      rounding=record)


def member_name(base_name: str, suffix: str) -> str:
    """``<base>-<suffix>``, within the 64 characters a spec name allows."""
    return f"{base_name[: 63 - len(suffix)]}-{suffix}" if base_name else suffix


def check_limits(scaled: ScaledSpec, max_params: int | None = None, max_macs: int | None = None) -> None:
    """SpecError naming ``max_params`` / ``max_macs`` when the scaled network is larger than allowed."""
    label = scaled.spec.name or "the scaled network"
    if max_params is not None and scaled.count.params > max_params:
        raise SpecError(
            "max_params", f"{label} has {scaled.count.params:,} parameters, above the limit {max_params:,}"
        )
    if max_macs is not None and scaled.count.macs > max_macs:
        raise SpecError("max_macs", f"{label} has {scaled.count.macs:,} MACs, above the limit {max_macs:,}")
