"""A corpus of hostile architecture specs, each with the field its SpecError must name.

Every case is refused by validation before anything is rendered or built: quotes, newlines, backslashes and
dunder names in every string field, huge / NaN / infinite numbers, wrong types, unknown kinds and keys,
10,000 stages, deep nesting, malformed JSON text. ``BASE`` is a small valid spec with one stage of every
block kind, so that every kind's string fields are covered.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BASE: dict[str, Any] = {
    "schema_version": 1,
    "resolution": 128,
    "in_chans": 3,
    "num_classes": 10,
    "bn_eps": 1e-05,
    "bn_momentum": 0.1,
    "drop_path_rate": 0.1,
    "name": "hostile-base",
    "stem": {"out_chs": 16, "act": "hswish", "pool": "max"},
    "stages": [
        {"block": {"kind": "ds", "out_chs": 16, "se_ratio": 0.25, "se_act": "relu"}},
        {
            "block": {
                "kind": "mbconv",
                "out_chs": 24,
                "stride": 2,
                "act": "swish",
                "expansion": 4.0,
                "se_ratio": 0.25,
            },
            "repeats": 2,
        },
        {"block": {"kind": "ghost", "out_chs": 32, "stride": 2, "expansion": 3.0, "se_ratio": 0.25}},
        {"block": {"kind": "micro", "out_chs": 32, "expansion": 2.0, "se_ratio": 0.25}},
        {"block": {"kind": "shuffle_v2", "out_chs": 48, "stride": 2}},
        {"block": {"kind": "shuffle_v1", "out_chs": 96, "stride": 2, "groups": 3}},
        {"block": {"kind": "fire", "out_chs": 128, "stride": 2}},
    ],
    "head": {"conv_chs": 64, "hidden": 32, "hidden_act": "hswish"},
}

INJECTIONS = [
    "relu\"); import os; os.system('id'); (\"",
    "relu\nimport os",
    "__import__('os').system('id')",
    "__class__",
    '"""',
    "relu\\",
]


@dataclass(frozen=True)
class Case:
    """One hostile input (built fresh by ``make``) and the field its SpecError must name."""

    id: str
    make: Callable[[], Any]
    field: str


def _set(path: tuple, value: Any) -> Callable[[], dict]:
    def make() -> dict:
        data = copy.deepcopy(BASE)
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return data

    return make


def _block(stage: int, key: str, value: Any) -> Callable[[], dict]:
    return _set(("stages", stage, "block", key), value)


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _text(text: str | bytes) -> Callable[[], str | bytes]:
    return lambda: text


# (field path, stage index or None) of every string field of BASE, each gets every injection
STRING_FIELDS: list[tuple[tuple, str]] = [
    (("name",), "name"),
    (("stem", "act"), "stem.act"),
    (("stem", "kind"), "stem.kind"),
    (("stem", "padding"), "stem.padding"),
    (("stem", "pool"), "stem.pool"),
    (("head", "act"), "head.act"),
    (("head", "hidden_act"), "head.hidden_act"),
    (("head", "classifier"), "head.classifier"),
    (("head", "pre_pool_act"), "head.pre_pool_act"),
    (("head", "pool_act"), "head.pool_act"),
    (("head", "classifier_act"), "head.classifier_act"),
    (("stages", 0, "block", "act"), "stages[0].block.act"),
    (("stages", 0, "block", "se_from"), "stages[0].block.se_from"),
    (("stages", 0, "block", "se_act"), "stages[0].block.se_act"),
    (("stages", 1, "block", "se_gate"), "stages[1].block.se_gate"),
    (("stages", 2, "block", "act"), "stages[2].block.act"),
    (("stages", 2, "block", "se_gate"), "stages[2].block.se_gate"),
    (("stages", 3, "block", "act"), "stages[3].block.act"),
    (("stages", 4, "block", "act"), "stages[4].block.act"),
    (("stages", 5, "block", "act"), "stages[5].block.act"),
    (("stages", 6, "block", "act"), "stages[6].block.act"),
]

CASES: list[Case] = [
    Case(f"{field}-injection{i}", _set(path, text), field)
    for path, field in STRING_FIELDS
    for i, text in enumerate(INJECTIONS)
]

