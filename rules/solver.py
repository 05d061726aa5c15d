"""Tables decided with an SMT solver (z3): through derived values, expression cells and line-level tables.

Every value the engine computes for a table's columns is written as a z3 term over the
pack's inputs, each with a null flag that follows the documented null semantics
(docs/expressions.md): numbers are reals (integer inputs integral), dates whole days,
enums and strings z3 strings, booleans three-valued. A row is the conjunction of its cells.
The questions of ``rules.analysis`` then become satisfiability queries, each with a bounded
time: a row no input reaches, a row earlier rows always take, two rows of a ``unique``
table that both match, an input no row matches. A model is a witness; the engine
evaluates it before anything is printed (engine/checks.py).

What the encoding does not cover (aggregations over lists, text functions, rounding, flow
steps) raises ``Unsupported``; a query the solver cannot decide in time gives ``Unknown``.
Either way the caller falls back to the search and says the finding is sampled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

import z3

from rules import syntax as s
from rules.analysis import TableFinding, name_of, required_readers
from rules.input_types import INPUT_TYPES, Held, held
from rules.ir import FieldShape, PackIR, SectionDef, Symbol, TableDef

QUERY_MS = 2000  # per satisfiability query; an undecided query falls back to the search
MAX_LOOKUP_ROWS = 500
MAX_MAGNITUDE = Decimal(10) ** 28  # what input validation accepts (engine/inputs.py)


class Unsupported(Exception):
    """A construct the encoding does not cover."""


class Unknown(Exception):
    """The solver gave up on a query within its time."""


@dataclass(frozen=True)
class Term:
    """A value and whether it is null. ``value`` is None for the literal ``null``."""

    value: Any
    null: Any


def _bool(b: bool) -> z3.BoolRef:
    return z3.BoolVal(b)


def _true(t: Term) -> Any:
    """The three-valued ``t`` is true (not null, not false)."""
    return z3.And(z3.Not(t.null), t.value) if t.value is not None else _bool(False)


def _false(t: Term) -> Any:
    return z3.And(z3.Not(t.null), z3.Not(t.value)) if t.value is not None else _bool(False)


def _number(value: Any) -> z3.ArithRef:
    return z3.RealVal(str(Decimal(value)))


@dataclass
class Var:
    path: tuple[str | int, ...]  # where the value goes in an input: ("amount",) or ("lines", 0, "price")
    kind: Held  # how its declared type holds it
    term: Term
    raw: Any  # the z3 constant itself (an Int for integers and dates)


class Encoder:
    """z3 terms for one pack version's values, decided on one date."""

    def __init__(self, pack: PackIR, as_of: dt.date) -> None:
        self.pack = pack
        self.as_of = as_of
        self.vars: dict[tuple[str | int, ...], Var] = {}
        self.domain: list[Any] = []
        self.memo: dict[int, Term] = {}
        self.defining: dict[int, s.Node] = {}
        self.tables: dict[int, tuple[TableDef, int]] = {}
        self.elements: dict[int, tuple[str, dict[str, FieldShape]]] = {}  # section scope -> (input list, its fields)
        self.specs = {f.name: f.spec for f in pack.inputs}
        self.column_value: Term | None = None
        for d in [*pack.derives, *(d for sec in pack.sections for d in [*sec.derives, *sec.after])]:
            self.defining[id(d.symbol)] = d.expr
        for table in pack.all_tables:
            for k, symbol in enumerate(table.output_symbols):
                self.tables[id(symbol)] = (table, k)
        for sec in pack.sections:
            self._bind_section(sec)

    def _bind_section(self, sec: SectionDef) -> None:
        over = sec.over
        if isinstance(over, s.Name) and over.symbol is not None and over.symbol.kind == "input":
            spec = self.specs.get(over.name)
            if spec is not None and spec.items is not None:
                self.elements[sec.scope] = (over.name, spec.items)

    # Variables.

    def var(self, path: tuple[str | int, ...], spec: FieldShape) -> Term:
        found = self.vars.get(path)
        if found is not None:
            return found.term
        name = ".".join(str(p) for p in path)
        kind = held(spec.type)  # how the value is held decides its z3 sort
        if kind is Held.DECIMAL:
            raw: Any = z3.Real(name)
            value: Any = raw
        elif kind in (Held.INTEGER, Held.DATE):
            raw = z3.Int(name)
            value = z3.ToReal(raw) if kind is Held.INTEGER else raw
        elif kind is Held.BOOLEAN:
            raw = value = z3.Bool(name)
        elif kind is Held.STRING:
            raw = value = z3.String(name)
        else:
            raise Unsupported(f"a {spec.type} input")
        nullable = spec.optional and spec.default is None
        null = z3.Bool(name + "?null") if nullable else _bool(False)
        self._declare(kind, spec, value, raw)
        self.vars[path] = Var(path, kind, Term(value, null), raw)
        return self.vars[path].term

    def _declare(self, kind: Held, spec: FieldShape, value: Any, raw: Any) -> None:
        if kind in (Held.DECIMAL, Held.INTEGER):
            self.domain += [value > -_number(MAX_MAGNITUDE), value < _number(MAX_MAGNITUDE)]
            if spec.min is not None:
                self.domain.append(value >= _number(spec.min))
            if spec.max is not None:
                self.domain.append(value <= _number(spec.max))
        elif INPUT_TYPES[spec.type].enumerated:
            self.domain.append(z3.Or(*[raw == z3.StringVal(v) for v in spec.values or [""]]))
        elif kind is Held.DATE:
            self.domain += [raw >= dt.date(1, 1, 1).toordinal(), raw <= dt.date(9999, 12, 31).toordinal()]

    # Expressions.

    def expr(self, node: s.Node) -> Term:
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            raise Unsupported(type(node).__name__)
        return handler(self, node)

    def literal(self, node: s.Literal) -> Term:
        return _constant(node.value)

    def name(self, node: s.Name) -> Term:
        symbol: Symbol | None = node.symbol
        if symbol is None:
            raise Unsupported(f"unresolved {node.name}")
        if symbol.kind == "enum_literal":
            return Term(z3.StringVal(symbol.name), _bool(False))
        if symbol.kind == "as_of":
            return Term(z3.IntVal(self.as_of.toordinal()), _bool(False))
        if symbol.kind == "input":
            spec = self.specs[symbol.name]
            return self.var((symbol.name,), spec)
        if symbol.kind == "item_field":
            return self.element_field(symbol)
        key = id(symbol)
        if key in self.memo:
            return self.memo[key]
        if key in self.defining:
            term = self.expr(self.defining[key])
        elif key in self.tables:
            term = self.table_value(*self.tables[key])
        elif symbol.kind == "output":  # an invariant reads the pack's output: its value, else what sets it
            term = self.output(symbol.name)
        else:
            raise Unsupported(f"a {symbol.kind}")
        self.memo[key] = term
        return term

    def output(self, name: str) -> Term:
        found = next((f for f in self.pack.outputs if f.name == name), None)
        if found is None or (found.value is None and found.source is None):
            raise Unsupported(f"output {name}")
        return self.expr(found.value if found.value is not None else name_of(found.source))  # type: ignore[arg-type]

    def element_field(self, symbol: Symbol) -> Term:
        found = self.elements.get(symbol.scope)
        if found is None or symbol.name not in found[1]:
            raise Unsupported("an element of a computed list")
        return self.var((found[0], 0, symbol.name), found[1][symbol.name])

    def member(self, node: s.Member) -> Term:
        target = node.target
        if isinstance(target, s.Name) and target.symbol is not None and target.symbol.kind == "input":
            spec = self.specs[target.name]
            if spec.type == "object" and spec.fields and node.name in spec.fields and not spec.optional:
                return self.var((target.name, node.name), spec.fields[node.name])
        if isinstance(target, s.Name) and target.symbol is not None and target.symbol.kind == "item":
            found = self.elements.get(target.symbol.scope)
            if found is not None and node.name in found[1]:
                return self.var((found[0], 0, node.name), found[1][node.name])
        raise Unsupported("a field of a computed value")

    def input_value(self, node: s.InputValue) -> Term:
        if self.column_value is None:
            raise Unsupported("'?' outside a cell")
        return self.column_value

    def unary(self, node: s.Unary) -> Term:
        t = self.expr(node.operand)
        if t.value is None:
            return t
        if node.op == "-":
            return Term(-t.value, t.null)
        return Term(z3.Not(t.value), t.null)

    def binary(self, node: s.Binary) -> Term:
        a, b = self.expr(node.left), self.expr(node.right)
        op = node.op
        if op in ("and", "or", "implies"):
            return _logic(op, a, b)
        if op in ("=", "!="):
            same = _equal(a, b)
            return Term(same if op == "=" else z3.Not(same), _bool(False))
        null = z3.Or(a.null, b.null)
        if a.value is None or b.value is None:
            return Term(None, _bool(True))
        kinds = {node.left.type.kind, node.right.type.kind}
        if op in ("<", "<=", ">", ">="):
            if not kinds <= {"number", "date", "null"}:
                raise Unsupported("ordering text")
            return Term(_ORDER[op](a.value, b.value), null)
        if kinds - {"number", "null"}:
            raise Unsupported("arithmetic on dates")
        if op == "/":
            return Term(a.value / b.value, z3.Or(null, b.value == 0))
        return Term(_ARITH[op](a.value, b.value), null)

    def conditional(self, node: s.Conditional) -> Term:
        c, a, b = self.expr(node.condition), self.expr(node.then), self.expr(node.otherwise)
        return _choose(_true(c), a, b)

    def within(self, node: s.In) -> Term:
        needle = self.expr(node.needle)
        return Term(self._in(needle, node.haystack), _bool(False))

    def _in(self, needle: Term, haystack: s.Node) -> Any:
        if isinstance(haystack, s.ListOf):
            return z3.Or(*[_equal(needle, self.expr(item)) for item in haystack.items]) if haystack.items else _bool(False)
        if isinstance(haystack, s.Interval):
            return self.interval(needle, haystack)
        raise Unsupported("'in' a computed list")

    def interval(self, v: Term, iv: s.Interval) -> Any:
        low, high = self.expr(iv.low), self.expr(iv.high)
        if v.value is None or low.value is None or high.value is None:
            return _bool(False)
        above = v.value >= low.value if iv.low_closed else v.value > low.value
        below = v.value <= high.value if iv.high_closed else v.value < high.value
        return z3.And(z3.Not(v.null), z3.Not(low.null), z3.Not(high.null), above, below)

    def call(self, node: s.Call) -> Term:
        resolved = node.resolved
        if isinstance(resolved, s.Lookup):
            return self.lookup(resolved.table, resolved.column, node.args[2:])
        shaped = _SHAPED.get(node.function)  # functions whose literal arguments shape the encoding
        if shaped is not None and isinstance(resolved, s.Builtin) and node.binding is None:
            return shaped(self, node)
        handler = _FUNCTIONS.get(node.function)
        if handler is None or not isinstance(resolved, s.Builtin) or node.binding is not None:
            raise Unsupported(f"{node.function}()")
        args = [self.expr(a) for a in node.args]
        return handler(args)

    def lookup(self, table_name: str, column: str, keys: list[s.Node]) -> Term:
        data = self.pack.data[table_name]
        if len(data.rows) > MAX_LOOKUP_ROWS:
            raise Unsupported("a large data table")
        key_terms = [self.expr(k) for k in keys]
        out = Term(None, _bool(True))
        for row in reversed(data.rows):  # a later duplicate key is refused when the pack is checked
            match = z3.And(*[_equal(t, _constant(row[c])) for t, c in zip(key_terms, data.key, strict=True)])
            out = _choose(match, _constant(row[column]), out)
        return out

    # Tables and cells.

    def test(self, node: s.Node, v: Term) -> Any:
        """Whether a cell matches the column value ``v`` (two-valued, as the engine's ``is True``)."""
        if isinstance(node, s.AnyTest):
            return _bool(True)
        if isinstance(node, (s.AnyOfTests, s.NotTest)):
            parts = [self.test(t, v) for t in node.tests]
            either = z3.Or(*parts) if parts else _bool(False)
            return z3.Not(either) if isinstance(node, s.NotTest) else either
        if isinstance(node, s.CompareTest):
            operand = self.expr(node.operand)
            if node.op in ("=", "!="):
                same = _equal(v, operand)
                return same if node.op == "=" else z3.Not(same)
            if v.value is None or operand.value is None:
                return _bool(False)
            return z3.And(z3.Not(v.null), z3.Not(operand.null), _ORDER[node.op](v.value, operand.value))
        if isinstance(node, s.IntervalTest):
            return self.interval(v, node.interval)
        if isinstance(node, s.EqualsTest):
            if isinstance(node.operand, s.ListOf):
                return self._in(v, node.operand)
            return _equal(v, self.expr(node.operand))
        if isinstance(node, s.PredicateTest):
            saved, self.column_value = self.column_value, v
            try:
                return _true(self.expr(node.predicate))
            finally:
                self.column_value = saved
        raise Unsupported(type(node).__name__)

    def rows(self, table: TableDef) -> list[Any]:
        columns = [self.expr(c.expr) for c in table.columns]
        return [z3.And(*[self.test(t, v) for t, v in zip(row.tests, columns, strict=True)]) for row in table.rows]

    def table_value(self, table: TableDef, k: int) -> Term:
        """What output ``k`` of a single-hit table is (the first row that matches decides)."""
        if table.multi_hit:
            raise Unsupported("a multi-hit table's output")
        conditions = self.rows(table)
        order = _decision_order(table)
        out = self.expr(table.default[k]) if table.default is not None else Term(None, _bool(True))
        for i in reversed(order):
            out = _choose(conditions[i], self.expr(table.rows[i].outputs[k]), out)
        return out


