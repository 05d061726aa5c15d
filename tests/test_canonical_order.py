"""The canonical order: its published JSON Schema, real orders that fit it, and the order flow over them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import jsonschema
import pytest

from engine import jsonio
from engine.registry import require_pack_set
from rules.errors import DecisionError
from tests.conftest import PACKS, ROOT, shared
from tests.order_builders import northwind_orders, online_retail_orders

SCHEMA = json.loads((ROOT / "schemas" / "order.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
FLOW = require_pack_set(PACKS).get("order", None, dt.date(2026, 6, 1))


def _as_json(order: dict) -> object:  # type: ignore[type-arg]
    return json.loads(jsonio.dumps(order))


def test_published_schema_is_the_flow_input() -> None:
    """schemas/order.schema.json is exactly what `arbiter schema --pack order` prints (it cannot drift)."""
    proc = subprocess.run([sys.executable, "-m", "api.cli", "schema", "--pack", "order", "--packs", str(PACKS)],
                          capture_output=True, cwd=ROOT, check=True)
    assert json.loads(proc.stdout) == SCHEMA


@pytest.mark.parametrize("source", ["northwind", "online-retail"])
def test_real_orders_fit_the_schema_and_get_decisions(source: str) -> None:
    """Orders built from real rows validate against the schema and the order flow decides each of them."""
    if source == "northwind":
        orders = list(northwind_orders(shared("northwind")))
    else:
        orders = list(online_retail_orders(shared("online-retail", "online_retail.csv.gz"), limit=300))
    assert len(orders) >= 300
    decisions = {}
    for order in orders:
        errors = sorted(VALIDATOR.iter_errors(_as_json(order)), key=str)
        assert errors == [], (order["order_id"], [e.message for e in errors[:3]])
        decisions[order["order_id"]] = FLOW.decide(order, dt.date(2026, 6, 1)).output["decision"]
    assert set(decisions.values()) <= {"release", "hold", "reject"}
    assert "release" in decisions.values()
    if source == "northwind":  # its larger orders exceed the stand-in 10,000 credit limit
        assert "hold" in decisions.values()


def test_a_cancellation_invoice_is_decided_not_refused() -> None:
    """Online Retail cancellations (negative quantities) are real exceptions: they get a decision."""
    orders = [o for o in online_retail_orders(shared("online-retail", "online_retail.csv.gz"), limit=300)
              if o["order_id"].startswith("OR-C")]
    assert orders
    for order in orders:
        assert all(line["quantity"] < 0 for line in order["lines"])
        decision = FLOW.decide(order, dt.date(2026, 6, 1))
        assert decision.output["fulfilment"] == "nothing_to_ship"


def test_example_order_gives_a_full_decision() -> None:
    """`arbiter decide order examples/order.json` prints the decision with every step's version and rows."""
    proc = subprocess.run([sys.executable, "-m", "api.cli", "decide", "order", str(ROOT / "examples" / "order.json"),
                           "--packs", str(PACKS), "--as-of", "2026-06-01"], capture_output=True, cwd=ROOT, check=True)
    decision = json.loads(proc.stdout)
    assert decision["output"]["decision"] == "release"
    assert decision["steps"] == {"pricing": "1.0.0", "credit": "1.0.0", "allocation": "1.0.0", "routing": "1.0.0"}
    assert decision["matched"]["credit.credit_decision"] == ["C19"]
    assert VALIDATOR.is_valid(json.loads((ROOT / "examples" / "order.json").read_text()))


def test_candidate_versions_take_over_on_their_effective_date() -> None:
    """From 2027-01-01 the order flow 1.1.0 takes over and runs credit 1.1.0, pricing 2.0.0 and allocation 1.1.0 without being told."""
    order = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    day = dt.date(2027, 1, 1)
    flow = require_pack_set(PACKS).get("order", None, day)
    assert flow.version == "1.1.0"
    assert flow.decide(order, day).steps == {
        "pricing": "2.0.0", "credit": "1.1.0", "allocation": "1.1.0", "routing": "1.0.0"}


def test_a_flow_pinned_before_its_steps_exist_is_refused_by_name() -> None:
    """order 1.1.0 pinned on a 2026 date, where credit 1.0.0 lacks the sterling total it reads: a step-contract error, not a crash."""
    order = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    flow = require_pack_set(PACKS).get("order", "1.1.0", dt.date(2026, 6, 1))
    with pytest.raises(DecisionError) as caught:
        flow.decide(order, dt.date(2026, 6, 1))
    assert caught.value.code == "step-contract"
    assert "credit@1.0.0" in caught.value.message
    assert "order_amount_gbp" in caught.value.message
