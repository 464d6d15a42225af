"""What the services' REST APIs share about pydantic: refusing a body with a clear message,
and the OpenAPI 3.1 document built from the models.

A service declares its request bodies and its answers as pydantic models; the handlers
validate bodies with :func:`parse` and dump answers through the models, and the
service's ``openapi.py`` puts :func:`components` of the same models in its document, so
what is documented is what is checked and what is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
# How a caller authenticates to a hub service's API (``security: [{"hubToken": []}]``).
HUB_TOKEN = {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "'token <JupyterHub API token>'; in a browser the hub login "
    "cookie is used instead",
}
M = TypeVar("M", bound=BaseModel)


class BodyInvalid(ValueError):
    """A request body the model refuses; the message says what is wrong, field by field."""


def encodable(value: str) -> str:
    """``value``, if it can be stored and audited (valid UTF-8: no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid UTF-8 (no lone surrogates)") from None
    return value


def _hint_key(loc: tuple[int | str, ...]) -> str:
    """``("paths", 3)`` -> ``"paths.*"``: the key of a field's hint, list positions starred."""
    return ".".join("*" if isinstance(p, int) else str(p) for p in loc)


def describe(
    error: ValidationError, hints: Mapping[str, str] | None = None, *, unknown: bool = True
) -> str:
    """One clause per problem, ``field: what is wrong``, joined with ``; ``.

    ``hints`` (keyed by field, list positions as ``*``: ``"paths.*"``) replace pydantic's
    "String should match pattern ..." with what a valid value looks like; a field the model
    does not know is named as unknown (``unknown=False``: in pydantic's words).
    """
    hints = hints or {}
    parts = []
    for e in error.errors(include_url=False):
        loc = tuple(e["loc"])
        where = ".".join(str(p) for p in loc) or "body"
        msg = e["msg"].removeprefix("Value error, ")
        hint = hints.get(_hint_key(loc))
        if e["type"] == "string_pattern_mismatch" and hint:
            msg = f"{str(e['input'])[:60]!r} is not valid: {hint}"
        elif e["type"] == "extra_forbidden" and unknown:
            msg = "unknown field"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def parse(model: type[M], data: object, hints: Mapping[str, str] | None = None) -> M:
    """``data`` (a decoded JSON object) as ``model``, or :class:`BodyInvalid` saying why
    (an unknown field, with the fields the model does know)."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise BodyInvalid(f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        known = ", ".join(model.model_fields)
        message = describe(e, hints)
        if any(err["type"] == "extra_forbidden" for err in e.errors()):
            message += f" (the fields are: {known})"
        raise BodyInvalid(message) from None


def components(
    bodies: list[type[BaseModel]], answers: list[type[BaseModel]]
) -> dict[str, dict[str, Any]]:
    """The ``components.schemas`` of an OpenAPI 3.1 document: request bodies as they are
    validated, answers as they are serialised, and every model they nest, by class name."""
    models = [(m, "validation") for m in bodies] + [(m, "serialization") for m in answers]
    _, top = models_json_schema(models, ref_template=REF)  # type: ignore[arg-type]
    return top.get("$defs", {})


def ref(name: str | type[BaseModel]) -> dict[str, str]:
    """A reference to a component schema (a model or its name)."""
    return {"$ref": REF.format(model=name if isinstance(name, str) else name.__name__)}


def json_answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A response object with a JSON body of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(model: str | type[BaseModel]) -> dict[str, Any]:
    """A required JSON request body of ``model`` (a model or its component's name)."""
    return {"required": True, "content": {"application/json": {"schema": ref(model)}}}


def error_answers(descriptions: Mapping[str, str], *codes: str) -> dict[str, Any]:
    """The responses ``codes``, each an ``Error`` body with its entry in ``descriptions``."""
    return {code: json_answer(ref("Error"), descriptions[code]) for code in codes}


def document(
    *, title: str, description: str, base: str, paths: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    """An OpenAPI 3.1 document of a hub service's API at ``base``, every operation behind
    the caller's hub token (or login cookie)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "servers": [{"url": base}],
        "security": [{"hubToken": []}],
        "paths": paths,
        "components": {"securitySchemes": {"hubToken": HUB_TOKEN}, "schemas": schemas},
    }
