"""The request models are the config dataclasses: every field, its default and its choices, in the OpenAPI
document (a field added to a dataclass and missing from the API fails here)."""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any

import pytest

from api.main import create_app
from api.schemas import RENAMED, ScalingSearchCreate, SearchCreate
from scaler.grid_config import GridConfig
from searchspace.codec import field_types
from searchspace.fields import choices, default_of, plain
from searchspace.space import SearchSpace, StageSpace
from store.settings import Settings
from workers.search import SearchConfig

DOC = create_app(Settings(database_url="sqlite:///unused.db")).openapi()
SCHEMAS = DOC["components"]["schemas"]
# SearchSpace fields a request does not set (``space`` is a skeleton name plus choice lists for every stage).
NOT_REQUESTED = {
    (SearchSpace, "stages"): "the skeleton's; StageSpace's choice lists are SpaceIn's own fields",
    (SearchSpace, "in_chans"): "from the dataset",
    (SearchSpace, "num_classes"): "from the dataset",
    (StageSpace, "stride"): "the skeleton's",
    (StageSpace, "out_chs"): "the skeleton's",
    (StageSpace, "repeats"): "the skeleton's",
}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema with its $ref (also inside anyOf with null) followed."""
    for option in (schema, *schema.get("anyOf", ())):
        if "$ref" in option:
            return SCHEMAS[option["$ref"].rsplit("/", 1)[1]]
    return schema


def _options(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]


def _walk(cls: type, schema: dict[str, Any], path: str) -> list[str]:
    """Problems: dataclass fields of ``cls`` (recursively) missing from ``schema`` or with another default."""
    problems = []
    props = schema["properties"]
    if cls is SearchSpace:  # the choice lists are set in every stage at once
        problems += _walk(StageSpace, schema, f"{path}.stages[*]")
    for f in dataclasses.fields(cls):
        if (cls, f.name) in NOT_REQUESTED:
            continue
        key = RENAMED.get(f.name, f.name)
        if key not in props:
            problems.append(f"{path}.{f.name}: not in the request model")
            continue
        hint = field_types(cls)[f.name]
        inner = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
        if dataclasses.is_dataclass(inner):
            problems += _walk(inner, _resolve(props[key]), f"{path}.{f.name}")
            continue
        if cls in (SearchSpace, StageSpace):  # overrides: null keeps the skeleton's value
            continue
        expected = default_of(f)
        expected = list(expected) if isinstance(expected, tuple) else expected  # a JSON list in the schema
        if props[key].get("default", None) != plain(expected):
            problems.append(f"{path}.{f.name}: default {props[key].get('default')!r}, dataclass {expected!r}")
        listed = [o.get("enum") for o in _options(props[key])]
        if isinstance(inner, type) and issubclass(inner, enum.StrEnum) and listed != [list(choices(inner))]:
            problems.append(f"{path}.{f.name}: choices {listed} are not {choices(inner)}")
    return problems


@pytest.mark.parametrize(("config", "model"), [(SearchConfig, SearchCreate), (GridConfig, ScalingSearchCreate)])
def test_every_dataclass_field_is_in_the_request_schema(config: type, model: type) -> None:
    assert _walk(config, SCHEMAS[model.__name__], config.__name__) == []


def test_nested_defaults_are_the_parent_dataclass_defaults() -> None:
    grid = SCHEMAS["ScalingSearchCreate"]["properties"]
    assert grid["training"]["default"]["epochs"] == GridConfig().budget.epochs == 1
    assert grid["latency"]["default"]["repeats"] == GridConfig().latency.repeats == 20
    assert ScalingSearchCreate(base={"zoo": "efficientnet_b0"}).to_config() == GridConfig()
    assert SearchCreate().to_config() == SearchConfig()


def test_descriptions_come_from_the_dataclass_metadata() -> None:
    props = SCHEMAS["SearchCreate"]["properties"]
    fields = {f.name: f for f in dataclasses.fields(SearchConfig)}
    assert props["pruner_min_trials"]["description"] == fields["pruner_min_trials"].metadata["doc"]
    assert "NAS_DATA_ROOT" in SCHEMAS["DatasetIn"]["properties"]["source"]["description"]  # the API's override


def _without(name: str, field: str) -> dict[str, Any]:
    schema = SCHEMAS[name]
    return {**schema, "properties": {k: v for k, v in schema["properties"].items() if k != field}}


def test_the_walk_notices_a_missing_field(monkeypatch: pytest.MonkeyPatch) -> None:
    top = _without("SearchCreate", "pruner_warmup_epochs")
    missing = ["SearchConfig.pruner_warmup_epochs: not in the request model"]
    assert _walk(SearchConfig, top, "SearchConfig") == missing
    monkeypatch.setitem(SCHEMAS, "TrainingIn", _without("TrainingIn", "bn_calibration"))
    monkeypatch.setitem(SCHEMAS, "SpaceIn", _without("SpaceIn", "kernels"))
    assert _walk(SearchConfig, SCHEMAS["SearchCreate"], "SearchConfig") == [
        "SearchConfig.space.stages[*].kernels: not in the request model",
        "SearchConfig.budget.bn_calibration: not in the request model",
        "SearchConfig.supernet.budget.bn_calibration: not in the request model",  # the one TrainingIn, twice
    ]
