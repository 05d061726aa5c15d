"""FEEL built-in functions the expression language has no counterpart of, computed at import time when every
argument is a literal: the value FEEL gives, to its 34 digits, written into the pack as a literal.

Each takes Python values (Decimal, str, bool, date, tuple for a list, None for null) and returns the FEEL value
(None for null), or raises ``Unsure`` where FEEL's answer is not certain here (the importer refuses the call).
A list where a single value is wanted is ``Unsure``: FEEL would take a singleton list's element.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

FEEL_DECIMAL = Context(prec=34)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


class Unsure(Exception):
    """FEEL's answer for these arguments is not certain here."""


@dataclass(frozen=True)
class Temporal:
    """A time, date and time or duration literal: its kind (as importers.feel names it) and its text."""

    kind: str
    text: str


def properties(value: Any) -> dict[str, Any]:
    """The properties FEEL gives a date, time, date and time or duration (DMN 1.5, table 65)."""
    if isinstance(value, dt.date):
        return {"year": Decimal(value.year), "month": Decimal(value.month), "day": Decimal(value.day),
                "weekday": Decimal(value.isoweekday())}
    if not isinstance(value, Temporal):
        return {}
    if value.kind.endswith("duration"):
        return _duration_properties(value.text)
    day, _, clock = value.text.rpartition("T") if value.kind == "date and time" else ("", "", value.text)
    fields = re.match(r"(\d{2}):(\d{2}):(\d{2})(\.\d+)?", clock)
    found: dict[str, Any] = {}
    if fields is not None and fields[4] is None:
        found |= {"hour": Decimal(fields[1]), "minute": Decimal(fields[2]), "second": Decimal(fields[3])}
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        found |= properties(dt.date.fromisoformat(day))
    return found


