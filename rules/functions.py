"""The functions of the expression language, each declared once (as zen declares its functions in ``defs.rs``).

One ``Function`` record per function gives everything the rest of Arbiter needs of it: its
type rule (the checker dispatches on it), its implementation (the runtime namespace is built
from it; generated code calls it by its ``__name__``), whether it can fail and whether it
folds a list into one value (engine.demand and engine.fusion read both), and its line in
``docs/expressions.md``. Adding a function is one record here plus its cases in
``tests/data/language_spec.yaml``.

Implementations follow the language's null semantics: a null argument gives null.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rules import regex, temporal_functions
from rules import syntax as s
from rules.decimals import CTX, ROUNDING_MODES, quantize
from rules.errors import DecisionError, did_you_mean
from rules.input_types import field_type
from rules.reasons import shown
from rules.records import by_name
from rules.types import BOOLEAN, DATE, DECIMAL, INTEGER, STRING, TEMPORAL, Type, comparable, equatable, join

if TYPE_CHECKING:
    from rules.expressions import ExpressionChecker

Check = Callable[["ExpressionChecker", s.Call], Type]
Expect = Callable[["ExpressionChecker", s.Node, str], Type]


@dataclass(frozen=True)
class Function:
    name: str
    check: Check  # the type rule: checks the arguments, returns the result's type
    runtime: Callable[..., Any] | None  # what generated code calls (by __name__); None: the generator writes it inline
    can_fail: bool  # False: evaluating it cannot raise (in the projected form, for an aggregation)
    aggregates: bool  # folds a list into one value (sum, min, ...): a rollup of a loop may be fused
    doc: str


# Argument checks shared by the type rules.


def arity(c: ExpressionChecker, node: s.Call, low: int, high: int | None = None) -> None:
    n = len(node.args)
    high = low if high is None else high
    if n < low or n > high:
        want = str(low) if low == high else f"{low} to {high}"
        raise c.fail(node, "wrong-arguments", f"{node.function}() takes {want} arguments, not {n}")


def list_arg(c: ExpressionChecker, node: s.Call) -> Type:
    t = c.check(node.args[0])
    if t.kind != "list" or t.item is None:
        raise c.fail(node.args[0], "type-mismatch", f"{node.function}() needs a list first, not {t.describe()}")
    return t


def expect_date(c: ExpressionChecker, node: s.Node, what: str) -> Type:
    t = c.check(node)
    if t.kind not in ("date", "null"):
        raise c.fail(node, "type-mismatch", f"{what} must be a date, not {t.describe()}")
    return t


def expect_string(c: ExpressionChecker, node: s.Node, what: str) -> Type:
    t = c.check(node)
    if t.kind not in ("string", "null"):
        raise c.fail(node, "type-mismatch", f"{what} must be a string, not {t.describe()}")
    return t


def expect_whole(c: ExpressionChecker, node: s.Node, what: str, function: str) -> Type:
    n = c.expect_number(node, what)
    if n.numeric not in ("integer", None):
        raise c.fail(node, "type-mismatch", f"{function}() needs a whole number, not {n.describe()}")
    return n


def _projected(c: ExpressionChecker, node: s.Call, list_type: Type) -> Type:
    """The type of the per-element expression when given, else of the elements."""
    t = c.projection(node, list_type, node.args[1]) if len(node.args) == 2 else list_type.item
    assert t is not None
    return t


# Type rules: aggregations and projections over lists.


def _filtered_list(c: ExpressionChecker, node: s.Call) -> Type:
    """The list of ``first(xs as x, condition)`` / ``filter(...)``, its condition checked."""
    arity(c, node, 2)
    list_type = list_arg(c, node)
    t = c.projection(node, list_type, node.args[1])
    if t.kind not in ("boolean", "null"):
        raise c.fail(node.args[1], "type-mismatch", f"{node.function}() needs a condition, not {t.describe()}")
    return list_type


def _first(c: ExpressionChecker, node: s.Call) -> Type:
    list_type = _filtered_list(c, node)
    assert list_type.item is not None
    return list_type.item.with_null()


def _map(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2)
    list_type = list_arg(c, node)
    t = c.projection(node, list_type, node.args[1])
    if t.kind == "null":
        raise c.fail(node.args[1], "type-mismatch", "map() of an expression that is always null")
    return Type("list", item=t)


def _sort_by(c: ExpressionChecker, node: s.Call) -> Type:
    if len(node.args) < 2:
        raise c.fail(node, "wrong-arguments", "sort_by() takes a list and one or more keys")
    list_type = list_arg(c, node)
    c.projection(node, list_type, node.args[1], *node.args[2:])
    for key in node.args[1:]:
        if key.type.kind not in ("number", "string", "date") or key.type.nullable:
            raise c.fail(key, "type-mismatch", f"a sort key is a number, string or date that is never null, not {key.type.describe()}")
    return list_type


def _is_aggregation(c: ExpressionChecker, node: s.Call) -> bool:
    if not node.args:
        return False
    if node.binding is not None:
        return True
    return c.check(node.args[0]).kind == "list"


def _min_max(c: ExpressionChecker, node: s.Call) -> Type:
    if _is_aggregation(c, node):
        arity(c, node, 1, 2)
        t = _projected(c, node, list_arg(c, node))
        if not comparable(t, t) or t.kind == "null":
            raise c.fail(node, "type-mismatch", f"{node.function}() needs numbers or dates, not {t.describe()}")
        return t.with_null()
    arity(c, node, 2, 16)
    result: Type | None = None
    for arg in node.args:
        t = c.check(arg)
        if t.kind not in ("number", "date", "null"):
            raise c.fail(arg, "type-mismatch", f"{node.function}() needs numbers or dates, not {t.describe()}")
        result = t if result is None else join(result, t)
        if result is None:
            raise c.fail(arg, "type-mismatch", f"{node.function}() arguments must have one type")
    assert result is not None
    return result


def _sum(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1, 2)
    t = _projected(c, node, list_arg(c, node))
    if t.kind != "number":
        raise c.fail(node, "type-mismatch", f"sum() needs numbers, not {t.describe()}")
    return t.with_null(False)


def _count(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1, 2)
    list_type = list_arg(c, node)
    if len(node.args) == 2:
        t = c.projection(node, list_type, node.args[1])
        if t.kind not in ("boolean", "null"):
            raise c.fail(node.args[1], "type-mismatch", f"count() needs a condition, not {t.describe()}")
    return INTEGER


def _any_all(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1, 2)
    t = _projected(c, node, list_arg(c, node))
    if t.kind not in ("boolean", "null"):
        raise c.fail(node, "type-mismatch", f"{node.function}() needs a condition, not {t.describe()}")
    return BOOLEAN


def _lookup(c: ExpressionChecker, node: s.Call) -> Type:
    if len(node.args) < 3:
        raise c.fail(node, "wrong-arguments", 'lookup() takes a table, a "column" and the key values')
    table_arg, column_arg = node.args[0], node.args[1]
    if not isinstance(table_arg, s.Name) or table_arg.name not in c.data:
        name = table_arg.name if isinstance(table_arg, s.Name) else "?"
        raise c.fail(table_arg, "unknown-name", f"unknown data table {name!r}{did_you_mean(name, list(c.data))}")
    table = c.data[table_arg.name]
    table_arg.type = Type("table")
    if not isinstance(column_arg, s.Literal) or not isinstance(column_arg.value, str):
        raise c.fail(column_arg, "wrong-arguments", 'the column of lookup() is a literal like "price"')
    if column_arg.value not in table.columns:
        raise c.fail(
            column_arg, "unknown-name",
            f"table {table.name!r} has no column {column_arg.value!r}{did_you_mean(column_arg.value, list(table.columns))}",
        )
    column_arg.type = STRING
    keys = node.args[2:]
    if len(keys) != len(table.key):
        raise c.fail(node, "wrong-arguments", f"table {table.name!r} is keyed by {', '.join(table.key)}")
    for key_name, key_node in zip(table.key, keys, strict=True):
        t = c.check(key_node)
        if not equatable(t, field_type(table.columns[key_name])):
            raise c.fail(key_node, "type-mismatch", f"key {key_name!r} is a {table.columns[key_name]}, not {t.describe()}")
    node.resolved = s.Lookup(table.name, column_arg.value)
    return field_type(table.columns[column_arg.value]).with_null()


def _flatten(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1)
    t = list_arg(c, node)
    assert t.item is not None
    if t.item.kind == "null":
        return t
    if t.item.kind != "list" or t.item.item is None:
        raise c.fail(node.args[0], "type-mismatch", f"flatten() needs a list of lists, not {t.describe()}")
    return Type("list", item=t.item.item, nullable=t.nullable)


def _element_at(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2)
    t = list_arg(c, node)
    assert t.item is not None
    expect_whole(c, node.args[1], "the position in element_at()", "element_at")
    return t.item.with_null()  # null where the list has no such position


def _joined_lists(c: ExpressionChecker, node: s.Call) -> Type:
    """concatenate() and union() of lists of one element type: a list of it, null where a list is."""
    arity(c, node, 1, 16)
    result: Type | None = None
    for arg in node.args:
        t = c.check(arg)
        if t.kind == "null":
            continue
        if t.kind != "list" or t.item is None:
            raise c.fail(arg, "type-mismatch", f"{node.function}() joins lists, not {t.describe()}")
        joined = t.item if result is None else join(result, t.item)
        if joined is None:
            raise c.fail(arg, "type-mismatch", f"{node.function}() joins lists of one element type")
        result = joined
    if result is None:
        raise c.fail(node, "type-mismatch", f"{node.function}() of nulls only")
    return Type("list", item=result, nullable=any(a.type.nullable or a.type.kind == "null" for a in node.args))


def _list_same(c: ExpressionChecker, node: s.Call) -> Type:
    """reverse() and distinct(): a list of the same type."""
    arity(c, node, 1)
    return list_arg(c, node)


def _positioned(c: ExpressionChecker, node: s.Call) -> Type:
    """sublist(list, start[, length]), insert_before(list, position, item), remove_at(list, position): positions
    are whole numbers counted from 1 (from the end if negative); null where a position is outside the list."""
    low, high = {"sublist": (2, 3), "insert_before": (3, 3), "remove_at": (2, 2)}[node.function]
    arity(c, node, low, high)
    t = list_arg(c, node)
    assert t.item is not None
    positions = node.args[1:3] if node.function == "sublist" else node.args[1:2]
    for position in positions:
        expect_whole(c, position, f"a position in {node.function}()", node.function)
    if node.function == "insert_before":
        item = c.check(node.args[2])
        if join(t.item, item) is None:
            raise c.fail(node.args[2], "type-mismatch", f"insert_before() of {item.describe()} into {t.describe()}")
    return t.with_null()


def _index_of(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2)
    t = list_arg(c, node)
    assert t.item is not None
    item = c.check(node.args[1])
    if not equatable(t.item, item):
        raise c.fail(node.args[1], "type-mismatch", f"index_of() compares {t.item.describe()} with {item.describe()}")
    return Type("list", item=INTEGER, nullable=t.nullable)


# Type rules: numbers.


def _abs(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1)
    return c.expect_number(node.args[0], "the argument of abs()")


def _places(c: ExpressionChecker, places: s.Node, function: str) -> None:
    if not isinstance(places, s.Literal) or not isinstance(places.value, int) or isinstance(places.value, bool) or not 0 <= places.value <= 12:
        raise c.fail(places, "wrong-arguments", f"{function}() takes a whole number of places from 0 to 12")
    c.check(places)


def _round(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2, 3)
    t = c.expect_number(node.args[0], "the value to round")
    _places(c, node.args[1], "round")
    if len(node.args) == 3:
        mode = node.args[2]
        if not isinstance(mode, s.Literal) or mode.value not in ROUNDING_MODES:
            raise c.fail(mode, "wrong-arguments", f"rounding must be one of {', '.join(ROUNDING_MODES)}")
        c.check(mode)
    return t


def _floor(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1)
    t = c.expect_number(node.args[0], f"the argument of {node.function}()")
    return INTEGER.with_null(t.nullable)


def _coalesce(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2, 16)
    result: Type | None = None
    for arg in node.args:
        t = c.check(arg)
        result = t if result is None else join(result.with_null(False), t)
        if result is None:
            raise c.fail(arg, "type-mismatch", "coalesce() arguments must have one type")
    assert result is not None
    return result.with_null(all(a.type.nullable for a in node.args))


def _text(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1)
    if c.check(node.args[0]).kind in TEMPORAL:  # as FEEL's string() writes it, the text it is read from
        return STRING.with_null(node.args[0].type.nullable)
    return STRING.with_null(c.expect_number(node.args[0], "the argument of text()").nullable)


def _format_number(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1, 2)
    t = c.expect_number(node.args[0], "the number to format")
    if len(node.args) == 2:
        _places(c, node.args[1], "format_number")
    return STRING.with_null(t.nullable)


def _number(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 1)
    expect_string(c, node.args[0], "the argument of number()")
    return DECIMAL.with_null()  # null for text that is not a number


# Type rules: dates.


def _add_days(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2)
    a = expect_date(c, node.args[0], f"the first argument of {node.function}()")
    n = expect_whole(c, node.args[1], f"the second argument of {node.function}()", node.function)
    return DATE.with_null(a.nullable or n.nullable)


def _one(expect: Expect, result: Type) -> Check:
    """The type rule of a function of one argument: ``expect`` checks it, ``result`` is null where it is."""

    def rule(c: ExpressionChecker, node: s.Call) -> Type:
        arity(c, node, 1)
        return result.with_null(expect(c, node.args[0], f"the argument of {node.function}()").nullable)

    return rule


def _two(expect: Expect, result: Type) -> Check:
    """The type rule of a function of two arguments of one kind: ``result`` is null where either is."""

    def rule(c: ExpressionChecker, node: s.Call) -> Type:
        arity(c, node, 2)
        a = expect(c, node.args[0], f"the first argument of {node.function}()")
        b = expect(c, node.args[1], f"the second argument of {node.function}()")
        return result.with_null(a.nullable or b.nullable)

    return rule


def _expect_dated(c: ExpressionChecker, node: s.Node, what: str) -> Type:
    t = c.check(node)
    if t.kind not in ("date", "date_time", "null"):
        raise c.fail(node, "type-mismatch", f"{what} must be a date or date_time, not {t.describe()}")
    return t


_date_part = _one(_expect_dated, INTEGER)
_days_between = _two(expect_date, INTEGER)


def _timestamp(c: ExpressionChecker, node: s.Call) -> Type:
    """timestamp(), day_of_year(), time_of_day(): a date or an ISO 8601 text in, a whole number (or null) out."""
    arity(c, node, 1)
    t = c.check(node.args[0])
    if t.kind not in ("string", "date", "null"):
        raise c.fail(node.args[0], "type-mismatch", f"{node.function}() needs a date or text, not {t.describe()}")
    return INTEGER.with_null()  # null for text that is not an ISO 8601 date, date-time or time


# Type rules: strings.


_string_test = _two(expect_string, BOOLEAN)
_string_map = _one(expect_string, STRING)
_length = _one(expect_string, INTEGER)


def _split(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2)
    a = expect_string(c, node.args[0], "the first argument of split()")
    b = expect_string(c, node.args[1], "the separator of split()")
    return Type("list", item=STRING, nullable=a.nullable or b.nullable)


def _concat(c: ExpressionChecker, node: s.Call) -> Type:
    arity(c, node, 2, 64)
    parts = [expect_string(c, a, "an argument of concat()") for a in node.args]
    return STRING.with_null(any(p.nullable for p in parts))


def _pattern_literal(c: ExpressionChecker, node: s.Node, what: str) -> str:
    """A pattern, replacement or flags argument: a string literal, so that it is checked once, here."""
    if not isinstance(node, s.Literal) or not isinstance(node.value, str):
        raise c.fail(node, "wrong-arguments", f"{what} is a string literal")
    c.check(node)
    return node.value


def _regex(c: ExpressionChecker, node: s.Call) -> Type:
    """matches(s, pattern[, flags]), replace(s, pattern, replacement[, flags]), tokenize(s, pattern[, flags]):
    an XPath pattern and flags as literals, checked here (``rules.regex``); null where the text is."""
    replaces = node.function == "replace"
    arity(c, node, 3 if replaces else 2, 4 if replaces else 3)
    text = expect_string(c, node.args[0], f"the text of {node.function}()")
    pattern = _pattern_literal(c, node.args[1], f"the pattern of {node.function}()")
    template = _pattern_literal(c, node.args[2], "the replacement of replace()") if replaces else None
    flags = _pattern_literal(c, node.args[-1], f"the flags of {node.function}()") if len(node.args) == 3 + replaces else ""
    try:
        regex.checked(pattern, flags, template, splits=node.function == "tokenize")
    except (regex.PatternError, regex.PatternRefused) as exc:
        raise c.fail(node.args[1], "wrong-arguments", f"{node.function}(): {exc}") from None
    result = {"matches": BOOLEAN, "replace": STRING, "tokenize": Type("list", item=STRING)}[node.function]
    return result.with_null(text.nullable)


# Implementations: what generated code calls. A null argument gives null.


def s_min(*values: Any) -> Any:
    return None if any(v is None for v in values) else min(values)


def s_max(*values: Any) -> Any:
    return None if any(v is None for v in values) else max(values)


def f_abs(a: Any) -> Any:
    return None if a is None else abs(a) if a.__class__ is int else CTX.abs(a)


def f_round(a: Any, places: int, mode: str = "half_even") -> Any:
    return quantize(a, places, mode)


def f_floor(a: Any) -> Any:
    return None if a is None else math.floor(a)


def f_ceiling(a: Any) -> Any:
    return None if a is None else math.ceil(a)


def coalesce(*values: Any) -> Any:
    for v in values:
        if v is not None:
            return v
    return None


def days_between(a: Any, b: Any) -> Any:
    return None if a is None or b is None else (b - a).days


def add_days(d: Any, n: Any) -> Any:
    if d is None or n is None:
        return None
    try:
        return d + dt.timedelta(days=int(n))
    except OverflowError:
        raise DecisionError("date-out-of-range", "date arithmetic left the calendar") from None


def add_months(d: Any, n: Any) -> Any:
    if d is None or n is None:
        return None
    months = d.year * 12 + (d.month - 1) + int(n)
    year, month = divmod(months, 12)
    if not 1 <= year <= 9999:
        raise DecisionError("date-out-of-range", "date arithmetic left the calendar")
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def year(d: Any) -> Any:
    return None if d is None else d.year


def month(d: Any) -> Any:
    return None if d is None else d.month


def day(d: Any) -> Any:
    return None if d is None else d.day


def starts_with(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a.startswith(b)


def ends_with(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a.endswith(b)


def contains(a: Any, b: Any) -> Any:
    return None if a is None or b is None else b in a


def text(a: Any) -> Any:
    """A number in plain notation, with the digits it holds: 2.50 * 2 is "5.00", 1E+3 is "1000"."""
    return None if a is None else format(a, "f") if isinstance(a, Decimal) else str(a)


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9]{1,4})?")


def format_number(a: Any, places: int | None = None) -> Any:
    """A number as a reason shows it: thousands separators, at ``places`` rounded half up, else the digits it holds."""
    return None if a is None else shown(a, places)


def number(a: Any) -> Any:
    """The number a text spells (``" 12.50 "``, ``"1e3"``, ``"1_000"``), or null when it spells none."""
    if a is None:
        return None
    text = a.strip()
    return Decimal(text.replace("_", "")) if _NUMBER_TEXT.fullmatch(text) else None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def timestamp(a: Any) -> Any:
    """Whole seconds since 1970-01-01T00:00Z of a date, or of an ISO 8601 date or date-time text (UTC unless it says), or null.

    A value in the text, never the clock: ``timestamp("2025-03-20T10:30:00Z")`` is 1742466600.
    """
    if a is None:
        return None
    if isinstance(a, dt.date):
        return (a - _EPOCH.date()).days * 86400
    moment = _moment(a)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(seconds=1)


def _moment(a: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(a.strip())
    except ValueError:
        return None


def day_of_year(a: Any) -> Any:
    """1 to 366: the day of the year of a date, or of the date an ISO 8601 text gives (as written, not moved to UTC)."""
    if a is None or isinstance(a, dt.date):
        return None if a is None else a.timetuple().tm_yday
    moment = _moment(a)
    return None if moment is None else moment.timetuple().tm_yday


def time_of_day(a: Any) -> Any:
    """Whole seconds since midnight of an ISO 8601 time (``"22:00"``) or date-time text, as written; else null."""
    if a is None or isinstance(a, dt.date):
        return None if a is None else 0
    try:
        clock = dt.time.fromisoformat(a.strip())
    except ValueError:
        moment = _moment(a)
        if moment is None:
            return None
        clock = moment.time()
    return clock.hour * 3600 + clock.minute * 60 + clock.second


def flatten(a: Any) -> Any:
    """The elements of each inner list, in order; a null inner list adds nothing."""
    return None if a is None else [x for inner in a if inner is not None for x in inner]


def split(a: Any, separator: Any) -> Any:
    """The parts of a text between separators; an empty separator leaves the text whole."""
    if a is None or separator is None:
        return None
    return a.split(separator) if separator else [a]


def element_at(a: Any, n: Any) -> Any:
    """The n-th element, from 1 (-1 is the last), as FEEL's ``list[n]``; null where there is none."""
    if a is None or n is None or n == 0 or abs(n) > len(a):
        return None
    n = int(n)  # a whole number, which arithmetic may have made a Decimal
    return a[n - 1] if n > 0 else a[n]


