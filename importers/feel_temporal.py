"""FEEL's times, dates and times and durations in the expression language (rules/temporal.py holds their meaning).

A literal becomes the language's reading of the same text (``time("10:30:00")``), checked
here first: a text FEEL reads but Arbiter cannot hold exactly (a year past 9999, a time of
day in a named zone) is refused, never turned into null. Arithmetic is written with the
language's functions (``add_duration``, ``duration_between``); what FEEL defines and the
language does not (a duration times a number, a date against a date and time) is refused.
``now()`` and ``today()`` are refused by name: a decision reads no clock.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from importers import feel_fold
from importers.feel import (
    DATE,
    DATE_TIME,
    DT_DURATION,
    NULL,
    NULL_VALUE,
    NUMBER,
    STRING,
    TIME,
    YM_DURATION,
    FeelRefused,
    Kind,
    Tr,
    describe,
    quote,
)
from rules import temporal

READERS = {TIME: ("time", temporal.parse_time), DATE_TIME: ("date_and_time", temporal.parse_date_time),
           DT_DURATION: ("days_time_duration", temporal.parse_days_time),
           YM_DURATION: ("years_months_duration", temporal.parse_years_months)}
NOT_DETERMINISTIC = ("now", "today")
# FEEL's properties (DMN 1.5, table 65) the language has as functions, by the kind they are read of
PROPERTIES = {TIME: ("hour", "minute", "second", "time offset"),
              DATE_TIME: ("year", "month", "day", "hour", "minute", "second", "time offset", "timezone"),
              DT_DURATION: ("days", "hours", "minutes", "seconds"), YM_DURATION: ("years", "months")}


def literal(kind: Kind, text: str) -> Tr:
    """A time, date and time or duration literal of a known kind, as the language reads it."""
    function, parse = READERS[kind]
    try:
        value = parse(text)
    except temporal.TemporalUnsupported as exc:
        raise FeelRefused(f"{exc} is not converted") from None
    if value is None:
        raise FeelRefused(f"the {describe(kind)} {text!r} is not read the same way by FEEL and Arbiter")
    return Tr(f"{function}({quote(text)})", kind, feel_fold.Temporal(kind, text))


def value_literal(value: Any) -> Tr:
    """A rules.temporal value as a literal of its kind."""
    kind = next(k for k, (_, parse) in READERS.items() if isinstance(value, type(parse(_SAMPLES[k]))))
    return literal(kind, str(value))


_SAMPLES = {TIME: "00:00:00", DATE_TIME: "2000-01-01T00:00:00", DT_DURATION: "PT0S", YM_DURATION: "P0M"}


def time_of_parts(args: list[Tr]) -> Tr:
    """``time(hour, minute, second[, offset])`` of literals: the time, or null where FEEL's is."""
    if any(a.kind == NULL for a in args[:3]):
        return NULL_VALUE
    if len(args) == 4 and args[3].kind == NULL:
        args = args[:3]  # FEEL: a null offset is none, a local time
    parts = [a.const for a in args[:3]]
    if not all(isinstance(p, Decimal) for p in parts) or (len(args) == 4 and not _duration_const(args[3])):
        raise FeelRefused("time() of parts that are not literals is not converted")
    hour, minute, second = parts
    if hour != hour.to_integral_value() or minute != minute.to_integral_value() or not (
            0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second < 60):
        return NULL_VALUE
    offset = None
    if len(args) == 4:
        found = temporal.parse_days_time(args[3].const.text)
        assert found is not None
        if abs(found.seconds) > temporal.MAX_OFFSET or found.seconds != found.seconds.to_integral_value():
            raise FeelRefused(f"time() with the offset {found} is not converted")
        offset = int(found.seconds)
    return value_literal(temporal.Time(int(hour), int(minute), second, offset))


def _duration_const(arg: Tr) -> bool:
    return isinstance(arg.const, feel_fold.Temporal) and arg.kind == DT_DURATION


def call(name: str, args: list[Tr]) -> Tr | None:
    """time(), date and time(), duration() and years and months duration(), or None for another function."""
    if name in NOT_DETERMINISTIC:  # FEEL's now() and today()
        raise FeelRefused(f"{name}() reads the clock: a decision is a function of its input and as_of, so it is not converted")
    if name == "string" and len(args) == 1 and args[0].kind in (TIME, DATE_TIME, DT_DURATION, YM_DURATION):
        return Tr(f"text({args[0].text})", STRING)  # FEEL writes them as rules.temporal does
    if name == "years and months duration" and len(args) == 2:
        return _between_months(args)
    if name == "time" and len(args) in (3, 4):
        return time_of_parts(args)
    if name in ("time", "date") and len(args) == 1 and args[0].kind in (DATE, DATE_TIME):
        return _part_of(name, args[0])
    if name == "date" and len(args) == 3 and NULL in (a.kind for a in args):
        return NULL_VALUE
    if name == "date and time" and len(args) == 2:
        if NULL in (args[0].kind, args[1].kind):
            return NULL_VALUE
        if args[0].kind not in (DATE, DATE_TIME) or args[1].kind != TIME:
            raise FeelRefused(f"date and time() of a {describe(args[0].kind)} and a {describe(args[1].kind)} is not converted")
        return Tr(f"date_and_time({args[0].text}, {args[1].text})", DATE_TIME)
    if len(args) != 1 or name not in ("time", "date and time", "duration"):
        return None
    arg = args[0]
    if arg.kind in (NULL, NUMBER, "boolean") or arg.text == "[]":
        return NULL_VALUE  # FEEL: null, or a value no such function reads (a non-empty list might be taken for its element)
    if not isinstance(arg.const, str):
        raise FeelRefused(f"{name}() of a text that is not a literal is not converted (FEEL reads more forms)")
    return _of_text(name, arg.const)


