"""Bad input is a 4xx naming the field, never a 500 or a hang: non-finite numbers in every numeric field, hostile
dataset directories (decompression bombs, FIFOs, NUL bytes, symlinks out of the data root), concurrent ONNX
exports, OPTIONS, no server paths in responses, and a 500 that keeps the connection open."""

from __future__ import annotations

import functools
import json
import operator
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.main import create_app
from store.db import session_scope
from store.models import Search
from store.settings import Settings
from tests.api.hostile_requests import (
    ANY_KEY,
    MISSING_ID,
    VALID_BODIES,
    body_fields,
    concrete,
    fill,
    set_field,
)
from tests.workers.test_data import png_bomb

NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e309", "-1e309", "9" * 400, "-" + "9" * 400)  # and no float
NUMERIC = frozenset({"number", "integer"})
BAD_TEXT = ("a\x00b", "a\ud800b", "\udfff")  # a NUL character, lone surrogates


def _loc(response) -> list:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


def _post_raw(client: TestClient, path: str, text: str):
    return client.post(concrete_path(client, path), content=text.encode(), headers={"content-type": "application/json"})


def concrete_path(client: TestClient, template: str) -> str:
    """``template`` with its path id filled: a stored architecture, or a search that ended with a completed trial
    (what a finalize needs, one per app)."""
    if "{architecture_id}" in template:  # a stored architecture's
        arch = client.post("/v1/scalings", json=VALID_BODIES[("POST", "/v1/scalings")]).json()["data"][0]
        return template.replace("{architecture_id}", arch["id"])
    if "{search_id}" not in template:
        return template
    from tests.api.test_trainings import _search

    state = client.app.state
    if getattr(state, "finalizable", None) is None:
        state.finalizable = _search(client, state.settings)
    return template.replace("{search_id}", state.finalizable)


def _fields_of_kind(kinds_wanted: frozenset[str]) -> Iterator[tuple[str, dict, tuple, bool]]:
    """(path, valid body, field, is a list) for every field of every POST body (from the OpenAPI document) whose
    JSON type, or whose list items' type, is one of ``kinds_wanted``; a path's ids are a well-formed missing one
    (the body is checked first)."""
    doc = create_app(Settings(database_url="sqlite:///unused.db")).openapi()
    for (method, path), fields in body_fields(doc).items():
        for field, kinds in fields:
            item = bool(kinds & {f"[{k}]" for k in kinds_wanted})
            if kinds & kinds_wanted or item:
                yield fill(path, MISSING_ID), VALID_BODIES[(method, path)], field, item


def _non_finite_cases() -> Iterator[tuple[str, str, list]]:
    """(path, body, expected loc) for every numeric field (and list item) of every POST body and every token."""
    for path, valid, field, item in _fields_of_kind(NUMERIC):
        body = set_field(valid, field, "@@")
        for token in NON_FINITE:
            yield path, json.dumps(body).replace('"@@"', f"[{token}]" if item else token), \
                ["body", *concrete(valid, field), *([0] if item else [])]


NON_FINITE_CASES = list(_non_finite_cases())


def test_every_numeric_field_is_covered() -> None:
    fields = {(path, tuple(loc)) for path, _, loc in NON_FINITE_CASES}
    assert ("/v1/scalings", ("body", "phi_range", "step")) in fields
    assert ("/v1/searches", ("body", "space", "expansions", 0)) in fields
    assert ("/v1/scaling-searches", ("body", "dataset", "max_gib")) in fields
    assert ("/v1/devices", ("body", "entries", "stem:c=8,kind=conv,s=1,a=relu|1x16x16", "spread_ms")) in fields
    assert ("/v1/devices", ("body", "correction", "scale")) in fields
    assert (f"/v1/architectures/{MISSING_ID}/measurements", ("body", "device", "threads")) in fields
    assert len(fields) >= 90


def test_non_finite_numbers_in_every_numeric_field_are_422_naming_it(client: TestClient) -> None:
    wrong = []
    for path, text, loc in NON_FINITE_CASES:
        response = _post_raw(client, path, text)
        if response.status_code != 422 or response.json()["detail"][0]["loc"] != loc:
            wrong.append(f"{path} {text[:120]}: {response.status_code} {response.text[:200]}")
    assert wrong == []


@pytest.mark.parametrize("path", ["/v1/searches", "/v1/scalings", "/v1/scaling-searches"])
@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e309", "[NaN]", '{"unknown": [NaN]}',
                                  '{"name": "\\ud800"}', '{"\\udfff": 1}', '{"name": ' + "[" * 900 + "]" * 900 + "}"])
