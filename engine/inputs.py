"""Validating a decision's input against the pack's declared schema.

Every problem is collected with its JSON path, so a caller sees all of them at once.
Binary floats are refused: a number must arrive as ``int`` or ``Decimal`` (the JSON
decoders in ``engine.jsonio`` produce exactly those).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from rules.errors import FieldProblem, InputError
from rules.input_types import INPUT_TYPES, Held, held
from rules.ir import FieldDef, FieldShape
from rules.temporal import CLASS_OF_KIND

MAX_MAGNITUDE = Decimal("1e18")  # larger amounts are a typo or an attack, not an order
MAX_STRING = 10_000
MAX_ITEMS = 10_000
# A decimal sent as text (OData v2 sends Edm.Decimal so): digits only, read by Decimal, never by float.
DECIMAL_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
MAX_DECIMAL_TEXT = 40

Problems = list[FieldProblem]
Path = tuple[str | int, ...]
Coerce = Callable[[Any, Path, Problems], Any]


def _number(spec: FieldShape, integral: bool) -> Coerce:
    low, high = spec.min, spec.max

    def coerce(value: Any, path: Path, problems: Problems) -> Any:
        if not integral and isinstance(value, str) and len(value) <= MAX_DECIMAL_TEXT and DECIMAL_TEXT.fullmatch(value):
            value = Decimal(value)
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            kind = "a binary float" if isinstance(value, float) else type(value).__name__
            problems.append(FieldProblem(path, "type", f"expected a number, got {kind}"))
            return None
        if isinstance(value, Decimal):
            if not value.is_finite():
                problems.append(FieldProblem(path, "number", "NaN and Infinity are not numbers"))
                return None
            if not -MAX_MAGNITUDE < value < MAX_MAGNITUDE:  # a comparison: abs() would round, and overflow at 1e1000000
                problems.append(FieldProblem(path, "number", f"number is out of the supported range (below {MAX_MAGNITUDE:.0e})"))
                return None
            if integral:
                if value != value.to_integral_value():
                    problems.append(FieldProblem(path, "type", "expected a whole number"))
                    return None
                value = int(value)
        elif not -MAX_MAGNITUDE < value < MAX_MAGNITUDE:
            problems.append(FieldProblem(path, "number", f"number is out of the supported range (below {MAX_MAGNITUDE:.0e})"))
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


def _string(spec: FieldShape) -> Coerce:
    limit = spec.max_length if spec.max_length is not None else MAX_STRING
    values = frozenset(spec.values) if INPUT_TYPES[spec.type].enumerated and spec.values else None
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


def _temporal(spec: FieldShape) -> Coerce:
    declared = INPUT_TYPES[spec.type]
    parse = declared.parse
    assert parse is not None
    example = declared.doc.split("(`", 1)[-1].split("`", 1)[0]
    held_class = CLASS_OF_KIND[declared.type.kind]

    def coerce(value: Any, path: Path, problems: Problems) -> Any:
        if value.__class__ is held_class:  # already read (a flow step's input, the search's values), as a date may be
            return value
        try:
            found = parse(value) if isinstance(value, str) else None
        except ValueError as exc:  # a valid FEEL text Arbiter cannot hold exactly (a year past 9999, a zone on a time)
            problems.append(FieldProblem(path, "type", f"is not supported: {exc}"))
            return None
        if found is None:
            problems.append(FieldProblem(path, "type", f"expected a {spec.type} as ISO 8601 text, like {example!r}"))
        return found

    return coerce


def _object(fields: dict[str, FieldShape]) -> Coerce:
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


def _list(spec: FieldShape) -> Coerce:
    item = field_coercer(FieldShape(type=spec.of)) if spec.of is not None else _object(spec.items or {})
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


# the slow path's check of a value of a declared type, by how the type holds it
_COERCERS: dict[Held, Callable[[FieldShape], Coerce]] = {
    Held.DECIMAL: lambda spec: _number(spec, integral=False), Held.INTEGER: lambda spec: _number(spec, integral=True),
    Held.BOOLEAN: lambda spec: _boolean, Held.STRING: _string, Held.DATE: lambda spec: _date,
    Held.TEMPORAL: _temporal,
}
assert set(_COERCERS) == set(Held)


def field_coercer(spec: FieldShape) -> Coerce:
    kind = spec.type
    how = held(kind)
    if how is not None:
        return _COERCERS[how](spec)
    if kind == "list":
        return _list(spec)
    return _object(spec.fields or {})


class _FastPath:
    """Generated straight-line validation of a well-formed input; None sends it to the slow path.

    It accepts exactly what the slow path accepts and builds the same values (the suite holds
    the two equal on random inputs); anything unusual, valid or not, returns None. Nested
    objects and lists are checked inline, in loops of the one function, not by a call per
    object and a comprehension per list: an order's lines and a warehouse's stock cost a few
    hundred calls an order otherwise. Past ``INLINE_DEPTH`` nested lists a nested object gets
    a function of its own (Python allows 20 nested blocks). With ``strict=False`` undeclared
    fields are dropped instead of refused: a flow's step gets a projection of richer, already
    validated objects.
    """

    INLINE_DEPTH = 6

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.ns: dict[str, Any] = {"Decimal": Decimal, "MAX": MAX_MAGNITUDE, "NMAX": -MAX_MAGNITUDE,
                                   "MAXI": int(MAX_MAGNITUDE), "NMAXI": -int(MAX_MAGNITUDE), "date": dt.date,
                                   "fromiso": dt.date.fromisoformat}
        self.source: list[str] = []
        self.count = 0
        self.depth = 0  # lists being looped over where the current lines go

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def build(self, fields: dict[str, FieldShape], passthrough: dict[str, FieldShape]) -> Callable[[Any], dict[str, Any] | None]:
        name = self.object(fields, passthrough)
        exec(compile("\n".join(self.source), "<arbiter input validation>", "exec"), self.ns)  # noqa: S102 - generated from the declared schema only
        fast: Callable[[Any], dict[str, Any] | None] = self.ns[name]
        return fast

    def object(self, fields: dict[str, FieldShape], passthrough: dict[str, FieldShape] | None = None) -> str:
        """A function validating one object: ``raw`` in, its values or None out."""
        fn = self.fresh("obj")
        saved, self.depth = self.depth, 0
        body = self.members(fields, "raw", passthrough)
        self.depth = saved
        self.source += [f"def {fn}(raw):", *("    " + line for line in body), "    return raw", ""]
        return fn

    def members(self, fields: dict[str, FieldShape], v: str, passthrough: dict[str, FieldShape] | None = None) -> list[str]:
        """Lines checking that ``v`` is an object of ``fields`` and rebinding it to the validated values."""
        if self.strict:
            known = self.fresh("KNOWN")
            self.ns[known] = frozenset(fields)
            lines = [f"if {v}.__class__ is not dict or not {known}.issuperset({v}):", "    return None"]
        else:
            lines = [f"if {v}.__class__ is not dict:", "    return None"]
        names = []
        for name, spec in fields.items():
            x = self.fresh("v")
            names.append(f"{name!r}: {x}")
            lines.append(f"{x} = {v}.get({name!r})")
            if spec.optional:
                default = self.fresh("D")
                self.ns[default] = spec.default
                lines += [f"if {x} is None:", f"    {x} = {default}", "else:", *("    " + line for line in self.check(spec, x))]
            else:
                lines += [f"if {x} is None:", "    return None", *self.check(spec, x)]
        for name in sorted(passthrough or ()):
            x = self.fresh("p")
            names.append(f"{name!r}: {x}")
            lines += [f"{x} = {v}.get({name!r})", *_Filling(self).value(passthrough[name], x)]  # type: ignore[index]
        return [*lines, f"{v} = {{" + ", ".join(names) + "}"]

    def check(self, spec: FieldShape, v: str) -> list[str]:
        kind = spec.type
        declared = INPUT_TYPES.get(kind)
        how = None if declared is None else declared.held
        if how in (Held.DECIMAL, Held.INTEGER):
            return self.number(spec, v)
        if how is Held.BOOLEAN:
            return [f"if {v} is not True and {v} is not False:", "    return None"]
        if declared is not None and declared.enumerated:
            values = self.fresh("E")
            self.ns[values] = frozenset(spec.values or ())
            return [f"if {v}.__class__ is not str or {v} not in {values}:", "    return None"]
        if how is Held.STRING:
            limit = spec.max_length if spec.max_length is not None else MAX_STRING
            return [f"if {v}.__class__ is not str or len({v}) > {limit}:", "    return None"]
        if how is Held.DATE:
            return [f"if {v}.__class__ is str and len({v}) == 10:", "    try:", f"        {v} = fromiso({v})",
                    "    except ValueError:", "        return None", f"elif {v}.__class__ is not date:", "    return None"]
        if how is Held.TEMPORAL:
            assert declared is not None
            parse, held_class = self.fresh("P"), self.fresh("C")
            self.ns[parse], self.ns[held_class] = declared.parse, CLASS_OF_KIND[declared.type.kind]
            return [f"if {v}.__class__ is str:", "    try:", f"        {v} = {parse}({v})",
                    "    except ValueError:", "        return None", f"    if {v} is None:", "        return None",
                    f"elif {v}.__class__ is not {held_class}:", "    return None"]
        if kind == "list":
            return self.listed(spec, v)
        return self.nested(spec.fields or {}, v)

    def number(self, spec: FieldShape, v: str) -> list[str]:
        integral = held(spec.type) is Held.INTEGER
        bounds = []
        for name, bound, op in (("LO", spec.min, "<"), ("HI", spec.max, ">")):
            if bound is not None:
                constant = self.fresh(name)
                # an int compares with an int several times faster than with a Decimal
                self.ns[constant] = int(bound) if integral and bound == bound.to_integral_value() else bound
                bounds.append(f"{v} {op} {constant}")
        lines = [f"if {v}.__class__ is int:", f"    if not NMAXI < {v} < MAXI:", "        return None"]
        if not integral:
            lines.append(f"    {v} = Decimal({v})")
        lines += [f"elif {v}.__class__ is Decimal and {v}.is_finite() and NMAX < {v} < MAX:"]
        if integral:
            lines += [f"    if {v} != {v}.to_integral_value():", "        return None", f"    {v} = int({v})"]
        else:
            lines.append("    pass")
        lines += ["else:", "    return None"]
        return lines + ([f"if {' or '.join(bounds)}:", "    return None"] if bounds else [])

    def nested(self, fields: dict[str, FieldShape], v: str) -> list[str]:
        if self.depth < self.INLINE_DEPTH:
            return self.members(fields, v)
        return [f"{v} = {self.object(fields)}({v})", f"if {v} is None:", "    return None"]

    def listed(self, spec: FieldShape, v: str) -> list[str]:
        """A list checked item by item in a loop building the validated copy."""
        limit = spec.max_items if spec.max_items is not None else MAX_ITEMS
        item, kept = self.fresh("x"), self.fresh("l")
        self.depth += 1
        each = self.check(FieldShape(type=spec.of), item) if spec.of is not None else self.nested(spec.items or {}, item)
        self.depth -= 1
        return [f"if {v}.__class__ is not list or len({v}) > {limit}:", "    return None",
                f"{kept} = []", f"for {item} in {v}:", *("    " + line for line in each),
                f"    {kept}.append({item})", f"{v} = {kept}"]


def compile_validator(fields: list[FieldDef], *, strict: bool = True,
                      passthrough: Sequence[FieldDef] = ()) -> Callable[[Any], dict[str, Any]]:
    """A function from a raw input to validated values, raising ``InputError``.

    ``strict=False`` drops undeclared fields at any depth instead of refusing them; the
    top-level ``passthrough`` fields were validated elsewhere, against declarations that
    cover these (``engine.compiled._covers``): they are copied, their nulls given the
    defaults declared here, and nothing else is checked.
    """
    declared = {f.name: f.spec for f in fields}
    root = _object(declared)
    trusted = {f.name: f.spec for f in passthrough}
    fast = _FastPath(strict).build(declared, trusted)
    filled = _FastPath(strict=False).build({}, trusted)  # the slow path's passthrough: the same filling

    def validate(raw: Any) -> dict[str, Any]:
        value = fast(raw)
        if value is not None:
            return value
        given = raw
        if not strict and isinstance(raw, dict):
            raw = _project_object(declared, raw)
        problems: Problems = []
        value = root(raw, (), problems)
        if problems:
            raise InputError(problems)
        value.update(filled(given) or {})
        return value  # type: ignore[no-any-return]

    validate.fast = fast  # type: ignore[attr-defined]
    validate.slow = lambda raw: root(raw, (), [])  # type: ignore[attr-defined]
    return validate


class _Filling:
    """Lines giving the nulls of a value valid under a covering declaration the defaults this one declares.

    Nothing else is checked. An object or a list is copied only where a default goes into
    it, so a value with nothing to fill stays the very object the flow validated.
    """

    def __init__(self, names: _FastPath) -> None:
        self.names = names

    def value(self, spec: FieldShape, x: str) -> list[str]:
        inner = self.inside(spec, x)
        if spec.optional and spec.default is not None:
            default = self.names.fresh("D")
            self.names.ns[default] = spec.default
            return [f"if {x} is None:", f"    {x} = {default}", *(["else:", *("    " + line for line in inner)] if inner else [])]
        return [f"if {x} is not None:", *("    " + line for line in inner)] if inner else []

    def inside(self, spec: FieldShape, x: str) -> list[str]:
        if spec.type == "object" and spec.fields:
            return self.members(spec.fields, x)
        if spec.type != "list" or not spec.items:
            return []
        item, index, copy = self.names.fresh("e"), self.names.fresh("i"), self.names.fresh("c")
        each = self.members(spec.items, item)
        if not each:
            return []
        flat = self.flat(spec.items, item)
        if flat is not None:  # an order's lines with a flag to default: one comprehension, a third cheaper than the loop
            return [f"{x} = [{item} if {flat[0]} else {{**{item}, {flat[1]}}} for {item} in {x}]"]
        was = self.names.fresh("w")
        return [f"{copy} = None", f"for {index}, {item} in enumerate({x}):", f"    {was} = {item}", *("    " + line for line in each),
                f"    if {item} is not {was}:", f"        if {copy} is None:", f"            {copy} = list({x})",
                f"        {copy}[{index}] = {item}", f"if {copy} is not None:", f"    {x} = {copy}"]

    def flat(self, fields: dict[str, FieldShape], item: str) -> tuple[str, str] | None:
        """(all filled, the filled members) as expressions, when the items' only fills are defaults of plain fields."""
        filled = {name: spec for name, spec in fields.items() if self.value(spec, "_")}
        if any(spec.default is None or self.inside(spec, "_") for spec in filled.values()):
            return None
        names = {name: self.names.fresh("D") for name in filled}
        self.names.ns.update({names[name]: spec.default for name, spec in filled.items()})
        test = " and ".join(f"{item}.get({name!r}) is not None" for name in filled)
        members = ", ".join(f"{name!r}: {names[name]} if {item}.get({name!r}) is None else {item}[{name!r}]" for name in filled)
        return test, members

    def members(self, fields: dict[str, FieldShape], x: str) -> list[str]:
        lines: list[str] = []
        for name, spec in fields.items():
            y, was = self.names.fresh("f"), self.names.fresh("w")
            fill = self.value(spec, y)
            if fill:
                lines += [f"{y} = {was} = {x}.get({name!r})", *fill,
                          f"if {y} is not {was}:", f"    {x} = {{**{x}, {name!r}: {y}}}"]
        return lines


def _project_object(fields: dict[str, FieldShape], value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {name: _project_value(fields[name], v) for name, v in value.items() if name in fields}


def _project_value(spec: FieldShape, value: Any) -> Any:
    if spec.type == "list" and spec.items is not None and isinstance(value, list):
        return [_project_object(spec.items, v) for v in value]
    if spec.type == "object" and spec.fields is not None:
        return _project_object(spec.fields, value)
    return value
