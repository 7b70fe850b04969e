"""ArchSpec: JSON and one-line round trips, validation errors naming their field, counter vs module vs fvcore."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings

import searchspace as ss
from searchspace import zoo
from searchspace.blocks import MBConvSpec
from tests.searchspace.fvcore_count import fvcore_macs
from tests.searchspace.strategies import arch_specs

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(arch_specs())
@FAST
def test_json_round_trip(spec: ss.ArchSpec) -> None:
    again = ss.ArchSpec.from_json(spec.to_json())
    assert again == spec
    assert again.to_json() == spec.to_json()


@given(arch_specs())
@FAST
def test_string_round_trip(spec: ss.ArchSpec) -> None:
    line = spec.to_string()
    assert "\n" not in line
    assert ss.ArchSpec.from_string(line) == spec


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_round_trips(name: str) -> None:
    spec = zoo.get(name)
    assert ss.ArchSpec.from_json(spec.to_json()) == spec
    assert ss.ArchSpec.from_string(spec.to_string()) == spec


@given(arch_specs(max_resolution=48))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_counter_matches_module_and_fvcore(spec: ss.ArchSpec) -> None:
    counted = ss.count(spec)
    model = ss.build(spec)
    assert counted.params == sum(p.numel() for p in model.parameters())
    assert counted.macs == fvcore_macs(model, spec.resolution, spec.in_chans)


@given(arch_specs())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_forward_shape(spec: ss.ArchSpec) -> None:
    model = ss.build(spec).eval()
    with torch.no_grad():
        out = model(torch.randn(2, spec.in_chans, spec.resolution, spec.resolution))
    assert out.shape == (2, spec.num_classes)


def test_feature_maps_at_strides_8_16_32() -> None:
    spec = zoo.get("efficientnet_b0")
    model = ss.build(spec, features=True).eval()
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 224, 224))
    assert [m.shape[-1] for m in maps] == [28, 14, 7]
    assert [m.shape[1] for m in maps] == [40, 112, 320]
    assert ss.count(spec, features=True).params == sum(p.numel() for p in model.parameters())


def _b0() -> dict:
    return zoo.get("efficientnet_b0").to_dict()


def _with(path: list, value: object) -> dict:
    data = _b0()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


BAD_SPECS = [
    (["stages", 1, "block", "kernel"], 4, "stages[1].block.kernel"),
    (["stages", 1, "block", "stride"], 3, "stages[1].block.stride"),
    (["stages", 2, "block", "out_chs"], -8, "stages[2].block.out_chs"),
    (["stages", 0, "block", "se_ratio"], 1.5, "stages[0].block.se_ratio"),
    (["stages", 0, "block", "kind"], "transformer", "stages[0].block.kind"),
    (["stages", 3, "repeats"], 0, "stages[3].repeats"),
    (["stages", 3, "block", "act"], "gelu", "stages[3].block.act"),
    (["stages", 3, "block", "expansion"], float("nan"), "stages[3].block.expansion"),
    (["stem", "out_chs"], 10**9, "stem.out_chs"),
    (["head", "dropout"], 2.0, "head.dropout"),
    (["resolution"], 0, "resolution"),
    (["num_classes"], "ten", "num_classes"),
    (["stages", 1, "block", "__class__"], "x", "stages[1].block.__class__"),
    (["name"], "a'; import os", "name"),
    (["schema_version"], 99, "schema_version"),
    (["stages"], [], "stages"),
]


@pytest.mark.parametrize(("path", "value", "field"), BAD_SPECS, ids=[b[2] for b in BAD_SPECS])
def test_validation_error_names_field(path: list, value: object, field: str) -> None:
    with pytest.raises(ss.SpecError) as info:
        ss.ArchSpec.from_dict(_with(path, value))
    assert info.value.field == field
    assert field in str(info.value)


def test_error_lists_allowed_values() -> None:
    with pytest.raises(ss.SpecError, match=r"kernel: must be one of 1, 3, 5, 7, 9; got 4"):
        MBConvSpec(out_chs=16, kernel=4)


def test_invalid_json_is_a_spec_error() -> None:
    with pytest.raises(ss.SpecError, match="not valid JSON"):
        ss.ArchSpec.from_json("{")
    with pytest.raises(ss.SpecError, match="stages"):
        ss.ArchSpec.from_json(json.dumps({"stem": {"out_chs": 8}, "head": {}}))
