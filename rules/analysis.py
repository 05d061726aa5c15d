"""Exact analysis of decision tables whose cells are literal unary tests.

Each cell is turned into the set of column values it accepts (intervals over numbers and
dates, finite or co-finite sets over strings, enums and booleans, with null tracked as its
own value, following the documented null semantics). A row is the product of its cells: a
box. Then, per table:

- a row is dead under ``first``/``priority`` when earlier (or higher-priority) boxes cover it;
- two rows of a ``unique``/``any`` table overlap when their boxes intersect;
- a table has a gap when the domain minus every box is not empty.

Each finding carries a witness: one value per column. The engine turns witnesses into
inputs and evaluates them, so every reported counterexample is shown to be real. A table
with any cell that is not a literal test (an expression, ``?``, another name) is not
analysed here; the engine searches it instead and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rules import syntax as s
from rules.ir import FieldDef, PackIR, Symbol, TableDef
from rules.types import Type

MAX_BOXES = 20_000  # a difference that grows past this is left to the search


# Value sets for one column.


@dataclass(frozen=True)
class Interval:
    low: Any  # None: unbounded
    low_closed: bool
    high: Any
    high_closed: bool


@dataclass(frozen=True)
class NumberSet:
    """A union of intervals (kept normalised and disjoint), plus whether null is in."""

    intervals: tuple[Interval, ...]
    null: bool
    integral: bool  # integers or dates: open bounds move to the next whole value

    def _norm(self, iv: Interval) -> Interval | None:
        low, lc, high, hc = iv.low, iv.low_closed, iv.high, iv.high_closed
        if self.integral:
            if low is not None:
                low, lc = _whole(low, lc, up=True), True
            if high is not None:
                high, hc = _whole(high, hc, up=False), True
        else:
            low, high = _exact(low), _exact(high)
        if low is not None and high is not None and (low > high or (low == high and not (lc and hc))):
            return None
        return Interval(low, lc, high, hc)

    def make(self, intervals: list[Interval], null: bool) -> NumberSet:
        normed = [n for n in (self._norm(i) for i in intervals) if n is not None]
        return NumberSet(_merge(normed), null, self.integral)

    def intersect(self, other: NumberSet) -> NumberSet:
        out = []
        for a in self.intervals:
            for b in other.intervals:
                low, lc = _tighter((a.low, a.low_closed), (b.low, b.low_closed), larger=True)
                high, hc = _tighter((a.high, a.high_closed), (b.high, b.high_closed), larger=False)
                out.append(Interval(low, lc, high, hc))
        return self.make(out, self.null and other.null)

    def complement(self) -> NumberSet:
        gaps = []
        low: Any = None  # where the current gap starts (None: minus infinity)
        low_closed = False
        for iv in self.intervals:  # sorted and disjoint
            if iv.low is not None:
                gaps.append(Interval(low, low_closed, iv.low, not iv.low_closed))
            if iv.high is None:
                return self.make(gaps, not self.null)
            low, low_closed = iv.high, not iv.high_closed
        gaps.append(Interval(low, low_closed, None, False))
        return self.make(gaps, not self.null)

    def subtract(self, other: NumberSet) -> NumberSet:
        return self.intersect(other.complement())

    @property
    def empty(self) -> bool:
        return not self.intervals and not self.null

    def pick(self) -> Any:
        if self.intervals:
            iv = self.intervals[0]
            if iv.low is None and iv.high is None:
                return 0 if self.integral else Decimal(0)
            if iv.low is None:
                return iv.high if iv.high_closed else _step(iv.high, -1)
            if iv.low_closed:
                return iv.low
            if iv.high is None:
                return _step(iv.low, 1)
            # open on both ends: only decimals get here, and Decimal halves exactly (30 and 31 give 30.5)
            return iv.low + (iv.high - iv.low) / 2
        return None


def _exact(value: Any) -> Any:
    """A bound of a decimal column as a Decimal, so no witness is ever a binary float."""
    if value is None or isinstance(value, (Decimal, dt.date)):
        return value
    return Decimal(value)


def _whole(value: Any, closed: bool, *, up: bool) -> Any:
    """The nearest whole value (integer or day) inside a bound of an integral column."""
    if isinstance(value, dt.date):
        return value if closed else value + dt.timedelta(days=1 if up else -1)
    d = Decimal(value)
    whole = int(d.to_integral_value(rounding="ROUND_CEILING" if up else "ROUND_FLOOR"))
    if not closed and whole == d:
        whole += 1 if up else -1
    return whole


def _step(value: Any, direction: int) -> Any:
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=direction)
    return value + direction  # one whole unit is a fine witness outside a bound, for integers and decimals alike


def _tighter(a: tuple[Any, bool], b: tuple[Any, bool], larger: bool) -> tuple[Any, bool]:
    """The tighter of two (bound, closed) pairs, None being no bound: the larger low or the smaller high.

    At a tie the bound is closed only if both are.
    """
    if a[0] is None:
        return b
    if b[0] is None:
        return a
    if a[0] == b[0]:
        return a[0], a[1] and b[1]
    return a if (a[0] > b[0]) == larger else b


def _merge(intervals: list[Interval]) -> tuple[Interval, ...]:
    def low_key(iv: Interval) -> tuple[int, Any, int]:
        return (0, 0, 0) if iv.low is None else (1, iv.low, 0 if iv.low_closed else 1)

    out: list[Interval] = []
    for iv in sorted(intervals, key=low_key):
        if out:
            last = out[-1]
            touches = last.high is None or iv.low is None or iv.low < last.high or (
                iv.low == last.high and (iv.low_closed or last.high_closed))
            if touches:
                if last.high is None or (iv.high is not None and (iv.high < last.high or (iv.high == last.high and not iv.high_closed))):
                    continue
                out[-1] = Interval(last.low, last.low_closed, iv.high, iv.high_closed or (iv.high == last.high and last.high_closed))
                continue
        out.append(iv)
    return tuple(out)


@dataclass(frozen=True)
class ValueSet:
    """Values of a string, enum or boolean column: listed, or everything but the listed."""

    values: frozenset[Any]
    complement: bool
    null: bool

    def intersect(self, other: ValueSet) -> ValueSet:
        if not self.complement and not other.complement:
            values, comp = self.values & other.values, False
        elif self.complement and other.complement:
            values, comp = self.values | other.values, True
        elif self.complement:
            values, comp = other.values - self.values, False
        else:
            values, comp = self.values - other.values, False
        return ValueSet(frozenset(values), comp, self.null and other.null)

    def complement_set(self) -> ValueSet:
        return ValueSet(self.values, not self.complement, not self.null)

    def subtract(self, other: ValueSet) -> ValueSet:
        return self.intersect(other.complement_set())

    @property
    def empty(self) -> bool:
        return not self.complement and not self.values and not self.null

    def pick(self) -> Any:
        if not self.complement and self.values:
            return sorted(self.values, key=repr)[0]
        if self.complement:
            candidate = "other"
            while candidate in self.values:
                candidate += "_"
            return candidate
        return None


ColumnSet = NumberSet | ValueSet


def domain(t: Type) -> ColumnSet | None:
    """Everything a column of type ``t`` can hold (None: not analysable)."""
    if t.kind in {"number", "date"}:
        return NumberSet((Interval(None, False, None, False),), t.nullable, t.kind == "date" or t.numeric == "integer")
    if t.kind == "boolean":
        return ValueSet(frozenset({True, False}), False, t.nullable)
    if t.kind == "string":
        if t.values is not None:
            return ValueSet(frozenset(t.values), False, t.nullable)
        return ValueSet(frozenset(), True, t.nullable)
    return None


class Opaque(Exception):
    """A cell that is not a literal test."""


def _literal(node: s.Node) -> Any:
    if isinstance(node, s.Literal):
        return node.value
    if isinstance(node, s.Name) and node.symbol is not None and node.symbol.kind == "enum_literal":
        return node.symbol.name
    raise Opaque


def _point(dom: ColumnSet, value: Any) -> ColumnSet:
    if isinstance(dom, NumberSet):
        if value is None:
            return NumberSet((), True, dom.integral)
        return dom.make([Interval(value, True, value, True)], False)
    if value is None:
        return ValueSet(frozenset(), False, True)
    return ValueSet(frozenset({value}), False, False)


def cell_set(node: s.Node, dom: ColumnSet) -> ColumnSet:
    """The values of the column that ``node`` accepts, within ``dom``."""
    if isinstance(node, s.AnyTest):
        return dom
    if isinstance(node, s.AnyOfTests):
        out: ColumnSet | None = None
        for test in node.tests:
            part = cell_set(test, dom)
            out = part if out is None else _union(out, part, dom)
        assert out is not None
        return out
    if isinstance(node, s.NotTest):
        inner = cell_set(s.AnyOfTests(0, 0, node.tests), dom)
        return _subtract(dom, inner)
    if isinstance(node, s.EqualsTest):
        if isinstance(node.operand, s.ListOf):
            out = None
            for item in node.operand.items:
                part = _point(dom, _literal(item))
                out = part if out is None else _union(out, part, dom)
            return _intersect(out, dom) if out is not None else _subtract(dom, dom)
        return _intersect(_point(dom, _literal(node.operand)), dom)
    if isinstance(node, s.CompareTest):
        value = _literal(node.operand)
        if node.op == "=":
            return _intersect(_point(dom, value), dom)
        if node.op == "!=":
            return _subtract(dom, _point(dom, value))
        if not isinstance(dom, NumberSet) or value is None:
            raise Opaque
        bounds = {"<": Interval(None, False, value, False), "<=": Interval(None, False, value, True),
                  ">": Interval(value, False, None, False), ">=": Interval(value, True, None, False)}[node.op]
        return dom.intersect(dom.make([bounds], False))
    if isinstance(node, s.IntervalTest):
        if not isinstance(dom, NumberSet):
            raise Opaque
        iv = node.interval
        low, high = _literal(iv.low), _literal(iv.high)
        return dom.intersect(dom.make([Interval(low, iv.low_closed, high, iv.high_closed)], False))
    raise Opaque


def _union(a: ColumnSet, b: ColumnSet, dom: ColumnSet) -> ColumnSet:
    return _subtract(dom, _intersect(_subtract(dom, a), _subtract(dom, b)))


def _intersect(a: ColumnSet, b: ColumnSet) -> ColumnSet:
    return a.intersect(b)  # type: ignore[arg-type]


def _subtract(a: ColumnSet, b: ColumnSet) -> ColumnSet:
    return a.subtract(b)  # type: ignore[arg-type]


# Boxes: one set per column.

Box = tuple[ColumnSet, ...]


def box_empty(box: Box) -> bool:
    return any(c.empty for c in box)


def box_intersect(a: Box, b: Box) -> Box:
    return tuple(_intersect(x, y) for x, y in zip(a, b, strict=True))


def box_subtract(a: Box, b: Box) -> list[Box]:
    """``a`` minus ``b`` as disjoint boxes."""
    if box_empty(box_intersect(a, b)):
        return [a]
    out: list[Box] = []
    prefix: list[ColumnSet] = []
    for k in range(len(a)):
        rest = _subtract(a[k], b[k])
        if not rest.empty:
            out.append((*prefix, rest, *a[k + 1:]))
        prefix.append(_intersect(a[k], b[k]))
    return out


def subtract_all(start: list[Box], boxes: list[Box]) -> list[Box] | None:
    """What remains of ``start`` after removing every box; None when it grows too large."""
    remaining = [b for b in start if not box_empty(b)]
    for cut in boxes:
        nxt: list[Box] = []
        for part in remaining:
            nxt.extend(box_subtract(part, cut))
            if len(nxt) > MAX_BOXES:
                return None
        remaining = nxt
        if not remaining:
            break
    return remaining


def witness(box: Box) -> list[Any]:
    return [c.pick() for c in box]


# Findings.


@dataclass
class TableFinding:
    code: str  # dead-row | unreachable-row | overlap | gap
    table: str
    rows: list[str]  # the row(s) the finding is about; for dead rows the dead one first, then its cover
    message: str
    witness: dict[str, Any] | None  # column label -> value
    severity: str | None = None  # decided with the finding (a gap proven to leave a required output null); None: by code


def table_boxes(table: TableDef, column_types: list[Type]) -> tuple[list[Box], Box] | None:
    domains: list[ColumnSet] = []
    for t in column_types:
        dom = domain(t)
        if dom is None:
            return None
        domains.append(dom)
    boxes = []
    for row in table.rows:
        try:
            boxes.append(tuple(cell_set(test, dom) for test, dom in zip(row.tests, domains, strict=True)))
        except Opaque:
            return None
    return boxes, tuple(domains)


def analysable(table: TableDef, plain_inputs: dict[str, Type]) -> bool:
    """Exact analysis applies when every column is a plain input (so a witness is an input)."""
    return all(isinstance(c.expr, s.Name) and c.expr.name in plain_inputs for c in table.columns) and bool(table.columns)


def analyse_table(table: TableDef, column_types: list[Type], bounds: list[ColumnSet | None]) -> list[TableFinding] | None:
    """All findings of one table, or None when its cells are not all literal tests."""
    built = table_boxes(table, column_types)
    if built is None:
        return None
    boxes, dom = built
    dom = tuple(d if b is None else _intersect(d, b) for d, b in zip(dom, bounds, strict=True))
    boxes = [box_intersect(b, dom) for b in boxes]
    labels = [c.label for c in table.columns]
    rows = table.rows
    findings: list[TableFinding] = []

    def point(box: Box) -> dict[str, Any]:
        return dict(zip(labels, witness(box), strict=True))

    for i, row in enumerate(rows):
        if box_empty(boxes[i]):
            findings.append(TableFinding("unreachable-row", table.id, [row.id],
                                         f"row {row.id!r} can never match: its cells contradict each other or the inputs' bounds", None))
    if table.hit_policy.overlap == "first-wins":
        for j, row in enumerate(rows):
            if box_empty(boxes[j]):
                continue
            if table.hit_policy == "first":
                before = list(range(j))
            else:
                before = [i for i in range(len(rows)) if i != j and (rows[i].rank < row.rank or (rows[i].rank == row.rank and i < j))]
            covering = [i for i in before if not box_empty(box_intersect(boxes[i], boxes[j]))]
            remaining = subtract_all([boxes[j]], [boxes[i] for i in covering])
            if remaining == []:
                names = [rows[i].id for i in covering]
                findings.append(TableFinding(
                    "dead-row", table.id, [row.id, *names],
                    f"row {row.id!r} is never used: every input it matches is decided earlier by {', '.join(repr(n) for n in names)}",
                    point(boxes[j])))
    if table.hit_policy.overlap in ("error", "must-agree"):
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                common = box_intersect(boxes[i], boxes[j])
                if box_empty(common):
                    continue
                same = [_literal_or_none(n) for n in rows[i].outputs] == [_literal_or_none(n) for n in rows[j].outputs] and all(
                    isinstance(n, s.Literal) for n in rows[i].outputs + rows[j].outputs)
                if table.hit_policy == "any" and same:
                    continue
                findings.append(TableFinding(
                    "overlap", table.id, [rows[i].id, rows[j].id],
                    f"rows {rows[i].id!r} and {rows[j].id!r} both match some inputs"
                    + (" with different outputs" if table.hit_policy == "any" else f", but the hit policy is {table.hit_policy}"),
                    point(common)))
    if not table.hit_policy.multi_hit and table.default is None:
        remaining = subtract_all([dom], boxes)
        if remaining:
            findings.append(TableFinding("gap", table.id, [], f"no row of table {table.id!r} matches some inputs", point(remaining[0])))
    return findings


def required_readers(pack: PackIR, table: TableDef) -> list[FieldDef]:
    """The required outputs whose value may read what ``table`` sets (through derived values and line records)."""
    defined: dict[int, list[s.Node]] = {}
    for d in [*pack.derives, *pack.rollups, *(d for sec in pack.sections for d in [*sec.derives, *sec.after])]:
        defined[id(d.symbol)] = [d.expr]
    for sec in pack.sections:
        defined[id(sec.result)] = [name_of(k) for k in sec.keep]
    targets = {id(sym) for sym in table.output_symbols} | ({id(table.result)} if table.result is not None else set())

    def reads(node: s.Node, seen: set[int]) -> bool:
        for n in s.walk(node):
            symbol = getattr(n, "symbol", None)
            if symbol is None or id(symbol) in seen:
                continue
            seen.add(id(symbol))
            if id(symbol) in targets or any(reads(e, seen) for e in defined.get(id(symbol), [])):
                return True
        return False

    out = []
    for f in pack.outputs:
        if f.spec.optional:
            continue
        node = f.value if f.value is not None else (name_of(f.source) if f.source is not None else None)
        if node is not None and reads(node, set()):
            out.append(f)
    return out


def name_of(symbol: Symbol) -> s.Name:
    node = s.Name(0, 0, symbol.name)
    node.symbol = symbol
    node.type = symbol.type
    return node


def _literal_or_none(node: s.Node) -> Any:
    return node.value if isinstance(node, s.Literal) else object()


def input_bounds(pack: PackIR) -> dict[str, ColumnSet | None]:
    """The declared bounds of numeric inputs, as sets (None where there are none)."""
    out: dict[str, ColumnSet | None] = {}
    for f in pack.inputs:
        dom = domain(f.type)
        if isinstance(dom, NumberSet) and (f.spec.min is not None or f.spec.max is not None):
            low = _as_number(f.spec.min, f.type)
            high = _as_number(f.spec.max, f.type)
            out[f.name] = dom.make([Interval(low, low is not None, high, high is not None)], dom.null)
        else:
            out[f.name] = None
    return out


def _as_number(value: Decimal | None, t: Type) -> Any:
    if value is None:
        return None
    return int(value) if t.numeric == "integer" and value == value.to_integral_value() else value