def _of_text(name: str, text: str) -> Tr:
    if name == "duration":
        for kind in (DT_DURATION, YM_DURATION):
            try:
                if READERS[kind][1](text) is not None:
                    return literal(kind, text)
            except temporal.TemporalUnsupported as exc:
                raise FeelRefused(f"{exc} is not converted") from None
        return NULL_VALUE  # FEEL's grammar of a duration, as rules.temporal reads it
    kind = TIME if name == "time" else DATE_TIME
    try:
        if READERS[kind][1](text) is not None:
            return literal(kind, text)
    except temporal.TemporalUnsupported as exc:
        raise FeelRefused(f"{exc} is not converted") from None
    return NULL_VALUE  # not a text of FEEL's grammar (rules.temporal reads exactly that grammar)


def _part_of(name: str, value: Tr) -> Tr:
    """time() and date() of a date and time (a date's time is midnight UTC, as FEEL has it)."""
    if isinstance(value.const, feel_fold.Temporal) and "@" in value.const.text and name == "time":
        raise FeelRefused("the time of a date and time in a named zone is not converted (a time keeps no zone name)")
    if name == "date":
        return Tr(f"date_of({value.text})", DATE)
    if value.kind == DATE:
        return Tr(f"(if {value.text} = null then null else time(\"00:00:00Z\"))", TIME)
    return Tr(f"time({value.text})", TIME)


def _between_months(args: list[Tr]) -> Tr:
    if NULL in (args[0].kind, args[1].kind):
        return NULL_VALUE
    if any(a.kind not in (DATE, DATE_TIME) for a in args):
        return NULL_VALUE  # FEEL: the function reads dates and dates and times only
    return Tr(f"years_months_duration({args[0].text}, {args[1].text})", YM_DURATION)


# what a duration added to a kind gives (DMN 1.5, table 57); a time moves by days and time only
_MOVES = {(DATE, DT_DURATION): DATE, (DATE, YM_DURATION): DATE, (DATE_TIME, DT_DURATION): DATE_TIME,
          (DATE_TIME, YM_DURATION): DATE_TIME, (TIME, DT_DURATION): TIME, (DT_DURATION, DT_DURATION): DT_DURATION,
          (YM_DURATION, YM_DURATION): YM_DURATION}
TEMPORAL_KINDS = (DATE, TIME, DATE_TIME, DT_DURATION, YM_DURATION)


def arithmetic(left: Tr, op: str, right: Tr) -> Tr | None:
    """``a + d``, ``a - d``, ``d + a`` and ``a - b`` of temporal kinds; None when neither side is temporal."""
    if left.kind not in TEMPORAL_KINDS and right.kind not in TEMPORAL_KINDS:
        return None
    if NULL in (left.kind, right.kind):
        return NULL_VALUE
    scaled = _scaled(left, op, right)
    if scaled is not None:
        return scaled
    if op == "-" and left.kind == right.kind and left.kind in (DATE, TIME, DATE_TIME):
        return Tr(f"duration_between({right.text}, {left.text})", DT_DURATION)
    if op == "+" and (right.kind, left.kind) in _MOVES and left.kind in (DT_DURATION, YM_DURATION) \
            and right.kind not in (DT_DURATION, YM_DURATION):
        left, right = right, left
    result = _MOVES.get((left.kind, right.kind)) if op in ("+", "-") else None
    if result is None:
        raise FeelRefused(f"{describe(left.kind)} {op} {describe(right.kind)} is not converted")
    function = "add_duration" if op == "+" else "subtract_duration"
    return Tr(f"{function}({left.text}, {right.text})", result)


def _scaled(left: Tr, op: str, right: Tr) -> Tr | None:
    """``d * n``, ``n * d``, ``d / n`` and ``d / e`` of durations (of one kind for ``d / e``)."""
    durations = (DT_DURATION, YM_DURATION)
    if op == "*" and left.kind == NUMBER and right.kind in durations:
        left, right = right, left
    if op == "*" and left.kind in durations and right.kind == NUMBER:
        return Tr(f"multiply_duration({left.text}, {right.text})", left.kind)
    if op == "/" and left.kind in durations and right.kind in (NUMBER, left.kind):
        return Tr(f"divide_duration({left.text}, {right.text})", left.kind if right.kind == NUMBER else NUMBER)
    return None


def negated(operand: Tr) -> Tr | None:
    """``-d`` of a duration: zero less it."""
    if operand.kind not in (DT_DURATION, YM_DURATION):
        return None
    zero = literal(operand.kind, "PT0S" if operand.kind == DT_DURATION else "P0M")
    return Tr(f"subtract_duration({zero.text}, {operand.text})", operand.kind)


def path(value: Tr, name: str) -> Tr | None:
    """A property of a time, date and time or duration, or None for another kind; refused where the language has none."""
    if value.kind not in PROPERTIES:
        return None
    if name not in PROPERTIES[value.kind]:
        if name in ("weekday", "timezone", "time offset"):
            raise FeelRefused(f"the property {name} of a {describe(value.kind)} is not converted")
        return NULL_VALUE  # FEEL: a property the kind does not have is null
    kind = DT_DURATION if name == "time offset" else STRING if name == "timezone" else NUMBER
    return Tr(f"{name.replace(' ', '_')}({value.text})", kind)

