"""The detection search space: a backbone SearchSpace (the same stage choices) plus the neck and head choices.

``sample_detector(trial, space, detector, classes)`` asks Optuna for the backbone under the backbone space's names
(``stage3/kernel``, ``resolution``) and for the detector parts under ``detector/...`` (head kind, neck kind, their
width, the YOLOX head's conv count), and always returns a valid DetectorSpec predicting ``classes`` object classes
on the backbone's stride 8, 16 and 32 maps:

- ``ssdlite``: SSDLite's depthwise-separable predictors, with two extra layers (2 x width and width channels);
- ``yolox``: the decoupled anchor-free head at ``width`` channels with ``convs`` depthwise-separable convs per
  branch.

A neck other than ``none`` works at the sampled width. ``DETECTION_SPACE`` is a skeleton whose stages reach
stride 32 (stem stride 2, four stride-2 stages) at the built-in box sets' 96 px (``searchspace.space``'s
``detection`` skeleton).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from searchspace.checks import check_choice, check_int
from searchspace.codec import from_dict, to_dict
from searchspace.detection.spec import (
    HEAD_KINDS,
    NECK_KINDS,
    DetectorSpec,
    NeckSpec,
    SSDLiteHeadSpec,
    YOLOXHeadSpec,
)
from searchspace.errors import SpecError
from searchspace.space import DETECTION_SPACE, SearchSpace, sample
from searchspace.spec import MAX_CHANNELS, ArchSpec

if TYPE_CHECKING:
    import optuna

__all__ = ["DETECTION_SPACE", "DetectorSpace", "detector_of", "sample_detector", "spec_from_dict", "spec_from_string"]
STRIDES = (8, 16, 32)


def _choices(name: str, values: Any, check: Any) -> tuple[Any, ...]:
    if isinstance(values, list):
        values = tuple(values)
    if not isinstance(values, tuple) or not values or len(set(values)) != len(values):
        raise SpecError(name, "must be a non-empty list without repeats")
    for i, v in enumerate(values):
        check(f"{name}[{i}]", v)
    return values


@dataclass(frozen=True, kw_only=True)
class DetectorSpace:
    """The detector choices searched beside the backbone's stage choices."""

    heads: tuple[str, ...] = tuple(HEAD_KINDS)
    necks: tuple[str, ...] = NECK_KINDS
    widths: tuple[int, ...] = (16, 32, 48)
    head_convs: tuple[int, ...] = (1, 2)

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", _choices("heads", self.heads, lambda f, v: check_choice(f, v, tuple(HEAD_KINDS))))
        object.__setattr__(self, "necks", _choices("necks", self.necks, lambda f, v: check_choice(f, v, NECK_KINDS)))
        object.__setattr__(self, "widths", _choices("widths", self.widths, lambda f, v: check_int(f, v, 8, MAX_CHANNELS)))
        object.__setattr__(self, "head_convs", _choices("head_convs", self.head_convs, lambda f, v: check_int(f, v, 0, 4)))

    def size(self) -> int:
        """Distinct detector configurations per backbone (the YOLOX conv count only under YOLOX)."""
        per_head = sum(len(self.head_convs) if h == "yolox" else 1 for h in self.heads)
        return per_head * len(self.necks) * len(self.widths)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> DetectorSpace:
        return from_dict(cls, data, "detector")


def detector_of(backbone: ArchSpec, head: str, neck: str, width: int, convs: int, classes: int) -> DetectorSpec:
    """The detector a sample describes: ``classes`` object classes (SSDLite adds the background)."""
    neck_spec = NeckSpec() if neck == "none" else NeckSpec(kind=neck, width=width)
    if head == "ssdlite":
        head_spec: SSDLiteHeadSpec | YOLOXHeadSpec = SSDLiteHeadSpec(extra_chs=(2 * width, width))
        num_classes = classes + 1
    else:
        head_spec = YOLOXHeadSpec(width=width, convs=convs)
        num_classes = classes
    return DetectorSpec(backbone=backbone, neck=neck_spec, head=head_spec, feature_strides=STRIDES,
                        num_classes=num_classes, resolution=backbone.resolution)


def sample_detector(trial: optuna.trial.BaseTrial, space: SearchSpace, detector: DetectorSpace,
                    classes: int) -> DetectorSpec:
    """Define-by-run: one DetectorSpec from the trial's suggestions (see the module docstring)."""
    backbone = sample(trial, space)
    head = trial.suggest_categorical("detector/head", detector.heads)
    neck = trial.suggest_categorical("detector/neck", detector.necks)
    width = trial.suggest_categorical("detector/width", detector.widths)
    convs = trial.suggest_categorical("detector/head_convs", detector.head_convs) if head == "yolox" else 0
    try:
        return detector_of(backbone, head, neck, width, convs, classes)
    except SpecError as err:
        if neck != "pan_lite":
            raise
        raise SpecError("detector.necks", f"pan_lite cannot follow this backbone: {err}") from None


def spec_from_string(line: str) -> ArchSpec | DetectorSpec:
    """A classifier's or a detector's one-line form read back (a detector's starts with ``det:``)."""
    return DetectorSpec.from_string(line) if line.startswith("det:") else ArchSpec.from_string(line)


def spec_from_dict(data: Any) -> ArchSpec | DetectorSpec:
    """A classifier's or a detector's JSON form read back (a detector's has a ``backbone``)."""
    return DetectorSpec.from_dict(data) if isinstance(data, dict) and "backbone" in data else ArchSpec.from_dict(data)
