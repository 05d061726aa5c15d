"""Allocation over the Online Retail history: no warehouse ships more of a SKU than it holds."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from engine import jsonio
from engine.compiled import CompiledPack
from engine.registry import require_pack_set
from tests.conftest import PACKS, ROOT, shared

CANDIDATE_DAY = dt.date(2027, 1, 1)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every imported Online Retail order, cut to the allocation step's input (its lines and candidate sites)."""
    out = tmp_path_factory.mktemp("online-retail") / "orders.jsonl"
    subprocess.run([sys.executable, str(ROOT / "simulate.py"), "import", "online-retail", str(shared("online-retail")),
                    "--out", str(out)], capture_output=True, cwd=ROOT, check=True)
    orders = []
    for line in out.read_bytes().splitlines():
        order = jsonio.loads(line)
        lines = [{"line_no": x["line_no"], "sku": x["sku"], "quantity": x["quantity"]} for x in order["lines"]]
        orders.append({"order_id": order["order_id"], "lines": lines, "warehouses": order["warehouses"]})
    return orders


def over_shipped(order: dict[str, Any], plan: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The (warehouse, SKU) pairs of a plan shipping more than the order's sites hold, counted here, not by the pack."""
    held: Counter[tuple[str, str]] = Counter()
    for site in order["warehouses"]:
        for stock in site["stock"]:
            held[site["code"], stock["sku"]] += stock["quantity"]
    shipped: Counter[tuple[str, str]] = Counter()
    for line in plan:
        if line["warehouse"] is not None:
            shipped[line["warehouse"], line["sku"]] += line["ship_quantity"]
    return sorted(key for key, quantity in shipped.items() if quantity > held[key])


def repeats_a_sku(order: dict[str, Any]) -> bool:
    skus = [line["sku"] for line in order["lines"]]
    return len(skus) != len(set(skus))


def allocation(version: str) -> CompiledPack:
    return require_pack_set(PACKS).get("allocation", version)


def test_no_warehouse_ships_more_than_it_holds_on_the_history(history: list[dict[str, Any]]) -> None:
    """allocation 1.1.0 on every order that repeats a SKU and every 10th other: no over-shipment, every invariant holds."""
    assert len(history) == 25900
    pack = allocation("1.1.0")
    chosen = [o for i, o in enumerate(history) if repeats_a_sku(o) or i % 10 == 0]
    assert sum(repeats_a_sku(o) for o in chosen) > 2700
    wrong: dict[str, Any] = {}
    partial = 0
    for order in chosen:
        values = pack.validate({"lines": order["lines"], "warehouses": order["warehouses"]})
        decision = pack.evaluate(values, CANDIDATE_DAY)
        broken = over_shipped(order, decision.output["lines"]) + pack.violated_invariants(values, decision.output, CANDIDATE_DAY)
        if broken:
            wrong[order["order_id"]] = broken
        partial += any(line["status"] == "partial" for line in decision.output["lines"])
    assert wrong == {}
    assert partial > 0  # short stock is met by partial quantities, not by over-shipping


def test_the_live_version_over_ships_where_a_sku_repeats(history: list[dict[str, Any]]) -> None:
    """allocation 1.0.0 checks each line against a site's whole stock: invoice 536412 ships more than the site holds."""
    order = next(o for o in history if o["order_id"] == "536412")
    decision = allocation("1.0.0").decide({"lines": order["lines"], "warehouses": order["warehouses"]}, dt.date(2026, 6, 1))
    assert over_shipped(order, decision.output["lines"]) != []
    fixed = allocation("1.1.0").decide({"lines": order["lines"], "warehouses": order["warehouses"]}, CANDIDATE_DAY)
    assert over_shipped(order, fixed.output["lines"]) == []
