"""The expression language's functions of times, dates and times and durations: records of ``rules.functions.FUNCTIONS``.

A text argument that is a literal is read when the pack is checked (``time("25:00:00")``
is a compile error, and ``time("10:30:00")`` is never null); any other text is read when
the decision runs, null where it is no such value, as FEEL's functions are. Arithmetic is
by name (``add_duration``, ``duration_between``), as ``add_days`` is for dates: ``+`` and
``-`` stay the operators of numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rules import syntax as s
from rules import temporal
from rules.errors import DecisionError
from rules.types import DATE, DATE_TIME, DAYS_TIME, DECIMAL, INTEGER, STRING, TIME, YEARS_MONTHS, Type

if TYPE_CHECKING:
    from rules.expressions import ExpressionChecker
    from rules.functions import Function

MOMENTS = ("date", "time", "date_time")  # what a duration moves and what duration_between measures
DURATIONS = (DAYS_TIME.kind, YEARS_MONTHS.kind)


def _arity(c: ExpressionChecker, node: s.Call, *counts: int) -> None:
    if len(node.args) not in counts:
        want = " or ".join(str(n) for n in counts)
        raise c.fail(node, "wrong-arguments", f"{node.function}() takes {want} arguments, not {len(node.args)}")


def _kind(c: ExpressionChecker, node: s.Node, kinds: tuple[str, ...], what: str) -> Type:
    t = c.check(node)
    if t.kind not in (*kinds, "null"):
        raise c.fail(node, "type-mismatch", f"{what} must be a {' or '.join(kinds)}, not {t.describe()}")
    return t


# Reading texts.

def _reader(result: Type, parse: Callable[[str], Any]) -> Callable[[ExpressionChecker, s.Call], Type]:
    """The type rule of time(text) and the like: a literal is read now (never null), other text when it runs."""

    def rule(c: ExpressionChecker, node: s.Call) -> Type:
        _arity(c, node, 1)
        t = _kind(c, node.args[0], ("string",), f"the argument of {node.function}()")
        arg = node.args[0]
        if isinstance(arg, s.Literal) and isinstance(arg.value, str):
            try:
                found = parse(arg.value)
            except temporal.TemporalUnsupported as exc:
                raise c.fail(arg, "unsupported-value", str(exc)) from None
            if found is None:
                raise c.fail(arg, "syntax", f"{arg.value!r} is not a {result.kind} FEEL reads")
            return result
        return result.with_null(True) if t.kind != "null" else result.with_null()

    return rule


def _read(parse: Callable[[str], Any], text: Any) -> Any:
    if text is None:
        return None
    try:
        return parse(text)
    except temporal.TemporalUnsupported as exc:
        raise DecisionError("unsupported-value", str(exc)) from None


def _time(c: ExpressionChecker, node: s.Call) -> Type:
    """time(text), or time(date_time): its time of day, its offset kept."""
    _arity(c, node, 1)
    if c.check(node.args[0]).kind == "date_time":
        return TIME.with_null(node.args[0].type.nullable)
    return _reader(TIME, temporal.parse_time)(c, node)


def t_time(value: Any) -> Any:
    if isinstance(value, temporal.DateTime):
        if value.zone is not None:
            raise DecisionError("unsupported-value", f"the time of {value} is in a named zone, which gives a time of day "
                                                     "no fixed offset")
        return value.time
    return _read(temporal.parse_time, value)


def _date_of(c: ExpressionChecker, node: s.Call) -> Type:
    _arity(c, node, 1)
    t = _kind(c, node.args[0], ("date", "date_time"), "the argument of date_of()")
    return DATE.with_null(t.nullable or t.kind == "null")


def date_of(value: Any) -> Any:
    """The date of a date_time, as written (not moved to UTC); a date is its own."""
    return value.date if isinstance(value, temporal.DateTime) else value


def t_days_time(text: Any) -> Any:
    return _read(temporal.parse_days_time, text)


def _date_and_time(c: ExpressionChecker, node: s.Call) -> Type:
    """date_and_time(text), or date_and_time(date, time): the date at that time (its offset kept)."""
    _arity(c, node, 1, 2)
    if len(node.args) == 1:
        return _reader(DATE_TIME, temporal.parse_date_time)(c, node)
    a = _kind(c, node.args[0], ("date", "date_time"), "the first argument of date_and_time()")
    b = _kind(c, node.args[1], ("time",), "the second argument of date_and_time()")
    return DATE_TIME.with_null(a.nullable or b.nullable or "null" in (a.kind, b.kind))


def t_date_and_time(a: Any, b: Any = ...) -> Any:
    if b is ...:
        return _read(temporal.parse_date_time, a)
    if a is None or b is None:
        return None
    return temporal.DateTime(a.date if isinstance(a, temporal.DateTime) else a, b)


def _years_months(c: ExpressionChecker, node: s.Call) -> Type:
    """years_months_duration(text), or years_months_duration(from, to): the whole months between two dates."""
    _arity(c, node, 1, 2)
    if len(node.args) == 1:
        return _reader(YEARS_MONTHS, temporal.parse_years_months)(c, node)
    a = _kind(c, node.args[0], ("date", "date_time"), "the first argument of years_months_duration()")
    b = _kind(c, node.args[1], ("date", "date_time"), "the second argument of years_months_duration()")
    return YEARS_MONTHS.with_null(a.nullable or b.nullable or "null" in (a.kind, b.kind))


def t_years_months(a: Any, b: Any = ...) -> Any:
    if b is ...:
        return _read(temporal.parse_years_months, a)
    return None if a is None or b is None else temporal.years_and_months(a, b)


# Arithmetic.

# what a duration added to a value of a kind gives (FEEL, DMN 1.5 table 57): a time moves by days and time only
_MOVES = {("date", "days_time_duration"): DATE, ("date", "years_months_duration"): DATE,
          ("date_time", "days_time_duration"): DATE_TIME, ("date_time", "years_months_duration"): DATE_TIME,
          ("time", "days_time_duration"): TIME, ("days_time_duration", "days_time_duration"): DAYS_TIME,
          ("years_months_duration", "years_months_duration"): YEARS_MONTHS}


def _add_duration(c: ExpressionChecker, node: s.Call) -> Type:
    _arity(c, node, 2)
    a = _kind(c, node.args[0], (*MOMENTS, *DURATIONS), f"the first argument of {node.function}()")
    b = _kind(c, node.args[1], DURATIONS, f"the second argument of {node.function}()")
    if "null" in (a.kind, b.kind):
        return Type("null", nullable=True)
    result = _MOVES.get((a.kind, b.kind))
    if result is None:
        raise c.fail(node, "type-mismatch", f"{node.function}() cannot move a {a.kind} by a {b.kind}")
    return result.with_null(a.nullable or b.nullable)


def add_duration(a: Any, d: Any) -> Any:
    return None if a is None or d is None else a + d


def subtract_duration(a: Any, d: Any) -> Any:
    return None if a is None or d is None else a + -d


def _between(c: ExpressionChecker, node: s.Call) -> Type:
    _arity(c, node, 2)
    a = _kind(c, node.args[0], MOMENTS, "the first argument of duration_between()")
    b = _kind(c, node.args[1], MOMENTS, "the second argument of duration_between()")
    if "null" not in (a.kind, b.kind) and a.kind != b.kind:
        raise c.fail(node, "type-mismatch", f"duration_between() measures between two values of one kind, not "
                                            f"{a.describe()} and {b.describe()}")
    return DAYS_TIME.with_null(a.nullable or b.nullable or "null" in (a.kind, b.kind))


def duration_between(a: Any, b: Any) -> Any:
    """``b - a``: for dates, the days between their midnights; null where one has an offset and the other not."""
    if a is None or b is None:
        return None
    if isinstance(a, dt.date):
        return temporal.DaysTimeDuration(Decimal((b - a).days * temporal.DAY))
    return b - a


def _scale(c: ExpressionChecker, node: s.Call) -> Type:
    """multiply_duration(d, n) and divide_duration(d, n): a duration; divide_duration(d, e) of one kind: a number."""
    _arity(c, node, 2)
    d = _kind(c, node.args[0], DURATIONS, f"the first argument of {node.function}()")
    kinds = ("number", d.kind) if node.function == "divide_duration" and d.kind != "null" else ("number",)
    by = _kind(c, node.args[1], kinds, f"the second argument of {node.function}()")
    if "null" in (d.kind, by.kind):
        return Type("null", nullable=True)
    divides = node.function == "divide_duration"
    result = DECIMAL if by.kind != "number" else d
    return result.with_null(d.nullable or by.nullable or divides)  # null for a zero divisor


def multiply_duration(d: Any, n: Any) -> Any:
    return None if d is None or n is None else temporal.scaled(d, Decimal(n))


def divide_duration(d: Any, by: Any) -> Any:
    return None if d is None or by is None else temporal.divided(d, by)


# Properties (DMN 1.5, table 65).

_PROPERTIES: dict[str, tuple[tuple[str, ...], Type]] = {
    "hour": (("time", "date_time"), INTEGER), "minute": (("time", "date_time"), INTEGER),
    "second": (("time", "date_time"), DECIMAL), "time_offset": (("time", "date_time"), DAYS_TIME),
    "timezone": (("date_time",), STRING),
    "days": (("days_time_duration",), INTEGER), "hours": (("days_time_duration",), INTEGER),
    "minutes": (("days_time_duration",), INTEGER), "seconds": (("days_time_duration",), DECIMAL),
    "years": (("years_months_duration",), INTEGER), "months": (("years_months_duration",), INTEGER),
}
_MAYBE_NULL = {"time_offset", "timezone"}  # a local value has no offset, and only a zoned one a zone name


def _property_rule(name: str) -> Callable[[ExpressionChecker, s.Call], Type]:
    kinds, result = _PROPERTIES[name]

    def rule(c: ExpressionChecker, node: s.Call) -> Type:
        _arity(c, node, 1)
        t = _kind(c, node.args[0], kinds, f"the argument of {name}()")
        return result.with_null(t.nullable or t.kind == "null" or name in _MAYBE_NULL)

    return rule


def _property_runtime(name: str) -> Callable[[Any], Any]:
    feel_name = name.replace("_", " ")

    def get(value: Any) -> Any:
        return None if value is None else value.properties()[feel_name]

    get.__name__ = f"t_{name}"
    return get


def functions(make: type[Function]) -> tuple[Function, ...]:
    """The records, built with ``rules.functions.Function`` (passed in: that module imports this one)."""
    properties = tuple(
        make(name, _property_rule(name), _property_runtime(name), False, False,
             f"the {name.replace('_', ' ')} of a {' or '.join(kinds)}" + (" (null where it has none)" if name in _MAYBE_NULL else ""))
        for name, (kinds, _) in _PROPERTIES.items())
    return (
        make("time", _time, t_time, True, False,
             'a time of day from ISO 8601 text (`time("10:30:00+01:00")`), null where the text is none, or of a date_time'),
        make("date_of", _date_of, date_of, False, False, "the date of a date_time, as written (not moved to UTC)"),
        make("date_and_time", _date_and_time, t_date_and_time, True, False,
             "a date and time from ISO 8601 text (a zone as `@Europe/Paris`), or of a date and a time"),
        make("days_time_duration", _reader(DAYS_TIME, temporal.parse_days_time), t_days_time, True, False,
             'a days and time duration from ISO 8601 text (`days_time_duration("P1DT2H")`)'),
        make("years_months_duration", _years_months, t_years_months, True, False,
             "a years and months duration from ISO 8601 text (`P1Y2M`), or the whole months from one date to another"),
        make("add_duration", _add_duration, add_duration, True, False,
             "a date, time or date and time moved by a duration (a month past the 31st clips to the month's end), "
             "or two durations of one kind added"),
        make("subtract_duration", _add_duration, subtract_duration, True, False,
             "a date, time or date and time moved back by a duration, or a duration less another"),
        make("multiply_duration", _scale, multiply_duration, True, False,
             "a duration times a number (a years and months duration's months truncated toward zero)"),
        make("divide_duration", _scale, divide_duration, True, False,
             "a duration over a number (a duration), or over a duration of its kind (a number); null for zero"),
        make("duration_between", _between, duration_between, True, False,
             "the days and time duration from one date, time or date and time to another of its kind"),
        *properties,
    )
