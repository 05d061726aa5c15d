"""Reason templates: a row's reason with values in it, ``Exposure {exposure} is above {limit}.``.

A reason without braces is plain text, as before. ``{expression}`` is any expression of the
language over what the row can read; ``{{`` and ``}}`` are literal braces. The checker parses
and types each value where it stands (``rules.check``); the generated code formats them with
``shown`` when the row matches, so a reason costs nothing unless it is given.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from rules.decimals import QUANTIZE
from rules.parser import ExpressionError

Part = str | tuple[int, str]  # literal text, or (offset of the expression in the reason, its text)

NULL_TEXT = "unknown"  # what a null value reads as in a reason
_QUANTUM = [Decimal(1).scaleb(-n) for n in range(13)]
_HALF_UP = QUANTIZE["half_up"]
# The longest str() of a non-negative number quantized to n places (n <= 6) with at most three
# whole digits: str() spells such a number in plain notation with exactly the digits format(",f")
# gives, and below 1,000 there is no separator to add; it is a fifth of format's cost.
_PLAIN_LENGTH = [3, 5, 6, 7, 8, 9, 10]


def is_template(reason: str) -> bool:
    return "{" in reason or "}" in reason


def split_template(reason: str) -> list[Part]:
    """The reason's literal text and its ``{...}`` expressions, in order; ``ExpressionError`` at a stray brace."""
    parts: list[Part] = []
    text: list[str] = []
    i = 0
    while i < len(reason):
        c = reason[i]
        if c in "{}" and reason[i + 1:i + 2] == c:
            text.append(c)
            i += 2
        elif c == "}":
            raise ExpressionError("reason-template", "a '}' without its '{' (write '}}' for a brace)", i)
        elif c == "{":
            end = _closing(reason, i)
            if not reason[i + 1:end].strip():
                raise ExpressionError("reason-template", "an empty '{}' (write '{{' for a brace)", i)
            parts += ["".join(text), (i + 1, reason[i + 1:end])]
            text = []
            i = end + 1
        else:
            text.append(c)
            i += 1
    parts.append("".join(text))
    return [p for p in parts if p != ""]


def _closing(reason: str, start: int) -> int:
    """The index of the '}' that closes the '{' at ``start``: braces of records and braces inside strings nest."""
    depth, i, quoted = 0, start, False
    while i < len(reason):
        c = reason[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ExpressionError("reason-template", "a '{' without its '}' (write '{{' for a brace)", start)


def shown(value: Any, places: int | None) -> str:
    """A value as a reason shows it: numbers with thousands separators (at ``places``, rounded half up), dates ISO."""
    if isinstance(value, Decimal):  # the usual value, tested first
        if places is not None:
            value = _HALF_UP(value, _QUANTUM[places])
            if places < 7 and value:
                text = str(value)
                if len(text) <= _PLAIN_LENGTH[places] + (text[0] == "-"):
                    return text
        return format(value if value else value.copy_abs(), ",f")  # -0.00 reads 0.00
    if value is None:
        return NULL_TEXT
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return format(value, ",") if places is None else format(Decimal(value).quantize(_QUANTUM[places]), ",f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