def _decision_order(table: TableDef) -> list[int]:
    indices = list(range(len(table.rows)))
    if table.hit_policy == "priority":
        return sorted(indices, key=lambda i: (table.rows[i].rank, i))
    return indices


def _constant(v: Any) -> Term:
    if v is None:
        return Term(None, _bool(True))
    if isinstance(v, bool):
        return Term(_bool(v), _bool(False))
    if isinstance(v, (int, Decimal)):
        return Term(_number(v), _bool(False))
    if isinstance(v, str):
        return Term(z3.StringVal(v), _bool(False))
    if isinstance(v, dt.date):
        return Term(z3.IntVal(v.toordinal()), _bool(False))
    raise Unsupported(f"a literal {v!r}")


def _default(sort: Any) -> Any:
    if sort == z3.RealSort():
        return z3.RealVal(0)
    if sort == z3.IntSort():
        return z3.IntVal(0)
    if sort == z3.BoolSort():
        return _bool(False)
    if sort == z3.StringSort():
        return z3.StringVal("")
    raise Unsupported(f"values of sort {sort}")


def _choose(condition: Any, a: Term, b: Term) -> Term:
    if a.value is None and b.value is None:
        return a
    av = a.value if a.value is not None else _default(b.value.sort())
    bv = b.value if b.value is not None else _default(a.value.sort())
    if av.sort() != bv.sort():
        raise Unsupported("branches of different kinds")
    return Term(z3.If(condition, av, bv), z3.If(condition, a.null, b.null))