def test_the_422_echo_of_any_input_is_valid_json(client: TestClient, path: str, text: str) -> None:
    loc = _loc(_post_raw(client, path, text))
    assert loc[0] == "body"


def test_a_phi_range_overflowing_a_float_is_422(client: TestClient) -> None:
    body = {"base": {"zoo": "mobilenet_v3_small"}, "phi_range": {"start": -1.7e308, "stop": 1.7e308, "step": 1e-300}}
    assert _loc(client.post("/v1/scalings", json=body)) == ["body", "phi_range"]


def test_a_huge_integer_for_a_spec_float_is_422_naming_it(client: TestClient) -> None:
    from searchspace import zoo

    spec = {**zoo.get("mobilenet_v3_small").to_dict(), "bn_eps": "@@"}
    text = json.dumps({"base": {"spec": spec}}).replace('"@@"', "9" * 400)
    assert _loc(_post_raw(client, "/v1/scalings", text)) == ["body", "base", "spec", "bn_eps"]


def _text_cases() -> Iterator[tuple[str, dict, list]]:
    """(path, body, expected loc) with a NUL or a lone surrogate in every string field (and list item, and map key)
    of every POST body, and in every string field of a free-form spec."""
    from searchspace import zoo

    for path, valid, field, item in _fields_of_kind(frozenset({"string"})):
        for bad in BAD_TEXT:
            yield path, set_field(valid, field, [bad] if item else bad), \
                ["body", *concrete(valid, field), *([0] if item else [])]
    for path, valid, field, _ in _fields_of_kind(frozenset({"object"})):
        if field[-1] == ANY_KEY:  # a map's keys
            value = functools.reduce(operator.getitem, concrete(valid, field), valid)
            for bad in BAD_TEXT:
                yield path, set_field(valid, field[:-1], {bad: value}), ["body", *field[:-1]]
    spec = zoo.get("mobilenet_v3_small").to_dict()
    block = spec["stages"][0]["block"]
    for field in [(k,) for k, v in spec.items() if isinstance(v, str)] + \
                 [("stages", 0, "block", k) for k, v in block.items() if isinstance(v, str)]:
        for bad in BAD_TEXT:
            yield "/v1/scalings", {"base": {"spec": set_field(spec, field, bad)}}, ["body", "base", "spec", *field]


TEXT_CASES = list(_text_cases())


def test_every_string_field_is_covered() -> None:
    fields = {(path, tuple(loc)) for path, _, loc in TEXT_CASES}
    for expected in (("/v1/searches", ("body", "dataset", "source")), ("/v1/scaling-searches", ("body", "name")),
                     ("/v1/searches", ("body", "space", "kinds", 0)), ("/v1/scalings", ("body", "base", "zoo")),
                     ("/v1/devices", ("body", "device", "name")), ("/v1/devices", ("body", "entries")),
                     ("/v1/scalings", ("body", "base", "spec", "name")),
                     (f"/v1/architectures/{MISSING_ID}/measurements", ("body", "source"))):
        assert expected in fields
    assert len(fields) >= 40


def test_nul_and_lone_surrogates_in_every_string_field_are_422_naming_it(data_client) -> None:
    client, _ = data_client  # with a data root: dataset sources are resolved (a lone surrogate was a 500 there)
    wrong = []
    for path, body, loc in TEXT_CASES:
        response = _post_raw(client, path, json.dumps(body))
        if response.status_code != 422 or response.json()["detail"][0]["loc"] != loc:
            wrong.append(f"{path} {loc}: {response.status_code} {response.text[:200]}")
    assert wrong == []


def test_a_label_with_a_nul_byte_is_422(client: TestClient) -> None:  # PostgreSQL text cannot hold NUL
    assert _loc(client.post("/v1/searches", json={"name": "a\x00b"})) == ["body", "name"]


# --- dataset directories ------------------------------------------------------------------------------------


def _image_folder(root: Path, classes: tuple[str, ...] = ("ant", "bee")) -> Path:
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(root / c / f"{i}.png")
    return root


