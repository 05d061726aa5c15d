"""Validating a decision's input against the pack's declared schema.

Every problem is collected with its JSON path, so a caller sees all of them at once.
Binary floats are refused: a number must arrive as ``int`` or ``Decimal`` (the JSON
decoders in ``engine.jsonio`` produce exactly those).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rules.errors import FieldProblem, InputError
from rules.ir import FieldDef
from rules.model import FieldSpec

MAX_MAGNITUDE = Decimal("1e18")  # larger amounts are a typo or an attack, not an order
MAX_STRING = 10_000
MAX_ITEMS = 10_000

Problems = list[FieldProblem]
Path = tuple[str | int, ...]
Coerce = Callable[[Any, Path, Problems], Any]


def _number(spec: FieldSpec, integral: bool) -> Coerce:
    low, high = spec.min, spec.max

    def coerce(value: Any, path: Path, problems: Problems) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            kind = "a binary float" if isinstance(value, float) else type(value).__name__
            problems.append(FieldProblem(path, "type", f"expected a number, got {kind}"))
            return None
        if isinstance(value, Decimal):
            if not value.is_finite():
                problems.append(FieldProblem(path, "number", "NaN and Infinity are not numbers"))
                return None
            if abs(value) >= MAX_MAGNITUDE:
                problems.append(FieldProblem(path, "number", "number is out of the supported range"))
                return None
            if integral:
                if value != value.to_integral_value():
                    problems.append(FieldProblem(path, "type", "expected a whole number"))
                    return None
                value = int(value)
        elif abs(value) >= MAX_MAGNITUDE:
            problems.append(FieldProblem(path, "number", "number is out of the supported range"))
            return None
        elif not integral:
            value = Decimal(value)
        if low is not None and value < low:
            problems.append(FieldProblem(path, "minimum", f"must be at least {low}"))
        if high is not None and value > high:
            problems.append(FieldProblem(path, "maximum", f"must be at most {high}"))
        return value

    return coerce


def _boolean(value: Any, path: Path, problems: Problems) -> Any:
    if not isinstance(value, bool):
        problems.append(FieldProblem(path, "type", f"expected true or false, got {type(value).__name__}"))
        return None
    return value


def _string(spec: FieldSpec) -> Coerce:
    limit = spec.max_length if spec.max_length is not None else MAX_STRING
    values = frozenset(spec.values) if spec.type == "enum" and spec.values else None
    listed = ", ".join(spec.values or ())

    def coerce(value: Any, path: Path, problems: Problems) -> Any:
        if not isinstance(value, str):
            problems.append(FieldProblem(path, "type", f"expected a string, got {type(value).__name__}"))
            return None
        if values is not None and value not in values:
            problems.append(FieldProblem(path, "enum", f"must be one of {listed}"))
            return None
        if len(value) > limit:
            problems.append(FieldProblem(path, "max_length", f"is longer than {limit} characters"))
            return None
        return value

    return coerce


def _date(value: Any, path: Path, problems: Problems) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(FieldProblem(path, "type", "expected a date as YYYY-MM-DD"))
    return None


def _object(fields: dict[str, FieldSpec]) -> Coerce:
    members = [(name, spec, field_coercer(spec)) for name, spec in fields.items()]
    known = frozenset(fields)

    def coerce(value: Any, path: Path, problems: Problems) -> Any:
        if not isinstance(value, dict):
            problems.append(FieldProblem(path, "type", f"expected an object, got {type(value).__name__}"))
            return None
        out: dict[str, Any] = {}
        for name, spec, sub in members:
            raw = value.get(name)
            if raw is None:
                if not spec.optional:
                    code = "missing" if name not in value else "null"
                    problems.append(FieldProblem((*path, name), code, "is required" if code == "missing" else "must not be null"))
                out[name] = spec.default
                continue
            out[name] = sub(raw, (*path, name), problems)
        for name in value:
            if name not in known:
                problems.append(FieldProblem((*path, str(name)), "unknown", "is not a field of this pack's input"))
        return out

    return coerce


def _list(spec: FieldSpec) -> Coerce:
    item = field_coercer(FieldSpec(type=spec.of)) if spec.of is not None else _object(spec.items or {})
    limit = spec.max_items if spec.max_items is not None else MAX_ITEMS

    def coerce(value: Any, path: Path, problems: Problems) -> Any:
        if not isinstance(value, list):
            problems.append(FieldProblem(path, "type", f"expected a list, got {type(value).__name__}"))
            return None
        if len(value) > limit:
            problems.append(FieldProblem(path, "max_items", f"has more than {limit} items"))
            return None
        return [item(v, (*path, i), problems) for i, v in enumerate(value)]

    return coerce


def field_coercer(spec: FieldSpec) -> Coerce:
    kind = spec.type
    if kind in ("money", "decimal"):
        return _number(spec, integral=False)
    if kind == "integer":
        return _number(spec, integral=True)
    if kind == "boolean":
        return _boolean
    if kind in ("string", "enum"):
        return _string(spec)
    if kind == "date":
        return _date
    if kind == "list":
        return _list(spec)
    return _object(spec.fields or {})


def _fast_path(fields: list[FieldDef]) -> Callable[[Any], dict[str, Any] | None]:
    """Generated straight-line validation of a well-formed input; None sends it to the slow path.

    It accepts exactly what the slow path accepts and builds the same dict (the suite holds
    the two equal on random inputs); anything unusual, valid or not, returns None.
    """
    lines = ["def fast(raw):", "    if raw.__class__ is not dict or not KNOWN.issuperset(raw):", "        return None"]
    namespace: dict[str, Any] = {"Decimal": Decimal, "KNOWN": frozenset(f.name for f in fields), "MAX": MAX_MAGNITUDE,
                                 "date": dt.date, "fromiso": dt.date.fromisoformat}
    names = []
    for i, f in enumerate(fields):
        spec, v = f.spec, f"v{i}"
        names.append(f"{f.name!r}: {v}")
        lines.append(f"    {v} = raw.get({f.name!r})")
        if spec.optional:
            namespace[f"D{i}"] = spec.default
            lines.append(f"    if {v} is None:")
            lines.append(f"        {v} = D{i}")
            lines.append("    else:")
            indent = "        "
        else:
            lines.append(f"    if {v} is None:")
            lines.append("        return None")
            indent = "    "
        body = _fast_check(spec, v, i, namespace)
        lines.extend(indent + line for line in body)
    lines.append("    return {" + ", ".join(names) + "}")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the declared schema only
    fast: Callable[[Any], dict[str, Any] | None] = namespace["fast"]
    return fast


def _fast_check(spec: FieldSpec, v: str, i: int, ns: dict[str, Any]) -> list[str]:
    kind = spec.type
    bounds = []
    if spec.min is not None:
        ns[f"LO{i}"] = spec.min
        bounds.append(f"{v} < LO{i}")
    if spec.max is not None:
        ns[f"HI{i}"] = spec.max
        bounds.append(f"{v} > HI{i}")
    out_of_bounds = [f"if {' or '.join(bounds)}:", "    return None"] if bounds else []
    if kind in ("money", "decimal", "integer"):
        lines = [f"if {v}.__class__ is int:", f"    if not -MAX < {v} < MAX:", "        return None"]
        if kind != "integer":
            lines.append(f"    {v} = Decimal({v})")
        lines += [f"elif {v}.__class__ is Decimal and {v}.is_finite() and -MAX < {v} < MAX:"]
        if kind == "integer":
            lines += [f"    if {v} != {v}.to_integral_value():", "        return None", f"    {v} = int({v})"]
        else:
            lines.append("    pass")
        lines += ["else:", "    return None"]
        return lines + out_of_bounds
    if kind == "boolean":
        return [f"if {v} is not True and {v} is not False:", "    return None"]
    if kind == "enum":
        ns[f"E{i}"] = frozenset(spec.values or ())
        return [f"if {v}.__class__ is not str or {v} not in E{i}:", "    return None"]
    if kind == "string":
        limit = spec.max_length if spec.max_length is not None else MAX_STRING
        return [f"if {v}.__class__ is not str or len({v}) > {limit}:", "    return None"]
    if kind == "date":
        return [f"if {v}.__class__ is str and len({v}) == 10:", "    try:", f"        {v} = fromiso({v})",
                "    except ValueError:", "        return None", f"elif {v}.__class__ is not date:", "    return None"]
    ns[f"C{i}"] = field_coercer(spec)
    return ["_p = []", f"{v} = C{i}({v}, (), _p)", "if _p:", "    return None"]


def compile_validator(fields: list[FieldDef]) -> Callable[[Any], dict[str, Any]]:
    """A function from a raw input to validated values, raising ``InputError``."""
    root = _object({f.name: f.spec for f in fields})
    fast = _fast_path(fields)

    def validate(raw: Any) -> dict[str, Any]:
        value = fast(raw)
        if value is not None:
            return value
        problems: Problems = []
        value = root(raw, (), problems)
        if problems:
            raise InputError(problems)
        return value  # type: ignore[no-any-return]

    validate.fast = fast  # type: ignore[attr-defined]
    validate.slow = lambda raw: root(raw, (), [])  # type: ignore[attr-defined]
    return validate


def project(fields: list[FieldDef], value: dict[str, Any]) -> dict[str, Any]:
    """Keep only the declared fields (recursively): a flow passes richer objects than a step declares."""
    projected: dict[str, Any] = _project_object({f.name: f.spec for f in fields}, value)
    return projected


def _project_object(fields: dict[str, FieldSpec], value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {name: _project_value(fields[name], v) for name, v in value.items() if name in fields}


def _project_value(spec: FieldSpec, value: Any) -> Any:
    if spec.type == "list" and spec.items is not None and isinstance(value, list):
        return [_project_object(spec.items, v) for v in value]
    if spec.type == "object" and spec.fields is not None:
        return _project_object(spec.fields, value)
    return value
