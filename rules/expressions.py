"""Name resolution and type checking of expressions and unary tests.

The checker annotates syntax trees in place (``node.type``, ``Name.symbol``) and reports
the first problem of each expression as an ``ExpressionError`` with its character offset;
the pack checker turns offsets into ``file:line:col``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rules import syntax as s
from rules.errors import did_you_mean
from rules.functions import FUNCTIONS
from rules.ir import DataDef, Symbol, SymbolKind
from rules.parser import ExpressionError
from rules.types import (
    BOOLEAN,
    DATE,
    INTEGER,
    NULL,
    STRING,
    Type,
    comparable,
    equatable,
    join,
    number_result,
)

__all__ = ["ExpressionChecker", "Scope", "did_you_mean", "inline_params", "literal_type"]


@dataclass
class Scope:
    symbols: dict[str, Symbol]
    parent: Scope | None = None

    def lookup(self, name: str) -> Symbol | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.symbols:
                return scope.symbols[name]
            scope = scope.parent
        return None

    def names(self) -> list[str]:
        out: list[str] = []
        scope: Scope | None = self
        while scope is not None:
            out.extend(scope.symbols)
            scope = scope.parent
        return out


class ExpressionChecker:
    """Checks one expression (or unary test) against a scope."""

    def __init__(
        self,
        scope: Scope,
        data: dict[str, DataDef],
        *,
        input_type: Type | None = None,
        scope_counter: list[int] | None = None,
    ) -> None:
        self.scope = scope
        self.data = data
        self.input_type = input_type  # type of '?' (and enum values for bare names) in a cell
        self.scope_counter = scope_counter if scope_counter is not None else [0]
        self.used: set[int] = set()  # ids of symbols read

    def fail(self, node: s.Node, code: str, message: str, offset: int | None = None) -> ExpressionError:
        return ExpressionError(code, message, node.start if offset is None else offset)

    # Expressions.

    def check(self, node: s.Node) -> Type:
        t = self._check(node)
        node.type = t
        return t

    def expect_boolean(self, node: s.Node, what: str) -> Type:
        t = self.check(node)
        if t.kind not in ("boolean", "null"):
            raise self.fail(node, "type-mismatch", f"{what} must be true or false, not {t.describe()}")
        return t

    def expect_number(self, node: s.Node, what: str) -> Type:
        t = self.check(node)
        if t.kind == "null":
            return t
        if t.kind != "number":
            raise self.fail(node, "type-mismatch", f"{what} must be a number, not {t.describe()}")
        return t

    def _check(self, node: s.Node) -> Type:
        if isinstance(node, s.Literal):
            return literal_type(node.value)
        if isinstance(node, s.Name):
            return self._name(node)
        if isinstance(node, s.InputValue):
            if self.input_type is None:
                raise self.fail(node, "syntax", "'?' stands for the tested value and is only allowed in table cells")
            return self.input_type
        if isinstance(node, s.Member):
            return self._member(node)
        if isinstance(node, s.Unary):
            if node.op == "-":
                return self.expect_number(node.operand, "the operand of '-'")
            operand = self.expect_boolean(node.operand, "the operand of 'not'")
            return BOOLEAN.with_null(operand.nullable)
        if isinstance(node, s.Binary):
            return self._binary(node)
        if isinstance(node, s.Conditional):
            self.expect_boolean(node.condition, "the condition of 'if'")
            a, b = self.check(node.then), self.check(node.otherwise)
            joined = join(a, b)
            if joined is None:
                raise self.fail(node, "type-mismatch", f"'then' gives {a.describe()} but 'else' gives {b.describe()}")
            return joined
        if isinstance(node, s.In):
            return self._in(node)
        if isinstance(node, s.Call):
            return self._call(node)
        if isinstance(node, s.ListOf):
            item: Type | None = None
            for element in node.items:
                t = self.check(element)
                item = t if item is None else join(item, t)
                if item is None:
                    raise self.fail(element, "type-mismatch", "all elements of a list must have the same type")
            return Type("list", item=item or NULL)
        if isinstance(node, s.Record):
            return Type("object", fields=tuple((k, self.check(v)) for k, v in zip(node.keys, node.values, strict=True)))
        if isinstance(node, s.Interval):
            raise self.fail(node, "syntax", "an interval is only allowed after 'in' or as a cell test")
        raise self.fail(node, "syntax", "this is not an expression")

    def _name(self, node: s.Name) -> Type:
        symbol = self.scope.lookup(node.name)
        if symbol is None:
            enum_values = self.input_type.values if self.input_type is not None else None
            if enum_values is not None and node.name in enum_values:
                node.symbol = Symbol(node.name, SymbolKind.ENUM_LITERAL, STRING)
                return Type("string", values=(node.name,))
            if node.name in self.data:
                raise self.fail(node, "type-mismatch", f"{node.name!r} is a data table; read it with lookup()")
            candidates = self.scope.names() + list(enum_values or ())
            raise self.fail(node, "unknown-name", f"unknown name {node.name!r}{did_you_mean(node.name, candidates)}")
        if symbol.kind == "later_step":
            raise self.fail(node, "step-order", f"step {node.name!r} runs later: a step reads only the flow's inputs and the steps before it")
        node.symbol = symbol
        self.used.add(id(symbol))
        return symbol.type

    def _member(self, node: s.Member) -> Type:
        target = self.check(node.target)
        if target.kind != "object":
            raise self.fail(
                node, "unsafe-expression" if node.name.startswith("_") else "type-mismatch",
                f"cannot read field {node.name!r} of {target.describe()}; only declared objects have fields",
                node.name_start,
            )
        field_type = target.field(node.name)
        if field_type is None:
            names = [n for n, _ in target.fields or ()]
            step = node.target.symbol if isinstance(node.target, s.Name) and node.target.symbol is not None and node.target.symbol.kind == "step" else None
            what = f"step {step.name!r} writes no output {node.name!r}" if step is not None else f"no field {node.name!r}"
            raise self.fail(node, "unknown-name", f"{what}{did_you_mean(node.name, names)}", node.name_start)
        return field_type.with_null(field_type.nullable or target.nullable)

    def _binary(self, node: s.Binary) -> Type:
        op = node.op
        if op in ("and", "or", "implies"):
            a = self.expect_boolean(node.left, f"the left side of '{op}'")
            b = self.expect_boolean(node.right, f"the right side of '{op}'")
            return BOOLEAN.with_null(a.nullable or b.nullable)
        a, b = self.check(node.left), self.check(node.right)
        if op in ("+", "-", "*", "/"):
            if a.kind == "date" and b.kind == "number" and op in ("+", "-"):
                raise self.fail(node, "type-mismatch", "add days to a date with add_days(date, n)")
            for side, t in (("left", a), ("right", b)):
                if t.kind not in ("number", "null"):
                    raise self.fail(
                        node.left if side == "left" else node.right, "type-mismatch",
                        f"'{op}' needs numbers, but the {side} side is {t.describe()}",
                    )
            if a.kind == "null" or b.kind == "null":
                return NULL
            # division gives null for a zero divisor, which a non-zero literal can never be
            safe_divisor = _constant(node.right) not in (0, None)
            return number_result(a, b, op).with_null(a.nullable or b.nullable or (op == "/" and not safe_divisor))
        if op in ("=", "!="):
            if not equatable(a, b):
                raise self.fail(node, "type-mismatch", f"cannot compare {a.describe()} with {b.describe()}")
            self._check_enum_literal(a, node.right)
            self._check_enum_literal(b, node.left)
            return BOOLEAN
        if not comparable(a, b):
            raise self.fail(node, "type-mismatch", f"cannot order {a.describe()} against {b.describe()} with '{op}'")
        return BOOLEAN.with_null(a.nullable or b.nullable or a.kind == "null" or b.kind == "null")

    def _check_enum_literal(self, enum_type: Type, other: s.Node) -> None:
        if enum_type.values is None or not isinstance(other, s.Literal) or not isinstance(other.value, str):
            return
        if other.value not in enum_type.values:
            raise self.fail(
                other, "unknown-enum-value",
                f"{other.value!r} is not one of {', '.join(enum_type.values)}{did_you_mean(other.value, list(enum_type.values))}",
            )

    def _in(self, node: s.In) -> Type:
        needle = self.check(node.needle)
        haystack = node.haystack
        if isinstance(haystack, s.Interval):
            for bound in (haystack.low, haystack.high):
                t = self.check(bound)
                if not comparable(needle, t):
                    raise self.fail(bound, "type-mismatch", f"cannot compare {needle.describe()} with {t.describe()}")
            haystack.type = needle
            return BOOLEAN.with_null(needle.nullable)
        if isinstance(haystack, s.ListOf):
            for element in haystack.items:
                t = self.check(element)
                if not equatable(needle, t):
                    raise self.fail(element, "type-mismatch", f"cannot compare {needle.describe()} with {t.describe()}")
                self._check_enum_literal(needle, element)
            haystack.type = Type("list", item=needle)
            return BOOLEAN
        t = self.check(haystack)
        if t.kind != "list" or t.item is None or not equatable(needle, t.item):
            raise self.fail(haystack, "type-mismatch", f"'in' needs a list of {needle.describe()}, not {t.describe()}")
        return BOOLEAN

    # Functions: their type rules are in rules.functions.

    def _call(self, node: s.Call) -> Type:
        function = FUNCTIONS.get(node.function)
        if function is None:
            raise self.fail(
                node, "unknown-function",
                f"unknown function {node.function!r}{did_you_mean(node.function, list(FUNCTIONS))}",
            )
        node.resolved = s.Builtin(node.function)
        return function.check(self, node)

    def projection(self, node: s.Call, list_type: Type, expr: s.Node, *more: s.Node) -> Type:
        """Check ``expr`` (and ``more``) with one list element in scope: as its binding, or its fields by name."""
        assert list_type.item is not None
        self.scope_counter[0] += 1
        scope_id = self.scope_counter[0]
        item = list_type.item
        symbols: dict[str, Symbol] = {}
        if node.binding is not None:
            symbols[node.binding] = Symbol(node.binding, SymbolKind.ITEM, item, scope_id)
        else:
            symbols["item"] = Symbol("item", SymbolKind.ITEM, item, scope_id)
            if item.kind == "object":
                for name, t in item.fields or ():
                    symbols[name] = Symbol(name, SymbolKind.ITEM_FIELD, t, scope_id)
        node.resolved = s.Projection(node.function, scope_id)
        outer = self.scope
        self.scope = Scope(symbols, outer)
        try:
            result = self.check(expr)
            for extra in more:
                self.check(extra)
            return result
        finally:
            self.scope = outer

    # Unary tests: every test is checked against the column's type (``self.input_type``).

    def check_test(self, node: s.Node) -> None:
        column = self.input_type
        assert column is not None
        node.type = BOOLEAN
        if isinstance(node, s.AnyTest):
            return
        if isinstance(node, (s.NotTest, s.AnyOfTests)):
            for test in node.tests:
                self.check_test(test)
            return
        if isinstance(node, s.CompareTest):
            t = self.check(node.operand)
            ok = equatable(column, t) if node.op in ("=", "!=") else comparable(column, t)
            if not ok:
                raise self.fail(node, "type-mismatch", f"cannot compare {column.describe()} with {t.describe()} using '{node.op}'")
            self._check_enum_literal(column, node.operand)
            return
        if isinstance(node, s.IntervalTest):
            for bound in (node.interval.low, node.interval.high):
                t = self.check(bound)
                if not comparable(column, t) or t.kind == "null":
                    raise self.fail(bound, "type-mismatch", f"cannot compare {column.describe()} with {t.describe()}")
            return
        if isinstance(node, s.EqualsTest):
            t = self.check(node.operand)
            if t.kind == "boolean" and column.kind != "boolean":
                raise self.fail(node, "type-mismatch", f"a condition on {column.describe()} needs '?', e.g. '? > 10'")
            if t.kind == "list":
                assert t.item is not None
                if not equatable(column, t.item):
                    raise self.fail(node, "type-mismatch", f"cannot compare {column.describe()} with {t.describe()}")
                return
            if not equatable(column, t):
                raise self.fail(node, "type-mismatch", f"cannot compare {column.describe()} with {t.describe()}")
            self._check_enum_literal(column, node.operand)
            return
        if isinstance(node, s.PredicateTest):
            self.expect_boolean(node.predicate, "a cell with '?'")
            return
        raise self.fail(node, "syntax", "this is not a unary test")


def _constant(node: s.Node) -> Any:
    """The value of a literal or of a parameter's name (checked, not yet inlined), else None."""
    if isinstance(node, s.Literal):
        return node.value
    if isinstance(node, s.Name) and node.symbol is not None and node.symbol.kind == SymbolKind.PARAM:
        return node.symbol.value
    return None


