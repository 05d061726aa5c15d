"""Numbers as a reader expects them in a report: thousands separated, amounts to the cent, signs on changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def fmt(value: Any, sign: str = "") -> str:
    """``sign="+"`` writes the sign of a change on every number."""
    if isinstance(value, Decimal):
        return f"{value:{sign},.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:{sign},}"
    return str(value)


def signed(value: Any) -> str:
    return fmt(value, "+")