@pytest.fixture
def data_client(settings: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """A client over the module's database whose service has a data root (``tmp_path/data``)."""
    root = tmp_path / "data"
    root.mkdir()
    with TestClient(create_app(Settings(database_url=settings.database_url, data_root=root,
                                        max_concurrent_searches=1000))) as c:
        yield c, root


def _dataset_error(client: TestClient, source: str, path: str = "/v1/searches") -> str:
    body = {"dataset": {"source": source}, **({"base": {"zoo": "efficientnet_b0"}, "max_candidates": 2}
                                              if path == "/v1/scaling-searches" else {"n_trials": 2})}
    response = client.post(path, json=body)
    assert _loc(response) == ["body", "dataset", "source"]
    return response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("path", ["/v1/searches", "/v1/scaling-searches"])
def test_a_decompression_bomb_is_422_naming_the_file(data_client, path: str) -> None:
    client, root = data_client
    png_bomb(_image_folder(root / "bomb") / "bee" / "huge.png")
    message = _dataset_error(client, "bomb", path)
    assert message.startswith("bomb/bee/huge.png: ") and "too large to decode safely" in message


def test_a_nul_byte_in_the_source_is_422(data_client) -> None:
    client, _ = data_client
    assert "NUL" in _dataset_error(client, "imgs\x00/etc")


def test_a_fifo_in_a_dataset_is_refused_at_once_and_the_service_keeps_answering(data_client) -> None:
    client, root = data_client
    os.mkfifo(_image_folder(root / "fifo") / "ant" / "pipe.png")
    with ThreadPoolExecutor(4) as pool:  # before the fix each of these hung on open() for ever
        started = time.monotonic()
        futures = [pool.submit(_dataset_error, client, "fifo") for _ in range(4)]
        messages = [f.result(timeout=30) for f in futures]
    assert time.monotonic() - started < 30
    assert messages == ["fifo/ant/pipe.png: is not a regular file (a FIFO)"] * 4
    assert client.get("/v1/healthz").status_code == 200


def test_the_dataset_check_has_a_time_limit(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "data"
    _image_folder(root / "imgs")
    with TestClient(create_app(Settings(database_url=settings.database_url, data_root=root,
                                        dataset_check_s=1e-9))) as c:
        assert "took longer than" in _dataset_error(c, "imgs")


def test_class_folders_linked_outside_the_data_root_are_refused(data_client, tmp_path: Path) -> None:
    client, root = data_client
    outside = _image_folder(tmp_path / "secret", ("cat",))
    linked = _image_folder(root / "linked")
    os.symlink(outside / "cat", linked / "cat")
    message = _dataset_error(client, "linked")
    assert message == "linked/cat: is a symbolic link pointing outside the service's data root"
    assert str(tmp_path) not in message
    (linked / "cat").unlink()
    os.symlink(outside / "cat" / "0.png", linked / "ant" / "9.png")  # a file linked out
    assert _dataset_error(client, "linked").startswith("linked/ant/9.png: is a symbolic link pointing outside")
    (linked / "ant" / "9.png").unlink()
    os.symlink(root / "linked" / "ant", linked / "ant2")  # inside the root: fine
    assert client.post("/v1/searches", json={"n_trials": 2, "dataset": {"source": "linked"}}).status_code == 201


def test_responses_and_errors_show_sources_relative_to_the_data_root(data_client, settings: Settings) -> None:
    client, root = data_client
    _image_folder(root / "imgs")
    created = client.post("/v1/searches", json={"n_trials": 2, "dataset": {"source": "imgs"}})
    assert created.status_code == 201, created.text
    search = created.json()
    assert search["config"]["dataset"]["source"] == "imgs"
    with session_scope(settings.database_url) as session:  # stored absolute: the driver reads it
        row = session.get(Search, uuid.UUID(search["id"]))
        assert row.config["dataset"]["source"] == str(root.resolve() / "imgs")
        row.error = f"DatasetError: {root.resolve()}/imgs/ant/0.png: cannot be decoded"
    for response in (client.get(f"/v1/searches/{search['id']}"), client.get("/v1/searches", params={"limit": 100})):
        assert response.status_code == 200 and str(root.resolve()) not in response.text
    shown = client.get(f"/v1/searches/{search['id']}").json()
    assert shown["config"]["dataset"]["source"] == "imgs"
    assert shown["error"] == "DatasetError: imgs/ant/0.png: cannot be decoded"

    grid = client.post("/v1/scaling-searches", json={"base": {"zoo": "efficientnet_b0"}, "max_candidates": 2,
                                                     "dataset": {"source": "imgs"}})
    assert grid.status_code == 201 and grid.json()["config"]["grid"]["dataset"]["source"] == "imgs"
    assert str(root.resolve()) not in client.get(f"/v1/scaling-searches/{grid.json()['id']}").text
    for source, expected in (("missing", "missing: does not exist"), (".", ".: needs at least two class")):
        assert _dataset_error(client, source).startswith(expected)


# --- concurrency, OPTIONS, server errors ---------------------------------------------------------------------


def test_concurrent_onnx_exports_all_succeed_with_the_same_bytes(client: TestClient) -> None:
    arch = client.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "phi": 0}).json()["data"][0]
    with ThreadPoolExecutor(4) as pool:  # before: torch's exporter is not reentrant, 3 of 4 were 500s
        responses = list(pool.map(lambda _: client.get(arch["links"]["onnx"]), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.content for r in responses}) == 1
    assert client.get(arch["links"]["onnx"]).content == responses[0].content  # and at every later download


