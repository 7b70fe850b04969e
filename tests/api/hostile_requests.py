"""A hostile corpus: the requests a careless or malicious client sends, for every operation of the service.

``corpus(doc)`` reads the OpenAPI document, so that a new operation, query parameter or body field is attacked
as soon as it exists: non-UUID path ids, bad query values, every body field (recursively, list items too) set to
wrong types, booleans, huge and negative numbers, NaN/Infinity/1e309 and 400-digit integers, empty, very long,
unicode, NUL and lone-surrogate strings, nested garbage and huge arrays (the fields of a map, such as a device
profile's ``entries``, under its first key); whole bodies that are invalid JSON, not objects, deeply nested, of the wrong
content type; and methods the path does not have. ``test_hostile.py`` sends them all.
"""

from __future__ import annotations

import functools
import json
import operator
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from searchspace import zoo

MISSING_ID = str(uuid.UUID(int=0))
# path ids that are not (or not quite) UUIDs
BAD_IDS = ("not-a-uuid", "1", "-1", "0" * 40, "null", "true", "..", ".%2e", "%00", "a%00b", "x" * 5000,
           "ünï©ødé漢字🙂", "%ED%A0%80", "{00000000-0000-0000-0000-000000000000}", "00000000-0000-0000-0000-00000000000g",
           "00000000000000000000000000000000x", "%20", "'; DROP TABLE searches; --", "1e309", "NaN")
# query-string values (sent percent-encoded by the client)
BAD_QUERY = ("", "-1", "abc", "1.5", "1e309", "NaN", "Infinity", "9" * 60, "true", "null", "\x00", "a\x00b",
             "ünï©ødé🙂", "x" * 5000, "'; DROP TABLE searches; --", "[]", "{}")
# JSON values put in place of one field
BAD_VALUES: dict[str, Any] = {
    "null": None, "true": True, "zero": 0, "negative": -1, "huge int": 10**30, "float": 2.5, "big float": 1.7e308,
    "empty string": "", "long string": "x" * 4000, "unicode": "ünï©ødé 漢字 🙂", "nul": "a\x00b",
    "lone surrogate": "a\ud800b",
    "control": "\u202e\u0007\x1b[31m", "path traversal": "../../../../etc/passwd", "empty list": [],
    "huge list": list(range(3000)), "nested garbage": {"a": {"b": [{"c": [None, {"d": "e"}]}]}},
}
SPEC_VALUES = ("null", "true", "huge int", "negative", "long string", "nul", "lone surrogate", "empty list",
               "nested garbage")
# spellings Python's JSON parser accepts that are not JSON numbers (test_bad_input tries -Infinity and -1e309
# too, in every numeric field), and long integer literals (no float holds them)
RAW_VALUES = ("NaN", "Infinity", "1e309", "9" * 400, "-" + "9" * 400)
SPEC_RAW_VALUES = ("NaN", "1e309", "9" * 400)
ITEM_VALUES = ("null", "true", "huge int", "nul", "lone surrogate", "nested garbage")  # list items
ANY_KEY = "*"  # in a field path: every key of a map (the corpus sets its first)
# whole bodies
BAD_BODIES: dict[str, bytes] = {
    "empty": b"", "whitespace": b"  \n", "truncated": b'{"name": ', "single quotes": b"{'name': 'x'}",
    "trailing garbage": b"{} {}", "trailing comma": b'{"name": "x",}', "bare NaN": b"NaN", "bare Infinity": b"Infinity",
    "bare 1e309": b"1e309", "NaN list": b"[NaN]", "null": b"null", "number": b"1", "string": b'"x"', "list": b"[]",
    "true": b"true", "deep list": b"[" * 20000 + b"]" * 20000, "deep object": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "deep but parseable": b'{"name": ' + b"[" * 900 + b"]" * 900 + b"}",
    "not utf-8": b'{"name": "\xff\xfe"}', "utf-16": '{"name": "x"}'.encode("utf-16"), "bom": b'\xef\xbb\xbf{}',
    "nul byte": b'{"name": "x"}\x00', "lone surrogate": b'{"name": "\\ud800"}',
    "huge array": b"[" + b"1," * 20000 + b"1]", "duplicate keys": b'{"name": "a", "name": 1}',
    "long integer literal": b'{"seed": ' + b"9" * 5000 + b"}",
}
CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/xml", "application/json; charset=latin-1", "application/json; charset=nope", "",
                 "application/*", "*/*", "application/json\x7f")
