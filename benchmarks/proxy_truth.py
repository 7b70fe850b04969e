"""Proxy truth on data of different character: does today's default proxy rank architectures as full-fidelity
training does, and which proxy setting would (``workers.search.proxy_check``, the ``proxy-check`` command)?

    python benchmarks/proxy_truth.py [--datasets digits,shapes,textures] [--candidates 6] [--full-epochs 10]
                                     [--full-resolution 32] [--resolutions 16,32] [--epochs 1,3]
                                     [--subsets 0.5,1.0] [--workers 2] [--min-correlation 0.6]

Per dataset: ``--candidates`` random architectures of the default proxy space (seeded) are trained at every
setting of the grid (the default grid holds today's search default: 32 px, 3 epochs, all the data) and once at
full fidelity (the default TrainRecipe but ``--full-epochs`` epochs at ``--full-resolution`` px), as Ray tasks of
one CPU each; the table gives each setting's Spearman and Kendall with the full-fidelity test accuracies and its
cost in CPU-seconds. Results go to benchmarks/out/proxy_truth.json.

The three datasets differ in what tells the classes apart:
  digits    8x8 handwritten digits (scikit-learn), upsampled: stroke layout, nearly every network learns it;
  shapes    the built-in 32x32 grey shapes: outline and arrangement of parts under clutter and noise;
  textures  generated here (``make_textures``): 32x32 colour images of 10 texture families (gratings at four
            orientations, checkerboard, dot lattice, rings, white noise, blob noise, plaid) with random frequency,
            phase, rotation, colours and noise: the class is a global statistic of frequency and orientation, not
            a local shape, and the images have three channels. Written once as an ImageFolder directory under
            benchmarks/out/textures (CIFAR-style natural images are not available offline).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from searchspace.table import format_table
from workers.data import DatasetConfig
from workers.runtime import ensure_ray
from workers.search import ProxyCheckConfig, proxy_check
from workers.search.proxy_check import default_setting
from workers.training import TrainRecipe

OUT = Path(__file__).resolve().parent / "out"
TEXTURES = ("horizontal", "vertical", "diagonal", "antidiagonal", "checker", "dots", "rings", "white_noise",
            "blobs", "plaid")


def _texture(label: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """One (size, size) texture of class ``label`` in [-1, 1]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    tilt = rng.uniform(-0.25, 0.25)  # about +-15 degrees
    u = xx * np.cos(tilt) + yy * np.sin(tilt)
    v = -xx * np.sin(tilt) + yy * np.cos(tilt)
    freq, phase = rng.uniform(3.0, 7.0), rng.uniform(0, 2 * np.pi)
    wave = {0: lambda: np.sin(2 * np.pi * freq * v + phase), 1: lambda: np.sin(2 * np.pi * freq * u + phase),
            2: lambda: np.sin(2 * np.pi * freq * (u + v) / np.sqrt(2) + phase),
            3: lambda: np.sin(2 * np.pi * freq * (u - v) / np.sqrt(2) + phase),
            4: lambda: np.sign(np.sin(2 * np.pi * freq * u / 2 + phase) * np.sin(2 * np.pi * freq * v / 2 + phase)),
            5: lambda: (np.sin(2 * np.pi * freq * u + phase) * np.sin(2 * np.pi * freq * v + phase) > 0.6) * 2.0 - 1,
            6: lambda: np.sin(2 * np.pi * freq * np.hypot(u - rng.uniform(0.2, 0.8), v - rng.uniform(0.2, 0.8))
                              + phase),
            7: lambda: rng.uniform(-1, 1, (size, size)),
            8: lambda: _blobs(rng, size),
            9: lambda: 0.5 * (np.sin(2 * np.pi * freq * u + phase) + np.sin(2 * np.pi * freq * v + phase))}[label]()
    return np.clip(wave + rng.normal(0, 0.35, (size, size)), -1, 1)


def _blobs(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-pass noise: white noise blurred in the frequency domain, scaled to [-1, 1]."""
    noise = np.fft.fft2(rng.normal(size=(size, size)))
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size)))
    smooth = np.real(np.fft.ifft2(noise * np.exp(-(f / 0.08) ** 2)))
    return smooth / (np.abs(smooth).max() + 1e-6)


def make_textures(root: Path, per_class: int = 150, size: int = 32, seed: int = 0) -> Path:
    """The textures ImageFolder (one PNG directory per class), generated once from ``seed``."""
    from PIL import Image

    done = root / ".complete"
    if done.exists():
        return root
    rng = np.random.default_rng(seed)
    for label, name in enumerate(TEXTURES):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            t = (_texture(label, rng, size) + 1) / 2  # [0, 1]
            dark, light = rng.uniform(0, 0.45, 3), rng.uniform(0.55, 1, 3)
            if rng.random() < 0.5:
                dark, light = light, dark
            rgb = dark[None, None, :] + t[..., None] * (light - dark)[None, None, :]
            Image.fromarray((rgb * 255).astype(np.uint8), "RGB").save(root / name / f"{i:04d}.png")
    done.write_text("ok\n")
    return root


def _list(kind: type) -> object:
    return lambda text: tuple(kind(v) for v in text.split(","))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,shapes,textures")
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--full-epochs", type=int, default=10)
    parser.add_argument("--full-resolution", type=int, default=32)
    parser.add_argument("--resolutions", type=_list(int), default=(16, 32))
    parser.add_argument("--epochs", type=_list(int), default=(1, 3))
    parser.add_argument("--subsets", type=_list(float), default=(0.5, 1.0))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--min-correlation", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("$ python benchmarks/proxy_truth.py " + shlex.join(sys.argv[1:]))
    ensure_ray(args.workers)
    recipe = TrainRecipe(epochs=args.full_epochs, resolution=args.full_resolution)
    default = default_setting()
    results = {}
    for source in args.datasets.split(","):
        path = str(make_textures(OUT / "textures")) if source == "textures" else source
        config = ProxyCheckConfig(dataset=DatasetConfig(source=path), candidates=args.candidates, seed=args.seed,
                                  resolutions=args.resolutions, epochs=args.epochs, subsets=args.subsets,
                                  recipe=recipe, min_correlation=args.min_correlation, workers=args.workers)
        start = time.perf_counter()
        report = proxy_check(config)
        wall = time.perf_counter() - start
        rows = []
        for r in report.settings:
            a = r.agreement
            mark = ("recommended " if r is report.recommended else "") + ("default" if r.setting == default else "")
            rows.append([str(r.setting), None if a is None else a.spearman, None if a is None else a.kendall,
                         r.cpu_seconds, mark.strip()])
        full = ", ".join("-" if a is None else f"{a:.3f}" for a in report.full_accuracies)
        print(f"\n{source}: {args.candidates} candidates; full fidelity ({args.full_epochs} epochs at "
              f"{args.full_resolution} px, test accuracies {full}): {report.full_cpu_seconds:.0f} CPU-s; "
              f"wall {wall:.0f} s")
        print(format_table(["proxy setting", "Spearman", "Kendall", "CPU-s", ""], rows))
        for error in report.errors:
            print(f"failed: {error}")
        print(report.sentence)
        results[source] = {**report.to_dict(), "wall_seconds": wall}
        OUT.mkdir(exist_ok=True)  # after every dataset: a long run that is stopped keeps what it measured
        (OUT / "proxy_truth.json").write_text(json.dumps(results, indent=2) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
