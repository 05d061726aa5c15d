"""JSON Schema of a pack's inputs and outputs, generated from its declared fields."""

from __future__ import annotations

from typing import Any

from rules.model import FieldSpec


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any]
    if spec.type in ("money", "decimal"):
        out = {"type": "number"}
        if spec.type == "money":
            out["format"] = "decimal"
    elif spec.type == "integer":
        out = {"type": "integer"}
    elif spec.type == "boolean":
        out = {"type": "boolean"}
    elif spec.type == "string":
        out = {"type": "string"}
        if spec.max_length is not None:
            out["maxLength"] = spec.max_length
    elif spec.type == "enum":
        out = {"type": "string", "enum": list(spec.values or [])}
    elif spec.type == "date":
        out = {"type": "string", "format": "date"}
    elif spec.type == "list":
        items = field_schema(FieldSpec(type=spec.of)) if spec.of is not None else object_schema(spec.items or {})
        out = {"type": "array", "items": items}
        if spec.max_items is not None:
            out["maxItems"] = spec.max_items
    else:
        out = object_schema(spec.fields or {})
    if spec.min is not None:
        out["minimum"] = spec.min
    if spec.max is not None:
        out["maximum"] = spec.max
    if spec.description:
        out["description"] = spec.description
    if spec.optional:
        out = {"anyOf": [out, {"type": "null"}]} | ({"description": spec.description} if spec.description else {})
        if spec.default is not None:
            out["default"] = spec.default
    return out


def object_schema(fields: dict[str, FieldSpec], *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: field_schema(spec) for name, spec in fields.items()},
        "required": [name for name, spec in fields.items() if not spec.optional],
    }
    if closed:
        schema["additionalProperties"] = False
    return schema
