"""Detectors: a backbone ArchSpec with a neck and an SSDLite or YOLOX head; spec, analytic count, builder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from searchspace.detection.counter import DetectorCount, Level, count_detector
from searchspace.detection.fit import adapt_detector, detector_extremes, detector_macs_range
from searchspace.detection.space import (
    DETECTION_SPACE,
    DetectorSpace,
    detector_of,
    sample_detector,
    spec_from_dict,
    spec_from_string,
)
from searchspace.detection.spec import (
    HEAD_KINDS,
    NECK_KINDS,
    DetectorSpec,
    NeckSpec,
    SSDLiteHeadSpec,
    YOLOXHeadSpec,
)

if TYPE_CHECKING:
    from torch import nn


def build_detector(spec: DetectorSpec) -> nn.Module:
    """The detector module for ``spec`` (torch is imported here, lazily; see ``assembly.build_detector``)."""
    from searchspace.detection.assembly import build_detector as build

    return build(spec)


__all__ = [
    "DETECTION_SPACE",
    "HEAD_KINDS",
    "NECK_KINDS",
    "DetectorCount",
    "DetectorSpace",
    "DetectorSpec",
    "Level",
    "NeckSpec",
    "SSDLiteHeadSpec",
    "YOLOXHeadSpec",
    "adapt_detector",
    "build_detector",
    "count_detector",
    "detector_extremes",
    "detector_macs_range",
    "detector_of",
    "sample_detector",
    "spec_from_dict",
    "spec_from_string",
]
