"""Detection training throughput: the detection loop (workers.detection.fit_detector) vs a bare PyTorch loop on
the same model and data.

    python benchmarks/detection_throughput.py [--images 240] [--resolution 64] [--epochs 4] [--runs 5]
                                              [--threads 1] [--head ssdlite|yolox]

Both train the same seeded tiny detector (an MBConv backbone of 16-64 channels; SSDLite with one extra layer,
or a YOLOX head on a PAN-lite neck) on the same builtin-boxes training images, same batch size, AdamW, timed
over their training steps only (``DetectionResult.train_seconds``; the per-epoch mAP validation is outside it).
The bare loop: shuffle by index, gather the images and boxes, normalise, forward, the head's loss
(``detection_loss``, the same function), zero_grad, backward, step. The detection loop adds per step the
(identity) augmentation call, gradient clipping and a scheduler step; "ours" runs it with augmentation off, so
that the ratio measures the loop, and "ours + aug" with Kornia's crop, flip and colour jitter moving the boxes.
Within a run the three go in a rotating order, after one discarded warm-up run. Goal: ours >= 0.9 x bare.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from dataclasses import replace

import torch

from searchspace.blocks import MBConvSpec
from searchspace.detection import (
    DetectorSpec,
    NeckSpec,
    SSDLiteHeadSpec,
    YOLOXHeadSpec,
    build_detector,
    count_detector,
)
from searchspace.spec import ArchSpec, HeadSpec, StageSpec, StemSpec
from workers.detection import BoxDatasetConfig, detection_loss, fit_detector, fitted
from workers.latency import cpu_model
from workers.training import TrainRecipe


def tiny(head: str, resolution: int) -> DetectorSpec:
    stages = tuple(StageSpec(block=MBConvSpec(out_chs=c, stride=2, kernel=3, expansion=3.0)) for c in (24, 32, 48, 64))
    backbone = ArchSpec(stem=StemSpec(out_chs=16), stages=stages, head=HeadSpec(conv_chs=0), resolution=resolution)
    if head == "ssdlite":
        return DetectorSpec(backbone=backbone, num_classes=4, resolution=resolution,
                            head=SSDLiteHeadSpec(extra_chs=(64,), aspect_ratios=(2.0,), min_ratio=0.1, max_ratio=0.6))
    return DetectorSpec(backbone=backbone, neck=NeckSpec(kind="pan_lite", width=32), head=YOLOXHeadSpec(width=32),
                        num_classes=3, resolution=resolution)


def bare_loop(spec: DetectorSpec, dataset: BoxDatasetConfig, recipe: TrainRecipe) -> float:
    """Training images per second of a plain loop over the same data, model init, optimizer and loss."""
    data = dataset.load(spec.resolution, spec.backbone.in_chans)
    train = data.train
    torch.manual_seed(recipe.seed)
    model = build_detector(spec).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    steps = len(train) // recipe.batch_size
    generator = torch.Generator().manual_seed(recipe.seed)
    seconds = 0.0
    for _ in range(recipe.epochs):
        order = torch.randperm(len(train), generator=generator)[: steps * recipe.batch_size].view(steps, -1)
        start = time.perf_counter()
        for idx in order.tolist():
            x = (train.images[idx].float() / 255 - mean) / std
            loss = detection_loss(model, model(x), [train.boxes[i] for i in idx], [train.labels[i] for i in idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds += time.perf_counter() - start
    return steps * recipe.batch_size * recipe.epochs / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=240, help="builtin-boxes images generated")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--head", choices=("ssdlite", "yolox"), default="ssdlite")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    dataset = BoxDatasetConfig(images=args.images)
    spec = tiny(args.head, args.resolution)
    fitted_spec = fitted(spec, 3, 3)
    plain = TrainRecipe(epochs=args.epochs, batch_size=args.batch_size, optimizer="adamw", lr=0.01, weight_decay=0.01,
                        warmup_epochs=0.3, crop_scale=1.0, flip=False, auto_augment="none", device="cpu")
    augmented = replace(plain, crop_scale=0.5, flip=True, auto_augment="trivialaugment")
    ours, ours_aug, bare = [], [], []
    for run in range(args.runs + 1):
        jobs = [lambda seed=run: fit_detector(spec, dataset, replace(plain, seed=seed)).images_per_second,
                lambda seed=run: fit_detector(spec, dataset, replace(augmented, seed=seed)).images_per_second,
                lambda seed=run: bare_loop(fitted_spec, dataset, replace(plain, seed=seed))]
        turn = run % 3  # each loop goes first, second and third in turn: the machine's load drifts
        timed = {(turn + k) % 3: jobs[(turn + k) % 3]() for k in range(3)}
        a, b, c = timed[0], timed[1], timed[2]
        if run:  # run 0 warms up (allocator, oneDNN primitives, Kornia, the data cache)
            ours.append(a)
            ours_aug.append(b)
            bare.append(c)
            print(f"run {run}: ours {a:7.1f} img/s   ours + aug {b:7.1f} img/s   bare {c:7.1f} img/s   "
                  f"ratio {a / c:.3f} ({b / c:.3f} with augmentation)", flush=True)
    cost = count_detector(fitted_spec)
    ratio = statistics.median(ours) / statistics.median(bare)
    aug_ratio = statistics.median(ours_aug) / statistics.median(bare)
    train_images = len(dataset.load(args.resolution).train)
    figures = {
        "command": "python benchmarks/detection_throughput.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "head": args.head, "resolution": args.resolution, "params": cost.params, "macs": cost.macs,
        "train_images": train_images, "epochs": args.epochs, "batch_size": args.batch_size, "runs": args.runs,
        "threads": args.threads, "cpu": cpu_model(), "torch": torch.__version__,
        "ours_median_ips": statistics.median(ours), "ours_aug_median_ips": statistics.median(ours_aug),
        "bare_median_ips": statistics.median(bare), "ratio": ratio, "ratio_with_augmentation": aug_ratio,
    }
    print(f"\n$ {figures['command']}")
    print(f"tiny {args.head} @ {args.resolution}px: {cost.params:,} params, {cost.macs / 1e6:.2f} M MACs; "
          f"{train_images} builtin-boxes training images, batch {args.batch_size}, {args.epochs} epoch(s), "
          f"{args.threads} thread(s), {cpu_model()}, torch {torch.__version__}")
    print(f"median over {args.runs} runs: detection loop / bare loop = {ratio:.3f} (goal >= 0.9); with crop, flip "
          f"and colour jitter {aug_ratio:.3f}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
