"""The grid of compound coefficients and its settings (EfficientNet, arXiv:1905.11946 section 3.3, step 1).

``enumerate_candidates`` lists alpha, beta, gamma >= 1 on a grid with alpha * beta^2 * gamma^2 within a
tolerance of 2; ``screen`` holds them to the *counted* MACs ratio of the base's phi = 1 network. That network is
derived with the rounding that keeps the formula's ratio (``scaler.rounding``), so a grid point is corrected for
rounding rather than rejected for it (with the paper's rounding, B0's first six grid points promise 2.0 and
count 2.03-3.25, and a 16 px base's count up to 4); ``counted_tolerance`` is what is left to hold.
``GridConfig`` is everything a grid search needs besides the base; ``proxy_base`` and ``proxy_member`` give the
network each candidate trains (see ``scaler.grid`` for the proxy's rationale). At full fidelity (``fidelity``)
the candidates train with ``recipe`` instead of the proxy budget, and the winner's family (``phis``) and its
``baselines`` train after them (``scaler.family_train``).
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from scaler.scaling import MAX_PHI, derive, scale
from searchspace.checks import check_bool, check_float, check_int
from searchspace.codec import from_dict
from searchspace.errors import SpecError
from searchspace.fields import as_dict, check_enum, doc
from searchspace.spec import ArchSpec
from workers.data import DatasetConfig, DatasetError
from workers.latency import LatencyConfig
from workers.search import check_baselines
from workers.training import TrainBudget, TrainRecipe

TARGET_RATIO = 2.0  # FLOPs double per unit of phi
GRID_PHI = 1.0  # the paper grid-searches the phi = 1 network
STEP_RANGE = (0.01, 0.5)
TOLERANCE_RANGE = (0.0, 1.0)
COUNTED_TOLERANCE_RANGE = (0.0, 10.0)
MAX_SEEDS = 100
MAX_PHIS = 8
_EPS = 1e-9


class Fidelity(enum.StrEnum):
    """How candidates are judged: ``proxy`` (the proxy budget, nothing else trains) or ``full`` (the recipe, then
    the winner's family and its baselines trained the same way)."""

    PROXY = "proxy"
    FULL = "full"


# --- the grid -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Candidate:
    """One point of the grid: depth (alpha), width (beta) and resolution (gamma) coefficients."""

    alpha: float
    beta: float
    gamma: float

    @property
    def ratio(self) -> float:
        """The MACs ratio the coefficients promise at phi = 1: alpha * beta^2 * gamma^2."""
        return self.alpha * self.beta**2 * self.gamma**2

    @property
    def key(self) -> str:
        return f"a{self.alpha:g}_b{self.beta:g}_g{self.gamma:g}"

    def params(self) -> dict[str, float]:
        return {"alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}


def _grid_value(k: int, step: float) -> float:
    return round(1.0 + k * step, 10)


def enumerate_candidates(
    step: float = 0.05, tolerance: float = 0.1, max_candidates: int | None = None, target: float = TARGET_RATIO
) -> list[Candidate]:
    """Every alpha, beta, gamma in {1, 1 + step, 1 + 2 step, ...} with |alpha*beta^2*gamma^2 - target| <= tolerance.

    Ordered by distance of the ratio to ``target``, then (alpha, beta, gamma); ``max_candidates`` keeps the
    first ones. Raises SpecError naming ``step``, ``tolerance`` or ``max_candidates``.
    """
    step = float(check_float("step", step, *STEP_RANGE))
    tolerance = float(check_float("tolerance", tolerance, *TOLERANCE_RANGE))
    if max_candidates is not None:
        check_int("max_candidates", max_candidates, 1, 1_000_000)
    lo, hi = target - tolerance, target + tolerance
    found: list[Candidate] = []
    a_steps = math.floor((hi - 1.0) / step + _EPS)
    for i in range(a_steps + 1):
        alpha = _grid_value(i, step)
        b_steps = math.floor((math.sqrt(hi / alpha) - 1.0) / step + _EPS)
        for j in range(max(b_steps, -1) + 1):
            beta = _grid_value(j, step)
            base = alpha * beta**2
            g_lo = math.sqrt(max(lo / base, 1.0))
            g_hi = math.sqrt(hi / base)
            first = max(0, math.ceil((g_lo - 1.0) / step - 1e-6))
            last = math.floor((g_hi - 1.0) / step + 1e-6)
            for k in range(first, last + 1):
                candidate = Candidate(alpha, beta, _grid_value(k, step))
                if abs(candidate.ratio - target) <= tolerance + _EPS:
                    found.append(candidate)
    if not found:
        raise SpecError(
            "tolerance",
            f"no alpha, beta, gamma >= 1 on a {step:g} grid has alpha*beta^2*gamma^2 within {tolerance:g} of "
            f"{target:g}; widen the tolerance or refine the step",
        )
    found.sort(key=lambda c: (round(abs(c.ratio - target), 9), c))
    return found[:max_candidates] if max_candidates is not None else found


# --- settings -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GridConfig:
    """Everything a grid search needs besides the base network (the module docstring explains the proxy)."""

    step: float = field(default=0.05, metadata=doc("grid step of each coefficient"))
    tolerance: float = field(default=0.1, metadata=doc("|alpha*beta^2*gamma^2 - 2| allowed"))
    counted_tolerance: float = field(default=0.1, metadata=doc(
        "|counted MACs ratio of the base's phi = 1 network over the base - 2| allowed, that network rounded to "
        "keep the formula's ratio; the points outside are rejected untrained"))
    max_candidates: int | None = field(default=None, metadata=doc(
        "keep the candidates closest to the ratio 2 that pass the counted ratio; null or none: all"))
    seeds: int = field(default=3, metadata=doc(
        "training runs per candidate, seeded seed, seed + 1, ...: ranked by their mean accuracy"))
    significance: float = field(default=0.05, metadata=doc(
        "level of the paired-by-seed t-test of the winner against the runner-up"))
    resolution: int | None = field(default=32,
                                   metadata=doc("input size of the proxy base; null, or 'base' on the command line: the base's own"))
    proxy_width: float = field(default=0.5, metadata=doc("width multiplier of the proxy base"))
    proxy_depth: float = field(default=0.5, metadata=doc("depth multiplier of the proxy base"))
    dataset: DatasetConfig = field(default_factory=DatasetConfig,
                                   metadata=doc("the data candidates train and validate on"))
    budget: TrainBudget = field(default_factory=lambda: TrainBudget(epochs=1),
                                metadata=doc("proxy training of every candidate"))
    latency: LatencyConfig | None = field(default_factory=lambda: LatencyConfig(warmup=5, repeats=20),
                                          metadata=doc("how every candidate's latency is measured (null: not)"))
    workers: int = field(default=2, metadata=doc("candidates trained at once on Ray"))
    threads: int = field(default=1, metadata=doc("torch threads, i.e. Ray CPUs, per candidate"))
    seed: int = field(default=0, metadata=doc("data split, initialisation and batch order seed of the first run"))
    retry_failed: bool = field(default=False,
                               metadata=doc("re-evaluate candidates whose evaluation failed in an earlier run"))
    fidelity: Fidelity = field(default=Fidelity.PROXY, metadata=doc(
        "proxy: each candidate trains with `training` (the proxy budget); full: each candidate trains with "
        "`recipe` and is ranked by its validation accuracy, then the winner's family (`phis`) and the baselines "
        "fitted to each member's MACs train with `recipe` on the same seeds, each network's product (weights, "
        "ONNX, .py) written under the output directory, and each member's test accuracy, MACs and latency "
        "reported beside the baselines'"))
    recipe: TrainRecipe = field(default_factory=TrainRecipe, metadata=doc(
        "full fidelity: how every network trains (each at its own resolution: `resolution` must stay null; each "
        "run's seed replaces `seed`)"))
    phis: tuple[float, ...] = field(default=(0.0, 1.0, 2.0, 3.0), metadata=doc(
        "full fidelity: the members of the winner's family trained (phi = 0 is the base)"))
    baselines: tuple[str, ...] = field(default=("mobilenet_v2",), metadata=doc(
        "full fidelity: zoo networks trained beside each family member at its resolution and MACs (the width "
        "multiplier closest to the member's MACs, fitted to the data and small inputs as a search's baselines)"))

    def __post_init__(self) -> None:
        for name, cls in (("dataset", DatasetConfig), ("budget", TrainBudget)):
            if not isinstance(getattr(self, name), cls):
                raise SpecError(name, f"must be a {cls.__name__}")
        if self.latency is not None and not isinstance(self.latency, LatencyConfig):
            raise SpecError("latency", "must be a LatencyConfig or null")
        object.__setattr__(self, "step", float(check_float("step", self.step, *STEP_RANGE)))
        object.__setattr__(self, "tolerance", float(check_float("tolerance", self.tolerance, *TOLERANCE_RANGE)))
        object.__setattr__(self, "counted_tolerance",
                           float(check_float("counted_tolerance", self.counted_tolerance, *COUNTED_TOLERANCE_RANGE)))
        check_int("seeds", self.seeds, 1, MAX_SEEDS)
        object.__setattr__(self, "significance", float(check_float("significance", self.significance, 1e-6, 0.5)))
        # Validates max_candidates, and refuses a grid without any candidate.
        enumerate_candidates(self.step, self.tolerance, self.max_candidates)
        if self.resolution is not None:
            check_int("resolution", self.resolution, 8, 1024)
        for name in ("proxy_width", "proxy_depth"):
            object.__setattr__(self, name, float(check_float(name, getattr(self, name), 0.05, 4.0)))
        check_int("workers", self.workers, 1, 256)
        check_int("threads", self.threads, 1, 256)
        check_int("seed", self.seed, 0, 2**31 - 1 - MAX_SEEDS)
        check_bool("retry_failed", self.retry_failed)
        object.__setattr__(self, "fidelity", check_enum("fidelity", self.fidelity, Fidelity))
        if not isinstance(self.recipe, TrainRecipe):
            raise SpecError("recipe", "must be a TrainRecipe")
        if self.recipe.resolution is not None:
            raise SpecError("recipe.resolution", "must be null: every network trains at its own resolution")
        object.__setattr__(self, "phis", _check_phis(self.phis))
        object.__setattr__(self, "baselines", check_baselines(self.baselines))

    def candidates(self) -> list[Candidate]:
        """The grid by the formula alone (at most ``max_candidates``: an upper bound of what ``screen`` keeps)."""
        return enumerate_candidates(self.step, self.tolerance, self.max_candidates)

    def run_seeds(self) -> list[int]:
        """The seed of each training run of a candidate."""
        return [self.seed + i for i in range(self.seeds)]

    def run_recipe(self, spec: ArchSpec, seed: int) -> TrainRecipe:
        """Full fidelity: the recipe of one run of ``spec``, at its resolution and with the run's seed."""
        return replace(self.recipe, resolution=spec.resolution, seed=seed)

    def evaluation_settings(self) -> dict[str, Any]:
        """What a candidate's measurements depend on (besides the base): the study's identity."""
        return {
            "phi": GRID_PHI,
            "resolution": self.resolution,
            "proxy_width": self.proxy_width,
            "proxy_depth": self.proxy_depth,
            "dataset": self.dataset.to_dict(),
            "budget": self.budget.to_dict(),
            "latency": None if self.latency is None else self.latency.to_dict(),
            "threads": self.threads,
            "seed": self.seed,
            # only at full fidelity, so that a proxy grid keeps the study name it had before fidelity existed
            **({"fidelity": self.fidelity.value, "recipe": self.recipe.to_dict()}
               if self.fidelity is Fidelity.FULL else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        data = as_dict(self)
        data.update(dataset=self.dataset.to_dict(), budget=self.budget.to_dict(),
                    latency=None if self.latency is None else self.latency.to_dict(), recipe=self.recipe.to_dict(),
                    phis=list(self.phis), baselines=list(self.baselines))
        return data

    @classmethod
    def from_dict(cls, data: Any) -> GridConfig:
        """From JSON data (``to_dict``'s form; any field may be left out); errors name the field."""
        if not isinstance(data, dict):
            raise SpecError("config", "must be a JSON object")
        fields = dict(data)
        for name, sub in (("dataset", DatasetConfig), ("budget", TrainBudget), ("latency", LatencyConfig),
                          ("recipe", TrainRecipe)):
            if fields.get(name) is not None:
                try:
                    fields[name] = from_dict(sub, fields[name], name)
                except DatasetError as err:
                    raise SpecError("dataset.source", err.message) from None
        return from_dict(cls, fields)


def _check_phis(phis: object) -> tuple[float, ...]:
    """Distinct phis in [0, MAX_PHI], ascending, as floats; SpecError naming ``phis`` otherwise."""
    if isinstance(phis, list):
        phis = tuple(phis)
    if not isinstance(phis, tuple) or not phis or len(phis) > MAX_PHIS:
        raise SpecError("phis", f"must be a list of 1 to {MAX_PHIS} numbers in [0, {MAX_PHI:g}]")
    values = tuple(sorted(float(check_float(f"phis[{i}]", phi, 0.0, MAX_PHI)) for i, phi in enumerate(phis)))
    if len(set(values)) != len(values):
        raise SpecError("phis", f"must not repeat a phi, got {list(phis)}")
    return values


def grid_study_name(base: ArchSpec, config: GridConfig) -> str:
    """``grid-<base>-<hash>``: same base and evaluation settings, same study (so a rerun resumes)."""
    identity = json.dumps({"base": base.to_string(), **config.evaluation_settings()}, sort_keys=True)
    digest = hashlib.sha1(identity.encode()).hexdigest()[:12]
    label = re.sub(r"[^A-Za-z0-9_.-]", "", base.name)[:40] or "base"
    return f"grid-{label}-{digest}"


@dataclass(frozen=True)
class Rejection:
    """A grid point left out untrained: its counted phi = 1 MACs ratio is outside the tolerance of 2, or its
    phi = 1 network is one kept already (``reason`` says which)."""

    candidate: Candidate
    macs_ratio: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.candidate.params(), "key": self.candidate.key, "ratio": self.candidate.ratio,
                "macs_ratio": self.macs_ratio, "reason": self.reason}


def screen(base: ArchSpec, config: GridConfig) -> tuple[list[Candidate], list[Rejection]]:
    """The candidates kept (grid order, at most ``max_candidates``) and those rejected on the way.

    Walks the whole formula grid in order and counts each point's phi = 1 network of ``base``
    (``scaler.derive``, rounded to keep the point's formula ratio); a point whose counted MACs ratio is still
    further than ``counted_tolerance`` from 2^phi is rejected, and so is one giving the same phi = 1 network
    as a point kept before it (roundings can meet: on B0, (1.2, 1.2, 1.05) rounds to (1.1, 1.2, 1.1)'s
    network); the others are kept until there are ``max_candidates``. A point ``derive`` refuses is kept: its
    evaluation fails with the reason. SpecError (``counted_tolerance``) when nothing is kept.
    """
    target = TARGET_RATIO**GRID_PHI
    kept: list[Candidate] = []
    rejected: list[Rejection] = []
    networks: dict[str, Candidate] = {}
    for candidate in enumerate_candidates(config.step, config.tolerance):
        if config.max_candidates is not None and len(kept) == config.max_candidates:
            break
        try:
            member = derive(base, candidate.alpha, candidate.beta, candidate.gamma, GRID_PHI)
        except SpecError:
            kept.append(candidate)
            continue
        ratio, network = member.macs_ratio, member.spec.to_string()
        if abs(ratio - target) > config.counted_tolerance + _EPS:
            reason = f"counted MACs ratio {ratio:.3f} is outside {target:g} +/- {config.counted_tolerance:g}"
        elif network in networks:
            reason = f"the same phi = 1 network as {networks[network].key}"
        else:
            networks[network] = candidate
            kept.append(candidate)
            continue
        rejected.append(Rejection(candidate, ratio, reason))
    if not kept:
        raise SpecError("counted_tolerance", f"none of the {len(rejected)} grid points counts a phi = 1 MACs "
                                             f"ratio within {config.counted_tolerance:g} of {target:g} on "
                                             f"{base.name or 'this base'}; widen it or the tolerance")
    return kept, rejected


def proxy_base(
    base: ArchSpec, config: GridConfig, num_classes: int | None = None, in_chans: int | None = None
) -> ArchSpec:
    """The network the candidates scale: ``base`` at the proxy width, depth and resolution (and data shape)."""
    resolution: float | int = 1.0 if config.resolution is None else config.resolution
    try:
        spec = scale(base, width=config.proxy_width, depth=config.proxy_depth, resolution=resolution).spec
    except SpecError as err:
        field_name = {"width": "proxy_width", "depth": "proxy_depth"}.get(err.field, err.field)
        raise SpecError(field_name, err.message) from None
    changes: dict[str, Any] = {"name": f"{base.name[:57]}-proxy" if base.name else "proxy"}
    if num_classes is not None:
        changes["num_classes"] = num_classes
    if in_chans is not None:
        changes["in_chans"] = in_chans
    return replace(spec, **changes)


def without_proxy(base: ArchSpec, config: GridConfig) -> bool:
    """Whether the candidates train the base's own phi = 1 networks, rounded as its family is: at full fidelity
    with the proxy off (width and depth 1 at the base's resolution), so that the grid judges the very network the
    family's phi = 1 member is."""
    return (config.fidelity is Fidelity.FULL and config.proxy_width == 1.0 and config.proxy_depth == 1.0
            and config.resolution in (None, base.resolution))


def proxy_member(proxy: ArchSpec, candidate: Candidate, own: bool = False) -> ArchSpec:
    """The phi = 1 member of the proxy base, its resolution ``round(resolution * gamma)`` to the pixel; ``own``
    (``without_proxy``): derived with the rounding that keeps the formula's ratio, as the family's members."""
    name = f"{proxy.name[:40]}-{candidate.key}"[:64]
    if own:
        return replace(derive(proxy, candidate.alpha, candidate.beta, candidate.gamma, GRID_PHI).spec, name=name)
    size = max(8, round(proxy.resolution * candidate.gamma**GRID_PHI))
    return scale(
        proxy,
        width=candidate.beta**GRID_PHI,
        depth=candidate.alpha**GRID_PHI,
        resolution=size,
        name=name,
    ).spec
