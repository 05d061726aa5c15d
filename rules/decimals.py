"""The decimal arithmetic of the language: one fixed context, the rounding modes, rounding to places.

Decimal128 precision, as in FEEL; a fixed context so no caller's thread context leaks in.
The checker reads the rounding modes, the generated code and the functions round with them.
"""

from __future__ import annotations

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
)
from typing import Any

CTX = Context(prec=34, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999,
              traps=[InvalidOperation, Overflow, DivisionByZero])

ROUNDING = {
    "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "half_down": ROUND_HALF_DOWN,
    "down": ROUND_DOWN, "up": ROUND_UP, "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING,
}
ROUNDING_MODES = tuple(ROUNDING)
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
