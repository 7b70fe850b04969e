"""How well does stand-alone training rank networks against itself? The ceiling of any ranking benchmark that
uses it as the truth: the sub-networks of an ``oneshot_rank.py`` run trained stand-alone again with another seed.

    python benchmarks/standalone_noise.py --rank benchmarks/results/oneshot_rank_mbconv_2026-12-07.json
        [--datasets textures] [--full-epochs 6] [--resolution 16] [--seed 1] [--again EARLIER.json]

Per dataset of the rank results: every candidate trained again with the default TrainRecipe (``--full-epochs`` at
``--resolution``, seed ``--seed``: other initial weights, batch order and augmentation; one thread, in this process), test top-1. Prints
Kendall tau between the two stand-alone runs (the noise ceiling) and between the inherited accuracies and the
new run, beside the rank results' own inherited-vs-stand-alone figure; then against a less noisy truth, the mean
of both runs: Kendall tau of the inherited accuracies and of MACs (bigger ranked better) with it, and of MACs with
the inherited accuracies. ``--again`` takes the second run's accuracies from an earlier run's raw JSON instead of
training. Raw: benchmarks/out/standalone_noise.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.oneshot_rank import dataset
from benchmarks.proxy_truth import OUT
from searchspace.counter import count
from searchspace.spec import ArchSpec
from searchspace.table import format_table
from workers.search import rank_agreement
from workers.search.proxy_check import full_train
from workers.training import TrainRecipe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", required=True, help="an oneshot_rank.py results JSON")
    parser.add_argument("--datasets", default="textures")
    parser.add_argument("--full-epochs", type=int, default=6)
    parser.add_argument("--resolution", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--again", help="an earlier run's raw JSON: its second-run accuracies, not trained again")
    args = parser.parse_args()
    command = "python benchmarks/standalone_noise.py " + shlex.join(sys.argv[1:])
    print(f"$ {command}", flush=True)
    ranked = json.loads(Path(args.rank).read_text())["datasets"]
    recipe = TrainRecipe(epochs=args.full_epochs, resolution=args.resolution, seed=args.seed)
    rows, truth_rows, raw = [], [], {}
    for source in args.datasets.split(","):
        r = ranked[source]
        start = time.process_time()
        if args.again:
            earlier = json.loads(Path(args.again).read_text())["datasets"][source]
            again, cpu = earlier["again"], earlier["cpu_seconds"]
        else:
            again = [full_train(key, dataset(source), recipe, 1)["accuracy"] for key in r["candidates"]]
            cpu = time.process_time() - start
        keep = [i for i, (f, g) in enumerate(zip(r["full"], again, strict=True)) if f is not None and g is not None]
        ceiling = rank_agreement([r["full"][i] for i in keep], [again[i] for i in keep])
        inherited = rank_agreement([r["inherited"][i] for i in keep], [again[i] for i in keep])
        mean = [(r["full"][i] + again[i]) / 2 for i in keep]
        macs = [float(count(ArchSpec.from_string(r["candidates"][i])).macs) for i in keep]
        vs_mean = rank_agreement([r["inherited"][i] for i in keep], mean)
        macs_mean, macs_inherited = rank_agreement(macs, mean), rank_agreement(macs, [r["inherited"][i] for i in keep])
        raw[source] = {"again": again, "cpu_seconds": cpu, "ceiling": ceiling.to_dict(),
                       "inherited_vs_again": inherited.to_dict(), "inherited_vs_mean": vs_mean.to_dict(),
                       "macs_vs_mean": macs_mean.to_dict(), "macs_vs_inherited": macs_inherited.to_dict()}
        rows.append([source, len(keep), ceiling.kendall, ceiling.kendall_p, inherited.kendall,
                     r["agreement"]["kendall"]])
        truth_rows.append([source, vs_mean.kendall, vs_mean.kendall_p, macs_mean.kendall, macs_inherited.kendall])
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "standalone_noise.json").write_text(json.dumps({"command": command, "datasets": raw}, indent=2) + "\n")
    print(format_table(["dataset", "n", "Kendall stand-alone seed 0 vs seed 1", "p", "inherited vs seed 1",
                        "inherited vs seed 0 (rank run)"], rows))
    print("\nagainst the mean of both stand-alone runs (Kendall tau):")
    print(format_table(["dataset", "inherited vs mean", "p", "MACs vs mean", "MACs vs inherited"], truth_rows))
    print(f"command: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
