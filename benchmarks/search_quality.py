"""Search quality at equal CPU time: hypervolume of the accuracy/MACs front, our samplers (NSGA-II, MO-TPE, each
with and without MO-ASHA rungs) vs random sampling, on the built-in shapes benchmark, over several seeds (real
proxy training, exact MACs).

    python benchmarks/search_quality.py [--seeds 0,1,2,3,4] [--cpu-budget 60] [--methods random,nsga2,...]
        [--dataset shapes] [--subset 0.5] [--epochs 3] [--resolution 16]

Every search gets the same budget of measured CPU-seconds (``cpu_budget_s``: the sum of its evaluations' CPU
time), not the same number of trials. A method's hypervolume at CPU time ``t`` is that of the front of its
full-fidelity (completed) trials whose evaluations, in the order they finished, add up to at most ``t``; trials
that finished past the budget are left out, so no method gets more than the budget. Per seed all methods share
one reference point: accuracy at chance (1 / classes) and 1.1 x the largest MACs any of them trained.
Reported: per-seed ratios to random, their median and worst, the fraction of the budget at which each method
first reaches random's final hypervolume, and CPU-seconds per fully trained candidate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace

import optuna

from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.latency import LatencyConfig
from workers.screening import ScreeningConfig
from workers.search import SearchConfig, SearchDriver, TrialRecord, hypervolume, pareto_front
from workers.training import TrainBudget

METHODS = ("random", "nsga2", "nsga2+asha", "tpe", "tpe+asha")


@dataclass(frozen=True)
class Run:
    """One search's evaluations in the order they finished, within the CPU budget."""

    method: str
    trials: list[TrialRecord]  # trained (completed or stopped early), not copies of another trial
    cpu: list[float]  # cumulative CPU-seconds after each of ``trials``
    driver_cpu: float  # the driver process's own CPU-seconds (sampler, screening, storage): not in the budget

    @property
    def complete(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.state == "COMPLETE"]

    def hv_at(self, cpu_s: float, ref_macs: float, chance: float) -> float:
        done = [t for t, spent in zip(self.trials, self.cpu) if spent <= cpu_s and t.state == "COMPLETE"]
        front = pareto_front(done, "macs")
        return hypervolume([(max(0.0, t.accuracy - chance), float(t.macs)) for t in front], ref_macs)

    def reach(self, target: float, ref_macs: float, chance: float) -> float | None:
        """The CPU-seconds at which the hypervolume first reaches ``target`` (None: never)."""
        return next((spent for spent in self.cpu if self.hv_at(spent, ref_macs, chance) >= target * (1 - 1e-9)),
                    None)


def config_for(method: str, seed: int, args: argparse.Namespace) -> SearchConfig:
    """``sampler[+asha][+PROXY]``: the sampler, MO-ASHA rungs, zero-cost screening with PROXY."""
    sampler, *extras = method.split("+")
    proxies = [e for e in extras if e != "asha"]
    base = SearchConfig()
    dataset = DatasetConfig(source=args.dataset, subset=args.subset)
    return SearchConfig(dataset=dataset, budget=TrainBudget(epochs=args.epochs),
                        space=replace(base.space, resolutions=(args.resolution,)),
                        latency=LatencyConfig(warmup=1, repeats=3), objective="macs", sampler=sampler,
                        pruner="asha" if "asha" in extras else "none",
                        screening=ScreeningConfig(proxy=proxies[0]) if proxies else ScreeningConfig(),
                        n_trials=args.max_trials, n_workers=args.workers, seed=seed, cpu_budget_s=args.cpu_budget)


def run(method: str, seed: int, args: argparse.Namespace, storage: str) -> Run:
    start = time.process_time()
    result = SearchDriver(config_for(method, seed, args), storage, f"quality-{method}-{seed}").run()
    driver_cpu = time.process_time() - start
    trained = [t for t in result.trials if t.state in ("COMPLETE", "PRUNED") and not t.rejected
               and t.reused_from is None and t.cpu_seconds is not None]
    trained.sort(key=lambda t: (t.finished_at or "", t.number))
    cpu, total = [], 0.0
    for t in trained:
        total += t.cpu_seconds
        cpu.append(total)
    keep = [i for i, spent in enumerate(cpu) if spent <= args.cpu_budget]
    return Run(method, [trained[i] for i in keep], [cpu[i] for i in keep], driver_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--cpu-budget", type=float, default=60.0, help="CPU-seconds per search")
    parser.add_argument("--methods", default=",".join(METHODS), help="compared against random")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--subset", type=float, default=0.5, help="fraction of the dataset kept")
    parser.add_argument("--epochs", type=int, default=3, help="full-fidelity training epochs")
    parser.add_argument("--resolution", type=int, default=16, help="input size of the proxy search")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-trials", type=int, default=60,
                        help="trial budget (sizes NSGA-II's population: n/4); the CPU budget should stop first")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    methods = [m for m in args.methods.split(",") if m != "random"]
    chance = 1.0 / DatasetConfig(source=args.dataset).validate().num_classes
    ratios: dict[str, list[float]] = {m: [] for m in methods}
    reach: dict[str, list[float]] = {m: [] for m in methods}
    per_full: dict[str, list[float]] = {m: [] for m in ["random", *methods]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{tmp}/quality.db"
        for seed in map(int, args.seeds.split(",")):
            runs = {m: run(m, seed, args, storage) for m in ["random", *methods]}
            ref = 1.1 * max(t.macs for r in runs.values() for t in r.complete)
            base = runs["random"].hv_at(args.cpu_budget, ref, chance)
            for m, r in runs.items():
                hv = r.hv_at(args.cpu_budget, ref, chance)
                spent = r.cpu[-1] if r.cpu else 0.0
                per_full[m].append(spent / max(1, len(r.complete)))
                row = [seed, m, len(r.trials), len(r.complete), spent, per_full[m][-1], r.driver_cpu, hv, hv / base]
                if m != "random":
                    ratios[m].append(hv / base)
                    at = r.reach(base, ref, chance)
                    reach[m].append(at / args.cpu_budget if at is not None else float("inf"))
                    row.append(reach[m][-1])
                else:
                    row.append(1.0)
                rows.append(row)
            print(format_table(["seed", "method", "trained", "full", "CPU-s", "CPU-s/full", "driver CPU-s", "HV", "HV/random",
                                "reach"], rows[-len(runs):]), flush=True)
    print("\nall seeds:")
    print(format_table(["seed", "method", "trained", "full", "CPU-s", "CPU-s/full", "driver CPU-s", "HV", "HV/random",
                        "reach random's HV (budget fraction)"], rows))
    summary = [[m, statistics.median(ratios[m]), min(ratios[m]), statistics.median(reach[m]), max(reach[m]),
                statistics.median(per_full[m])] for m in methods]
    summary.append(["random", 1.0, 1.0, 1.0, 1.0, statistics.median(per_full["random"])])
    print(f"\nhypervolume vs random at equal CPU ({args.cpu_budget:g} CPU-s per search), "
          f"{len(ratios[methods[0]]) if methods else 0} seeds:")
    print(format_table(["method", "median ratio", "worst seed", "median reach", "worst reach",
                        "median CPU-s per full candidate"], summary))
    print("goals: median ratio >= 1.3, worst seed >= 1.0, reach <= 0.33")
    print("command: python " + " ".join(sys.argv))


if __name__ == "__main__":
    main()