def _equal(a: Term, b: Term) -> Any:
    """``=`` as the engine has it: null equals only null."""
    if a.value is None or b.value is None:
        other = b if a.value is None else a
        return other.null
    if a.value.sort() != b.value.sort():
        raise Unsupported("comparing values of different kinds")
    return z3.If(z3.Or(a.null, b.null), z3.And(a.null, b.null), a.value == b.value)


def _logic(op: str, a: Term, b: Term) -> Term:
    if op == "implies":
        a = Term(z3.Not(a.value), a.null) if a.value is not None else a
        op = "or"
    if op == "and":
        decided_true = z3.And(_true(a), _true(b))
        decided_false = z3.Or(_false(a), _false(b))
    else:
        decided_true = z3.Or(_true(a), _true(b))
        decided_false = z3.And(_false(a), _false(b))
    return Term(decided_true, z3.Not(z3.Or(decided_true, decided_false)))


def _minmax(pick: Callable[[Any, Any], Any]) -> Callable[[list[Term]], Term]:
    def fn(args: list[Term]) -> Term:
        if any(a.value is None for a in args):
            return Term(None, _bool(True))
        value = args[0].value
        for a in args[1:]:
            value = z3.If(pick(a.value, value), a.value, value)
        return Term(value, z3.Or(*[a.null for a in args]))
    return fn


