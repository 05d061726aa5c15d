"""The enrichment file: facts the history lacks, joined at import, named in every report, and shown changing decisions."""

from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from engine import jsonio
from engine.registry import require_pack_set
from replay.canonical import Stripped
from replay.decide import admit
from replay.enrichment import load_enrichment, sidecar, write_enriched
from replay.errors import BadInput
from replay.history import import_online_retail
from rules.errors import ArbiterError
from tests.conftest import ROOT, shared

EXAMPLE = ROOT / "examples" / "enrichment" / "online-retail.json"
BASELINE = "policy_packs#order@1.1.0,credit@1.1.0,pricing@2.0.0,exception_routing@1.0.0"  # the policy in force on 2027-03-31


@pytest.fixture(scope="module")
def enriched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 60 Online Retail invoices, joined with the example enrichment."""
    out = tmp_path_factory.mktemp("enriched") / "orders.jsonl"
    write_enriched(itertools.islice(import_online_retail(shared("online-retail")), 60), out, load_enrichment(EXAMPLE))
    return out


def test_the_importer_joins_each_stated_fact_and_records_what_it_applied(enriched: Path) -> None:
    """Stops by customer and date, blocks by order, typed prices by order and SKU; the record beside the orders counts them."""
    orders = {o["order_id"]: o for o in map(json.loads, enriched.read_text().splitlines())}
    stopped = {i for i, o in orders.items() if o["customer"].get("account_on_stop")}
    assert stopped == {i for i, o in orders.items() if o["customer"]["customer_id"] == "13047" and o["as_of"] <= "2010-12-31"}
    assert stopped
    assert {i: o["order_block"] for i, o in orders.items() if "order_block" in o} == {"536367": "dispute", "536371": "legal"}
    typed = {(i, line["sku"]): line["override_price"] for i, o in orders.items() for line in o["lines"] if "override_price" in line}
    assert typed == {("536365", "85123A"): 2.00, ("536366", "22633"): 1.52, ("536373", "71053"): 3.20}
    record = json.loads(sidecar(enriched).read_text())
    assert record["applied"] == {"orders": len(stopped | {"536367", "536371", "536365", "536366", "536373"}),
                                 "account_on_stop": len(stopped), "order_block": 2, "override_price": 3, "product_group": 0}


def test_the_replay_says_the_enrichment_was_applied_and_shows_the_new_rules_changing_orders(enriched: Path, tmp_path: Path) -> None:
    """Against the policy of 2027-03-31, the 2027-04-01 versions hold the stopped and blocked orders and route the typed prices."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "run", "--orders", str(enriched), "--baseline", BASELINE,
                           "--candidate", "policy_packs", "--effective-on", "2027-04-01", "--out", str(out), "--workers", "1"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    assert "enrichment applied: online-retail-credit-control-2010-12" in proc.stdout
    assert "**enrichment applied: online-retail-credit-control-2010-12" in (out / "report.md").read_text()
    assert "enrichment applied" in (out / "report.html").read_text()
    s = json.loads((out / "summary.json").read_text())
    assert s["enrichment"]["applied"]["order_block"] == 2
    only_candidate = {r["row"] for r in s["rows_causing_changes"] if r["fired_only_on"] == "candidate"}
    # the rules the facts reach, by name: an order block, an account on stop, a typed price under the floor by band
    assert {"credit.credit_holds:H01", "credit.credit_holds:H02", "pricing.override_approval:OA3", "pricing.override_approval:OA4"} <= only_candidate
    # order 1.1.0 declares none of the three facts: it decides every order without them, and says so per field
    assert "error" not in s["decision_mix"]["baseline"]
    orders = [json.loads(line) for line in enriched.read_text().splitlines()]
    stopped = sum(1 for o in orders if o["customer"].get("account_on_stop"))
    assert s["baseline"]["dropped"] == {"order@1.1.0 customer.account_on_stop": stopped, "order@1.1.0 lines[].override_price": 3,
                                        "order@1.1.0 order_block": 2}
    assert s["candidate"]["dropped"] == {}
    assert f"order@1.1.0 customer.account_on_stop ({stopped} orders)" in proc.stdout
    assert "order@1.1.0 order_block (2 orders)" in (out / "report.md").read_text()
    with (out / "diff.csv").open() as f:
        changed = {row["order_id"]: row for row in csv.DictReader(f)}
    for order_id in ("536367", "536371"):
        assert changed[order_id]["candidate_decision"] == "hold"
        assert "credit.credit_holds:H01" in changed[order_id]["candidate_rows"]


def test_an_import_without_enrichment_removes_an_earlier_record(enriched: Path, tmp_path: Path) -> None:
    """Orders imported as the history has them carry no record, even where an earlier import left one."""
    out = tmp_path / "orders.jsonl"
    sidecar(out).write_text("{}")
    write_enriched(itertools.islice(import_online_retail(shared("online-retail")), 3), out, None)
    assert not sidecar(out).exists()


@pytest.mark.parametrize(("doc", "message"), [
    ({"name": "x", "description": "y", "blocks": [{"order_id": "1", "reason": "lunch"}]}, "/blocks/0/reason: one of dispute"),
    ({"name": "x", "description": "y", "overrides": [{"order_id": "1", "sku": "A", "price": -1}]}, "/overrides/0/price"),
    ({"name": "x", "description": "y", "stops": [{"customer_id": "1", "from": "2010-13-01", "to": "2010-12-31"}]}, "/stops/0/from: not a date"),
    ({"description": "y"}, "/name: expected a str"),
])
def test_a_bad_enrichment_file_is_one_line_naming_the_field(tmp_path: Path, doc: dict[str, object], message: str) -> None:
    """Each statement is checked: a bad one is BadInput with its JSON pointer, before any order is written."""
    path = tmp_path / "e.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(BadInput, match=message.replace("/", "/")):
        load_enrichment(path)


def test_a_version_drops_only_the_canonical_fields_it_does_not_declare() -> None:
    """order 1.1.0 decides without a stop, a block and typed prices, names them, and still refuses a field outside the canonical order."""
    pack_set = require_pack_set(ROOT / "policy_packs")
    order = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    order["customer"]["account_on_stop"] = True
    order["order_block"] = "legal"
    order["lines"][0]["override_price"] = Decimal("1.00")
    admitted = admit(pack_set.get("order", "1.1.0"), order)
    assert isinstance(admitted, Stripped)
    assert admitted.dropped == ["customer.account_on_stop", "lines[].override_price", "order_block"]
    assert "order_block" not in admitted
    assert "account_on_stop" not in admitted["customer"]
    assert order["order_block"] == "legal"  # the order itself is left as it came
    assert not isinstance(admit(pack_set.get("order", "1.2.0"), order), (Stripped, ArbiterError))
    order["fax_number"] = "0"
    refused = admit(pack_set.get("order", "1.1.0"), order)
    assert isinstance(refused, ArbiterError)
    assert refused.code == "input-invalid"
