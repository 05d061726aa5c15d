"""Numbers as a reader expects them in a report: thousands separated, amounts to the cent, signs on changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def signed(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:+,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:+,}"
    return str(value)