def _coalesce(args: list[Term]) -> Term:
    out = Term(None, _bool(True))
    for a in reversed(args):
        out = _choose(z3.Not(a.null), a, out)
    return out


def _abs(args: list[Term]) -> Term:
    (a,) = args
    return a if a.value is None else Term(z3.If(a.value < 0, -a.value, a.value), a.null)


def _floor(args: list[Term]) -> Term:
    (a,) = args
    return a if a.value is None else Term(z3.ToReal(z3.ToInt(a.value)), a.null)


def _ceiling(args: list[Term]) -> Term:
    (a,) = args
    return a if a.value is None else Term(-z3.ToReal(z3.ToInt(-a.value)), a.null)


def _days_between(args: list[Term]) -> Term:
    a, b = args
    if a.value is None or b.value is None:
        return Term(None, _bool(True))
    return Term(z3.ToReal(b.value - a.value), z3.Or(a.null, b.null))


def _literal(node: s.Node, kind: type) -> Any:
    if not isinstance(node, s.Literal) or not isinstance(node.value, kind) or isinstance(node.value, bool):
        raise Unsupported(f"a computed {kind.__name__} argument")
    return node.value


def _whole(x: Any) -> Any:
    """The largest whole number at most ``x`` (z3's ToInt is the floor), as a Real."""
    return z3.ToReal(z3.ToInt(x))


