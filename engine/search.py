"""Hypothesis strategies for a pack's declared input schema: valid inputs, simplest first.

Used by ``arbiter check`` to search for counterexamples (invariants, tables it cannot decide
exactly) and by the test suite, so the two explore inputs the same way. ``colliding_inputs``
adds small inputs whose lists share every key, tried on every run.

Policies join lists on keys (a line's SKU against a warehouse's stock, a line's warehouse
against the warehouses' codes) and go wrong where keys repeat (two lines of one SKU drawing
on one stock). Random text almost never repeats, so text is drawn from a small pool of keys
shared by every text field as often as freely, whole numbers as often from a small range
(so that one quantity fits a stock and two do not), and a list of objects may repeat one of
its elements.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from engine import order_contract
from rules import temporal
from rules.input_types import INPUT_TYPES, Held, held
from rules.ir import FieldShape, PackIR


def _money(spec: FieldShape) -> st.SearchStrategy[Any]:
    low = spec.min if spec.min is not None else Decimal("-1000000")
    high = spec.max if spec.max is not None else Decimal("1000000")
    return st.decimals(min_value=low, max_value=high, places=2, allow_nan=False, allow_infinity=False)


def _strings(spec: FieldShape, name: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(spec.values or [""]) if INPUT_TYPES[spec.type].enumerated else _text(spec, name)


# a few values of each temporal type, edges included: the search tries them, it does not enumerate clocks
TEMPORAL_SAMPLES: dict[str, list[Any]] = {
    "time": [temporal.Time(0, 0, Decimal(0)), temporal.Time(12, 0, Decimal(0)), temporal.Time(23, 59, Decimal("59.5")),
             temporal.Time(12, 0, Decimal(0), 3600)],
    "date_time": [temporal.DateTime(dt.date(2026, 1, 1), temporal.Time(0, 0, Decimal(0))),
                  temporal.DateTime(dt.date(2026, 6, 30), temporal.Time(23, 59, Decimal(59)))],
    "days_time_duration": [temporal.DaysTimeDuration(Decimal(n)) for n in (0, 1, -3600, 86400 * 30)],
    "years_months_duration": [temporal.YearsMonthsDuration(n) for n in (0, 1, -12, 30)],
}


# valid values of a declared type, by how the type holds them (``name``: the field's, to share keys by)
_VALUES: dict[Held, Callable[[FieldShape, str], st.SearchStrategy[Any]]] = {
    Held.DECIMAL: lambda spec, name: _money(spec), Held.INTEGER: lambda spec, name: _integers(spec),
    Held.BOOLEAN: lambda spec, name: st.booleans(), Held.STRING: _strings,
    Held.DATE: lambda spec, name: st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2035, 12, 31)),
    Held.TEMPORAL: lambda spec, name: st.sampled_from(TEMPORAL_SAMPLES[spec.type]),
}
assert set(_VALUES) == set(Held)


def value_for(spec: FieldShape, name: str = "", least: int = 0) -> st.SearchStrategy[Any]:
    """Valid values of one declared field (``name``: its name, to share keys by; ``least``: the fewest items of a list
    of objects); hypothesis shrinks towards the simplest."""
    kind = spec.type
    how = held(kind)
    if how is not None:
        base: st.SearchStrategy[Any] = _VALUES[how](spec, name)
    elif kind == "list" and spec.items is not None:
        most = spec.max_items if spec.max_items is not None else _longest(spec) + 1
        base = st.lists(object_for(spec.items), min_size=least, max_size=_longest(spec)).flatmap(lambda xs: _repeat_one(xs, most))
    elif kind == "list":
        base = st.lists(value_for(FieldShape(type=spec.of or "string")), max_size=_longest(spec))
    else:
        base = object_for(spec.fields or {})
    return st.one_of(st.none(), base) if spec.optional else base


KEYS = ("A", "B")  # shared by every text field: lines and stock meet on them
COUNTS = (1, 2, 3)  # shared by every whole-number field: two lines of 2 against a stock of 3


def _text(spec: FieldShape, name: str) -> st.SearchStrategy[str]:
    longest = 12 if spec.max_length is None else min(12, spec.max_length)
    keys = [k for k in KEYS if len(k) <= longest]
    free = st.text(max_size=longest)
    if not keys:
        return free
    # one key drawn per input and field name, shared by the fields of that name: a line's SKU is a stock's SKU
    return st.one_of(st.shared(st.sampled_from(keys), key=f"arbiter-key-{name}-{longest}"), st.sampled_from(keys), free)


def _integers(spec: FieldShape) -> st.SearchStrategy[int]:
    """A pool of small counts shared by every whole-number field, a small range, or anything in bounds."""
    low = int(spec.min) if spec.min is not None else -1000
    high = max(low, int(spec.max) if spec.max is not None else 100000)
    full = st.integers(min_value=low, max_value=high)
    counts = [n for n in COUNTS if low <= n <= high]
    small_low, small_high = max(low, 0), min(high, 12)
    if not counts or small_low > small_high:
        return full
    # one count drawn per input and shared: two lines of 2 and a stock of 2
    shared = st.shared(st.sampled_from(counts), key=f"arbiter-count-{counts}")
    return st.one_of(shared, st.sampled_from(counts), st.integers(min_value=small_low, max_value=small_high), full)


def _repeat_one(items: list[Any], most: int) -> st.SearchStrategy[list[Any]]:
    """The list as drawn, or with one of its elements repeated at some place (the same keys twice), within ``most``."""
    if not items or len(items) >= most:
        return st.just(items)
    where = st.tuples(st.integers(0, len(items) - 1), st.integers(0, len(items)))
    repeated = where.map(lambda ij: [*items[:ij[1]], items[ij[0]], *items[ij[1]:]])
    return st.one_of(st.just(items), repeated, repeated)


def _longest(spec: FieldShape) -> int:
    return 4 if spec.max_items is None else min(4, spec.max_items)


def object_for(fields: dict[str, FieldShape]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: value_for(spec, name) for name, spec in fields.items()})


def inputs_for(pack: PackIR) -> st.SearchStrategy[dict[str, Any]]:
    """Valid inputs of a pack, drawn from its declared schema; the canonical order's keep its rules too."""
    fields = schema_of(pack)
    if not order_contract.holds(pack):
        return object_for(fields)
    drawn = st.fixed_dictionaries({name: value_for(spec, name, int(name == "lines")) for name, spec in fields.items()})
    return drawn.map(functools.partial(order_contract.conform, pack))


