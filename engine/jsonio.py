"""JSON in and out without binary floats.

Reading: numbers with a fraction or exponent become ``Decimal`` straight from their text;
``NaN``/``Infinity`` are refused; nesting depth and integer length are bounded (by jiter)
so that a hostile body fails fast with ``MalformedRequest``.

Writing: ``Decimal`` is emitted as a JSON number from its exact text (via
``orjson.Fragment``), dates as ISO strings; key order is the order the engine built.
Integers past orjson's 64-bit range are written from their exact text too (a request may
carry one, and the decision log must record it, issue 22).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import jiter
import orjson

from rules.errors import MalformedRequest
from rules.temporal import TEMPORAL_CLASSES


def loads(raw: bytes | str) -> Any:
    """Parse JSON with every fractional number as an exact ``Decimal``.

    jiter (from the pydantic project) parses in Rust with a bounded recursion depth and
    bounded integer size, so a hostile body fails fast; pydantic's own ``validate_json``
    is not used for this because it reads decimals through a binary float.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        return jiter.from_json(data, float_mode="decimal", allow_inf_nan=False)
    except ValueError as exc:
        raise MalformedRequest(f"invalid JSON: {exc}") from None


def decimal_text(value: Decimal) -> str:
    """The JSON number for ``value``: plain digits wherever the exponent allows.

    ``str`` is several times cheaper than ``as_tuple``/``format`` and already writes plain
    digits unless it needs an exponent (more than six leading zeros after the point, or a
    positive exponent); only those, and the non-finite values, take the slow path.
    """
    text = str(value)
    if "E" not in text and text[-1].isdigit():
        return text
    if not value.is_finite():
        raise ValueError("a non-finite decimal cannot be written as JSON")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -40 <= exponent <= 40:
        return format(value, "f")
    return text


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(decimal_text(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, TEMPORAL_CLASSES):
        return str(value)  # FEEL's text of it, as the input reads it back
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)  # what orjson writes of a dataclass itself
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


INT_RANGE = (-(2 ** 63), 2 ** 64 - 1)  # what orjson writes itself


def _exact_ints(value: Any) -> Any:
    """``value`` with every integer orjson cannot write as a Fragment of its digits."""
    if isinstance(value, dict):
        return {key: _exact_ints(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_exact_ints(item) for item in value]
    if isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return orjson.Fragment(str(value))
    return value


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    # the temporal values are dataclasses, which orjson would write field by field, not as their text
    option = orjson.OPT_PASSTHROUGH_DATACLASS | (orjson.OPT_INDENT_2 if pretty else 0)
    try:
        return orjson.dumps(value, default=_default, option=option)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):  # only a big integer is retried: the walk costs a copy of the value
            raise
        return orjson.dumps(_exact_ints(value), default=_default, option=option)