# each rounding mode of round() (rules/decimals.py) on y = x * 10**places, as whole numbers
_ROUNDINGS: dict[str, Callable[[Any], Any]] = {
    "floor": _whole,
    "ceiling": lambda y: -_whole(-y),
    "down": lambda y: z3.If(y >= 0, _whole(y), -_whole(-y)),
    "up": lambda y: z3.If(y >= 0, -_whole(-y), _whole(y)),
    "half_up": lambda y: z3.If(y >= 0, _whole(y + z3.RealVal("1/2")), -_whole(-y + z3.RealVal("1/2"))),
    "half_down": lambda y: z3.If(y >= 0, -_whole(-y + z3.RealVal("1/2")), _whole(y + z3.RealVal("1/2"))),
    # half_up, except that a tie goes to the even neighbour
    "half_even": lambda y: z3.If(z3.And(z3.IsInt(y + z3.RealVal("1/2")), z3.ToInt(y + z3.RealVal("1/2")) % 2 == 1),
                                 _whole(y + z3.RealVal("1/2")) - 1, _whole(y + z3.RealVal("1/2"))),
}


def _round(encoder: Encoder, node: s.Call) -> Term:
    """round(x, places[, mode]) exactly: the places and the mode are literals, so each is one expression over x."""
    x = encoder.expr(node.args[0])
    places = _literal(node.args[1], int)
    mode = _literal(node.args[2], str) if len(node.args) > 2 else "half_even"
    if x.value is None or mode not in _ROUNDINGS:
        raise Unsupported(f"round() with {mode!r}")
    scale = _number(Decimal(10) ** places)
    return Term(_ROUNDINGS[mode](x.value * scale) / scale, x.null)


def _january_first(year: Any) -> Any:
    """The ordinal of 1 January of ``year`` (proleptic Gregorian, as date.toordinal), for year >= 1."""
    y = year - 1
    return 365 * y + y / 4 - y / 100 + y / 400 + 1


def _year(encoder: Encoder, node: s.Call) -> Term:
    """year(d) as a fresh whole number bound by the two New Year's days around d (dates are ordinals)."""
    (arg,) = node.args
    d = encoder.expr(arg)
    if d.value is None:
        return Term(None, _bool(True))
    year = z3.Int(f"year#{len(encoder.domain)}")
    encoder.domain += [year >= 1, year <= 9999, _january_first(year) <= d.value, d.value < _january_first(year + 1)]
    return Term(z3.ToReal(year), d.null)


