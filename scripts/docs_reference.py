"""The documentation site's generated reference pages, derived from the code so they cannot drift from it.

- configuration: every field of every configuration dataclass (its dotted path, type or choices, default and
  description, all read from the dataclass: the single description the API and the command line use too), and
  the service settings (``NAS_*`` environment variables) from ``store.settings.Settings``;
- REST: every operation of the OpenAPI document ``api.main.create_app`` serves.

``mkdocs build`` runs ``docs/gen_pages.py``, which writes these pages; ``python scripts/docs_reference.py``
prints them.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any

from pydantic import BaseModel

from scaler.grid_config import GridConfig
from searchspace.codec import field_types
from searchspace.fields import choices, default_of, description, plain
from store.settings import Settings
from workers.detection import BoxDatasetConfig
from workers.latency import LatencyMeasurement, Timing
from workers.oneshot import OneShotConfig
from workers.search import FinalizeConfig, ProxyCheckConfig, SearchConfig, TrackingConfig
from workers.training import TrainConfig, TrainRecipe

# (title, class, what it configures): the configuration dataclasses a user sets, top level first
CONFIGS: tuple[tuple[str, type, str], ...] = (
    ("Search", SearchConfig, "`POST /v1/searches`, `nas search --config FILE.json` (and its flags)"),
    ("Scaling search", GridConfig, "`POST /v1/scaling-searches`, `nas scale grid`"),
    ("Device profile timing", Timing, "`nas profile` (its flags)"),
    ("Latency measurement", LatencyMeasurement, "`POST /v1/architectures/{id}/measurements`, written by "
                                                "`nas measure --architecture ID --service URL`"),
    ("Full-fidelity training recipe", TrainRecipe, "`POST /v1/trainings` and `POST /v1/searches/{id}/finalize` "
     "(`recipe`), `nas train` and `nas train-detector` (their flags)"),
    ("Training job", TrainConfig, "`POST /v1/trainings` (with `architecture` and `name`)"),
    ("Box dataset", BoxDatasetConfig, "`nas train-detector` (its flags)"),
    ("Tracking", TrackingConfig, "`nas search --mlflow/--tensorboard`; the service: `NAS_MLFLOW_URI`, `NAS_TENSORBOARD_DIR`"),
    ("One-shot supernet training", OneShotConfig, "`workers.oneshot.train_supernet` (a one-shot search's "
                                                  "`supernet` field is this config's `training`)"),
    ("Finalize", FinalizeConfig, ("`POST /v1/searches/{id}/finalize` (with `name`), `nas finalize` (its flags; "
                                  "the recipe's fields are flags of their own names)")),
    ("Proxy check", ProxyCheckConfig, "`nas proxy-check` (its flags; the recipe's fields as `--full-*`)"),
)


def _type_name(kind: Any) -> str:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        return " or ".join(_type_name(a) for a in args) + (" or null" if type(None) in typing.get_args(kind) else "")
    if typing.get_origin(kind) in (tuple, list):
        inner = [a for a in typing.get_args(kind) if a is not Ellipsis]
        return f"list of {_type_name(inner[0])}" if inner else "list"
    if isinstance(kind, type) and issubclass(kind, enum.StrEnum):
        return "one of " + ", ".join(f"`{c}`" for c in choices(kind))
    return getattr(kind, "__name__", str(kind))


def _shown(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if dataclasses.is_dataclass(value):
        return "(below)"
    value = plain(value)
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(str(plain(v)) for v in value) + "]`"
    return f"`{value}`" if value is not None else "`null`"


def field_rows(cls: type, value: Any = None, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(dotted path, type, default, description) of every field of ``cls``, nested dataclasses expanded; defaults
    are read from ``value`` (the enclosing config's default, e.g. the search's proxy space), else the class's."""
    rows: list[tuple[str, str, str, str]] = []
    kinds = field_types(cls)
    for field in dataclasses.fields(cls):
        kind = kinds[field.name]
        path = f"{prefix}{field.name}"
        default = default_of(field) if value is None else getattr(value, field.name)
        listed = typing.get_origin(kind) in (tuple, list)
        nested = next((a for a in (kind, *typing.get_args(kind)) if dataclasses.is_dataclass(a)), None)
        if nested is not None and listed:
            rows.append((path, f"list of {nested.__name__}", f"{len(default)} items" if default else "`[]`",
                         description(field)))
            rows.extend(field_rows(nested, default[0] if default else None, prefix=f"{path}[i]."))
        elif nested is not None:
            rows.append((path, "object", "(below)", description(field)))
            rows.extend(field_rows(nested, default if dataclasses.is_dataclass(default) else None, f"{path}."))
        else:
            rows.append((path, _type_name(kind), _shown(default), description(field)))
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def configuration_markdown() -> str:
    out = ["# Configuration reference", "",
           ("Generated from the configuration dataclasses (`scripts/docs_reference.py`): the same fields, defaults and "
           "descriptions the REST request models and the command-line flags are derived from. Nested fields are "
           "written with dots (`training.epochs`); in JSON they are nested objects. Values outside a field's range "
           "are refused with an error naming the field and the allowed range."), ""]
    for title, cls, where in CONFIGS:
        out += [f"## {title} (`{cls.__name__}`)", "", f"Used by {where}.", "",
                _table(("field", "type", "default", "description"), field_rows(cls)), ""]
    out += ["## Service settings (`NAS_*` environment variables)", "",
            "Read by `nas serve` and `nas driver` (`store.settings.Settings`); each field `x` is the variable `NAS_X`.",
            "", _table(("variable", "type", "default", "description"), settings_rows(Settings)), ""]
    return "\n".join(out)


