"""The full-fidelity training recipe (TrainRecipe), described once: the CLI flags, the API and the docs derive
from its fields."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from searchspace.checks import check_bool, check_float, check_int
from searchspace.codec import from_dict
from searchspace.fields import as_dict, check_enum, doc
from workers.latency import CALIBRATION_IMAGES
from workers.training.budget import TrainDevice


class RecipeOptimizer(enum.StrEnum):
    SGD = "sgd"
    ADAMW = "adamw"


class AutoAugment(enum.StrEnum):
    """The automatic augmentation policy (Kornia's implementations), after the crop and the flip."""

    NONE = "none"
    RANDAUGMENT = "randaugment"
    TRIVIALAUGMENT = "trivialaugment"


@dataclass(frozen=True, kw_only=True)
class TrainRecipe:
    """How one architecture is trained at full fidelity.

    The learning rate warms up linearly per step over ``warmup_epochs`` (at most half the run), then follows a
    cosine to 0 at the last step. Each epoch the weights (and their exponential moving average, when ``ema_decay`` > 0) are validated;
    the better of the two at the best epoch is the selected checkpoint, and only it is scored on the test split.
    Training stops early once ``patience`` epochs in a row have not improved the best validation accuracy.
    """

    epochs: int = field(default=30, metadata=doc("training epochs"))
    resolution: int | None = field(default=None, metadata=doc(
        "input resolution in px (null: the data's own image size; ImageFolder with mixed sizes: the spec's)"))
    batch_size: int = field(default=128, metadata=doc("training batch size"))
    optimizer: RecipeOptimizer = field(default=RecipeOptimizer.SGD,
                                       metadata=doc("sgd (Nesterov momentum) or adamw"))
    lr: float = field(default=0.1, metadata=doc("peak learning rate after the warm-up (AdamW wants about 2e-3)"))
    momentum: float = field(default=0.9, metadata=doc("SGD momentum"))
    warmup_epochs: float = field(default=1.0, metadata=doc("epochs of linear warm-up before the cosine schedule"))
    weight_decay: float = field(default=5e-5, metadata=doc(
        "weight decay on weights only, not on norm parameters and biases (AdamW wants about 0.05)"))
    label_smoothing: float = field(default=0.1, metadata=doc("label smoothing of the cross-entropy loss"))
    crop_scale: float = field(default=0.35, metadata=doc(
        "smallest area fraction of the random-resized crop (1: no crop)"))
    flip: bool = field(default=True, metadata=doc("random horizontal flip"))
    auto_augment: AutoAugment = field(default=AutoAugment.TRIVIALAUGMENT,
                                      metadata=doc("none, randaugment or trivialaugment (Kornia)"))
    ema_decay: float = field(default=0.999, metadata=doc(
        "decay of the per-step exponential moving average of the weights (0: no EMA)"))
    drop_path_rate: float | None = field(default=None, metadata=doc(
        "stochastic depth: drop probability of the last block's residual branch (null: the spec's own)"))
    amp: bool = field(default=True, metadata=doc(
        "mixed precision where the device has it: bfloat16 (or float16 with loss scaling) autocast on CUDA; "
        "never on the CPU, where bfloat16 autocast trained slower"))
    device: TrainDevice = field(default=TrainDevice.AUTO, metadata=doc("auto (CUDA when there is one), cpu or cuda"))
    patience: int = field(default=0, metadata=doc(
        "stop after this many epochs without a better validation accuracy (0: never stop early)"))
    bn_calibration: int = field(default=512, metadata=doc(
        "un-augmented training images that re-estimate batch-norm statistics before each validation (0: off)"))
    eval_batch_size: int = field(default=512, metadata=doc("validation and test batch size"))
    seed: int = field(default=0, metadata=doc("seed of the weights, the batch order and the augmentation"))
    int8: bool = field(default=True, metadata=doc(
        "after training, quantize the selected weights to int8 (ONNX Runtime static quantization, calibrated on "
        f"{CALIBRATION_IMAGES} un-augmented training images), score the int8 model on the test split beside the float one "
        "(int8_test_accuracy) and ship it as model.int8.onnx"))

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1, 10_000)
        if self.resolution is not None:
            check_int("resolution", self.resolution, 8, 2048)
        check_int("batch_size", self.batch_size, 2, 65_536)
        object.__setattr__(self, "optimizer", check_enum("optimizer", self.optimizer, RecipeOptimizer))
        object.__setattr__(self, "auto_augment", check_enum("auto_augment", self.auto_augment, AutoAugment))
        object.__setattr__(self, "device", check_enum("device", self.device, TrainDevice))
        for name, lo, hi in (("lr", 1e-8, 10.0), ("momentum", 0.0, 0.999), ("warmup_epochs", 0.0, 10_000.0),
                             ("weight_decay", 0.0, 1.0), ("label_smoothing", 0.0, 0.5), ("crop_scale", 0.05, 1.0),
                             ("ema_decay", 0.0, 0.99999)):
            object.__setattr__(self, name, float(check_float(name, getattr(self, name), lo, hi)))
        if self.drop_path_rate is not None:
            object.__setattr__(self, "drop_path_rate", float(check_float("drop_path_rate", self.drop_path_rate,
                                                                         0.0, 0.9)))
        check_bool("flip", self.flip)
        check_bool("amp", self.amp)
        check_int("patience", self.patience, 0, 10_000)
        check_int("bn_calibration", self.bn_calibration, 0, 10_000_000)
        check_int("eval_batch_size", self.eval_batch_size, 1, 65_536)
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_bool("int8", self.int8)

    @property
    def augments(self) -> bool:
        """Whether any augmentation is on."""
        return self.crop_scale < 1.0 or self.flip or self.auto_augment != AutoAugment.NONE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON; ``int8`` (added after recipes were stored) only when off, so that every earlier recipe
        keeps its bytes (finalize manifests, checkpoints' fingerprints)."""
        data = as_dict(self)
        if self.int8:
            del data["int8"]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> TrainRecipe:
        """From JSON data; unknown keys and bad values are SpecErrors naming the field."""
        return from_dict(cls, data)