_SHAPED: dict[str, Callable[[Encoder, s.Call], Term]] = {"round": _round, "year": _year}
_FUNCTIONS: dict[str, Callable[[list[Term]], Term]] = {
    "min": _minmax(lambda x, y: x < y), "max": _minmax(lambda x, y: x > y), "coalesce": _coalesce,
    "abs": _abs, "floor": _floor, "ceiling": _ceiling, "days_between": _days_between,
}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
_EXPRESSIONS: dict[type, Callable[[Encoder, Any], Term]] = {
    s.Literal: Encoder.literal, s.ParamRef: Encoder.literal, s.Name: Encoder.name, s.Member: Encoder.member, s.InputValue: Encoder.input_value,
    s.Unary: Encoder.unary, s.Binary: Encoder.binary, s.Conditional: Encoder.conditional, s.In: Encoder.within,
    s.Call: Encoder.call,
}


# Queries.


class Queries:
    """Satisfiability of row conditions, each query bounded in time; models become witnesses."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.solver = z3.Solver()
        self.solver.set("timeout", QUERY_MS)
        self.queries = 0

    def witness(self, *conditions: Any) -> dict[str, Any] | None:
        """An input (as far as the conditions constrain it) satisfying every condition; None: there is none."""
        self.solver.push()
        try:
            self.solver.add(*self.encoder.domain, *conditions)  # the domain grows as terms meet new inputs
            self.queries += 1
            result = self.solver.check()
            if result == z3.unknown:
                raise Unknown(self.solver.reason_unknown())
            if result == z3.unsat:
                return None
            model = self.solver.model()
            if not all(_finite(model.eval(v.raw, model_completion=True)) for v in self.encoder.vars.values()):
                self.solver.add(*[_grid(v) for v in self.encoder.vars.values() if v.kind is Held.DECIMAL])
                if self.solver.check() != z3.sat:
                    return {}
                model = self.solver.model()
            return _input_of(model, self.encoder.vars.values())
        finally:
            self.solver.pop()


def _finite(value: Any) -> bool:
    """Whether a model's value is a decimal with finitely many digits (not 1/3)."""
    if not z3.is_rational_value(value):
        return True
    q: int = value.denominator_as_long()
    for p in (2, 5):
        while q % p == 0:
            q //= p
    return q == 1


def _grid(v: Var) -> Any:
    return z3.IsInt(v.raw * 1_000_000)


def _python(v: Var, value: Any) -> Any:
    if v.kind is Held.DECIMAL:
        q = Fraction(value.numerator_as_long(), value.denominator_as_long())
        return Decimal(q.numerator) / Decimal(q.denominator)
    if v.kind is Held.INTEGER:
        return value.as_long()
    if v.kind is Held.DATE:
        return dt.date.fromordinal(value.as_long())
    if v.kind is Held.BOOLEAN:
        return z3.is_true(value)
    return value.as_string()