def settings_rows(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        names = getattr(alias, "choices", None) or [f"NAS_{name.upper()}"]
        rows.append((" or ".join(f"`{n}`" for n in names), _type_name(info.annotation),
                     _shown(None if info.default is None else info.default), info.description or ""))
    return rows


def rest_markdown() -> str:
    from api.main import create_app

    spec = create_app().openapi()
    out = ["# REST reference", "",
           (f"Generated from the service's OpenAPI document ({spec['info']['title']} {spec['info']['version']}; "
           "`GET /openapi.json` on a running service, browsable at `/docs`). Request bodies are the configuration "
           "objects of the [configuration reference](configuration.md)."), ""]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            out += [f"## `{method.upper()} {path}`", "", op.get("summary", ""), ""]
            if op.get("description"):
                out += [op["description"].strip(), ""]
            params = [(f"`{p['name']}`", p["in"], "yes" if p.get("required") else "no",
                       p.get("description", "") or p.get("schema", {}).get("description", ""))
                      for p in op.get("parameters", [])]
            if params:
                out += [_table(("parameter", "in", "required", "description"), params), ""]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                out += [f"Body: `{body.get('$ref', '').rsplit('/', 1)[-1] or body.get('type', 'object')}`", ""]
            codes = ", ".join(f"{code} ({r.get('description', '')})" for code, r in op.get("responses", {}).items())
            out += [f"Responses: {codes}", ""]
    return "\n".join(out)


# ``nas`` subcommands whose own subcommands get a section each
SUBCOMMANDS = {"scale": ("derive", "grid")}


def _help(argv: list[str]) -> str:
    import contextlib
    import io

    from api.console import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


def cli_markdown() -> str:
    from api.console import ROUTES

    out = ["# Command-line reference", "",
           ("Generated from the parsers (`scripts/docs_reference.py`). Every `nas` subcommand is also reachable as "
           "`python -m <package>`: `nas search` is `python -m workers search`, `nas scale derive` is "
           "`python -m scaler derive`, `nas serve` is `python -m api`."), "", "```", _help([]).strip(), "```", ""]
    for name in ROUTES:
        for argv in ([[name, sub] for sub in SUBCOMMANDS[name]] if name in SUBCOMMANDS else [[name]]):
            out += [f"## `nas {' '.join(argv)}`", "", "```", _help(argv).strip(), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(cli_markdown())
    print(configuration_markdown())
    print(rest_markdown())
