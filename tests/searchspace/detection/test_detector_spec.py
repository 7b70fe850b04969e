"""DetectorSpec: validation naming the field, the JSON and one-line round trips, the expansion split."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

import searchspace as ss
from searchspace import zoo as classifiers
from searchspace.blocks import FireSpec
from searchspace.detection import DetectorSpec, NeckSpec, SSDLiteHeadSpec, YOLOXHeadSpec, zoo
from searchspace.detection.taps import split_expansion
from searchspace.errors import SpecError
from tests.searchspace.detection.strategies import detectors

BASE = zoo.get("yolox_nano_style")


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_detectors_round_trip(name: str) -> None:
    spec = zoo.get(name)
    assert DetectorSpec.from_json(spec.to_json()) == spec
    assert DetectorSpec.from_string(spec.to_string()) == spec
    assert "\n" not in spec.to_string()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(detectors())
def test_random_detectors_round_trip(spec: DetectorSpec) -> None:
    assert DetectorSpec.from_dict(json.loads(spec.to_json(indent=None))) == spec
    assert DetectorSpec.from_string(spec.to_string()) == spec


@pytest.mark.parametrize(("change", "field"), [
    ({"neck": {"kind": "bifpn"}}, "neck.kind"),
    ({"neck": {"kind": "fpn_lite", "width": 0}}, "neck.width"),
    ({"neck": {"kind": "none", "width": 64}}, "neck.width"),
    ({"neck": {"kind": "pan_lite", "width": 64, "kernel": 4}}, "neck.kernel"),
    ({"head": {"kind": "retina"}}, "head.kind"),
    ({"head": {"kind": "yolox", "width": 0}}, "head.width"),
    ({"head": {"kind": "yolox", "convs": 9}}, "head.convs"),
    ({"head": {"kind": "yolox", "act": "gelu"}}, "head.act"),
    ({"head": {"kind": "ssdlite", "extra_chs": [512, 1]}}, "head.extra_chs[1]"),
    ({"head": {"kind": "ssdlite", "aspect_ratios": [0.5]}}, "head.aspect_ratios[0]"),
    ({"head": {"kind": "ssdlite", "min_ratio": 0.9, "max_ratio": 0.5}}, "head.max_ratio"),
    ({"head": {"kind": "ssdlite", "anchors": 3}}, "head.anchors"),
    ({"feature_strides": [4, 8, 16]}, "feature_strides"),
    ({"resolution": 320}, "backbone.resolution"),
    ({"num_classes": 0}, "num_classes"),
    ({"last_conv": "yes"}, "last_conv"),
    ({"name": "__x"}, "name"),
    ({"colour": "red"}, "colour"),
    ({"schema_version": 2}, "schema_version"),
])
def test_validation_names_the_field(change: dict, field: str) -> None:
    data = BASE.to_dict()
    data.update(change)
    with pytest.raises(SpecError) as err:
        DetectorSpec.from_dict(data)
    assert err.value.field == field


def test_backbone_errors_carry_the_backbone_path() -> None:
    data = BASE.to_dict()
    data["backbone"]["stages"][1]["block"]["kernel"] = 4
    with pytest.raises(SpecError) as err:
        DetectorSpec.from_dict(data)
    assert err.value.field == "backbone.stages[1].block.kernel"
    with pytest.raises(SpecError) as err:
        DetectorSpec.from_string(BASE.to_string().replace("stem:", "stem:k=4,"))
    assert err.value.field == "backbone.stem.kernel"


def test_ssdlite_counts_the_background_class() -> None:
    spec = zoo.get("ssdlite320_mobilenet_v3_large")
    assert spec.object_classes == 90 and BASE.object_classes == 80
    with pytest.raises(SpecError) as err:
        replace(spec, num_classes=1)
    assert err.value.field == "num_classes"


def test_last_conv_needs_a_backbone_head_conv() -> None:
    backbone = replace(BASE.backbone, head=ss.HeadSpec())
    with pytest.raises(SpecError) as err:
        replace(BASE, backbone=backbone, last_conv=True)
    assert err.value.field == "last_conv"


def test_backbone_must_reach_stride_32() -> None:
    backbone = replace(classifiers.get("squeezenet1_1"), resolution=416)  # its last stage is at stride 16
    with pytest.raises(SpecError) as err:
        replace(BASE, backbone=backbone)
    assert err.value.field == "backbone.stages"


def test_pan_lite_needs_halving_maps() -> None:
    """A Fire unit at stride 2 pools without padding in ceil mode: 13 -> 6 at 200 px, where PAN-lite's
    stride-2 conv makes 7; FPN-lite upsamples to any size and takes it."""
    stages = (*BASE.backbone.stages[:-1], ss.StageSpec(block=FireSpec(out_chs=128, stride=2)))
    backbone = replace(BASE.backbone, stages=stages, resolution=200)
    fpn = replace(BASE, backbone=backbone, resolution=200, neck=NeckSpec(kind="fpn_lite", width=32))
    assert fpn.map_sizes() == (25, 13, 6)
    with pytest.raises(SpecError) as err:
        replace(fpn, neck=NeckSpec(kind="pan_lite", width=32))
    assert err.value.field == "neck.kind"


def test_head_specs_validate_directly() -> None:
    assert SSDLiteHeadSpec().anchors_per_location == 6
    assert SSDLiteHeadSpec().scales(6) == pytest.approx((0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.0))
    assert YOLOXHeadSpec(width=96).width == 96
    with pytest.raises(SpecError) as err:
        SSDLiteHeadSpec(kernel=7)
    assert err.value.field == "kernel"


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"])
def test_split_expansion_keeps_every_layer(name: str) -> None:
    """The split network has the same parameters and MACs, and its stride-16 map is the expansion output."""
    spec = classifiers.get(name)
    split = split_expansion(spec)
    assert (ss.count(split).params, ss.count(split).macs) == (ss.count(spec).params, ss.count(spec).macs)
    stage = split.feature_stages()[1]
    assert split.stages[stage].block.kind == "conv"
    assert split.stages[stage + 1].block.kind == "mbconv" and split.stages[stage + 1].block.expansion == 1.0


def test_split_expansion_refuses_blocks_it_cannot_split() -> None:
    with pytest.raises(SpecError) as err:
        split_expansion(classifiers.get("shufflenet_v2_x1_0"))
    assert err.value.field.startswith("stages[")
    with pytest.raises(SpecError) as err:
        split_expansion(classifiers.get("efficientnet_b0"))  # SE sized from the block input
    assert err.value.field.endswith("se_from")