CASES += [
    # block kinds
    Case("kind-unknown", _block(1, "kind", "transformer"), "stages[1].block.kind"),
    Case("kind-dunder", _block(1, "kind", "__class__"), "stages[1].block.kind"),
    Case("kind-quote", _block(1, "kind", 'mbconv"); import os; ("'), "stages[1].block.kind"),
    Case("kind-newline", _block(1, "kind", "mbconv\n"), "stages[1].block.kind"),
    Case("kind-list", _block(1, "kind", ["mbconv"]), "stages[1].block.kind"),
    Case("kind-missing", lambda: {**BASE, "stages": [{"block": {"out_chs": 8}}]}, "stages[0].block.kind"),
    # unknown and dunder keys
    Case("top-key-dunder", _set(("__builtins__",), {}), "__builtins__"),
    Case("top-key-exec", _set(("exec",), "import os"), "exec"),
    Case("stem-key-dunder", _set(("stem", "__init__"), 1), "stem.__init__"),
    Case("head-key-unknown", _set(("head", "classifier_code"), "x"), "head.classifier_code"),
    Case("block-key-dunder", _block(2, "__dict__", {}), "stages[2].block.__dict__"),
    Case("stage-key-unknown", _set(("stages", 0, "code"), "x"), "stages[0].code"),
    Case("key-newline", _set(("stem", "act\nimport os"), "relu"), "stem.act\nimport os"),
    # huge, NaN and infinite numbers
    Case("out_chs-huge", _block(1, "out_chs", 10**100), "stages[1].block.out_chs"),
    Case("out_chs-5000-digits", _block(1, "out_chs", 10**5000), "stages[1].block.out_chs"),
    Case("out_chs-nan", _block(1, "out_chs", float("nan")), "stages[1].block.out_chs"),
    Case("out_chs-inf", _block(1, "out_chs", float("inf")), "stages[1].block.out_chs"),
    Case("out_chs-negative", _block(1, "out_chs", -8), "stages[1].block.out_chs"),
    Case("expansion-nan", _block(1, "expansion", float("nan")), "stages[1].block.expansion"),
    Case("expansion-inf", _block(1, "expansion", float("inf")), "stages[1].block.expansion"),
    Case("expansion-1e308", _block(1, "expansion", 1e308), "stages[1].block.expansion"),
    Case("se_ratio-neg-inf", _block(0, "se_ratio", float("-inf")), "stages[0].block.se_ratio"),
    Case("micro-init_a-nan", _block(3, "init_a", [float("nan"), 1.0]), "stages[3].block.init_a[0]"),
    Case("micro-act_max-inf", _block(3, "act_max", float("inf")), "stages[3].block.act_max"),
    Case("fire-squeeze-nan", _block(6, "squeeze_ratio", float("nan")), "stages[6].block.squeeze_ratio"),
    Case("dropout-inf", _set(("head", "dropout"), float("inf")), "head.dropout"),
    Case("bn_eps-nan", _set(("bn_eps",), float("nan")), "bn_eps"),
    Case("bn_eps-zero", _set(("bn_eps",), 0.0), "bn_eps"),
    Case("drop_path_rate-inf", _set(("drop_path_rate",), float("inf")), "drop_path_rate"),
    Case("resolution-huge", _set(("resolution",), 10**9), "resolution"),
    Case("num_classes-huge", _set(("num_classes",), 10**12), "num_classes"),
    Case("repeats-huge", _set(("stages", 1, "repeats"), 10**6), "stages[1].repeats"),
    Case("in_chans-zero", _set(("in_chans",), 0), "in_chans"),
    # wrong types
    Case("kernel-float", _block(1, "kernel", 3.0), "stages[1].block.kernel"),
    Case("stride-float", _block(1, "stride", 2.0), "stages[1].block.stride"),
    Case("kernel-string", _block(1, "kernel", "3"), "stages[1].block.kernel"),
    Case("kernel-list", _block(1, "kernel", [3]), "stages[1].block.kernel"),
    Case("kernel-bool", _block(1, "kernel", True), "stages[1].block.kernel"),
    Case("out_chs-float", _block(1, "out_chs", 24.0), "stages[1].block.out_chs"),
    Case("out_chs-null", _block(1, "out_chs", None), "stages[1].block.out_chs"),
    Case("skip-string", _block(1, "skip", "true"), "stages[1].block.skip"),
    Case("resolution-string", _set(("resolution",), "224"), "resolution"),
    Case("name-number", _set(("name",), 7), "name"),
    Case("name-long", _set(("name",), "a" * 10_000), "name"),
    Case("name-unicode", _set(("name",), "ne\u0301t"), "name"),
    Case("stem-list", _set(("stem",), [16]), "stem"),
    Case("head-string", _set(("head",), "linear"), "head"),
    Case("stage-string", _set(("stages", 0), "mbconv"), "stages[0]"),
    Case("block-string", _set(("stages", 0, "block"), "ds"), "stages[0].block"),
    Case("stem-groups-strings", _set(("stem", "groups"), ["a", "b"]), "stem.groups"),
    Case("micro-groups-huge", _block(3, "groups", [10**30, 1, 1, 1]), "stages[3].block.groups[0]"),
    Case("schema_version", _set(("schema_version",), 2), "schema_version"),
    Case("spec-list", lambda: [BASE], "spec"),
    Case("spec-number", lambda: 7, "spec"),
    Case("python-set", _set(("stem", "groups"), {1, 2}), "stem.groups"),
    Case("python-object", _set(("stem", "act"), object()), "stem.act"),
    Case("python-int-key", _set(("stem", 3), 1), "stem"),
    # sizes and nesting
    Case("stages-10000", lambda: {**BASE, "stages": [BASE["stages"][0]] * 10_000}, "stages"),
    Case("stages-empty", _set(("stages",), []), "stages"),
    Case("stages-object", _set(("stages",), {"0": BASE["stages"][0]}), "stages"),
    Case("nested-field-50", _block(1, "out_chs", _nested(50)), "stages[1].block.out_chs"),
    Case("nested-python-5000", _set(("stem", "groups"), _nested(5000)), "stem.groups"),
    Case("nested-json-100000", _text("[" * 100_000 + "]" * 100_000), "spec"),
    Case("nested-json-object", _text('{"stem": ' * 50_000 + "1" + "}" * 50_000), "spec"),
    # malformed text
    Case("json-nan-literal", lambda: json.dumps(_set(("stem", "out_chs"), float("nan"))()), "stem.out_chs"),
    Case(
        "json-infinity-literal", lambda: json.dumps(_set(("head", "dropout"), float("inf"))()), "head.dropout"
    ),
    Case("json-5000-digit-int", _text('{"resolution": 1' + "0" * 5000 + "}"), "spec"),
    Case("json-truncated", _text('{"stem": {"out_chs": 16'), "spec"),
    Case("json-bad-utf8", lambda: json.dumps(BASE).encode().replace(b"hostile-base", b"\xff\xfe"), "spec"),
    Case("one-line-injection", _text('arch:name=x");import_os stem:c=16 mbconv:c=16 head:'), "name"),
    Case("one-line-unknown-kind", _text("arch: stem:c=16 evil:c=16 head:"), "stages[0].block.kind"),
]
