"""/v1/devices against a real database: upload, list, read; hostile profiles get a 4xx naming the field; a
search naming a profile is checked at submission (exists, covers the space)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from searchspace.latency_table import DeviceProfile
from searchspace.space import PROXY_SPACE
from workers.latency import Timing
from workers.latency.profile import profile_space

CHOICES = {"kinds": ["mbconv"], "kernels": [3], "expansions": [3.0], "se_ratios": [0.0], "acts": ["relu"],
           "repeat_deltas": [0], "width_factors": [1.0], "resolutions": [16]}
SPACE = replace(PROXY_SPACE.with_choices(**{k: tuple(v) for k, v in CHOICES.items() if k != "resolutions"}),
                resolutions=(16,), num_classes=10, in_chans=1)  # as the API builds it for digits
SEARCH = {"n_trials": 2, "n_workers": 1, "baselines": [], "sampler": "random", "pruner": "none", "training": {"epochs": 1},
          "dataset": {"subset": 0.2}, "space": CHOICES}


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> DeviceProfile:
    out = tmp_path_factory.mktemp("device") / "d.json"
    return profile_space(SPACE, Timing(warmup=1, repeats=3, rounds=1), out, name="tiny", calibration=3,
                         progress=False)


def _upload(client: TestClient, body: bytes | str, **params: str) -> object:
    return client.post("/v1/devices", content=body, params=params, headers={"Content-Type": "application/json"})


def test_upload_list_read(client: TestClient, profile: DeviceProfile) -> None:
    response = _upload(client, profile.to_json(), name="my-board")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/devices/{body['id']}"
    assert body["name"] == "my-board" and body["num_entries"] == len(profile.entries)
    assert body["device"]["runtime"] == "eager" and body["correction"]["fitted_on"] == 3
    listed = client.get("/v1/devices").json()
    assert body["id"] in {d["id"] for d in listed["data"]} and listed["count"] >= 1
    one = client.get(f"/v1/devices/{body['id']}").json()
    assert DeviceProfile.from_dict({k: one[k] for k in ("device", "correction", "reference_ms", "entries")}).to_dict() == \
        profile.to_dict()
    assert client.get("/v1/devices/00000000-0000-0000-0000-000000000000").status_code == 404


def _hostile(profile: DeviceProfile) -> list[tuple[str, str]]:
    data = profile.to_dict()
    key = next(iter(data["entries"]))

    def entry(value: object) -> str:
        return json.dumps({**data, "entries": {**data["entries"], key: value}})

    return [
        (entry({"ms": float("nan"), "spread_ms": 0, "repeats": 3}), f"entries[{key}].ms"),
        (entry({"ms": -1.0}), f"entries[{key}].ms"),
        (entry({"ms": 1e300}), f"entries[{key}].ms"),
        (entry({"ms": float("inf")}), f"entries[{key}].ms"),
        (entry({"ms": 1.0, "spread_ms": float("nan")}), f"entries[{key}].spread_ms"),
        (entry({"ms": 1.0, "repeats": 0}), f"entries[{key}].repeats"),
        (entry("fast"), f"entries[{key}]"),
        (json.dumps({**data, "entries": [1, 2]}), "entries"),
        (json.dumps({k: v for k, v in data.items() if k != "device"}), "device"),
        (json.dumps({**data, "device": {**data["device"], "runtime": "tensorrt"}}), "device.runtime"),
        (json.dumps({**data, "device": {**data["device"], "threads": -2}}), "device.threads"),
        (json.dumps({**data, "correction": {"scale": 1e9}}), "correction.scale"),
        (json.dumps({**data, "schema_version": 7}), "schema_version"),
        (json.dumps({**data, "extra": 1}), "extra"),
        ("[]", "profile"),
        ("{not json", "profile"),
        # numbers no float holds (each was a 500: OverflowError), versions that are not one
        (entry({"ms": "@@"}).replace('"@@"', "9" * 400), f"entries[{key}].ms"),
        (entry({"ms": 1.0, "spread_ms": "@@"}).replace('"@@"', "9" * 400), f"entries[{key}].spread_ms"),
        (json.dumps({**data, "correction": {"scale": "@@"}}).replace('"@@"', "9" * 400), "correction.scale"),
        (json.dumps({**data, "correction": {"offset_ms": "@@"}}).replace('"@@"', "-" + "9" * 400),
         "correction.offset_ms"),
        (json.dumps({**data, "reference_ms": "@@"}).replace('"@@"', "9" * 400), "reference_ms"),
        (json.dumps({**data, "schema_version": 2.0}), "schema_version"),
        (json.dumps({**data, "schema_version": True}), "schema_version"),
        (json.dumps({**data, "schema_version": 1}), f"entries[{key}].ms"),  # a schema 2 table under version 1
    ]


def test_hostile_profiles_get_422_naming_the_field(client: TestClient, profile: DeviceProfile) -> None:
    for body, field in _hostile(profile):
        response = _upload(client, body)
        assert response.status_code == 422, (field, response.text)
        assert field in json.dumps(response.json()), (field, response.text)


def test_a_schema_1_profile_is_read_with_its_median_ms(client: TestClient, profile: DeviceProfile) -> None:
    data = profile.to_dict()
    old = {**data, "schema_version": 1,
           "entries": {k: {("median_ms" if n == "ms" else n): v for n, v in e.items()} for k, e in data["entries"].items()}}
    created = _upload(client, json.dumps(old))
    assert created.status_code == 201, created.text
    assert client.get(f"/v1/devices/{created.json()['id']}").json()["entries"] == data["entries"]


def test_a_huge_body_is_refused_before_it_is_read(client: TestClient) -> None:
    response = _upload(client, b"{" + b" " * (100 * 1024 * 1024) + b"}")
    assert response.status_code == 413 and "NAS_MAX_PROFILE_BYTES" in response.text


def test_a_search_must_name_an_existing_profile_that_covers_its_space(client: TestClient,
                                                                       profile: DeviceProfile) -> None:
    unknown = client.post("/v1/searches", json={**SEARCH, "latency": {"device": "no-such-board"}})
    assert unknown.status_code == 422 and "latency.device" in unknown.text and "no device profile" in unknown.text
    holed = replace(profile, entries=dict(list(profile.entries.items())[1:]))
    holed_id = _upload(client, holed.to_json()).json()["id"]
    response = client.post("/v1/searches", json={**SEARCH, "latency": {"device": holed_id}})
    assert response.status_code == 422 and "latency.device" in response.text and "lacks 1 of" in response.text
    good_id = _upload(client, profile.to_json()).json()["id"]
    created = client.post("/v1/searches", json={**SEARCH, "latency": {"device": good_id}})
    assert created.status_code == 201, created.text
    assert created.json()["config"]["latency"]["device"] == good_id
    assert client.post(f"/v1/searches/{created.json()['id']}/cancel").status_code == 200




def test_hypervolume_reference_is_the_dearest_network_predicted_from_the_profile(
        profile: DeviceProfile, monkeypatch: pytest.MonkeyPatch) -> None:
    from api import reference_point
    from searchspace.fit import extremes
    from searchspace.latency_table import predict
    from workers.search import SearchConfig

    monkeypatch.setattr(reference_point.crud, "load_device_profile", lambda session, profile_id: profile)
    config = SearchConfig.from_dict({"space": SPACE.to_dict(), "latency": {"device": "board-1"}})
    reference = reference_point._reference(None, config)  # type: ignore[arg-type]
    assert reference.cost == pytest.approx(predict(extremes(config.space)[1], profile))
    assert "predicted from device profile board-1" in reference.how
