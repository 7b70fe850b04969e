"""The torch-free latency table: keys, the space's parts, validation, JSON round trip and prediction."""

from __future__ import annotations

import math
import sys
import time

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchspace.errors import SpecError
from searchspace.latency_keys import network_parts, space_parts
from searchspace.latency_table import (
    Correction,
    DeviceDescription,
    DeviceProfile,
    LatencyEntry,
    MissingEntryError,
    predict,
    table_sum,
)
from searchspace.space import SearchSpace, StageSpace, sample
from tests.searchspace.strategies import arch_specs

TINY = SearchSpace(
    stages=(StageSpace(stride=1, out_chs=8, repeats=1, kinds=("mbconv", "ghost"), kernels=(3,), expansions=(1.0, 3.0),
                       se_ratios=(0.0,), acts=("relu",), repeat_deltas=(0, 1), width_factors=(1.0,)),
            StageSpace(stride=2, out_chs=16, repeats=1, kinds=("mbconv",), kernels=(3, 5), expansions=(3.0,),
                       se_ratios=(0.0, 0.25), acts=("relu",), repeat_deltas=(0,), width_factors=(1.0, 1.5))),
    resolutions=(16, 24), stem_chs=8, head_chs=32, num_classes=5,
)


def _specs(space: SearchSpace, n: int, seed: int = 0) -> list:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [sample(study.ask(), space) for _ in range(n)]


def _profile(keys: object, ms: float = 0.5, correction: Correction | None = None) -> DeviceProfile:
    return DeviceProfile(device=DeviceDescription(name="test"), correction=correction or Correction(),
                         entries={k: LatencyEntry(ms=ms, spread_ms=0.01, repeats=5) for k in keys})


def test_every_sampled_network_is_covered_by_its_space_parts() -> None:
    keys = set(space_parts(TINY))
    for spec in _specs(TINY, 60):
        assert {part.key for part in network_parts(spec)} <= keys


def test_space_parts_count_stems_blocks_and_heads() -> None:
    roles = [part.role for part in space_parts(TINY).values()]
    assert roles.count("stem") == 2  # one per resolution
    assert roles.count("head") == 4  # two widths of the last stage x two resolutions
    assert roles.count("block") > 0


def test_keys_name_the_part_and_its_input_shape() -> None:
    spec = _specs(TINY, 1)[0]
    parts = network_parts(spec)
    assert parts[0].key.startswith("stem:") and parts[0].key.endswith(f"|3x{spec.resolution}x{spec.resolution}")
    assert parts[-1].key.endswith("|classes=5")
    assert len(parts) == spec.num_blocks + 2


def test_prediction_is_the_corrected_sum_and_fast() -> None:
    spec = _specs(TINY, 1)[0]
    profile = _profile(space_parts(TINY), 0.5, Correction(scale=1.1, offset_ms=0.2, fitted_on=10))
    n = spec.num_blocks + 2
    assert table_sum(spec, profile) == pytest.approx(0.5 * n)
    assert predict(spec, profile) == pytest.approx(1.1 * 0.5 * n + 0.2)
    start = time.perf_counter()
    for _ in range(200):
        predict(spec, profile)
    assert (time.perf_counter() - start) / 200 < 1e-3


def test_a_missing_entry_names_the_part_and_its_key() -> None:
    spec = _specs(TINY, 1)[0]
    parts = network_parts(spec)
    profile = _profile([p.key for p in parts if p.where != "stages[1].blocks[0]"])
    with pytest.raises(MissingEntryError, match=r"stages\[1\]\.blocks\[0\]") as err:
        predict(spec, profile, "my-board")
    missing = next(p for p in parts if p.where == "stages[1].blocks[0]")
    assert "my-board" in str(err.value) and err.value.key == missing.key