def concatenate(*lists: Any) -> Any:
    return None if any(a is None for a in lists) else [x for a in lists for x in a]


def distinct(a: Any) -> Any:
    """The elements without repeats (by =), each where it first occurs."""
    if a is None:
        return None
    out: list[Any] = []
    for x in a:
        if not any(x == y for y in out):
            out.append(x)
    return out


def union(*lists: Any) -> Any:
    return distinct(concatenate(*lists))


def reverse(a: Any) -> Any:
    return None if a is None else a[::-1]


def _offset(a: list[Any], n: Any) -> int | None:
    """The 0-based offset of position n (1 is the first, -1 the last), or None outside the list."""
    if n is None:
        return None
    position = int(n)
    if 1 <= position <= len(a):
        return position - 1
    return len(a) + position if -len(a) <= position <= -1 else None


_WHOLE = object()


def sublist(a: Any, start: Any, length: Any = _WHOLE) -> Any:
    """The elements from a position on, all or ``length`` of them; null where they are not all in the list."""
    first = None if a is None else _offset(a, start)
    if first is None or length is None:
        return None
    if length is _WHOLE:
        return a[first:]
    return a[first:first + int(length)] if 0 <= int(length) <= len(a) - first else None


def insert_before(a: Any, n: Any, item: Any) -> Any:
    at = None if a is None else _offset(a, n)
    return None if at is None else [*a[:at], item, *a[at:]]


