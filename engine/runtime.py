"""The only names generated code can reach.

Generated modules are executed with ``{"__builtins__": {}}`` plus this namespace, so an
expression compiles to calls of these helpers and nothing else. Null semantics live here:
arithmetic and ordering with null give null; ``and``/``or`` are three-valued (Kleene);
``=`` treats null as a value that equals only null; division by zero gives null.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Iterable
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from rules.errors import DecisionError

# Decimal128 precision, as in FEEL; a fixed context so no caller's thread context leaks in.
CTX = Context(prec=34, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
              traps=[InvalidOperation, Overflow, DivisionByZero])

ROUNDING = {
    "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "half_down": ROUND_HALF_DOWN,
    "down": ROUND_DOWN, "up": ROUND_UP, "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING,
}
_QUANTUM = [Decimal(1).scaleb(-n) for n in range(13)]
# Context.quantize with each rounding mode: the hot path rounds an output in one C call
QUANTIZE = {name: Context(prec=34, rounding=mode, Emax=999_999, Emin=-999_999,
                          traps=[InvalidOperation, Overflow, DivisionByZero]).quantize for name, mode in ROUNDING.items()}


def quantize(value: Any, places: int, mode: str = "half_even") -> Any:
    if value is None:
        return None
    return CTX.quantize(Decimal(value), _QUANTUM[places]) if mode == "half_even" else Decimal(value).quantize(
        _QUANTUM[places], rounding=ROUNDING[mode], context=CTX
    )


def n_add(a: Any, b: Any) -> Any:
    return None if a is None or b is None else CTX.add(a, b)


def n_sub(a: Any, b: Any) -> Any:
    return None if a is None or b is None else CTX.subtract(a, b)


def n_mul(a: Any, b: Any) -> Any:
    return None if a is None or b is None else CTX.multiply(a, b)


def n_div(a: Any, b: Any) -> Any:
    if a is None or b is None or b == 0:
        return None
    return CTX.divide(a, b)


def n_neg(a: Any) -> Any:
    return None if a is None else -a


def i_add(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a + b


def i_sub(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a - b


def i_mul(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a * b


def lt(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a < b


def le(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a <= b


def gt(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a > b


def ge(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a >= b


def and3(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or3(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def not3(a: Any) -> Any:
    return None if a is None else not a


def in_interval(x: Any, low: Any, high: Any, low_closed: bool, high_closed: bool) -> bool:
    if x is None or low is None or high is None:
        return False
    if (x < low) if low_closed else (x <= low):
        return False
    return bool((x <= high) if high_closed else (x < high))


def member(obj: Any, name: str) -> Any:
    return None if obj is None else obj.get(name)


def agg_sum(values: Iterable[Any]) -> Any:
    # the builtin sum adds in C; under CTX it is as exact and deterministic as CTX.add one by one
    present = [v for v in values if v is not None]
    with localcontext(CTX):
        return sum(present)


def exact_sum(values: list[Any]) -> Any:
    with localcontext(CTX):
        return sum(values)


def sum_by(cache: dict[int, Any], items: Any, key: str, amount: str, exact: bool) -> tuple[Any, dict[Any, Any]]:
    """(items, totals of ``amount`` per ``key`` over ``items``), cached by the list's id for one evaluation.

    The cached pair holds the list, so its id cannot be reused by another list while cached.
    """
    totals: dict[Any, Any] = {}
    if exact:
        with localcontext(CTX):
            for item in items:
                k = item[key]
                totals[k] = totals.get(k, 0) + item[amount]
    else:
        for item in items:
            k = item[key]
            totals[k] = totals.get(k, 0) + item[amount]
    found = cache[id(items)] = (items, totals)
    return found


def agg_min(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def agg_max(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def s_min(*values: Any) -> Any:
    return None if any(v is None for v in values) else min(values)


def s_max(*values: Any) -> Any:
    return None if any(v is None for v in values) else max(values)


def f_abs(a: Any) -> Any:
    return None if a is None else abs(a)


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


def fail(code: str, message: str, table: str) -> Any:
    raise DecisionError(code, message, table)


def any_agree(table: str, outputs: list[Any]) -> Any:
    first = outputs[0]
    for other in outputs[1:]:
        if other != first:
            raise DecisionError("any-conflict", f"table {table!r}: rows of an 'any' table disagree", table)
    return first


NAMESPACE: dict[str, Any] = {
    "__builtins__": {},
    "len": len, "sum": sum, "min": min, "max": max, "any": any, "all": all, "sorted": sorted, "next": next, "tuple": tuple, "list": list,
    "id": id,
    "_ADD": CTX.add, "_SUB": CTX.subtract, "_MUL": CTX.multiply, "_DIV": CTX.divide,
    "n_add": n_add, "n_sub": n_sub, "n_mul": n_mul, "n_div": n_div, "n_neg": n_neg,
    "i_add": i_add, "i_sub": i_sub, "i_mul": i_mul,
    "lt": lt, "le": le, "gt": gt, "ge": ge, "and3": and3, "or3": or3, "not3": not3,
    "in_interval": in_interval, "member": member,
    "agg_sum": agg_sum, "exact_sum": exact_sum, "sum_by": sum_by, "agg_min": agg_min, "agg_max": agg_max, "s_min": s_min, "s_max": s_max,
    "f_abs": f_abs, "f_round": f_round, "f_floor": f_floor, "f_ceiling": f_ceiling, "coalesce": coalesce,
    "days_between": days_between, "add_days": add_days, "add_months": add_months,
    "year": year, "month": month, "day": day, "starts_with": starts_with, "ends_with": ends_with,
    "contains": contains, "upper": upper, "lower": lower, "trim": trim, "text": text, "length": length, "concat": concat,
    "flatten": flatten, "split": split, "element_at": element_at, "number": number, "timestamp": timestamp, "day_of_year": day_of_year, "time_of_day": time_of_day,
    "fail": fail, "any_agree": any_agree,
}