@pytest.mark.parametrize(("entry", "field"), [
    ({"ms": float("nan")}, "ms"), ({"ms": -1.0}, "ms"), ({"ms": 0}, "ms"),
    ({"ms": 1e300}, "ms"), ({"ms": "1"}, "ms"), ({"ms": float("inf")}, "ms"),
    ({"ms": 1.0, "spread_ms": -0.1}, "spread_ms"), ({"ms": 1.0, "bogus": 1}, "bogus"), ({}, "entries"),
])
def test_hostile_entries_name_their_field(entry: dict, field: str) -> None:
    with pytest.raises(SpecError) as err:
        DeviceProfile.from_dict({"device": {}, "entries": {"mbconv:c=8|8x8x8": entry}})
    assert err.value.field.startswith("entries[mbconv:c=8|8x8x8]")
    assert field in str(err.value)


@pytest.mark.parametrize(("data", "field"), [
    ([], "profile"), ({"entries": {}}, "device"), ({"device": {}}, "entries"), ({"device": {}, "entries": []}, "entries"),
    ({"device": {"runtime": "tvm"}, "entries": {}}, "device.runtime"), ({"device": {}, "entries": {}, "x": 1}, "x"),
    ({"device": {}, "entries": {}, "schema_version": 9}, "schema_version"),
    ({"device": {}, "entries": {}, "correction": {"scale": float("nan")}}, "correction.scale"),
    ({"device": {}, "entries": {}, "correction": {"exponent": 9}}, "correction.exponent"),
    ({"device": {}, "entries": {}, "correction": {"per_part_ms": float("inf")}}, "correction.per_part_ms"),
    ({"device": {}, "entries": {}, "correction": {"per_part_ms": -1e9}}, "correction.per_part_ms"),
    ({"device": {"cpu": "\x00" * 3}, "entries": {}}, "device.cpu"),
])
def test_wrong_schema_names_the_field(data: object, field: str) -> None:
    with pytest.raises(SpecError) as err:
        DeviceProfile.from_dict(data)
    assert err.value.field == field


positive = st.floats(min_value=1e-4, max_value=1e4, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(spec=arch_specs(), ms=st.lists(positive, min_size=1, max_size=8), scale=st.floats(0.5, 2.0),
       offset=st.floats(-0.5, 5.0), exponent=st.floats(0.5, 1.5), per_part=st.floats(-0.05, 0.05))
def test_round_trip_keeps_prediction(spec: object, ms: list[float], scale: float, offset: float,
                                     exponent: float, per_part: float) -> None:
    parts = network_parts(spec)
    entries = {p.key: LatencyEntry(ms=ms[i % len(ms)], spread_ms=0.0, repeats=3) for i, p in enumerate(parts)}
    profile = DeviceProfile(device=DeviceDescription(cpu="x", runtime="onnxruntime"), entries=entries,
                            correction=Correction(scale=scale, offset_ms=offset, fitted_on=3, exponent=exponent,
                                                  per_part_ms=per_part))
    again = DeviceProfile.from_json(profile.to_json())
    assert again.to_dict() == profile.to_dict()
    expected = sum(entries[p.key].ms for p in parts)
    assert math.isclose(table_sum(spec, again), expected, rel_tol=1e-9)
    base = max(expected + per_part * len(parts), 1e-6)
    assert predict(spec, again) == pytest.approx(max(scale * base ** exponent + offset, 1e-6))


def test_prediction_imports_no_torch() -> None:
    import subprocess

    code = ("import sys; from searchspace.latency_table import predict; from searchspace.latency_keys import "
            "space_parts; from searchspace.space import SearchSpace; space_parts(SearchSpace()); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_schema_1_profile_is_read_with_its_entries_renamed() -> None:
    old = {"schema_version": 1, "device": {"cpu": "x"}, "entries": {"mbconv:c=8|8x8x8": {"median_ms": 0.5}}}
    profile = DeviceProfile.from_dict(old)
    assert profile.schema_version == 2 and profile.entries["mbconv:c=8|8x8x8"].ms == 0.5
    assert profile.reference_ms == 0.0 and profile.device.quantile == 0.5
    with pytest.raises(SpecError) as err:
        DeviceProfile.from_dict({"device": {}, "entries": {}, "reference_ms": -2})
    assert err.value.field == "reference_ms"
