"""The search strategies, one line each: how a search judges the architectures its sampler proposes
(``workers.search.strategy``). Adding one: its module (a ``start`` function returning a ``Judge`` or a ``Stop``),
a member of ``workers.search.config.Strategy`` and a line here."""

from __future__ import annotations

from collections.abc import Callable

from workers.runtime import Stop
from workers.search.config import Strategy
from workers.search.oneshot import start_oneshot
from workers.search.strategy import Judge, MultiTrial, Start

STRATEGIES: dict[Strategy, Callable[[Start], Judge | Stop]] = {
    Strategy.MULTI_TRIAL: MultiTrial,
    Strategy.ONESHOT: start_oneshot,
}