def _duration_properties(text: str) -> dict[str, Any]:
    sign = -1 if text.startswith("-") else 1
    parts = {unit: Decimal(n) for n, unit in re.findall(r"(\d+(?:\.\d+)?)([YMDHS])", text.split("T", maxsplit=1)[0])}
    clock = {unit: Decimal(n) for n, unit in re.findall(r"(\d+(?:\.\d+)?)([HMS])", text.split("T")[1])} if "T" in text else {}
    if "Y" in parts or ("M" in parts and "D" not in parts and not clock):
        months = parts.get("Y", Decimal(0)) * 12 + parts.get("M", Decimal(0))
        return {"years": sign * (months // 12), "months": sign * (months % 12)}
    seconds = (parts.get("D", Decimal(0)) * 86400 + clock.get("H", Decimal(0)) * 3600 + clock.get("M", Decimal(0)) * 60
               + clock.get("S", Decimal(0)))
    whole = seconds.to_integral_value(rounding="ROUND_FLOOR")
    return {"days": sign * (whole // 86400), "hours": sign * (whole % 86400 // 3600),
            "minutes": sign * (whole % 3600 // 60), "seconds": sign * (seconds - whole + whole % 60)}


def _number(value: Any) -> Decimal | None:
    """A number argument: None when FEEL answers null for it (null, or another kind)."""
    if isinstance(value, tuple):
        raise Unsure("a list where a number is wanted")
    return value if isinstance(value, Decimal) else None


def _string(value: Any) -> str | None:
    if isinstance(value, tuple):
        raise Unsure("a list where a string is wanted")
    return value if isinstance(value, str) else None


def _date(value: Any) -> dt.date | None:
    """A date argument, or a date and time's date; None for any other kind."""
    if isinstance(value, tuple):
        raise Unsure("a list where a date is wanted")
    if isinstance(value, Temporal) and value.kind == "date and time":
        if not re.match(r"\d{4}-", value.text):
            raise Unsure("a date and time with a signed or long year")
        return dt.date.fromisoformat(value.text[:10])
    return value if isinstance(value, dt.date) else None


def _whole(value: Decimal | None) -> int | None:
    if value is None:
        return None
    if value != value.to_integral_value():
        raise Unsure("a position or length that is not a whole number")
    return int(value)


def _numbers(args: tuple[Any, ...]) -> list[Decimal] | None:
    """A list argument, or the arguments themselves, as numbers; None when FEEL answers null (a null or a non-number)."""
    items = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    if len(args) == 1 and args[0] is None:
        return None
    if any(not isinstance(v, Decimal) for v in items):
        return None
    return list(items)


def sqrt(n: Any) -> Decimal | None:
    """An exact square root only: where it is irrational, engines and the TCK round it differently."""
    x = _number(n)
    if x is None or x < 0:
        return None
    root = FEEL_DECIMAL.sqrt(x)
    if Context(prec=80).multiply(root, root) != x:  # exactly, not rounded back to 34 digits
        raise Unsure("an irrational square root")
    return root


def substring(string: Any, start: Any, length: Any = ...) -> str | None:
    """Code points from a 1-based position (negative: from the end), all or ``length`` of them."""
    text, begin = _string(string), _whole(_number(start))
    size = None if length is ... else _whole(_number(length))
    if text is None or begin is None or (length is not ... and size is None):
        return None
    if begin == 0 or abs(begin) > len(text) or (size is not None and size < 0):
        raise Unsure("a start position 0 or outside the string, or a negative length")
    first = begin - 1 if begin > 0 else len(text) + begin
    return text[first:] if size is None else text[first:first + size]


def substring_before(string: Any, match: Any) -> str | None:
    text, part = _string(string), _string(match)
    if text is None or part is None:
        return None
    return text[:text.find(part)] if part in text else ""


def substring_after(string: Any, match: Any) -> str | None:
    text, part = _string(string), _string(match)
    if text is None or part is None:
        return None
    return text[text.find(part) + len(part):] if part in text else ""


def string_join(items: Any, delimiter: Any = "") -> str | None:
    """The strings of a list joined (nulls left out); null when an element is not a string."""
    if not isinstance(items, tuple) or not isinstance(delimiter, str):
        raise Unsure("string join of a non-list or with a null delimiter")
    if any(not isinstance(v, str) for v in items if v is not None):
        return None
    return delimiter.join(v for v in items if v is not None)


def _fold(numbers: list[Decimal], step: Callable[[Decimal, Decimal], Decimal]) -> Decimal:
    """Numbers combined left to right, each step rounded to FEEL's 34 digits."""
    result = FEEL_DECIMAL.plus(numbers[0])
    for x in numbers[1:]:
        result = step(result, x)
    return result


def product(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    return _fold(numbers, FEEL_DECIMAL.multiply) if numbers else None


def mean(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    return FEEL_DECIMAL.divide(_fold(numbers, FEEL_DECIMAL.add), Decimal(len(numbers))) if numbers else None


def median(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    if not numbers:
        return None
    ordered = sorted(numbers)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return FEEL_DECIMAL.divide(FEEL_DECIMAL.add(ordered[middle - 1], ordered[middle]), Decimal(2))


def mode(*args: Any) -> tuple[Decimal, ...] | None:
    """The most frequent numbers, ascending; [] for an empty list."""
    numbers = _numbers(args)
    if numbers is None:
        return None
    counts = Counter(numbers)
    top = max(counts.values(), default=0)
    return tuple(sorted(x for x, n in counts.items() if n == top))


def day_of_year(date: Any) -> Decimal | None:
    day = _date(date)
    return None if day is None else Decimal(day.timetuple().tm_yday)


def day_of_week(date: Any) -> str | None:
    day = _date(date)
    return None if day is None else DAYS[day.weekday()]


def month_of_year(date: Any) -> str | None:
    day = _date(date)
    return None if day is None else MONTHS[day.month - 1]


def week_of_year(date: Any) -> Decimal | None:
    day = _date(date)
    return None if day is None else Decimal(day.isocalendar()[1])


def is_(a: Any, b: Any) -> bool:
    """Whether two values are the same element of FEEL's domain: of one kind and equal."""
    if a is None or b is None or isinstance(a, (tuple, dict, Temporal)) or isinstance(b, (tuple, dict, Temporal)):
        raise Unsure("is() of null, of lists or contexts, or of times and durations")
    return type(a) is type(b) and a == b


def number(text: Any, grouping: Any, decimal: Any) -> Decimal | None:
    """A string's number with a grouping separator (" ", "," or ".", or none) and a decimal separator ("." or ",");
    null where the separators are other ones, the same, or the string is not a number so written."""
    if not isinstance(text, str) or (grouping is not None and grouping not in (" ", ",", ".")):
        return None
    if (decimal is not None and decimal not in (".", ",")) or (grouping is not None and grouping == decimal):
        return None
    plain = text.replace(grouping, "") if grouping else text
    plain = plain.replace(decimal, ".") if decimal else plain
    if not re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", plain):
        return None
    return Decimal(plain)


def string(value: Any) -> str | None:
    """A string as itself, a boolean and a date as FEEL writes them; a number's form is not certain here."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    raise Unsure("string() of a number, list, time or duration")


class _NoEntry(Exception):
    """A path of context put() leads through a value that is not a context: FEEL answers null."""


def _context(value: Any) -> dict[str, Any] | None:
    """A context argument; None where FEEL answers null (null, or another kind)."""
    if isinstance(value, tuple) and len(value) == 1:
        raise Unsure("a singleton list where a context is wanted")
    return value if isinstance(value, dict) else None


def _contexts(value: Any) -> tuple[Any, ...] | None:
    """A list argument of contexts (a context alone is the list of it, as FEEL takes it); None for another kind."""
    return (value,) if isinstance(value, dict) else value if isinstance(value, tuple) else None


def get_entries(m: Any) -> tuple[dict[str, Any], ...] | None:
    context = _context(m)
    return None if context is None else tuple({"key": k, "value": v} for k, v in context.items())


def get_value(m: Any, key: Any) -> Any:
    context = _context(m)
    if context is None or isinstance(key, tuple):
        if isinstance(key, tuple):
            raise Unsure("get value() with a list as the key")
        return None
    return context.get(key) if isinstance(key, str) else None


def context_put(context: Any, key: Any, value: Any) -> dict[str, Any] | None:
    """The context with the entry set (in its place, or last); a list of keys is a path into nested contexts."""
    original = _context(context)
    keys = key if isinstance(key, tuple) else (key,)
    if original is None or not keys or not all(isinstance(k, str) for k in keys):
        return None
    try:
        return _put(original, keys, value)
    except _NoEntry:
        return None


def _put(context: dict[str, Any], keys: tuple[str, ...], value: Any) -> dict[str, Any]:
    if len(keys) > 1:
        inner = context.get(keys[0])
        if not isinstance(inner, dict):
            raise _NoEntry
        value = _put(inner, keys[1:], value)
    return {**context, keys[0]: value}


def context_merge(contexts: Any) -> dict[str, Any] | None:
    """The entries of each context in turn, a later one's replacing an earlier one's of the same key."""
    items = _contexts(contexts)
    if items is None or not all(isinstance(c, dict) for c in items):
        return None
    merged: dict[str, Any] = {}
    for context in items:
        merged.update(context)
    return merged


def context(entries: Any) -> dict[str, Any] | None:
    """A context of ``{key, value}`` entries (other fields ignored); null for a key given twice, or an entry without a
    string key or without a value."""
    items = _contexts(entries)
    if items is None:
        return None
    made: dict[str, Any] = {}
    for entry in items:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or "value" not in entry:
            return None
        if entry["key"] in made:
            return None
        made[entry["key"]] = entry["value"]
    return made


def list_replace(items: Any, position: Any, new_item: Any) -> tuple[Any, ...] | None:
    """The list with the element at a position (from 1, or from the end if negative; a fraction is cut to a whole
    number, as the TCK's 1155 reads 2.5 as 2) replaced; a value that is not a list is the list of it."""
    if items is None or not isinstance(position, Decimal):
        return None
    values = items if isinstance(items, tuple) else (items,)
    at = int(position)
    if at == 0 or abs(at) > len(values):
        return None
    index = at - 1 if at > 0 else len(values) + at
    return (*values[:index], new_item, *values[index + 1:])


def equal(a: Any, b: Any) -> bool | None:
    """FEEL's = of two values, lists and contexts element by element: null between kinds that do not compare (a list
    and a context, or a number); Unsure where FEEL might take a singleton list for its element, or for times."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Temporal) or isinstance(b, Temporal):
        raise Unsure("= of times or durations")
    if isinstance(a, tuple) and isinstance(b, tuple):
        return _all_equal(list(zip(a, b, strict=False))) if len(a) == len(b) else False
    if isinstance(a, dict) and isinstance(b, dict):
        return _all_equal([(a[k], b[k]) for k in a]) if a.keys() == b.keys() else False
    if isinstance(a, tuple) or isinstance(b, tuple):
        if (a if isinstance(a, tuple) else b) == () or isinstance(a, dict) or isinstance(b, dict):
            return None  # an empty list against a value, or a list against a context
        raise Unsure("= of a list and a value (FEEL might take a singleton's element)")
    if isinstance(a, dict) or isinstance(b, dict):
        return None
    kinds = {type(v) for v in (a, b)}
    return a == b if len(kinds) == 1 else None


def _all_equal(pairs: list[tuple[Any, Any]]) -> bool:
    results = [equal(x, y) for x, y in pairs]
    if any(r is None for r in results):
        raise Unsure("= of lists or contexts holding values that do not compare")
    return all(results)


FOLDS: dict[str, Callable[..., Any]] = {
    "string": string,
    "number": number,
    "sqrt": sqrt, "substring": substring, "substring before": substring_before,
    "substring after": substring_after, "string join": string_join, "product": product, "mean": mean,
    "median": median, "mode": mode, "day of year": day_of_year, "day of week": day_of_week,
    "month of year": month_of_year, "week of year": week_of_year, "is": is_,
    "get entries": get_entries, "get value": get_value, "context put": context_put, "context merge": context_merge,
    "context": context, "list replace": list_replace,
}