def remove_at(a: Any, n: Any) -> Any:
    at = None if a is None else _offset(a, n)
    return None if at is None else [*a[:at], *a[at + 1:]]


def index_of(a: Any, item: Any) -> Any:
    """The positions (from 1) of the elements equal to the item."""
    return None if a is None else [k + 1 for k, x in enumerate(a) if x == item]


def trim(a: Any) -> Any:
    return None if a is None else a.strip()


def upper(a: Any) -> Any:
    return None if a is None else a.upper()


def lower(a: Any) -> Any:
    return None if a is None else a.lower()


def length(a: Any) -> Any:
    return None if a is None else len(a)


def concat(*parts: Any) -> Any:
    return None if None in parts else "".join(parts)


F = Function
FUNCTIONS: dict[str, Function] = by_name(
    # name, type rule, implementation, can fail, aggregates, documentation
    F("min", _min_max, s_min, False, True, "the least of its arguments, or of a list (numbers or dates)"),
    F("max", _min_max, s_max, False, True, "the greatest of its arguments, or of a list (numbers or dates)"),
    F("sum", _sum, None, False, True, "the sum of a list, or of an expression over its elements"),
    F("count", _count, None, False, True, "the number of elements of a list, or of those that satisfy a condition"),
    F("any", _any_all, None, False, True, "whether some element satisfies a condition"),
    F("all", _any_all, None, False, True, "whether every element satisfies a condition"),
    F("first", _first, None, False, False, "the first element that satisfies a condition, or null"),
    F("filter", _filtered_list, None, False, False, "the elements that satisfy a condition"),
    F("map", _map, None, False, False, "a list of an expression's values, one per element"),
    F("sort_by", _sort_by, None, True, False, "a stable sort by keys that are never null"),
    F("abs", _abs, f_abs, True, False, "the absolute value of a number"),
    F("round", _round, f_round, True, False, "a number rounded to 0..12 places (half_even unless a mode is given)"),
    F("floor", _floor, f_floor, True, False, "the greatest whole number not above a number"),
    F("ceiling", _floor, f_ceiling, True, False, "the least whole number not below a number"),
    F("coalesce", _coalesce, coalesce, False, False, "the first argument that is not null"),
    F("lookup", _lookup, None, False, False, "a column of a data table's row by its key, or null when the key is absent"),
    F("days_between", _days_between, days_between, True, False, "the days from one date to another"),
    F("add_days", _add_days, add_days, True, False, "a date moved by a whole number of days"),
    F("add_months", _add_days, add_months, True, False, "a date moved by whole months (the day clipped to the month's end)"),
    F("year", _date_part, year, True, False, "the year of a date or date_time"),
    F("month", _date_part, month, True, False, "the month of a date or date_time, 1 to 12"),
    F("day", _date_part, day, True, False, "the day of the month of a date or date_time"),
    F("starts_with", _string_test, starts_with, True, False, "whether a text starts with another"),
    F("ends_with", _string_test, ends_with, True, False, "whether a text ends with another"),
    F("contains", _string_test, contains, True, False, "whether a text contains another"),
    F("upper", _string_map, upper, True, False, "a text in upper case"),
    F("lower", _string_map, lower, True, False, "a text in lower case"),
    F("trim", _string_map, trim, True, False, "a text without leading and trailing white space"),
    F("length", _length, length, True, False, "the number of characters of a text"),
    F("concat", _concat, concat, False, False, "texts joined; null when any part is null"),
    F("text", _text, text, True, False, "a number in plain notation with the digits it holds, or a time, date_time or duration as FEEL writes it"),
    F("format_number", _format_number, format_number, True, False,
      "a number with thousands separators, at 0..12 places (half up) or with the digits it holds"),
    F("flatten", _flatten, flatten, True, False, "the elements of each inner list, in order"),
    F("number", _number, number, True, False, "the number a text spells, or null"),
    F("timestamp", _timestamp, timestamp, True, False, "whole seconds since 1970-01-01T00:00Z of a date or ISO 8601 text"),
    F("day_of_year", _timestamp, day_of_year, True, False, "1 to 366: the day of the year of a date or ISO 8601 text"),
    F("time_of_day", _timestamp, time_of_day, True, False, "whole seconds since midnight of an ISO 8601 time or date-time"),
    F("split", _split, split, True, False, "the parts of a text between separators"),
    F("concatenate", _joined_lists, concatenate, False, False, "the elements of lists one after another; null where a list is"),
    F("union", _joined_lists, union, False, False, "the elements of lists one after another, without repeats"),
    F("distinct", _list_same, distinct, False, False, "the elements of a list without repeats, each where it first occurs"),
    F("reverse", _list_same, reverse, False, False, "the elements of a list in the opposite order"),
    F("sublist", _positioned, sublist, True, False, "the elements from a position on (all, or a length); null outside"),
    F("insert_before", _positioned, insert_before, True, False, "a list with an element put before a position"),
    F("remove_at", _positioned, remove_at, True, False, "a list without the element at a position"),
    F("index_of", _index_of, index_of, False, False, "the positions (from 1) of the elements equal to a value"),
    F("matches", _regex, regex.matches, True, False, "whether part of a text matches an XPath pattern (flags s, m, i, x, q)"),
    F("replace", _regex, regex.replace, True, False, "a text with each match of an XPath pattern replaced ($1 a group)"),
    F("tokenize", _regex, regex.tokenize, True, False, "the parts of a text between the matches of an XPath pattern"),
    F("element_at", _element_at, element_at, True, False, "the n-th element counting from 1 (from the end if negative), or null"),
    *temporal_functions.functions(Function),
)
