"""Training-free screening: zero-cost proxies (NASWOT, synflow, jacob_cov) and the screening of sampled candidates."""

from __future__ import annotations

from workers.screening.screen import (
    SCREENED,
    ScreeningConfig,
    non_dominated_first,
    sample_candidates,
    screened_mark,
)
from workers.screening.zero_cost import Proxy, score

__all__ = [
    "SCREENED",
    "Proxy",
    "ScreeningConfig",
    "non_dominated_first",
    "sample_candidates",
    "score",
    "screened_mark",
]
