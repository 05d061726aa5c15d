"""What the canonical order promises beyond the types its flow declares, held by every version of that flow.

A pack's inputs say a line's quantity is a whole number; they cannot say that an order's line
numbers are its lines' names, each used once, or that a line of zero quantity is a fault of the
system that sent it. Decided anyway, such an order is priced and allocated without a word: two
lines numbered 1 leave the output's lines and allocation naming one line twice. These rules
belong to the canonical order (schemas/order.schema.json), not to one version of its flow: a
live version's YAML cannot change (its digest is in decision logs), and an old version must
refuse what a new one refuses. So the order flow's validator holds every input to them, the one
check behind the API, ``arbiter decide`` and the replay (whose one-pass decoder defers an order
that breaks them to that validator, which names the field).

A negative quantity is a return line (pricing's ``quantity`` says so; allocation ships nothing
for it; the Online Retail history holds 10,624 of them in its cancellations), so it stays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rules.errors import FieldProblem, InputError
from rules.ir import PackIR

CANONICAL = "order"  # the flow whose input is the canonical order

Validate = Callable[[Any], dict[str, Any]]


def holds(ir: PackIR) -> bool:
    """Whether this pack version's input is the canonical order."""
    return ir.kind == "flow" and ir.name == CANONICAL


def kept(order: dict[str, Any]) -> bool:
    """Whether a validated order keeps the rules: the quick test every order pays."""
    lines = order.get("lines")
    if not lines:
        return True
    numbers = set()
    for line in lines:
        if not line["quantity"] or line["line_no"] < 1:
            return False
        numbers.add(line["line_no"])
    return len(numbers) == len(lines)


def problems(order: dict[str, Any]) -> list[FieldProblem]:
    """Every broken rule of a validated order, at its field."""
    out: list[FieldProblem] = []
    first: dict[int, int] = {}
    for i, line in enumerate(order.get("lines") or ()):
        if line["quantity"] == 0:
            out.append(FieldProblem(("lines", i, "quantity"), "zero-quantity",
                                    "a line of quantity 0 orders nothing; leave it out (a return line is negative)"))
        number = line["line_no"]
        if number < 1:
            out.append(FieldProblem(("lines", i, "line_no"), "minimum", "must be at least 1"))
        seen = first.setdefault(number, i)
        if seen != i:
            out.append(FieldProblem(("lines", i, "line_no"), "duplicate-line",
                                    f"line_no {number} is also /lines/{seen}'s: each line needs its own number"))
    return out


def guarded(ir: PackIR, validate: Validate) -> Validate:
    """``validate``, then the canonical order's rules for the order flow; ``validate`` itself for any other pack."""
    if not holds(ir):
        return validate

    def checked(raw: Any) -> dict[str, Any]:
        value = validate(raw)
        if not kept(value):
            raise InputError(problems(value))
        return value

    checked.fast = validate.fast  # type: ignore[attr-defined]
    checked.slow = validate.slow  # type: ignore[attr-defined]
    return checked
