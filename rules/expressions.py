"""Name resolution and type checking of expressions and unary tests.

The checker annotates syntax trees in place (``node.type``, ``Name.symbol``) and reports
the first problem of each expression as an ``ExpressionError`` with its character offset;
the pack checker turns offsets into ``file:line:col``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rules import syntax as s
from rules.ir import DataDef, Symbol
from rules.parser import ExpressionError
from rules.types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    INTEGER,
    NULL,
    STRING,
    Type,
    comparable,
    equatable,
    join,
    number_result,
)

ROUNDING_MODES = ("half_up", "half_even", "half_down", "down", "up", "floor", "ceiling")


def did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


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


FUNCTIONS = (
    "min", "max", "sum", "count", "any", "all", "first", "filter", "map", "sort_by", "abs", "round", "floor", "ceiling", "coalesce",
    "lookup", "days_between", "add_days", "add_months", "year", "month", "day", "starts_with",
    "ends_with", "contains", "upper", "lower", "trim", "length", "concat", "text", "flatten",
    "number", "timestamp", "day_of_year", "time_of_day", "split", "element_at",
)


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
        self._dispatch: dict[str, Callable[[s.Call], Type]] = {
            "min": self._min_max, "max": self._min_max, "sum": self._sum, "count": self._count,
            "any": self._any_all, "all": self._any_all, "first": self._first, "filter": self._filter,
            "sort_by": self._sort_by, "map": self._map, "abs": self._abs, "round": self._round,
            "floor": self._floor, "ceiling": self._floor, "coalesce": self._coalesce,
            "lookup": self._lookup, "days_between": self._days_between, "add_days": self._add_days,
            "add_months": self._add_days, "year": self._date_part, "month": self._date_part,
            "day": self._date_part, "starts_with": self._string_test, "ends_with": self._string_test,
            "contains": self._string_test, "upper": self._string_map, "lower": self._string_map, "trim": self._string_map,
            "length": self._length, "concat": self._concat, "text": self._text, "flatten": self._flatten,
            "number": self._number, "timestamp": self._timestamp, "day_of_year": self._timestamp,
            "time_of_day": self._timestamp, "split": self._split, "element_at": self._element_at,
        }

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
                node.symbol = Symbol(node.name, "enum_literal", STRING)
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
            safe_divisor = isinstance(node.right, s.Literal) and node.right.value != 0
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

    # Functions.

    def _call(self, node: s.Call) -> Type:
        handler = self._dispatch.get(node.function)
        if handler is None:
            raise self.fail(
                node, "unknown-function",
                f"unknown function {node.function!r}{did_you_mean(node.function, list(FUNCTIONS))}",
            )
        node.resolved = node.function
        return handler(node)

    def _arity(self, node: s.Call, low: int, high: int | None = None) -> None:
        n = len(node.args)
        high = low if high is None else high
        if n < low or n > high:
            want = str(low) if low == high else f"{low} to {high}"
            raise self.fail(node, "wrong-arguments", f"{node.function}() takes {want} arguments, not {n}")

    def _list_arg(self, node: s.Call) -> Type:
        t = self.check(node.args[0])
        if t.kind != "list" or t.item is None:
            raise self.fail(node.args[0], "type-mismatch", f"{node.function}() needs a list first, not {t.describe()}")
        return t

    def _projection(self, node: s.Call, list_type: Type, expr: s.Node, *more: s.Node) -> Type:
        """Check ``expr`` (and ``more``) with one list element in scope: as its binding, or its fields by name."""
        assert list_type.item is not None
        self.scope_counter[0] += 1
        scope_id = self.scope_counter[0]
        item = list_type.item
        symbols: dict[str, Symbol] = {}
        if node.binding is not None:
            symbols[node.binding] = Symbol(node.binding, "item", item, scope_id)
        else:
            symbols["item"] = Symbol("item", "item", item, scope_id)
            if item.kind == "object":
                for name, t in item.fields or ():
                    symbols[name] = Symbol(name, "item_field", t, scope_id)
        node.resolved = (node.function, scope_id)
        outer = self.scope
        self.scope = Scope(symbols, outer)
        try:
            result = self.check(expr)
            for extra in more:
                self.check(extra)
            return result
        finally:
            self.scope = outer

    def _filtered_list(self, node: s.Call) -> Type:
        """The list of ``first(xs as x, condition)`` / ``filter(...)``, its condition checked."""
        self._arity(node, 2)
        list_type = self._list_arg(node)
        t = self._projection(node, list_type, node.args[1])
        if t.kind not in ("boolean", "null"):
            raise self.fail(node.args[1], "type-mismatch", f"{node.function}() needs a condition, not {t.describe()}")
        return list_type

    def _first(self, node: s.Call) -> Type:
        list_type = self._filtered_list(node)
        assert list_type.item is not None
        return list_type.item.with_null()

    def _filter(self, node: s.Call) -> Type:
        return self._filtered_list(node)

    def _map(self, node: s.Call) -> Type:
        self._arity(node, 2)
        list_type = self._list_arg(node)
        t = self._projection(node, list_type, node.args[1])
        if t.kind == "null":
            raise self.fail(node.args[1], "type-mismatch", "map() of an expression that is always null")
        return Type("list", item=t)

    def _sort_by(self, node: s.Call) -> Type:
        if len(node.args) < 2:
            raise self.fail(node, "wrong-arguments", "sort_by() takes a list and one or more keys")
        list_type = self._list_arg(node)
        self._projection(node, list_type, node.args[1], *node.args[2:])
        for key in node.args[1:]:
            if key.type.kind not in ("number", "string", "date") or key.type.nullable:
                raise self.fail(key, "type-mismatch", f"a sort key is a number, string or date that is never null, not {key.type.describe()}")
        return list_type

    def _is_aggregation(self, node: s.Call) -> bool:
        if not node.args:
            return False
        if node.binding is not None:
            return True
        t = self.check(node.args[0])
        return t.kind == "list"

    def _min_max(self, node: s.Call) -> Type:
        if self._is_aggregation(node):
            self._arity(node, 1, 2)
            list_type = self._list_arg(node)
            t = self._projection(node, list_type, node.args[1]) if len(node.args) == 2 else list_type.item
            assert t is not None
            if not comparable(t, t) or t.kind == "null":
                raise self.fail(node, "type-mismatch", f"{node.function}() needs numbers or dates, not {t.describe()}")
            return t.with_null()
        self._arity(node, 2, 16)
        result: Type | None = None
        for arg in node.args:
            t = self.check(arg)
            if t.kind not in ("number", "date", "null"):
                raise self.fail(arg, "type-mismatch", f"{node.function}() needs numbers or dates, not {t.describe()}")
            result = t if result is None else join(result, t)
            if result is None:
                raise self.fail(arg, "type-mismatch", f"{node.function}() arguments must have one type")
        assert result is not None
        return result

    def _sum(self, node: s.Call) -> Type:
        self._arity(node, 1, 2)
        list_type = self._list_arg(node)
        t = self._projection(node, list_type, node.args[1]) if len(node.args) == 2 else list_type.item
        assert t is not None
        if t.kind != "number":
            raise self.fail(node, "type-mismatch", f"sum() needs numbers, not {t.describe()}")
        return t.with_null(False)

    def _count(self, node: s.Call) -> Type:
        self._arity(node, 1, 2)
        list_type = self._list_arg(node)
        if len(node.args) == 2:
            t = self._projection(node, list_type, node.args[1])
            if t.kind not in ("boolean", "null"):
                raise self.fail(node.args[1], "type-mismatch", f"count() needs a condition, not {t.describe()}")
        return INTEGER

    def _any_all(self, node: s.Call) -> Type:
        self._arity(node, 1, 2)
        list_type = self._list_arg(node)
        t = self._projection(node, list_type, node.args[1]) if len(node.args) == 2 else list_type.item
        assert t is not None
        if t.kind not in ("boolean", "null"):
            raise self.fail(node, "type-mismatch", f"{node.function}() needs a condition, not {t.describe()}")
        return BOOLEAN

    def _abs(self, node: s.Call) -> Type:
        self._arity(node, 1)
        return self.expect_number(node.args[0], "the argument of abs()")

    def _round(self, node: s.Call) -> Type:
        self._arity(node, 2, 3)
        t = self.expect_number(node.args[0], "the value to round")
        places = node.args[1]
        if not isinstance(places, s.Literal) or not isinstance(places.value, int) or isinstance(places.value, bool) or not 0 <= places.value <= 12:
            raise self.fail(places, "wrong-arguments", "round() takes a whole number of places from 0 to 12")
        self.check(places)
        if len(node.args) == 3:
            mode = node.args[2]
            if not isinstance(mode, s.Literal) or mode.value not in ROUNDING_MODES:
                raise self.fail(mode, "wrong-arguments", f"rounding must be one of {', '.join(ROUNDING_MODES)}")
            self.check(mode)
        return t

    def _floor(self, node: s.Call) -> Type:
        self._arity(node, 1)
        t = self.expect_number(node.args[0], f"the argument of {node.function}()")
        return INTEGER.with_null(t.nullable)

    def _coalesce(self, node: s.Call) -> Type:
        self._arity(node, 2, 16)
        result: Type | None = None
        for arg in node.args:
            t = self.check(arg)
            result = t if result is None else join(result.with_null(False), t)
            if result is None:
                raise self.fail(arg, "type-mismatch", "coalesce() arguments must have one type")
        assert result is not None
        return result.with_null(all(a.type.nullable for a in node.args))

    def _lookup(self, node: s.Call) -> Type:
        if len(node.args) < 3:
            raise self.fail(node, "wrong-arguments", 'lookup() takes a table, a "column" and the key values')
        table_arg, column_arg = node.args[0], node.args[1]
        if not isinstance(table_arg, s.Name) or table_arg.name not in self.data:
            name = table_arg.name if isinstance(table_arg, s.Name) else "?"
            raise self.fail(
                table_arg, "unknown-name",
                f"unknown data table {name!r}{did_you_mean(name, list(self.data))}",
            )
        table = self.data[table_arg.name]
        table_arg.type = Type("table")
        if not isinstance(column_arg, s.Literal) or not isinstance(column_arg.value, str):
            raise self.fail(column_arg, "wrong-arguments", 'the column of lookup() is a literal like "price"')
        if column_arg.value not in table.columns:
            raise self.fail(
                column_arg, "unknown-name",
                f"table {table.name!r} has no column {column_arg.value!r}{did_you_mean(column_arg.value, list(table.columns))}",
            )
        column_arg.type = STRING
        keys = node.args[2:]
        if len(keys) != len(table.key):
            raise self.fail(node, "wrong-arguments", f"table {table.name!r} is keyed by {', '.join(table.key)}")
        for key_name, key_node in zip(table.key, keys, strict=True):
            t = self.check(key_node)
            if not equatable(t, field_type(table.columns[key_name])):
                raise self.fail(key_node, "type-mismatch", f"key {key_name!r} is a {table.columns[key_name]}, not {t.describe()}")
        node.resolved = ("lookup", table.name, column_arg.value)
        return field_type(table.columns[column_arg.value]).with_null()

    def _expect_date(self, node: s.Node, what: str) -> Type:
        t = self.check(node)
        if t.kind not in ("date", "null"):
            raise self.fail(node, "type-mismatch", f"{what} must be a date, not {t.describe()}")
        return t

    def _days_between(self, node: s.Call) -> Type:
        self._arity(node, 2)
        a = self._expect_date(node.args[0], "the first argument of days_between()")
        b = self._expect_date(node.args[1], "the second argument of days_between()")
        return INTEGER.with_null(a.nullable or b.nullable)

    def _add_days(self, node: s.Call) -> Type:
        self._arity(node, 2)
        a = self._expect_date(node.args[0], f"the first argument of {node.function}()")
        n = self.expect_number(node.args[1], f"the second argument of {node.function}()")
        if n.numeric not in ("integer", None):
            raise self.fail(node.args[1], "type-mismatch", f"{node.function}() needs a whole number, not {n.describe()}")
        return DATE.with_null(a.nullable or n.nullable)

    def _date_part(self, node: s.Call) -> Type:
        self._arity(node, 1)
        a = self._expect_date(node.args[0], f"the argument of {node.function}()")
        return INTEGER.with_null(a.nullable)

    def _expect_string(self, node: s.Node, what: str) -> Type:
        t = self.check(node)
        if t.kind not in ("string", "null"):
            raise self.fail(node, "type-mismatch", f"{what} must be a string, not {t.describe()}")
        return t

    def _string_test(self, node: s.Call) -> Type:
        self._arity(node, 2)
        a = self._expect_string(node.args[0], f"the first argument of {node.function}()")
        b = self._expect_string(node.args[1], f"the second argument of {node.function}()")
        return BOOLEAN.with_null(a.nullable or b.nullable)

    def _string_map(self, node: s.Call) -> Type:
        self._arity(node, 1)
        return STRING.with_null(self._expect_string(node.args[0], f"the argument of {node.function}()").nullable)

    def _length(self, node: s.Call) -> Type:
        self._arity(node, 1)
        return INTEGER.with_null(self._expect_string(node.args[0], "the argument of length()").nullable)

    def _text(self, node: s.Call) -> Type:
        self._arity(node, 1)
        return STRING.with_null(self.expect_number(node.args[0], "the argument of text()").nullable)

    def _number(self, node: s.Call) -> Type:
        self._arity(node, 1)
        self._expect_string(node.args[0], "the argument of number()")
        return DECIMAL.with_null()  # null for text that is not a number

    def _timestamp(self, node: s.Call) -> Type:
        """timestamp(), day_of_year(), time_of_day(): a date or an ISO 8601 text in, a whole number (or null) out."""
        self._arity(node, 1)
        t = self.check(node.args[0])
        if t.kind not in ("string", "date", "null"):
            raise self.fail(node.args[0], "type-mismatch", f"{node.function}() needs a date or text, not {t.describe()}")
        return INTEGER.with_null()  # null for text that is not an ISO 8601 date, date-time or time

    def _flatten(self, node: s.Call) -> Type:
        self._arity(node, 1)
        t = self._list_arg(node)
        assert t.item is not None
        if t.item.kind == "null":
            return t
        if t.item.kind != "list" or t.item.item is None:
            raise self.fail(node.args[0], "type-mismatch", f"flatten() needs a list of lists, not {t.describe()}")
        return Type("list", item=t.item.item, nullable=t.nullable)

    def _split(self, node: s.Call) -> Type:
        self._arity(node, 2)
        a = self._expect_string(node.args[0], "the first argument of split()")
        b = self._expect_string(node.args[1], "the separator of split()")
        return Type("list", item=STRING, nullable=a.nullable or b.nullable)

    def _element_at(self, node: s.Call) -> Type:
        self._arity(node, 2)
        t = self._list_arg(node)
        assert t.item is not None
        n = self.expect_number(node.args[1], "the position in element_at()")
        if n.numeric not in ("integer", None):
            raise self.fail(node.args[1], "type-mismatch", f"element_at() needs a whole number, not {n.describe()}")
        return t.item.with_null()  # null where the list has no such position

    def _concat(self, node: s.Call) -> Type:
        self._arity(node, 2, 64)
        parts = [self._expect_string(a, "an argument of concat()") for a in node.args]
        return STRING.with_null(any(p.nullable for p in parts))

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


_FIELD_TYPES = {
    "money": Type("number", "money"),
    "decimal": Type("number", "decimal"),
    "integer": INTEGER,
    "boolean": BOOLEAN,
    "string": STRING,
    "date": DATE,
}


def field_type(kind: str) -> Type:
    return _FIELD_TYPES[kind]
