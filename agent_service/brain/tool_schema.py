"""The JSON Schema subset the tools are described in, and a validator for exactly that subset.

The model reads a tool's schema; the validator holds its arguments to the same schema. A schema keyword
the validator does not enforce is refused when the tool is registered (`check_schema`), so a tool can
never advertise a rule ("at most 100 characters") that nobody checks. No runtime dependency: the agent's
extra carries no JSON Schema library, and this subset is small.
"""

from __future__ import annotations

import re
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
}
_KEYWORDS = frozenset(
    {
        "type", "description", "properties", "required", "additionalProperties", "enum",
        "minLength", "maxLength", "pattern", "minimum", "maximum", "items", "minItems", "maxItems",
    }
)  # fmt: skip


class SchemaError(ValueError):
    """A tool's schema uses what the validator cannot enforce: a programming error, raised at start-up."""


def check_schema(schema: dict[str, Any], where: str = "parameters") -> None:
    unknown = set(schema) - _KEYWORDS
    if unknown:
        raise SchemaError(f"{where}: keywords the validator does not enforce: {sorted(unknown)}")
    kind = schema.get("type")
    if kind not in _TYPES:
        raise SchemaError(f"{where}: type must be one of {sorted(_TYPES)}, not {kind!r}")
    if kind == "object" and schema.get("additionalProperties", True) is not False:
        raise SchemaError(f"{where}: objects must set additionalProperties: false")
    for name, sub in schema.get("properties", {}).items():
        check_schema(sub, f"{where}.{name}")
    if kind == "array":
        check_schema(schema.get("items", {}), f"{where}[]")
    if "pattern" in schema:
        re.compile(schema["pattern"])


def validate(schema: dict[str, Any], value: Any, where: str = "") -> str | None:
    """The first way `value` breaks `schema`, as a sentence naming the argument; None if it conforms."""
    label = where or "arguments"
    kind = schema["type"]
    # bool is an int in Python, never in JSON.
    if not isinstance(value, _TYPES[kind]) or (isinstance(value, bool) and kind != "boolean"):
        return f"{label} must be a{'n' if kind[0] in 'aeiou' else ''} {kind}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{label} must be one of {schema['enum']}"
    if isinstance(value, str):
        return _string(schema, value, label)
    if isinstance(value, dict):
        return _object(schema, value, where)
    if isinstance(value, list):
        return _array(schema, value, label)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < schema.get("minimum", value):
            return f"{label} must be at least {schema['minimum']}"
        if value > schema.get("maximum", value):
            return f"{label} must be at most {schema['maximum']}"
    return None


def _array(schema: dict[str, Any], value: list[Any], label: str) -> str | None:
    if len(value) < schema.get("minItems", 0):
        return f"{label} needs at least {schema['minItems']} items"
    if len(value) > schema.get("maxItems", len(value)):
        return f"{label} has {len(value)} items; at most {schema['maxItems']}"
    for i, item in enumerate(value):
        if (error := validate(schema["items"], item, f"{label}[{i}]")) is not None:
            return error
    return None


def _string(schema: dict[str, Any], value: str, label: str) -> str | None:
    if len(value) < schema.get("minLength", 0):
        return f"{label} must not be empty" if schema["minLength"] == 1 else f"{label} is too short"
    if len(value) > schema.get("maxLength", len(value)):
        return f"{label} is {len(value)} characters; at most {schema['maxLength']}"
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        return f"{label} {value[:40]!r} is not in the expected form"
    return None


def _object(schema: dict[str, Any], value: dict[str, Any], where: str) -> str | None:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in value:
        if name not in properties:
            allowed = ", ".join(properties) or "nothing"
            return f"unexpected argument {str(name)[:40]!r} (this takes: {allowed})"
    for name in schema.get("required", ()):
        if name not in value:
            return f"{where + '.' if where else ''}{name} is required"
    for name, sub in properties.items():
        if name in value and (error := validate(sub, value[name], f"{where + '.' if where else ''}{name}")):
            return error
    return None


def string(description: str, *, max_length: int, min_length: int = 1, pattern: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "string",
        "description": description,
        "minLength": min_length,
        "maxLength": max_length,
    }
    if pattern:
        schema["pattern"] = pattern
    return schema


def arguments(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """A tool's parameters: an object of exactly these properties."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }
