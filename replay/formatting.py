"""Numbers as a reader expects them in a report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)