def schema_of(pack: PackIR) -> dict[str, FieldShape]:
    return {f.name: f.spec for f in pack.inputs}


def shared_schema(schemas: Iterable[dict[str, FieldShape]]) -> dict[str, FieldShape] | None:
    """One schema holding every field of ``schemas`` (the versions of one pack), whose inputs restricted to one
    of them (``restricted``) are drawn as that schema's own would be; None if two declare a field differently.

    The versions of a pack mostly add fields: drawing once for all of them costs the drawing of one.
    """
    out: dict[str, FieldShape] | None = {}
    for fields in schemas:
        out = _merged_fields(out, fields) if out is not None else None
    return out


def _merged_fields(a: dict[str, FieldShape], b: dict[str, FieldShape]) -> dict[str, FieldShape] | None:
    out = dict(a)
    for name, spec in b.items():
        merged = _merged(out[name], spec) if name in out else spec
        if merged is None:
            return None
        out[name] = merged
    return out


def _merged(a: FieldShape, b: FieldShape) -> FieldShape | None:
    if _drawn_as(a) != _drawn_as(b):
        return None
    items = _merged_fields(a.items, b.items) if a.items is not None and b.items is not None else a.items
    fields = _merged_fields(a.fields, b.fields) if a.fields is not None and b.fields is not None else a.fields
    if (a.items is not None and items is None) or (a.fields is not None and fields is None):
        return None
    return dataclasses.replace(a, items=items, fields=fields)


