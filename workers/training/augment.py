"""Training-time augmentation on normalised batches, with Kornia: random-resized crop, horizontal flip and
RandAugment or TrivialAugment.

The batches a loop holds are normalised (mean/std of the training split); Kornia's photometric operations want
images in [0, 1], so a batch is un-normalised, clamped, augmented and normalised again. One-channel images are
repeated to three channels for the policies (whose colour operations want RGB) and averaged back. Every random
draw comes from torch's global generator, so a seeded run (and a resumed one, which restores that generator) is
reproducible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.training.recipe import AutoAugment, TrainRecipe

if TYPE_CHECKING:
    import torch
    from torch import nn


class Augment:
    """``augment(x)``: a normalised batch (N, C, R, R) -> an augmented, normalised batch of the same shape."""

    def __init__(self, recipe: TrainRecipe, resolution: int, mean: tuple[float, ...], std: tuple[float, ...],
                 device: str = "cpu") -> None:
        import torch

        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.pipeline = pipeline(recipe, resolution)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.pipeline is None:
            return x
        chans = x.shape[1]
        images = (x * self.std + self.mean).clamp_(0.0, 1.0)
        if chans == 1:
            images = images.expand(-1, 3, -1, -1)
        images = self.pipeline(images)
        if chans == 1:
            images = images.mean(1, keepdim=True)
        return (images - self.mean) / self.std


def pipeline(recipe: TrainRecipe, resolution: int) -> nn.Module | None:
    """The Kornia augmentation sequence of ``recipe`` at ``resolution`` (None when it augments nothing)."""
    if not recipe.augments:
        return None
    import kornia.augmentation as K
    from kornia.augmentation.auto import RandAugment, TrivialAugment

    steps: list[nn.Module] = []
    if recipe.crop_scale < 1.0:
        steps.append(K.RandomResizedCrop((resolution, resolution), scale=(recipe.crop_scale, 1.0)))
    if recipe.flip:
        steps.append(K.RandomHorizontalFlip())
    if recipe.auto_augment == AutoAugment.RANDAUGMENT:
        steps.append(RandAugment(n=2, m=9))
    elif recipe.auto_augment == AutoAugment.TRIVIALAUGMENT:
        steps.append(TrivialAugment())
    return K.AugmentationSequential(*steps)
