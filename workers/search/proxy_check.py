"""The proxy design tool: does a proxy setting rank architectures as full-fidelity training does, and at what cost?

``proxy_check`` samples ``candidates`` random architectures of the space (seeded), trains each one at every
proxy setting of the grid (input resolution x epochs x data subset, the rest of the search's proxy budget
unchanged) and once at full fidelity (the recipe), all as Ray tasks, and reports per setting the Spearman and
Kendall correlation of its validation accuracies with the full-fidelity test accuracies, and its cost: the
CPU-seconds its training tasks took. It recommends the cheapest setting whose Spearman reaches
``min_correlation``. Early stopping (the search's MO-ASHA rungs) is not applied: each setting trains to its end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from searchspace.checks import check_float, check_int
from searchspace.errors import SpecError
from searchspace.fields import as_dict, doc
from searchspace.space import MAX_RESOLUTION, PROXY_SPACE, SearchSpace, _choices, sample
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig, nested_from_dict
from workers.runtime import Evaluated, RayExecutor, StopCheck, Task, run_batch
from workers.search.truth import RankAgreement, rank_agreement
from workers.training import TrainBudget, TrainRecipe


@dataclass(frozen=True, kw_only=True)
class ProxySetting:
    """One proxy: candidates trained at ``resolution`` px for ``epochs`` epochs on ``subset`` of every class of
    the data (a fraction of the dataset's own subset)."""

    resolution: int
    epochs: int
    subset: float

    def __str__(self) -> str:
        return f"{self.resolution} px, {self.epochs} ep, subset {self.subset:g}"

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


@dataclass(frozen=True, kw_only=True)
class ProxyCheckConfig:
    """What the proxy check trains: the data, the space, the candidates, the grid of proxy settings, the proxy's
    other training settings, the full-fidelity recipe, and the correlation a recommended setting must reach."""

    dataset: DatasetConfig = field(default_factory=DatasetConfig, metadata=doc(
        "the data (full fidelity trains on all of it; each proxy setting on its subset of it)"))
    space: SearchSpace = field(default=PROXY_SPACE, metadata=doc("the architectures sampled"))
    candidates: int = field(default=6, metadata=doc("random architectures of the space trained at every setting"))
    seed: int = field(default=0, metadata=doc("seed of the sampled architectures and of the proxy training"))
    resolutions: tuple[int, ...] = field(default=(16, 32), metadata=doc("proxy input resolutions (px)"))
    epochs: tuple[int, ...] = field(default=(1, 3), metadata=doc("proxy training epochs"))
    subsets: tuple[float, ...] = field(default=(0.5, 1.0), metadata=doc("proxy fractions of every class of the data"))
    budget: TrainBudget = field(default_factory=TrainBudget, metadata=doc(
        "the proxy's other training settings (batch, optimizer, learning rate); its epochs are the grid's"))
    recipe: TrainRecipe = field(default_factory=TrainRecipe, metadata=doc("full-fidelity training"))
    min_correlation: float = field(default=0.6, metadata=doc(
        "Spearman a setting must reach (with the full-fidelity ranking) to be recommended"))
    workers: int = field(default=2, metadata=doc("trainings in parallel on Ray"))
    threads: int = field(default=1, metadata=doc("torch threads (and Ray CPUs) per training"))

    def __post_init__(self) -> None:
        for name, cls in (("dataset", DatasetConfig), ("space", SearchSpace), ("budget", TrainBudget),
                          ("recipe", TrainRecipe)):
            if not isinstance(getattr(self, name), cls):
                raise SpecError(name, f"must be a {cls.__name__}")
        check_int("candidates", self.candidates, 2, 1000)
        check_int("seed", self.seed, 0, 2**31 - 1)
        for name in ("resolutions", "epochs", "subsets"):
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        _choices("resolutions", self.resolutions, lambda f, v: check_int(f, v, 8, MAX_RESOLUTION))
        _choices("epochs", self.epochs, lambda f, v: check_int(f, v, 1, 10_000))
        _choices("subsets", self.subsets, lambda f, v: check_float(f, v, 1e-4, 1.0))
        object.__setattr__(self, "subsets", tuple(float(s) for s in self.subsets))
        object.__setattr__(self, "min_correlation", float(check_float("min_correlation", self.min_correlation,
                                                                      -1.0, 1.0)))
        check_int("workers", self.workers, 1, 256)
        check_int("threads", self.threads, 1, 256)

    @property
    def settings(self) -> list[ProxySetting]:
        """The grid, cheapest-looking first (resolution, then epochs, then subset)."""
        return [ProxySetting(resolution=r, epochs=e, subset=s) for r in sorted(self.resolutions)
                for e in sorted(self.epochs) for s in sorted(self.subsets)]

    def to_dict(self) -> dict[str, Any]:
        return {**as_dict(self), "dataset": self.dataset.to_dict(), "space": self.space.to_dict(),
                "resolutions": list(self.resolutions), "epochs": list(self.epochs), "subsets": list(self.subsets),
                "budget": self.budget.to_dict(), "recipe": self.recipe.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> ProxyCheckConfig:
        """From JSON data; unknown keys and bad values are SpecErrors naming the field path."""
        nested = {"dataset": DatasetConfig, "budget": TrainBudget, "recipe": TrainRecipe}
        return nested_from_dict(cls, data, nested, "proxy_check")


def default_setting() -> ProxySetting:
    """Today's search default proxy: the default space's resolution and budget epochs, all of the data."""
    return ProxySetting(resolution=max(PROXY_SPACE.resolutions), epochs=TrainBudget().epochs, subset=1.0)


@dataclass(frozen=True, kw_only=True)
class SettingResult:
    """One proxy setting over the candidates: each one's validation accuracy (None where its training failed),
    the rank agreement with the full-fidelity accuracies (None with fewer than 2 pairs), and the CPU-seconds of
    its training tasks."""

    setting: ProxySetting
    accuracies: list[float | None]
    agreement: RankAgreement | None
    cpu_seconds: float

    def meets(self, threshold: float) -> bool:
        rho = None if self.agreement is None else self.agreement.spearman
        return rho is not None and not math.isnan(rho) and rho >= threshold

    def to_dict(self) -> dict[str, Any]:
        return {"setting": self.setting.to_dict(), "label": str(self.setting), "accuracies": self.accuracies,
                "agreement": None if self.agreement is None else self.agreement.to_dict(),
                "cpu_seconds": self.cpu_seconds}


@dataclass(frozen=True, kw_only=True)
class ProxyCheckReport:
    config: ProxyCheckConfig
    candidates: list[str]  # spec keys
    full_accuracies: list[float | None]  # full-fidelity test accuracy per candidate
    full_cpu_seconds: float
    settings: list[SettingResult]
    recommended: SettingResult | None
    errors: list[str]

    @property
    def sentence(self) -> str:
        threshold = self.config.min_correlation
        if self.recommended is None:
            return (f"No proxy setting reaches Spearman {threshold:g} with full-fidelity training over "
                    f"{len(self.candidates)} architectures: train longer or at a higher resolution, or lower the bar.")
        r = self.recommended
        return (f"Recommended: {r.setting} (Spearman {r.agreement.spearman:.2f} >= {threshold:g}, "
                f"{r.cpu_seconds:.0f} CPU-seconds for {len(self.candidates)} architectures, the cheapest setting "
                "that reaches it).")

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "candidates": self.candidates,
                "full_accuracies": self.full_accuracies, "full_cpu_seconds": self.full_cpu_seconds,
                "settings": [s.to_dict() for s in self.settings],
                "recommended": None if self.recommended is None else self.recommended.to_dict(),
                "default": default_setting().to_dict(), "sentence": self.sentence,
                "errors": self.errors}


def sample_candidates(space: SearchSpace, n: int, seed: int) -> list[ArchSpec]:
    """``n`` distinct random architectures of ``space`` (seeded)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found: dict[str, ArchSpec] = {}
    for _ in range(n * 20):
        spec = sample(study.ask(), space)
        found.setdefault(spec.to_string(), spec)
        if len(found) == n:
            return list(found.values())
    raise SpecError("candidates", f"the space holds fewer than {n} distinct architectures")


def proxy_train(spec_key: str, data: DatasetConfig, budget: TrainBudget, seed: int, threads: int) -> dict[str, Any]:
    """One proxy training; ``accuracy`` is its validation accuracy. Runs in a Ray worker."""
    from workers.training import train_and_evaluate

    spec = ArchSpec.from_string(spec_key)
    result = train_and_evaluate(spec, data, budget, seed=seed, threads=threads)
    return {"accuracy": result.accuracy, "train_seconds": result.train_seconds}


def full_train(spec_key: str, data: DatasetConfig, recipe: TrainRecipe, threads: int) -> dict[str, Any]:
    """One full-fidelity training; ``accuracy`` is its test accuracy (the int8 model's is not asked for). Runs in a
    Ray worker."""
    from workers.training import fit

    result = fit(ArchSpec.from_string(spec_key), data, replace(recipe, int8=False), threads=threads)
    return {"accuracy": result.test_accuracy, "val_accuracy": result.val_accuracy}


def proxy_check(config: ProxyCheckConfig, should_stop: StopCheck | None = None) -> ProxyCheckReport:
    """Train every candidate at every setting and at full fidelity; compare the rankings (module docstring)."""
    info = config.dataset.validate()
    space = replace(config.space, num_classes=info.num_classes, in_chans=info.in_chans)
    specs = sample_candidates(space, config.candidates, config.seed)
    keys = [s.to_string() for s in specs]
    settings = config.settings
    tasks = []
    for i, spec in enumerate(specs):
        tasks.append(Task(full_train, (keys[i], config.dataset, config.recipe, config.threads), (i, None)))
        for j, setting in enumerate(settings):
            data = replace(config.dataset, subset=max(1e-4, config.dataset.subset * setting.subset))
            budget = replace(config.budget, epochs=setting.epochs)
            key = replace(spec, resolution=setting.resolution).to_string()
            tasks.append(Task(proxy_train, (key, data, budget, config.seed, config.threads), (i, j)))
    accuracy: dict[tuple[int, int | None], float] = {}
    cpu: dict[int | None, float] = {}
    errors: list[str] = []

    def done(task: Task, evaluated: Evaluated) -> None:
        i, j = task.item
        cpu[j] = cpu.get(j, 0.0) + float(evaluated.measured.get("cpu_seconds") or 0.0)
        if evaluated.error is None:
            accuracy[(i, j)] = float(evaluated.measured["accuracy"])
        else:
            what = "full fidelity" if j is None else str(settings[j])
            errors.append(f"candidate {i} at {what}: {evaluated.error[:300]}")

    executor = RayExecutor(config.threads, config.workers * config.threads,
                           budget=replace(config.budget, device=config.recipe.device), dataset=config.dataset)
    run_batch(tasks, executor, config.workers, done, should_stop)
    full = [accuracy.get((i, None)) for i in range(len(specs))]
    results = []
    for j, setting in enumerate(settings):
        proxy = [accuracy.get((i, j)) for i in range(len(specs))]
        pairs = [(p, f) for p, f in zip(proxy, full, strict=True) if p is not None and f is not None]
        agreement = rank_agreement(*zip(*pairs, strict=True)) if len(pairs) >= 2 else None
        results.append(SettingResult(setting=setting, accuracies=proxy, agreement=agreement,
                                     cpu_seconds=cpu.get(j, 0.0)))
    meeting = [r for r in results if r.meets(config.min_correlation)]
    recommended = min(meeting, key=lambda r: r.cpu_seconds, default=None)
    return ProxyCheckReport(config=config, candidates=keys, full_accuracies=full, full_cpu_seconds=cpu.get(None, 0.0),
                            settings=results, recommended=recommended, errors=errors)
