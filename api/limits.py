"""The service's caps applied to what a request asks for; violations are SpecErrors naming the field."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from searchspace.counter import Count, count
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from store.settings import Settings
from workers.search import SearchConfig

if TYPE_CHECKING:
    from scaler.grid_config import GridConfig
    from workers.search import FinalizeConfig
    from workers.training import TrainConfig, TrainRecipe


def _cap(field: str, value: float, limit: float, setting: str) -> None:
    if value > limit:
        raise SpecError(field, f"{value:,} is above this service's limit {limit:,} (NAS_{setting.upper()})")


def check_search(config: SearchConfig, settings: Settings) -> SearchConfig:
    """``config`` within the caps; the service's params/MACs caps become the search's rejection limits."""
    _cap("n_trials", config.n_trials, settings.max_trials, "max_trials")
    _cap("n_workers", config.n_workers, settings.max_workers, "max_workers")
    _cap("training.epochs", config.budget.epochs, settings.max_epochs, "max_epochs")
    for i, resolution in enumerate(config.space.resolutions):
        _cap(f"space.resolutions[{i}]", resolution, settings.max_resolution, "max_resolution")
    max_params = min(config.max_params or settings.max_params, settings.max_params)
    max_macs = min(config.max_macs or settings.max_macs, settings.max_macs)
    return replace(config, max_params=max_params, max_macs=max_macs)


def check_grid(config: GridConfig, settings: Settings) -> GridConfig:
    """``config`` within the caps (each candidate's runs, one a seed, count as trials; at full fidelity the
    family's and its baselines' runs count too)."""
    from scaler.grid_config import Fidelity

    _cap("training.epochs", config.budget.epochs, settings.max_epochs, "max_epochs")
    full = config.fidelity is Fidelity.FULL
    if full:
        _cap("recipe.epochs", config.recipe.epochs, settings.max_epochs, "max_epochs")
    _cap("workers", config.workers, settings.max_workers, "max_workers")
    if config.resolution is not None:
        _cap("resolution", config.resolution, settings.max_resolution, "max_resolution")
    n = len(config.candidates())
    if n > settings.max_trials:
        raise SpecError("max_candidates", f"the grid has {n:,} candidates, above this service's limit "
                                          f"{settings.max_trials:,} (NAS_MAX_TRIALS): set max_candidates or a "
                                          "coarser step")
    family = len(config.phis) * (1 + len(config.baselines)) if full else 0
    runs = (n + family) * config.seeds
    if runs > settings.max_trials:
        what = f"({n:,} candidates + {family} family networks)" if full else f"{n:,} candidates"
        raise SpecError("seeds", f"{what} x {config.seeds} seeds = {runs:,} runs, above this service's limit "
                                 f"{settings.max_trials:,} (NAS_MAX_TRIALS)")
    return config


def check_spec(spec: ArchSpec, settings: Settings, field: str) -> Count:
    """The analytic count of ``spec``; SpecError on ``field`` when its resolution, parameters or MACs are above
    the service's caps."""
    label = spec.name or "the network"
    if spec.resolution > settings.max_resolution:
        raise SpecError(field, f"{label}: resolution {spec.resolution} is above this service's limit "
                               f"{settings.max_resolution} (NAS_MAX_RESOLUTION)")
    cost = count(spec)
    for what, value, limit in (("params", cost.params, settings.max_params), ("MACs", cost.macs, settings.max_macs)):
        if value > limit:
            raise SpecError(field, f"{label}: {value:,} {what} is above this service's limit {limit:,} "
                                   f"(NAS_MAX_{what.upper()})")
    return cost


def check_recipe(recipe: TrainRecipe, settings: Settings, field: str = "recipe") -> None:
    """A full-fidelity recipe within the caps on epochs and resolution."""
    _cap(f"{field}.epochs", recipe.epochs, settings.max_epochs, "max_epochs")
    if recipe.resolution is not None:
        _cap(f"{field}.resolution", recipe.resolution, settings.max_resolution, "max_resolution")


def check_training(config: TrainConfig, settings: Settings) -> TrainConfig:
    """``config`` within the caps (its threads count as a search's workers)."""
    check_recipe(config.recipe, settings)
    _cap("threads", config.threads, settings.max_workers, "max_workers")
    return config


def check_finalize(config: FinalizeConfig, settings: Settings) -> FinalizeConfig:
    """``config`` within the caps (its networks count as trials, its workers as a search's)."""
    check_recipe(config.recipe, settings)
    _cap("top_k", config.top_k, settings.max_trials, "max_trials")
    _cap("workers", config.workers, settings.max_workers, "max_workers")
    _cap("threads", config.threads, settings.max_workers, "max_workers")
    return config
