"""Request models derived from the domain's frozen config dataclasses, so that every field is declared once.

``config_model(TrainBudget, "TrainingIn")`` has one field per dataclass field, its type, default and
description (``metadata["doc"]``, see ``searchspace.fields.doc``) read from the dataclass: an enum becomes the
Literal of its values, a nested config its own derived model, and numbers are strict (``true`` is not 1).
``to_config()`` builds the dataclass, whose ``__post_init__`` checks the ranges; a SpecError comes back with
the field's path in the request body.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import math
import operator
import types
import typing
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from searchspace.codec import field_types
from searchspace.errors import SpecError
from searchspace.fields import choices, default_of, description, plain

MAX_LIST = 16  # values in a list field


def text(value: str) -> str:
    """``value`` unless it holds a NUL character or a lone surrogate (JSON's ``"\\ud800"``), which no file
    name, database text column or UTF-8 encoder takes: a validation error, so a 422 naming the field."""
    if "\x00" in value:
        raise PydanticCustomError("text", "must not contain a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError("text", "must be valid Unicode text (it holds a lone surrogate)") from None
    return value


Text = Annotated[str, AfterValidator(text)]  # every free-text field of a request
_SCALARS: dict[Any, Any] = {bool: StrictBool, int: StrictInt, float: StrictFloat, str: Text}


class Input(BaseModel):
    """Request bodies: unknown fields and non-finite numbers are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _non_finite_as_text(cls, data: Any) -> Any:
        """NaN and Infinity (which Python's JSON parser reads) become the strings they were spelt as, so that
        a number field refuses them with a 422 whose echoed input is still valid JSON (not a 500)."""
        return _spell_non_finite(data) if isinstance(data, dict) else data


class ConfigIn(Input):
    """A request model that builds ``config_class``; ``renamed`` maps its dataclass fields to request fields."""

    config_class: ClassVar[type]
    renamed: ClassVar[dict[str, str]] = {}
    nested: ClassVar[dict[type, type[BaseModel]]] = {}  # nested config class -> its request model

    def to_config(self, **given: Any) -> Any:
        """The dataclass; ``given`` values (by dataclass field name) are used instead of the request's."""
        kwargs = {}
        for name in field_types(self.config_class):
            key = self.renamed.get(name, name)
            value = given[name] if name in given else getattr(self, key)
            kwargs[name] = within(key, value.to_config) if isinstance(value, BaseModel) else value
        try:
            return self.config_class(**kwargs)
        except SpecError as err:
            head, sep, rest = err.field.partition(".")
            raise SpecError(self.renamed.get(head, head) + sep + rest, err.message) from None

    @classmethod
    def from_config(cls, config: Any) -> ConfigIn:
        """The request that builds ``config`` (the defaults the schema shows)."""
        return cls(**{cls.renamed.get(name, name): request_value(getattr(config, name), cls.nested)
                      for name in field_types(cls.config_class)})


def _spell_non_finite(data: Any) -> Any:
    """``data`` with every NaN and infinity replaced by its JSON spelling (in place; iterative, for any depth)."""
    stack = [data]
    while stack:
        node = stack.pop()
        for key, value in list(node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(value, float) and not math.isfinite(value):
                node[key] = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            elif isinstance(value, dict | list):
                stack.append(value)
    return data


def within(prefix: str, build: Any) -> Any:
    """``build()`` with any SpecError re-pointed under ``prefix``."""
    try:
        return build()
    except SpecError as err:
        raise err.within(prefix) from None


def request_value(value: Any, nested: dict[type, type[BaseModel]]) -> Any:
    """A dataclass field's value as a request gives it (a nested config as its request model)."""
    if dataclasses.is_dataclass(value):
        return nested[type(value)].from_config(value)  # type: ignore[attr-defined]
    return list(value) if isinstance(value, tuple) else plain(value)


def annotation(hint: Any, nested: dict[type, type[BaseModel]]) -> Any:
    """The request type of a dataclass field's type hint."""
    if hint in nested:
        return nested[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return functools.reduce(operator.or_, [annotation(a, nested) for a in args])
    if origin is tuple:
        return list[annotation(args[0], nested)]  # type: ignore[misc]
    if origin in (collections.abc.Mapping, dict):
        return dict[annotation(args[0], nested), annotation(args[1], nested)]  # type: ignore[misc]
    if isinstance(hint, type) and issubclass(hint, enum.StrEnum):
        return Literal[choices(hint)]
    if hint is type(None):
        return hint
    return _SCALARS[hint]


def request_fields(cls: type, *, include: tuple[str, ...] | None = None, rename: dict[str, str] | None = None,
                   nested: tuple[type[BaseModel], ...] = (), docs: dict[str, str] | None = None,
                   optional: bool = False) -> dict[str, Any]:
    """``create_model`` field definitions for the dataclass fields of ``cls`` (those in ``include``).

    ``nested`` models (each with a ``config_class``) stand for nested configs; ``docs`` overrides descriptions;
    ``optional`` makes every field default to null, meaning "keep the value it replaces".
    """
    by_class = {m.config_class: m for m in nested}  # type: ignore[attr-defined]
    hints = field_types(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or (include is not None and f.name not in include):
            continue
        kind = annotation(hints[f.name], by_class)
        extra: dict[str, Any] = {"description": (docs or {}).get(f.name, description(f)) or None}
        if typing.get_origin(kind) is list:
            extra.update(min_length=0 if f.metadata.get("may_be_empty") else 1, max_length=MAX_LIST)
        if optional:
            out[f.name] = (kind | None, Field(None, **extra))
            continue
        default = default_of(f)
        default = ... if default is dataclasses.MISSING else request_value(default, by_class)
        out[(rename or {}).get(f.name, f.name)] = (kind, Field(default, **extra))
    return out


def config_model(cls: type, name: str, *, rename: dict[str, str] | None = None,
                 nested: tuple[type[BaseModel], ...] = (), docs: dict[str, str] | None = None) -> type[ConfigIn]:
    """A ``ConfigIn`` model named ``name`` with every field of the dataclass ``cls`` (see ``request_fields``)."""
    model = create_model(name, __base__=ConfigIn, __doc__=cls.__doc__,
                         **request_fields(cls, rename=rename, nested=nested, docs=docs))
    model.config_class = cls
    model.renamed = dict(rename or {})
    model.nested = {m.config_class: m for m in nested}  # type: ignore[attr-defined]
    return model


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with every ``$ref`` replaced by the definition it names, so that it can stand in an
    operation's ``openapi_extra`` (where the document has no ``$defs``). Nested models must not recurse."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            return expand(defs[ref.rsplit("/", 1)[1]]) if ref else {k: expand(v) for k, v in node.items()}
        return [expand(v) for v in node] if isinstance(node, list) else node

    return expand(schema)