def _input_of(model: Any, variables: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in variables:
        if z3.is_true(model.eval(v.term.null, model_completion=True)):
            value = None
        else:
            value = _python(v, model.eval(v.raw, model_completion=True))
        target: Any = out
        for part, nxt in zip(v.path, v.path[1:], strict=False):
            if isinstance(target, dict):
                target = target.setdefault(part, [] if isinstance(nxt, int) else {})
            else:
                while len(target) <= part:
                    target.append({})
                target = target[part]
        target[v.path[-1]] = value
    return out


# Findings.


def analyse(pack: PackIR, table: TableDef, as_of: dt.date) -> tuple[list[TableFinding], int]:
    """Every finding of one table, decided exactly, and how many queries it took.

    Raises ``Unsupported`` or ``Unknown`` when the table is beyond the encoding or the time bound.
    """
    encoder = Encoder(pack, as_of)
    conditions = encoder.rows(table)
    queries = Queries(encoder)
    rows = table.rows
    findings: list[TableFinding] = []
    live = []
    for i, row in enumerate(rows):
        if queries.witness(conditions[i]) is None:
            findings.append(TableFinding(
                "unreachable-row", table.id, [row.id],
                f"row {row.id!r} can never match: its cells contradict each other, the inputs' bounds "
                "or how its columns are computed", None))
        else:
            live.append(i)
    if table.hit_policy.overlap == "first-wins":
        findings += _dead_rows(table, conditions, live, queries)
    if table.hit_policy.overlap in ("error", "must-agree"):
        findings += _overlaps(encoder, table, conditions, live, queries)
    if not table.hit_policy.multi_hit and table.default is None and not table.always_matches:
        gap = _gap(encoder, pack, table, conditions, queries)
        if gap is not None:
            findings.append(gap)
    return findings, queries.queries


def invariant_witnesses(pack: PackIR, as_of: dt.date) -> list[dict[str, Any]]:
    """For each invariant the encoding takes, an input that may break it: candidates the search then evaluates.

    Outputs are taken unrounded, so a witness may not break the invariant as decided; the engine's evaluation
    is the judge, and a band too narrow for the sampled search (a hold at 1.06 times the limit, an invariant
    promising 1.05) is still tried.
    """
    out = []
    for inv in pack.invariants:
        encoder = Encoder(pack, as_of)
        try:
            found = Queries(encoder).witness(_false(encoder.expr(inv.expr)))
        except (Unsupported, Unknown):
            continue
        if found:
            out.append(found)
    return out


def zero_divisors(pack: PackIR, as_of: dt.date) -> list[tuple[str, str, dict[str, Any]]]:
    """Each place with a division whose divisor can be 0 where it is computed: (place, what is wrong, a witness).

    ``x / 0`` is null (docs/expressions.md), so a unit price over a quantity that may be 0 decides on
    null without a word. Guards are followed (``if q > 0 then t / q else null``, ``q > 0 and t / q > 5``),
    and a division inside ``coalesce()`` has its null handled on purpose.
    """
    encoder = Encoder(pack, as_of)
    queries = Queries(encoder)
    out: list[tuple[str, str, dict[str, Any]]] = []
    for place, tree in pack.expressions():
        if place.startswith(("invariants.", "steps.")):
            continue
        for division, guards in _divisions(tree, ()):
            empty = _counted_input(division.right)
            if empty is not None and not guards:  # count(lines) of an input list, which may hold nothing
                out.append((place, f"count({empty}) is 0 when {empty!r} is empty, and the division is then null: guard it "
                            f"(if count({empty}) > 0 then ... else ...) or say what an empty list means", {empty: []}))
                break
            try:
                divisor = encoder.expr(division.right)
                if divisor.value is None:
                    continue
                conditions = [_GUARDS[how](encoder.expr(g)) for g, how in guards]
                found = queries.witness(*conditions, z3.Not(divisor.null), divisor.value == 0)
            except (Unsupported, Unknown, z3.Z3Exception):
                continue
            if found is not None:
                shown = f"{division.right.name!r}" if isinstance(division.right, s.Name) else "a divisor"
                out.append((place, f"{shown} can be 0 here, and the division is then null: guard it "
                            "(if ... > 0 then ... else ...) or say what a zero means", found))
                break
    return out


def _counted_input(node: s.Node) -> str | None:
    """The input list ``node`` counts (``count(lines)``), if that is what it is."""
    if isinstance(node, s.Call) and node.function == "count" and len(node.args) == 1 and node.binding is None:
        arg = node.args[0]
        if isinstance(arg, s.Name) and arg.symbol is not None and arg.symbol.kind == "input":
            return arg.name
    return None


Guard = Literal["true", "not true", "not false"]
_GUARDS: dict[Guard, Callable[[Term], Any]] = {
    "true": _true, "not true": lambda t: z3.Not(_true(t)), "not false": lambda t: z3.Not(_false(t))}


def _divisions(node: s.Node, guards: tuple[tuple[s.Node, Guard], ...]) -> list[tuple[s.Binary, tuple[tuple[s.Node, Guard], ...]]]:
    """The divisions in ``node``, each with the conditions under which it is computed (a condition, and what it is then)."""
    if isinstance(node, s.Call) and node.function == "coalesce":
        return []
    if isinstance(node, s.Conditional):
        return [*_divisions(node.condition, guards), *_divisions(node.then, (*guards, (node.condition, "true"))),
                *_divisions(node.otherwise, (*guards, (node.condition, "not true")))]
    if isinstance(node, s.Binary) and node.op in ("and", "or"):  # the right side decides only when the left does not:
        # "or" when the left is not true, "and" when it is not false (null and false is false, a null left still reads it)
        left: tuple[s.Node, Guard] = (node.left, "not true" if node.op == "or" else "not false")
        return [*_divisions(node.left, guards), *_divisions(node.right, (*guards, left))]
    found = [(node, guards)] if isinstance(node, s.Binary) and node.op == "/" else []
    return found + [d for child in s._children(node) for d in _divisions(child, guards)]


def _gap(encoder: Encoder, pack: PackIR, table: TableDef, conditions: list[Any], queries: Queries) -> TableFinding | None:
    """An input no row matches; an error when it leaves a required output null (proven, or not ruled out)."""
    nothing = z3.Not(z3.Or(*conditions)) if conditions else _bool(True)
    gap = queries.witness(nothing)
    if gap is None:
        return None
    message = f"no row of table {table.id!r} matches some inputs"
    readers = required_readers(pack, table)
    for output in readers:
        node = output.value if output.value is not None else name_of(output.source) if output.source is not None else None
        try:
            if node is None or table in _line_level(pack):
                raise Unsupported("a line-level table feeds it")
            term = encoder.expr(node)
        except Unsupported:  # cannot tell whether the null reaches it: the gap is an error all the same
            return TableFinding("gap", table.id, [], message + f", and required output {output.name!r} may read it", gap, "error")
        failing = queries.witness(nothing, term.null)
        if failing is not None:
            return TableFinding("gap", table.id, [], message + f", leaving required output {output.name!r} null", failing, "error")
    reason = " (every required output it feeds is set another way there)" if readers else " (it feeds no required output)"
    return TableFinding("gap", table.id, [], message + reason, gap, "warning")


def _line_level(pack: PackIR) -> list[TableDef]:
    return [t for sec in pack.sections for t in sec.tables]


def _dead_rows(table: TableDef, conditions: list[Any], live: list[int], queries: Queries) -> list[TableFinding]:
    order = _decision_order(table)
    out = []
    for position, j in enumerate(order):
        if j not in live:
            continue
        before = [i for i in order[:position] if i in live]
        if queries.witness(conditions[j], *[z3.Not(conditions[i]) for i in before]) is not None:
            continue
        cover = [i for i in before if queries.witness(conditions[i], conditions[j]) is not None]
        example = queries.witness(conditions[j])
        names = [table.rows[i].id for i in cover]
        row = table.rows[j]
        out.append(TableFinding(
            "dead-row", table.id, [row.id, *names],
            f"row {row.id!r} is never used: every input it matches is decided earlier by {', '.join(repr(n) for n in names)}",
            example))
    return out


def _overlaps(encoder: Encoder, table: TableDef, conditions: list[Any], live: list[int],
              queries: Queries) -> list[TableFinding]:
    out = []
    rows = table.rows
    for a, i in enumerate(live):
        for j in live[a + 1:]:
            both = [conditions[i], conditions[j]]
            if table.hit_policy == "any":
                both.append(z3.Not(z3.And(*[_equal(encoder.expr(x), encoder.expr(y))
                                            for x, y in zip(rows[i].outputs, rows[j].outputs, strict=True)])))
            example = queries.witness(*both)
            if example is None:
                continue
            out.append(TableFinding(
                "overlap", table.id, [rows[i].id, rows[j].id],
                f"rows {rows[i].id!r} and {rows[j].id!r} both match some inputs"
                + (" with different outputs" if table.hit_policy == "any" else f", but the hit policy is {table.hit_policy}"),
                example))
    return out

