"""The per-network correction of a profile's summed parts: ``scale x (sum + per_part_ms x parts) ^ exponent``,
fitted on whole networks timed beside the parts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from searchspace.latency_table import (
    Correction,
    DeviceProfile,
    table_terms,
)
from searchspace.spec import ArchSpec


def power_law(x: Any, y: Any) -> tuple[float, float]:
    """``y ~ intercept + slope * x`` by Theil-Sen (median of pairwise slopes, then median intercept), the slope
    kept in [0.25, 4]."""
    import numpy as np

    i, j = np.triu_indices(len(x), k=1)
    apart = x[j] != x[i]
    slopes = (y[j] - y[i])[apart] / (x[j] - x[i])[apart]
    slope = float(np.clip(np.median(slopes), 0.25, 4)) if slopes.size else 1.0
    return float(np.median(y - slope * x)), slope


def fit_correction(sums: Sequence[float], measured: Sequence[float], parts: Sequence[int] | None = None
                   ) -> Correction:
    """``measured ~ scale * (sum + per_part_ms * parts) ** exponent``: for each ``per_part_ms`` on a grid of
    -0.9 .. 0.9 times the median ms per part (0 alone without ``parts``), a line in log-log fitted by Theil-Sen,
    so a few networks timed in a burst of load do not pull it and relative errors weigh alike for small and
    large networks; the grid point whose fit has the smallest mean squared log error wins (ties: the one
    nearest 0). The mean, not the median: the median of 40 errors is nearly flat over the grid, so which point
    won moved with noise of a fraction of a percent in the timings (two timings of the same networks that agreed
    within a median 0.14%: scale 1.425 vs 0.941, exponent 0.867 vs 1.182; docs/benchmarks.md, "Fit stability").
    Identity with fewer than 3 networks."""
    import numpy as np

    if len(sums) < 3:
        return Correction()
    total, y = np.asarray(sums, dtype=float), np.log(np.asarray(measured, dtype=float))
    n = np.asarray(parts if parts is not None else np.zeros(len(total)), dtype=float)
    unit = float(np.median(total / n)) if n.all() else 0.0
    grid = sorted({0.0, *(np.linspace(-0.9, 0.9, 91) * unit)}, key=abs)
    best: tuple[float, float, float, float] | None = None
    for per_part in grid:
        base = total + per_part * n
        if (base <= 0).any():
            continue
        x = np.log(base)
        intercept, exponent = power_law(x, y)
        error = float(np.mean((y - intercept - exponent * x) ** 2))
        if best is None or error < best[0] - 1e-12:
            best = (error, per_part, intercept, exponent)
    assert best is not None  # per_part 0 always fits
    _, per_part, intercept, exponent = best
    scale = float(np.clip(np.exp(intercept), 0.05, 20))
    return Correction(scale=scale, exponent=exponent, per_part_ms=per_part, fitted_on=len(total))


def fitted(profile: DeviceProfile, specs: Sequence[ArchSpec], measured: Sequence[float]) -> DeviceProfile:
    """``profile`` with its correction fitted on ``specs`` measured end to end (``measured`` ms)."""
    terms = [table_terms(spec, profile) for spec in specs]
    correction = fit_correction([t[0] for t in terms], measured, [t[1] for t in terms])
    return replace(profile, correction=correction)
