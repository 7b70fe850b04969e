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
``screen`` (the fitted one) takes; and for B0's kept candidates, the proxy networks the grid trains (its
default proxy: B0 x 0.5 width, x 0.5 depth at 32 px, 10 classes, 1 channel): their counted ratio over the
proxy base as built today (``proxy_member``: resolution rounded to the pixel, the paper's rules otherwise) and
as the fitted rounding would build them, and how many of the latter stay at the proxy's 32 px.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import optuna

from scaler import ALPHA, BETA, GAMMA, Rounding, derive, official
from scaler.grid_config import GRID_PHI, GridConfig, enumerate_candidates, proxy_base, proxy_member, screen
from searchspace import zoo
from searchspace.counter import count
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


def _span(values: list[float | None]) -> list[str]:
    """Min and max of the values a rounding gave ('-' if it scaled none)."""
    done = [v for v in values if v is not None]
    return [_cell(min(done)), _cell(max(done))] if done else ["-", "-"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bases", type=int, default=5)
    parser.add_argument("--resolutions", default="16,32,64,224,600")
    parser.add_argument("--phis", type=int, default=3)
    parser.add_argument("--zoo-phis", type=int, default=7)
    parser.add_argument("--full", action="store_true", help="also print every member's ratios")
    args = parser.parse_args()
    sizes = [int(s) for s in args.resolutions.split(",")]
    seconds: list[float] = []
    # (group, base, px, phi) -> counted / ideal ratio per rounding ("official": the published table)
    ratios: dict[tuple[str, str, int, int], dict[str, float | None]] = {}
    for base in space_bases(args.seed, args.bases):
        for size in sizes:
            for phi in range(1, args.phis + 1):
                at = replace(base, resolution=size)
                ratios["space", base.name, size, phi] = {str(r): _off(at, phi, r, seconds) for r in Rounding}
    for name in zoo.names():
        base = zoo.get(name)
        for phi in range(1, args.zoo_phis + 1):
            ratios["zoo", name, base.resolution, phi] = {
                **{str(r): _off(base, phi, r, seconds) for r in Rounding},
                "official": _official(base, phi) if phi <= 7 else None}

    rules = [str(r) for r in Rounding]
    if args.full:
        rows = [[g, n, px, phi, f"{FORMULA**phi:.2f}", *(_cell(v.get(k)) for k in [*rules, "official"])]
                for (g, n, px, phi), v in ratios.items()]
        print(format_table(["group", "base", "px", "phi", "ideal", *rules, "official"], rows) + "\n")
    space = [(px, phi, v) for (g, _, px, phi), v in ratios.items() if g == "space"]
    rows = [[px, phi, f"{FORMULA**phi:.2f}", *(c for r in rules for c in _span([v[r] for p, f, v in space
                                                                                  if (p, f) == (px, phi)]))]
            for px in sizes for phi in range(1, args.phis + 1)]
    print(f"default search space, {args.bases} bases (seed {args.seed}), counted / ideal MACs ratio over the bases:")
    print(format_table(["px", "phi", "ideal", *(f"{r} {m}" for r in rules for m in ("min", "max"))], rows))
    names = list(dict.fromkeys(n for (g, n, _, _) in ratios if g == "zoo"))
    rows = [[n, zoo.get(n).resolution, *(c for r in [*rules, "official"] for c in _span(
        [v[r] for (g, m, _, _), v in ratios.items() if g == "zoo" and m == n]))] for n in names]
    print(f"\nzoo networks at their own resolution, counted / ideal MACs ratio over phi 1..{args.zoo_phis} "
          "(official: the published B1..B7 over 1.92^phi):")
    print(format_table(["network", "px", *(f"{r} {m}" for r in [*rules, "official"] for m in ("min", "max"))],
                       rows))
    print()
    for group in ("space", "zoo"):
        for rule in rules:
            values = [v[rule] for (g, *_), v in ratios.items() if g == group]
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
        if base.name == "efficientnet_b0":
            proxy = proxy_base(base, config, num_classes=10, in_chans=1)
            macs = count(proxy).macs
            today = [count(proxy_member(proxy, c)).macs / macs for c in kept]
            fitted = [derive(proxy, c.alpha, c.beta, c.gamma, GRID_PHI) for c in kept]
            ratios = [m.macs_ratio for m in fitted]
            still = sum(m.spec.resolution == proxy.resolution for m, c in zip(fitted, kept, strict=True)
                        if c.gamma > 1)
            print(f"  its proxies: as built {min(today):.2f}-{max(today):.2f}x the proxy base; fitted "
                  f"{min(ratios):.2f}-{max(ratios):.2f}x, with {still} of the {sum(c.gamma > 1 for c in kept)} "
                  f"gamma > 1 candidates left at {proxy.resolution} px")


if __name__ == "__main__":
    main()
