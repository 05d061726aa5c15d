"""JSON in and out without binary floats.

Reading: numbers with a fraction or exponent become ``Decimal`` straight from their text;
``NaN``/``Infinity`` are refused; nesting depth and integer length are bounded so that a
hostile body fails fast with ``MalformedRequest`` instead of exhausting the process.

Writing: ``Decimal`` is emitted as a JSON number from its exact text (via
``orjson.Fragment``), dates as ISO strings; key order is the order the engine built.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import orjson

from rules.errors import MalformedRequest

MAX_DEPTH = 32
MAX_INT_DIGITS = 40


def _parse_constant(name: str) -> Any:
    raise MalformedRequest(f"{name} is not a JSON number")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedRequest("integer has too many digits")
    return int(text)


def _parse_decimal(text: str) -> Decimal:
    if len(text) > 2 * MAX_INT_DIGITS:
        raise MalformedRequest("number has too many digits")
    return Decimal(text)


def _depth_ok(raw: bytes | str) -> bool:
    # Checked before parsing: the stdlib decoder recurses, and a deep body must not reach it.
    data = raw.encode() if isinstance(raw, str) else raw
    depth = 0
    in_string = False
    escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def loads(raw: bytes | str) -> Any:
    if not _depth_ok(raw):
        raise MalformedRequest(f"JSON is nested deeper than {MAX_DEPTH} levels")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, parse_float=_parse_decimal, parse_int=_parse_int, parse_constant=_parse_constant)
    except MalformedRequest:
        raise
    except UnicodeDecodeError:
        raise MalformedRequest("body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise MalformedRequest(f"invalid JSON: {exc}") from None


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError("a non-finite decimal cannot be written as JSON")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -40 <= exponent <= 40:
        return format(value, "f")
    return str(value)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(_decimal_text(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    option = orjson.OPT_INDENT_2 if pretty else 0
    return orjson.dumps(value, default=_default, option=option)


def to_plain(value: Any) -> Any:
    """Decimals and dates as JSON-ready text: for comparisons in tests and reports."""
    return orjson.loads(dumps(value)) if not isinstance(value, Decimal) else value