def _drawn_as(spec: FieldShape) -> tuple[Any, ...]:
    """What ``value_for`` draws a field by, but its sub-fields: at most 4 elements and one repeated, so any cap past 5 is 5."""
    most = 5 if spec.max_items is None else min(spec.max_items, 5)
    return (spec.type, spec.optional, spec.min, spec.max, spec.values, spec.max_length, most, spec.of,
            spec.items is None, spec.fields is None)


def restricted(fields: dict[str, FieldShape], values: dict[str, Any]) -> dict[str, Any]:
    """An input drawn for a ``shared_schema`` with only the fields one of its schemas declares, in its order."""
    return {name: _restricted(spec, values[name]) for name, spec in fields.items()}


def _restricted(spec: FieldShape, value: Any) -> Any:
    if value is None:
        return None
    if spec.items is not None:
        return [restricted(spec.items, v) for v in value]
    if spec.fields is not None:
        return restricted(spec.fields, value)
    return value


def simplest_value(spec: FieldShape) -> Any:
    """A fixed valid value: what a counterexample uses for the inputs a finding does not involve."""
    if spec.optional:
        return spec.default
    kind = spec.type
    how = held(kind)
    if how in (Held.DECIMAL, Held.INTEGER):
        integral = how is Held.INTEGER
        zero: Any = 0 if integral else Decimal(0)
        if spec.min is not None and spec.min > 0:
            zero = int(spec.min) if integral else spec.min
        if spec.max is not None and spec.max < 0:
            zero = int(spec.max) if integral else spec.max
        return zero
    if how is Held.BOOLEAN:
        return False
    if how is Held.STRING:
        return (spec.values or [""])[0] if INPUT_TYPES[kind].enumerated else ""
    if how is Held.DATE:
        return dt.date(2000, 1, 1)
    if how is Held.TEMPORAL:
        return TEMPORAL_SAMPLES[kind][0]
    if kind == "list":
        return []
    return {name: simplest_value(sub) for name, sub in (spec.fields or {}).items()}


COLLISION_SHAPES = 32  # at most this many list shapes (each list of objects once or twice) per count


def colliding_inputs(pack: PackIR) -> list[dict[str, Any]]:
    """Small inputs whose lists meet on every key: each list of objects holds one element once or twice
    (every combination, up to COLLISION_SHAPES), every text is the key "A" and every number one count, 1 or 2.

    Where a policy joins lists on keys and sums (two lines of one SKU against one stock of it), one of
    these shapes is the smallest collision; a random search draws it only now and then.
    """
    fields = {f.name: f.spec for f in pack.inputs}
    lists = sum(_object_lists(spec) for spec in fields.values())
    out = []
    for count in (1, 2):
        for shape in range(min(2 ** lists, COLLISION_SHAPES)):
            twice = [bool(shape >> i & 1) for i in range(lists)]
            at = [0]  # which list of the schema comes next, across all the fields
            out.append(order_contract.conform(pack, {name: _colliding(spec, count, twice, at) for name, spec in fields.items()}))
    return out


def _object_lists(spec: FieldShape) -> int:
    subs = {**(spec.items or {}), **(spec.fields or {})}
    return (spec.type == "list" and spec.items is not None) + sum(_object_lists(s) for s in subs.values())


def _colliding(spec: FieldShape, count: int, twice: list[bool], at: list[int]) -> Any:
    kind = spec.type
    if kind == "list" and spec.items is not None:
        index = at[0]
        at[0] += 1
        element = {name: _colliding(sub, count, twice, at) for name, sub in spec.items.items()}
        return [element, element] if twice[index] and (spec.max_items is None or spec.max_items >= 2) else [element]
    if kind == "object":
        return {name: _colliding(sub, count, twice, at) for name, sub in (spec.fields or {}).items()}
    how = held(kind)
    if how in (Held.INTEGER, Held.DECIMAL) and (spec.min is None or spec.min <= count) and (spec.max is None or count <= spec.max):
        return count if how is Held.INTEGER else Decimal(count)
    if how is Held.STRING and not INPUT_TYPES[kind].enumerated and (spec.max_length is None or spec.max_length >= 1):
        return KEYS[0]
    return simplest_value(spec)
