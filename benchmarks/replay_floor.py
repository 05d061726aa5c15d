"""The replay's floor: the part of its work no implementation can skip, written by hand.

Per order: parse the JSON line (msgspec, the fastest exact decoder here: fractions become
Decimals from their text, as in Arbiter, which decodes with msgspec too), price
every line with both pricing versions (contract price, group discount, quantity break,
promotion, the 30 % or 25 % ceiling, the margin floor, freight and small-order surcharge)
and find each line's nearest depot with stock. No validation, no credit, no routing, no
rows or reasons recorded, no tally: Arbiter does all of that on top, so this bounds from
below what one order can cost in Python on this machine. ``benchmarks/simulate.py`` checks
its order totals against the engine's before it times anything, so it cannot get faster
by doing less than it says.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
CTX = Context(prec=34, rounding=ROUND_HALF_UP)
CENT, UNIT, HUNDRED, FLOOR = Decimal("0.01"), Decimal(1), Decimal(100), Decimal(110)
GROUP_PCT = {"list": 0, "wholesale": 10, "distributor": 15}
FREIGHT = {"domestic": Decimal("12.50"), "eu": Decimal("35.00"), "international": Decimal("75.00")}
SURCHARGE = Decimal("15.00")
# (ceiling %, promotions by SKU) of pricing 1.0.0 and 2.0.0
VERSIONS = (
    (30, {"GADGET-02": (10, dt.date(2026, 1, 1), dt.date(2026, 12, 31)), "BOLT-03": (20, dt.date(2026, 6, 1), dt.date(2026, 6, 30))}),
    (25, {"GADGET-02": (10, dt.date(2027, 1, 1), dt.date(2027, 12, 31)), "BOLT-03": (20, dt.date(2027, 6, 1), dt.date(2027, 6, 30))}),
)


def contract_prices() -> dict[tuple[str, str], Decimal]:
    with (ROOT / "policy_packs" / "pricing" / "contract_prices.csv").open() as f:
        return {(r["customer_id"], r["sku"]): Decimal(r["price"]) for r in csv.DictReader(f)}


CONTRACTS = contract_prices()
# untyped, no validation: 20 % faster than jiter on these orders, so the floor stays the least a replay must do
DECODE = msgspec.json.Decoder(float_hook=Decimal).decode


def order_total(order: dict[str, Any], as_of: dt.date, ceiling: int, promotions: dict[str, tuple[int, dt.date, dt.date]]) -> Decimal:
    customer = order["customer"]
    customer_id, group_pct = customer["customer_id"], GROUP_PCT[customer["price_group"]]
    places = UNIT if order["currency"] == "JPY" else CENT
    subtotal = Decimal(0)
    for line in order["lines"]:
        sku, quantity, list_price = line["sku"], line["quantity"], Decimal(line["list_price"])
        contract = CONTRACTS.get((customer_id, sku))
        pct = group_pct if contract is None else 0
        pct += 12 if quantity >= 1000 else 8 if quantity >= 500 else 5 if quantity >= 100 else 2 if quantity >= 24 else 0
        promotion = promotions.get(sku)
        if promotion is not None and promotion[1] <= as_of <= promotion[2]:
            pct += promotion[0]
        base = list_price if contract is None else contract
        net = CTX.divide(CTX.multiply(base, HUNDRED - min(pct, ceiling)), HUNDRED).quantize(places, ROUND_HALF_UP)
        floor = CTX.divide(CTX.multiply(Decimal(line["unit_cost"]), FLOOR), HUNDRED).quantize(CENT, ROUND_HALF_UP)
        _breach = net < floor  # the engine flags it for routing; the floor does the comparison, not the routing
        subtotal = CTX.add(subtotal, CTX.multiply(net, quantity))
    freight = Decimal(0) if subtotal >= 500 else FREIGHT[order["ship_to"]["zone"]]
    surcharge = SURCHARGE if subtotal < 100 else Decimal(0)
    return (subtotal + freight + surcharge).quantize(CENT, ROUND_HALF_UP)


def nearest_depots(order: dict[str, Any]) -> list[str | None]:
    depots = sorted(order["warehouses"], key=lambda w: (w["distance_km"], w["code"]))
    stock = []
    for depot in depots:
        on_hand: dict[str, int] = {}
        for row in depot["stock"]:
            on_hand[row["sku"]] = on_hand.get(row["sku"], 0) + row["quantity"]
        stock.append((depot, on_hand))
    return [next((d["code"] for d, on_hand in stock if (not line.get("hazmat") or d["hazmat_certified"])
                  and on_hand.get(line["sku"], 0) >= line["quantity"]), None) for line in order["lines"]]


def replay_order(line: bytes, as_of_shift: int = 0, quantity_shift: int = 0) -> tuple[Decimal, Decimal]:
    """Both versions' order totals for one raw order line (shifted as the benchmark perturbs it)."""
    order = DECODE(line)
    as_of = dt.date.fromisoformat(order["as_of"]) + dt.timedelta(days=as_of_shift)
    if quantity_shift:
        for order_line in order["lines"]:
            order_line["quantity"] += quantity_shift
    nearest_depots(order)
    baseline, candidate = (order_total(order, as_of, ceiling, promotions) for ceiling, promotions in VERSIONS)
    return baseline, candidate
