"""Zoo detectors fitted to a detection search (searchspace.detection.fit): the whole detector's counted MACs (backbone,
neck and head) in the detection space's range, by the classification baselines' rule; max_macs caps it."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from searchspace.detection import (
    DetectorSpace,
    adapt_detector,
    count_detector,
    detector_macs_range,
    sample_detector,
)
from searchspace.detection import zoo as detector_zoo
from searchspace.detection.fit import widened_detector
from searchspace.fit import EDGE_MARGIN, WIDTHS
from searchspace.space import DETECTION_SPACE, SearchSpace

BASELINES = ("ssdlite320_mobilenet_v2", "ssdlite320_mobilenet_v3_large", "yolox_nano_style")
CLASSES = 3
# The detection skeleton with narrow choices (mbconv, kernel 3, expansion 1 or 3): its detectors cost far less
# than the zoo's at 96 px, so the baselines must shrink.
SMALL = replace(DETECTION_SPACE.with_choices(kinds=("mbconv",), kernels=(3,), expansions=(1.0, 3.0), se_ratios=(0.0,),
                                             acts=("relu",), repeat_deltas=(0,), width_factors=(0.75, 1.0)),
                num_classes=CLASSES, in_chans=3)
SMALL_DETECTOR = DetectorSpace(widths=(16, 32), head_convs=(1,))


class _Random:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def suggest_categorical(self, name: str, choices: tuple) -> object:
        return self.rng.choice(choices)


@pytest.mark.parametrize(("space", "detector"), [(SMALL, SMALL_DETECTOR),
                                                 (replace(DETECTION_SPACE, num_classes=CLASSES, in_chans=3),
                                                  DetectorSpace())])
def test_the_range_bounds_every_sampled_detector(space: SearchSpace, detector: DetectorSpace) -> None:
    lo, hi = detector_macs_range(space, detector, CLASSES)
    sampled = [count_detector(sample_detector(_Random(seed), space, detector, CLASSES)).macs for seed in range(60)]
    assert lo <= min(sampled) and max(sampled) <= hi


@pytest.mark.parametrize("name", BASELINES)
def test_a_zoo_detector_is_fitted_on_its_whole_counted_macs(name: str) -> None:
    lo, hi = detector_macs_range(SMALL, SMALL_DETECTOR, CLASSES)
    base = detector_zoo.get(name)
    a = adapt_detector(base, SMALL, SMALL_DETECTOR)
    assert a.macs_range == (lo, hi) and a.macs == count_detector(a.spec).macs and a.in_range
    assert a.width < 1.0 and any("neck and head channels" in c for c in a.changes)
    assert a.spec.object_classes == CLASSES and a.spec.resolution == 96 and a.spec.backbone.in_chans == 3
    # above the range before: the rule's target is the upper end pulled in, and no grid width lands closer
    unfitted = replace(base, backbone=replace(base.backbone, resolution=96, in_chans=3), resolution=96,
                       num_classes=a.spec.num_classes)
    assert count_detector(unfitted).macs > hi
    target = hi / EDGE_MARGIN
    inside = [m for w in WIDTHS if (found := widened_detector(unfitted, w)) is not None
              and lo <= (m := count_detector(found[0]).macs) <= hi]
    assert abs(math.log(a.macs / target)) == pytest.approx(min(abs(math.log(m / target)) for m in inside))
    # the neck and head shrank with the backbone: the head's channels are below the zoo design's
    if base.head.kind == "ssdlite":
        assert all(c < b for c, b in zip(a.spec.head.extra_chs, base.head.extra_chs, strict=True))
    else:
        assert a.spec.head.width < base.head.width and a.spec.neck.width < base.neck.width


def test_max_macs_caps_a_detection_baseline_as_it_caps_a_classification_one() -> None:
    lo, hi = detector_macs_range(SMALL, SMALL_DETECTOR, CLASSES)
    cap = (lo + hi) // 3
    a = adapt_detector(detector_zoo.get("yolox_nano_style"), SMALL, SMALL_DETECTOR, max_macs=cap)
    assert a.macs_range == (lo, cap) and lo <= a.macs <= cap