def test_options_lists_every_method_of_the_path(client: TestClient) -> None:
    doc = client.app.openapi()
    for template, operations in doc["paths"].items():
        path = template.replace("{search_id}", str(uuid.uuid4())).replace("{architecture_id}", str(uuid.uuid4()))
        path = path.replace("{job_id}", str(uuid.uuid4()))
        response = client.options(path)
        assert response.status_code in (200, 204), (path, response.status_code)
        assert set(response.headers["allow"].split(", ")) == {m.upper() for m in operations} | {"OPTIONS"}, path
    assert client.options("/v1/searches").headers["allow"] == "GET, OPTIONS, POST"
    assert client.options(f"/v1/searches/{uuid.uuid4()}").headers["allow"] == "DELETE, GET, OPTIONS"
    refused = client.put(f"/v1/searches/{uuid.uuid4()}")
    assert refused.status_code == 405 and refused.headers["allow"] == "DELETE, GET, OPTIONS"
    assert client.options("/v1/nothing-here").status_code == 404


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1 (a free port), in a thread; its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_a_500_is_json_and_keeps_the_connection(live_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.routes.zoo

    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.routes.zoo, "_rows", broken)
    with httpx.Client(base_url=live_server, timeout=30) as http:
        failed = http.get("/v1/zoo")
        first = failed.extensions["network_stream"].get_extra_info("client_addr")
        after = http.get("/v1/healthz")
        second = after.extensions["network_stream"].get_extra_info("client_addr")
    assert failed.status_code == 500 and failed.json() == {"detail": "internal server error (logged); please report it"}
    assert after.status_code == 200
    assert first == second  # one connection: before, uvicorn reset it after Starlette re-raised the error


def test_a_map_key_with_dots_stays_whole_in_the_error_location() -> None:
    from api.main import field_loc

    assert field_loc("entries[mbconv:k=3,se=0.25|1x8x8].ms") == ["body", "entries", "mbconv:k=3,se=0.25|1x8x8", "ms"]
    assert field_loc("stages[2].block.kernel") == ["body", "stages", 2, "block", "kernel"]


# --- values that parse but mean nothing ---------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(path for _, path in VALID_BODIES))
@pytest.mark.parametrize("charset", ["nope", "latin-1", '"UTF-16"'])
def test_a_json_body_declaring_another_charset_is_415_naming_the_header(client: TestClient, path: str,
                                                                        charset: str) -> None:
    body = json.dumps(VALID_BODIES[("POST", path)]).encode()
    target = concrete_path(client, path)
    response = client.post(target, content=body, headers={"content-type": f"application/json; charset={charset}"})
    assert response.status_code == 415, response.text
    assert response.json()["detail"][0]["loc"] == ["header", "content-type"]
    utf8 = client.post(target, content=body, headers={"content-type": 'application/json; charset="UTF-8"'})
    assert utf8.status_code < 300, utf8.text


def test_a_training_time_cap_that_reads_as_zero_is_422(client: TestClient) -> None:
    text = '{"n_trials": 2, "training": {"max_seconds": 1e-400}}'  # Python's JSON parser reads 0.0
    assert _loc(_post_raw(client, "/v1/searches", text)) == ["body", "training", "max_seconds"]
    assert _loc(client.post("/v1/searches", json={"training": {"max_seconds": 0}})) == ["body", "training", "max_seconds"]


def test_documented_meanings_of_a_zero_window_and_the_table_on_another_base(client: TestClient) -> None:
    schemas = client.app.openapi()["components"]["schemas"]
    assert "0: repeats passes only" in schemas["LatencyIn"]["properties"]["window_s"]["description"]
    assert "on any other base" in schemas["ScalingCreate"]["properties"]["official"]["description"]
    member = client.post("/v1/scalings", json={"base": {"zoo": "mobilenet_v3_small"}, "official": True,
                                               "phi": 2}).json()["data"][0]  # B2's row: 1.1, 1.2, 260 px
    assert member["origin"]["method"] == "official" and member["spec"]["resolution"] == 260
    assert (member["origin"]["width_mult"], member["origin"]["depth_mult"]) == (1.1, 1.2)
