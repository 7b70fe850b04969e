"""A detection space's cost range and a zoo detector fitted to it, so that a baseline is a fair one for the front.

The rule is the classifier's (``searchspace.fit``), applied to the whole detector's counted MACs (backbone, neck
and head, ``count_detector``):

- the range (``detector_macs_range``): the counted MACs of the space's cheapest and dearest detectors
  (``detector_extremes``): the backbone space's cheapest (dearest) network (``searchspace.fit.extremes``) under
  the detector choice (head, neck, width, YOLOX convs) that costs least (most) on it;
- ``adapt_detector``: the data's classes and channels, the space's largest resolution, then one width multiplier
  on the backbone (``searchspace.fit.widened``) and on the neck and head channels together (SSDLite's extra
  layers, the YOLOX head's width, the neck's width: ``scale_detector``), chosen by ``searchspace.fit.fit_width``:
  kept at 1.0 inside the range, otherwise the grid width whose detector lands inside it, closest to the nearer
  end pulled in by ``EDGE_MARGIN``. A search's ``max_macs`` caps the range as it caps the candidates.
"""

from __future__ import annotations

from dataclasses import replace

from searchspace.detection.counter import count_detector
from searchspace.detection.space import DetectorSpace, detector_of
from searchspace.detection.spec import DetectorSpec
from searchspace.errors import SpecError
from searchspace.fit import Adapted, capped, extremes, fit_width, widened
from searchspace.rounding import make_divisible
from searchspace.space import SearchSpace
from searchspace.spec import ArchSpec

__all__ = ["adapt_detector", "detector_extremes", "detector_macs_range", "scale_detector", "widened_detector"]


def _macs(spec: DetectorSpec) -> int:
    return count_detector(spec).macs


def _choices(backbone: ArchSpec, detector: DetectorSpace, classes: int) -> list[DetectorSpec]:
    """Every valid detector the space's detector choices put on ``backbone``."""
    out = []
    for head in detector.heads:
        for neck in detector.necks:
            for width in detector.widths:
                for convs in detector.head_convs if head == "yolox" else (0,):
                    try:
                        out.append(detector_of(backbone, head, neck, width, convs, classes))
                    except SpecError:  # a PAN-lite neck on maps that do not halve: not a candidate either
                        continue
    return out


def detector_extremes(space: SearchSpace, detector: DetectorSpace, classes: int) -> tuple[DetectorSpec, DetectorSpec]:
    """The detection space's cheapest and dearest detectors by counted MACs (see the module docstring); SpecError
    when no detector choice fits the space's backbones."""
    found = []
    for backbone, pick in zip(extremes(space), (min, max), strict=True):
        options = _choices(backbone, detector, classes)
        if not options:
            raise SpecError("detector", "no neck and head choice fits the space's backbones")
        found.append(pick(options, key=_macs))
    return found[0], found[1]


def detector_macs_range(space: SearchSpace, detector: DetectorSpace, classes: int) -> tuple[int, int]:
    """The counted MACs of the detection space's cheapest and dearest detectors (``detector_extremes``)."""
    cheapest, dearest = detector_extremes(space, detector, classes)
    return _macs(cheapest), _macs(dearest)


def scale_detector(spec: DetectorSpec, width: float) -> DetectorSpec:
    """``spec`` with its neck and head channels (SSDLite's extra layers, the YOLOX head's width) multiplied by
    ``width``, rounded to 8 and at least 8; the backbone is left as it is."""
    if width == 1.0:
        return spec

    def chs(c: int) -> int:
        return max(8, make_divisible(c * width, 8))

    head = spec.head
    head = replace(head, extra_chs=tuple(chs(c) for c in head.extra_chs)) if head.kind == "ssdlite" \
        else replace(head, width=chs(head.width))
    neck = spec.neck if spec.neck.kind == "none" else replace(spec.neck, width=chs(spec.neck.width))
    return replace(spec, head=head, neck=neck)


def widened_detector(spec: DetectorSpec, width: float) -> tuple[DetectorSpec, bool] | None:
    """The whole detector at ``width`` (backbone, neck and head) and whether the backbone's micro-blocks had to
    regroup; None if that gives no valid detector."""
    found = widened(spec.backbone, width)
    if found is None:
        return None
    backbone, regrouped = found
    try:
        return replace(scale_detector(spec, width), backbone=backbone), regrouped
    except SpecError:
        return None


def adapt_detector(base: DetectorSpec, space: SearchSpace, detector: DetectorSpace, name: str = "",
                   max_macs: int | None = None) -> Adapted:
    """``base`` fitted to the detection search of ``space`` (sized to the data: ``num_classes`` object classes,
    ``in_chans``) and ``detector`` (see the module docstring); SpecError when it cannot be rebuilt so."""
    resolution = max(space.resolutions)
    classes = space.num_classes + (1 if base.head.kind == "ssdlite" else 0)
    backbone = replace(base.backbone, in_chans=space.in_chans, resolution=resolution)
    spec = replace(base, backbone=backbone, resolution=resolution, num_classes=classes)
    lo, hi = capped(*detector_macs_range(space, detector, space.num_classes), max_macs)
    spec, width, changes = fit_width(spec, lo, hi, macs_of=_macs, widen=widened_detector)
    spec = DetectorSpec.from_dict(spec.to_dict())  # validated as a whole
    cost = count_detector(spec)
    notes = [f"{space.num_classes} object classes", f"resolution {base.resolution} -> {resolution}", *changes,
             *([f"backbone, neck and head channels x{width:.3g}"] if width != 1.0 else [])]
    return Adapted(name=name or base.name, spec=spec, width=width, macs=cost.macs,
                   params=cost.params, macs_range=(lo, hi), changes=tuple(notes))
