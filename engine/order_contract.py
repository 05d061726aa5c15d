"""What the canonical order promises beyond the types its flow declares, held by every version of that flow.

A pack's inputs say a line's quantity is a whole number; they cannot say that an order's line
numbers and warehouse codes name one line or one warehouse each, or that an order of no lines
or a line of zero quantity is a fault of the system that sent it. Decided anyway, such an order
is priced and allocated without a word: two lines numbered 1 leave the output naming one line
twice, an order of no lines is released with freight to pay. These rules
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

from engine.decode import ItemRules
from rules.errors import FieldProblem, InputError
from rules.ir import PackIR

CANONICAL = "order"  # the flow whose input is the canonical order
# ``kept``'s rules as the replay's one-pass decoder checks them, inline in its loops over the lists (engine.decode);
# the suite holds the two to the same answer on orders breaking each rule
ITEM_RULES = {"lines": ItemRules(required=True, nonzero=("quantity",), positive=("line_no",), unique="line_no"),
              "warehouses": ItemRules(unique="code")}

Validate = Callable[[Any], dict[str, Any]]


def holds(ir: PackIR) -> bool:
    """Whether this pack version's input is the canonical order."""
    return ir.kind == "flow" and ir.name == CANONICAL


def kept(order: dict[str, Any]) -> bool:
    """Whether a validated order keeps the rules: the quick test every order pays."""
    lines = order.get("lines")
    if not lines:
        return False
    numbers = set()
    for line in lines:
        if not line["quantity"] or line["line_no"] < 1:
            return False
        numbers.add(line["line_no"])
    warehouses = order.get("warehouses") or ()
    return len(numbers) == len(lines) and len({w["code"] for w in warehouses}) == len(warehouses)


def problems(order: dict[str, Any]) -> list[FieldProblem]:
    """Every broken rule of a validated order, at its field."""
    lines = order.get("lines")
    out = [] if lines else [FieldProblem(("lines",), "empty-order", "an order of no lines orders nothing")]
    first: dict[Any, int] = {}
    for i, line in enumerate(lines or ()):
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
    first.clear()
    for i, warehouse in enumerate(order.get("warehouses") or ()):
        seen = first.setdefault(warehouse["code"], i)
        if seen != i:
            out.append(FieldProblem(("warehouses", i, "code"), "duplicate-warehouse",
                                    f"warehouse {warehouse['code']!r} is also /warehouses/{seen}'s: whose stock is it?"))
    return out


def conform(ir: PackIR, order: dict[str, Any]) -> dict[str, Any]:
    """The order a search drew from the declared schema, changed as little as the rules need: lines numbered from 1
    where numbers repeat or start below 1, a zero quantity 1, a repeated warehouse code made its own. A search keeps
    the colliding SKUs and stock it drew: those, not the numbers, are what policies get wrong. No line is invented:
    an order of none stays refused. Any other pack's input is returned as it is.
    """
    if not holds(ir) or not isinstance(order.get("lines"), list):
        return order
    lines = [dict(line) for line in order["lines"]]
    renumber = len({line["line_no"] for line in lines}) < len(lines) or any(line["line_no"] < 1 for line in lines)
    for i, line in enumerate(lines):
        line["line_no"] = i + 1 if renumber else line["line_no"]
        line["quantity"] = line["quantity"] or 1
    warehouses = [dict(w) for w in order.get("warehouses") or ()]
    codes: set[str] = set()
    for i, warehouse in enumerate(warehouses):
        if warehouse["code"] in codes:
            warehouse["code"] = f"{warehouse['code'][:16]}#{i}"
        codes.add(warehouse["code"])
    return {**order, "lines": lines, "warehouses": warehouses}


def guarded(ir: PackIR, validate: Validate) -> Validate:
    """``validate``, then the canonical order's rules for the order flow; ``validate`` itself for any other pack."""
    if not holds(ir):
        return validate

    checked: Validate = _held(validate)
    checked.slow = _held(validate.slow)  # type: ignore[attr-defined]

    def fast(raw: Any) -> dict[str, Any] | None:  # None asks the full validator, which says what breaks the rules
        value: dict[str, Any] | None = validate.fast(raw)  # type: ignore[attr-defined]
        return value if value is None or kept(value) else None

    checked.fast = fast  # type: ignore[attr-defined]  # a path read alone keeps the rules too
    return checked


def _held(path: Validate) -> Validate:
    """``path``, then the canonical order's rules."""
    def checked(raw: Any) -> dict[str, Any]:
        value = path(raw)
        if not kept(value):
            raise InputError(problems(value))
        return value
    return checked
