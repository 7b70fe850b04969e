"""The detection search space: every sampled point is a valid DetectorSpec of the space's choices that
round-trips through its one-line and JSON forms, with stable parameter names."""

from __future__ import annotations

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchspace.detection import (
    DETECTION_SPACE,
    DetectorSpace,
    DetectorSpec,
    count_detector,
    sample_detector,
    spec_from_dict,
    spec_from_string,
)
from searchspace.errors import SpecError
from searchspace.spec import ArchSpec
from searchspace.zoo import get

optuna.logging.set_verbosity(optuna.logging.WARNING)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), classes=st.integers(1, 20))
def test_every_sample_is_a_valid_detector_that_round_trips(seed: int, classes: int) -> None:
    space = DetectorSpace(widths=(8, 24), head_convs=(0, 2))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    spec = sample_detector(trial, DETECTION_SPACE, space, classes)
    assert spec.object_classes == classes and spec.head.kind in space.heads and spec.neck.kind in space.necks
    assert spec.neck.kind == "none" or spec.neck.width in space.widths
    assert spec.resolution == spec.backbone.resolution == 96 and spec.feature_strides == (8, 16, 32)
    assert spec_from_string(spec.to_string()) == spec == DetectorSpec.from_json(spec.to_json())
    assert spec_from_dict(spec.to_dict()) == spec
    names = set(trial.params)
    assert {"detector/head", "detector/neck", "detector/width", "resolution", "stage0/kind"} <= names
    assert ("detector/head_convs" in names) == (spec.head.kind == "yolox")
    cost = count_detector(spec)
    assert cost.params > 0 and cost.macs > 0


def test_a_fixed_trial_gives_the_detector_it_names() -> None:
    params = {f"stage{i}/{k}": v for i in range(5) for k, v in (
        ("kind", "mbconv"), ("width", 1.0), ("kernel", 3), ("expansion", 3.0), ("se_ratio", 0.0), ("act", "relu"),
        ("repeats", DETECTION_SPACE.stages[i].repeats))}
    params.update({"resolution": 96, "detector/head": "yolox", "detector/neck": "pan_lite", "detector/width": 32,
                   "detector/head_convs": 1})
    spec = sample_detector(optuna.trial.FixedTrial(params), DETECTION_SPACE, DetectorSpace(), 3)
    assert (spec.head.width, spec.head.convs, spec.neck.kind, spec.neck.width, spec.num_classes) == (32, 1, "pan_lite", 32, 3)
    params["detector/head"] = "ssdlite"
    spec = sample_detector(optuna.trial.FixedTrial(params), DETECTION_SPACE, DetectorSpace(), 3)
    assert spec.head.extra_chs == (64, 32) and spec.num_classes == 4  # the background class added


def test_classifier_keys_still_read_as_archspecs() -> None:
    spec = get("mobilenet_v2")
    assert spec_from_string(spec.to_string()) == spec and isinstance(spec_from_dict(spec.to_dict()), ArchSpec)


@pytest.mark.parametrize(("field", "value"), [("heads", ("rcnn",)), ("necks", ()), ("widths", (4,)),
                                              ("head_convs", (1, 1))])
def test_bad_choices_name_their_field(field: str, value: tuple) -> None:
    with pytest.raises(SpecError) as err:
        DetectorSpace(**{field: value})
    assert err.value.field.startswith(field)
    assert DetectorSpace.from_dict(DetectorSpace(widths=(16,)).to_dict()) == DetectorSpace(widths=(16,))
