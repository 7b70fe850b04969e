"""Compound scaling, derived vs ideal MACs ratio: the fitted rounding against the paper's (and the published table).

    python benchmarks/scaling_rounding.py [--seed 0] [--bases 5] [--resolutions 16,32,64,224,600] [--phis 3]
                                          [--zoo-phis 7]

For ``--bases`` networks sampled from the default search space (``searchspace.space``, RandomSampler seeded
``--seed``), each at every resolution of ``--resolutions``, and for every zoo network at its own resolution,
derive phi = 1..``--phis`` (zoo: 1..``--zoo-phis``) with alpha 1.2, beta 1.1, gamma 1.15 under both roundings and
print counted MACs ratio / (alpha*beta^2*gamma^2)^phi, 1.000 being the formula. ``official`` is the published
B1..B7 table applied to the network (``scaler.official``) over the same 1.92^phi. A network a rounding cannot
scale shows ``-``. The summary gives, per rounding, the worst |ratio - 1| and how many members are within 10%,
and the median seconds one fitted ``derive`` takes. Last, the default grid (``scaler.grid_config.GridConfig()``:
111 points) on EfficientNet-B0 and on a network sampled from the default space at 16 px (seed ``--seed``): how
many distinct phi = 1 networks count within ``counted_tolerance`` of 2 under each rounding, and how long
``screen`` (the fitted one) takes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import optuna

from scaler import ALPHA, BETA, GAMMA, Rounding, derive, official
from scaler.grid_config import GRID_PHI, GridConfig, enumerate_candidates, screen
from searchspace import zoo
from searchspace.errors import SpecError
from searchspace.space import SearchSpace, sample
from searchspace.spec import ArchSpec
from searchspace.table import format_table

TOLERANCE = 0.10
FORMULA = ALPHA * BETA**2 * GAMMA**2


def space_bases(seed: int, n: int) -> list[ArchSpec]:
    """``n`` networks of the default search space (its 224 px resolution; the caller sets the size)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [replace(sample(study.ask(), SearchSpace()), name=f"space{seed}-{i}") for i in range(n)]


def _off(base: ArchSpec, phi: int, rounding: Rounding, seconds: list[float]) -> float | None:
    """Counted over ideal MACs ratio of ``base``'s phi member, or None when the rounding gives no network."""
    start = time.perf_counter()
    try:
        member = derive(base, phi=phi, rounding=rounding)
    except SpecError:
        return None
    if rounding is Rounding.FIT:
        seconds.append(time.perf_counter() - start)
    return member.macs_ratio / member.ideal_ratio


def _official(base: ArchSpec, phi: int) -> float | None:
    try:
        return official(base, phi).macs_ratio / FORMULA**phi
    except SpecError:
        return None


def grid_kept(base: ArchSpec, rounding: Rounding, config: GridConfig) -> int:
    """Distinct phi = 1 networks of the grid's points that count within ``counted_tolerance`` of 2."""
    networks = set()
    for c in enumerate_candidates(config.step, config.tolerance):
        member = derive(base, c.alpha, c.beta, c.gamma, GRID_PHI, rounding=rounding)
        if abs(member.macs_ratio - 2) <= config.counted_tolerance:
            networks.add(member.spec.to_string())
    return len(networks)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bases", type=int, default=5)
    parser.add_argument("--resolutions", default="16,32,64,224,600")
    parser.add_argument("--phis", type=int, default=3)
    parser.add_argument("--zoo-phis", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(s) for s in args.resolutions.split(",")]
    seconds: list[float] = []
    offs: dict[tuple[str, Rounding], list[float | None]] = {}

    def rows_for(base: ArchSpec, phis: range, with_official: bool) -> list[list[object]]:
        rows = []
        group = "zoo" if with_official else "space"
        for phi in phis:
            fit, paper = (_off(base, phi, r, seconds) for r in (Rounding.FIT, Rounding.PAPER))
            offs.setdefault((group, Rounding.FIT), []).append(fit)
            offs.setdefault((group, Rounding.PAPER), []).append(paper)
            row = [base.name, base.resolution, phi, f"{FORMULA**phi:.2f}", _cell(fit), _cell(paper)]
            rows.append([*row, _cell(_official(base, phi)) if with_official and phi <= 7 else ""])
        return rows

    headers = ["base", "px", "phi", "ideal", "fit", "paper", "official"]
    space_rows = [row for base in space_bases(args.seed, args.bases) for size in sizes
                  for row in rows_for(replace(base, resolution=size), range(1, args.phis + 1), False)]
    print(f"default search space, {args.bases} bases (seed {args.seed}): counted / ideal MACs ratio")
    print(format_table(headers[:-1], [r[:-1] for r in space_rows]))
    zoo_rows = [row for name in zoo.names()
                for row in rows_for(zoo.get(name), range(1, args.zoo_phis + 1), True)]
    print("\nzoo networks at their own resolution: counted / ideal MACs ratio")
    print(format_table(headers, zoo_rows))
    print()
    for (group, rule), values in offs.items():
        done = [abs(v - 1) for v in values if v is not None]
        within = sum(d <= TOLERANCE for d in done)
        print(f"{group} {rule}: {within} of {len(values)} members within {TOLERANCE:.0%} of the formula "
              f"({len(values) - len(done)} not scalable), worst |ratio - 1| = {max(done):.3f}")
    print(f"fit: median {statistics.median(seconds) * 1e3:.1f} ms per derive, max {max(seconds) * 1e3:.0f} ms")

    config = GridConfig()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=args.seed))
    found = replace(sample(study.ask(), SearchSpace(resolutions=(16,))), name=f"space{args.seed}-16px")
    print(f"\ndefault grid ({len(config.candidates())} points): distinct phi = 1 networks within "
          f"{config.counted_tolerance:g} of 2")
    for base in (zoo.get("efficientnet_b0"), found):
        start = time.perf_counter()
        kept, rejected = screen(base, config)
        took = time.perf_counter() - start
        print(f"{base.name}: fit {len(kept)} kept ({len(rejected)} rejected; screen {took:.1f} s), "
              f"paper {grid_kept(base, Rounding.PAPER, config)}")


if __name__ == "__main__":
    main()