EXTRA_METHODS = ("PUT", "PATCH", "DELETE", "POST", "GET")
# a valid body per operation: each mutation changes one thing in it
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/searches"): {"n_trials": 2, "training": {"epochs": 1}},
    ("POST", "/v1/devices"): {"schema_version": 2, "device": {"name": "board", "runtime": "eager"},
                              "entries": {"stem:c=8,kind=conv,s=1,a=relu|1x16x16": {"ms": 0.5}}},
    ("POST", "/v1/scalings"): {"base": {"zoo": "mobilenet_v3_small"}, "phi": 0},
    ("POST", "/v1/scaling-searches"): {"base": {"zoo": "efficientnet_b0"}, "max_candidates": 2},
    ("POST", "/v1/trainings"): {"architecture": {"zoo": "mobilenet_v2"}, "recipe": {"epochs": 1}},
    ("POST", "/v1/searches/{search_id}/finalize"): {"top_k": 2, "recipe": {"epochs": 1}},
    ("POST", "/v1/architectures/{architecture_id}/measurements"): {
        "latency_ms": 2.5, "min_round_ms": 2.4, "max_round_ms": 2.7, "device": {"runtime": "onnxruntime"}},
}
SPEC_BASE = "mobilenet_v3_small"  # mutated field by field where a body takes a free-form spec


@dataclass(frozen=True)
class Hostile:
    """One request: ``path`` is already percent-encoded; ``operation`` is the (method, path template) attacked."""

    operation: tuple[str, str]
    method: str
    path: str
    note: str
    params: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    content_type: str | None = None

    def send(self, client: Any) -> Any:
        headers = {} if self.content_type is None else {"content-type": self.content_type}
        return client.request(self.method, self.path, params=list(self.params) or None, content=self.content,
                              headers=headers)


def corpus(doc: dict[str, Any]) -> list[Hostile]:
    """Every hostile request for every operation in the OpenAPI document ``doc``."""
    schemas = doc["components"]["schemas"]
    out: list[Hostile] = []
    for template, operations in doc["paths"].items():
        for method, op in operations.items():
            out += _operation(method.upper(), template, op, schemas)
        declared = {m.upper() for m in operations}
        path = fill(template, MISSING_ID)
        out += [Hostile(("*", template), m, path, f"{m} not allowed") for m in EXTRA_METHODS if m not in declared]
    return out


def _operation(method: str, template: str, op: dict[str, Any], schemas: dict[str, Any]) -> Iterator[Hostile]:
    key = (method, template)
    params = op.get("parameters", [])
    in_path = [p["name"] for p in params if p["in"] == "path"]
    path = fill(template, MISSING_ID)
    body = VALID_BODIES.get(key) if "requestBody" in op else None
    content = None if body is None else json.dumps(body).encode()
    ctype = None if body is None else "application/json"
    yield Hostile(key, method, path, "plain", content=content, content_type=ctype)
    if in_path:
        for bad in BAD_IDS:
            yield Hostile(key, method, fill(template, bad), f"path id {bad[:20]!r}", content=content,
                          content_type=ctype)
    for p in params:
        if p["in"] == "query":
            for bad in BAD_QUERY:
                yield Hostile(key, method, path, f"{p['name']}={bad[:20]!r}", params=((p["name"], bad),))
            yield Hostile(key, method, path, f"{p['name']} twice", params=((p["name"], "1"), (p["name"], "2")))
    if params:
        yield Hostile(key, method, path, "unknown query parameter", params=(("evil\x00", "\x00"),))
    if "requestBody" in op:
        yield from _bodies(key, path, body, _resolve(op["requestBody"]["content"]["application/json"]["schema"],
                                                     schemas), schemas)


def _bodies(key: tuple[str, str], path: str, valid: dict[str, Any] | None, schema: dict[str, Any],
            schemas: dict[str, Any]) -> Iterator[Hostile]:
    method = key[0]
    if valid is None:
        raise KeyError(f"no valid body for {key}: add one to VALID_BODIES")
    text = json.dumps(valid)
    for name, raw in BAD_BODIES.items():
        yield Hostile(key, method, path, f"body {name}", content=raw, content_type="application/json")
    for ctype in CONTENT_TYPES:
        yield Hostile(key, method, path, f"content-type {ctype!r}", content=text.encode(), content_type=ctype)
    yield Hostile(key, method, path, "no content-type", content=text.encode())
    for where, value in (("top", "x"), ("nested", {"a": [1, {"b": None}]})):
        yield Hostile(key, method, path, f"unknown field ({where})", content_type="application/json",
                      content=json.dumps({**valid, "unknown_field\x00é": value}).encode())
    fields = [(field, "array" in kinds) for field, kinds in _fields(schema, schemas, ())]
    if any(f[-1] == "spec" for f, _ in fields):  # a free-form spec: its own fields too
        spec = zoo.get(SPEC_BASE).to_dict()
        for field, array in _spec_fields(spec):
            base = {**{k: v for k, v in valid.items() if k != "base"}, "base": {"spec": spec}}
            yield from _mutations(key, path, base, ("base", "spec", *field), array, SPEC_VALUES, SPEC_RAW_VALUES)
    for field, array in fields:
        yield from _mutations(key, path, valid, field, array)
        if field[-1] == ANY_KEY:  # a map: bad keys too (for its first value)
            value = functools.reduce(operator.getitem, concrete(valid, field), valid)
            for name in ("empty string", "long string", "nul", "lone surrogate", "control"):
                body = set_field(valid, field[:-1], {BAD_VALUES[name]: value})
                yield Hostile(key, method, path, f"{'.'.join(map(str, field[:-1]))} key = {name}",
                              content=json.dumps(body).encode(), content_type="application/json")


