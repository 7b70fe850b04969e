"""Detectors: a backbone ArchSpec with a neck and an SSDLite or YOLOX head; spec, analytic count, builder."""

from __future__ import annotations

from searchspace.detection.counter import DetectorCount, Level, count_detector
from searchspace.detection.spec import HEAD_KINDS, NECK_KINDS, DetectorSpec, NeckSpec, SSDLiteHeadSpec, YOLOXHeadSpec


def build_detector(spec: DetectorSpec):  # noqa: ANN201 - lazily imports torch
    """The detector module for ``spec`` (see ``searchspace.detection.assembly.build_detector``)."""
    from searchspace.detection.assembly import build_detector as build

    return build(spec)


__all__ = [
    "HEAD_KINDS",
    "NECK_KINDS",
    "DetectorCount",
    "DetectorSpec",
    "Level",
    "NeckSpec",
    "SSDLiteHeadSpec",
    "YOLOXHeadSpec",
    "build_detector",
    "count_detector",
]