def _param_ref(node: s.Node) -> s.Node:
    if not (isinstance(node, s.Name) and node.symbol is not None and node.symbol.kind == SymbolKind.PARAM):
        return node
    ref = s.ParamRef(node.start, node.end, node.symbol.value, node.name)
    ref.type = node.type
    return ref


def inline_params(tree: s.Node) -> s.Node:
    """A checked tree with each parameter's name replaced by its constant (a ``ParamRef``, which is a literal).

    Done after checking, so a parameter is resolved by scope like any name (an element's field
    of the same name hides it); every backend and analysis then sees a constant.
    """
    for node in s.walk(tree):
        for key, value in vars(node).items():
            if isinstance(value, s.Name):
                setattr(node, key, _param_ref(value))
            elif isinstance(value, list):
                value[:] = [_param_ref(v) if isinstance(v, s.Node) else v for v in value]
    return _param_ref(tree)


def literal_type(value: Any) -> Type:
    import datetime as dt
    from decimal import Decimal

    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, Decimal):
        return Type("number", "decimal")
    if isinstance(value, str):
        # a literal is the one-value enum of itself, so it joins with and fits into enums
        return Type("string", values=(value,))
    if isinstance(value, dt.date):
        return DATE
    raise TypeError(f"unexpected literal {value!r}")