def _mutations(key: tuple[str, str], path: str, valid: dict[str, Any], field: tuple[str | int, ...],
               array: bool, values: tuple[str, ...] = tuple(BAD_VALUES),
               raw_values: tuple[str, ...] = RAW_VALUES) -> Iterator[Hostile]:
    method = key[0]
    dotted = ".".join(map(str, field))
    for name in values:
        body = set_field(valid, field, BAD_VALUES[name])
        yield Hostile(key, method, path, f"{dotted} = {name}", content=json.dumps(body).encode(),
                      content_type="application/json")
    for raw in raw_values:
        text = json.dumps(set_field(valid, field, "\x01RAW\x01")).replace('"\\u0001RAW\\u0001"', raw)
        yield Hostile(key, method, path, f"{dotted} = {raw[:12]}", content=text.encode(),
                      content_type="application/json")
        if array:
            yield Hostile(key, method, path, f"{dotted}[0] = {raw[:12]}", content_type="application/json",
                          content=text.replace(raw, f"[{raw}]", 1).encode())
    if array:
        for name in ITEM_VALUES:
            body = set_field(valid, field, [BAD_VALUES[name]])
            yield Hostile(key, method, path, f"{dotted}[0] = {name}", content=json.dumps(body).encode(),
                          content_type="application/json")


def body_fields(doc: dict[str, Any]) -> dict[tuple[str, str], list[tuple[tuple[str, ...], frozenset[str]]]]:
    """Per operation with a JSON body, every field of it (nested objects recursively) with its JSON types
    (``"[integer]"``: a list of integers)."""
    schemas = doc["components"]["schemas"]
    out = {}
    for template, operations in doc["paths"].items():
        for method, op in operations.items():
            if "requestBody" in op:
                schema = _resolve(op["requestBody"]["content"]["application/json"]["schema"], schemas)
                out[(method.upper(), template)] = list(_fields(schema, schemas, ()))
    return out


def _fields(schema: dict[str, Any], schemas: dict[str, Any], prefix: tuple[str, ...],
            ) -> Iterator[tuple[tuple[str, ...], frozenset[str]]]:
    """(path, JSON types) of every property of ``schema``, nested objects recursively; the values of a map
    (``additionalProperties``) under the key ``ANY_KEY``."""
    values = schema.get("additionalProperties")
    props = dict(schema.get("properties", {}))
    if isinstance(values, dict):  # (``false`` forbids unknown fields)
        props[ANY_KEY] = values
    for name, prop in props.items():
        field = (*prefix, name)
        options = [_resolve(o, schemas) for o in prop.get("anyOf", [prop])]
        kinds = {o.get("type", "object") for o in options}
        kinds |= {f"[{_resolve(o.get('items', {}), schemas).get('type')}]" for o in options if o.get("type") == "array"}
        yield field, frozenset(kinds)
        for option in options:
            if option.get("properties") or isinstance(option.get("additionalProperties"), dict):
                yield from _fields(option, schemas, field)


def _spec_fields(spec: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], bool]]:
    """The spec's own fields, its first stage's and that stage's block's."""
    for name, value in spec.items():
        yield (name,), isinstance(value, list)
    stage = spec["stages"][0]
    for name, value in stage.items():
        yield ("stages", 0, name), isinstance(value, list)
    for name, value in stage.get("block", {}).items():
        yield ("stages", 0, "block", name), isinstance(value, list)


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return schemas[ref.rsplit("/", 1)[1]] if ref else schema


def concrete(body: dict[str, Any], field: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """``field`` with every ``ANY_KEY`` replaced by the first key of the map there in ``body`` (or ``"key"``)."""
    out: list[str | int] = []
    node: Any = body
    for part in field:
        if part == ANY_KEY:
            part = next(iter(node), "key") if isinstance(node, dict) else "key"
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return tuple(out)


def set_field(body: dict[str, Any], field: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with ``field`` (see ``concrete``) set to ``value`` (missing objects on the way are
    created)."""
    out = json.loads(json.dumps(body))
    field = concrete(out, field)
    node = out
    for part in field[:-1]:
        if isinstance(node, dict) and not isinstance(node.get(part), dict | list):
            node[part] = {}
        node = node[part]
    node[field[-1]] = value
    return out


def fill(template: str, value: str) -> str:
    """``template`` with every ``{param}`` replaced by ``value`` percent-encoded (``%xx`` given is kept)."""
    encoded = urllib.parse.quote(value, safe="%")
    parts = template.split("/")
    return "/".join(encoded if p.startswith("{") and p.endswith("}") else p for p in parts)
