"""The impact report against what each order decided alone says: histories and flawed candidates nobody on the team wrote.

Each candidate is a copy of policy_packs with deliberate edits (test parameters); each history
is built here from examples/order.json. The oracle decides every order on both sides with the
engine directly (as ``arbiter decide`` does), so the report's changed orders, causes and
per-currency money are held to a count made without the replay.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import gzip
import itertools
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine import jsonio
from engine.registry import build_pack_set
from rules.errors import ArbiterError
from tests.conftest import PACKS, ROOT

EXAMPLE = json.loads((ROOT / "examples" / "order.json").read_text(encoding="utf-8"))
REPLAY_DAY = "2027-05-01"  # every bundled newest version is in force: the oracle's versions are the replay's


def order(i: int, currency: str = "GBP", quantity: int = 24, price: str = "10.25", customer: str = "C999",
          as_of: str = REPLAY_DAY) -> dict[str, Any]:
    """The example order with its first line, currency, customer and date varied (C999 has no contract price)."""
    o = copy.deepcopy(EXAMPLE)
    o.update(order_id=f"H-{i}", as_of=as_of, currency=currency)
    o["customer"].update(customer_id=customer, price_group="list")
    o["lines"][0].update(quantity=quantity, list_price=Decimal(price))
    return o


def mixed_history() -> list[dict[str, Any]]:
    """Four currencies (yen has no minor unit), quantities across the breaks, half-cent prices, contract and list customers."""
    grid = itertools.product(["GBP", "EUR", "JPY", "USD"], [5, 24, 500], ["10.25", "1025"], ["C100", "C999"])
    return [order(i, c, q, p, cu, f"2027-05-0{1 + i % 5}") for i, (c, q, p, cu) in enumerate(grid)]


def write_history(path: Path, orders: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(jsonio.dumps(o) + b"\n" for o in orders))
    return path


def candidate(tmp: Path, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of policy_packs with each (file, old, new) edit; the old text must occur once."""
    folder = tmp / "candidate"
    shutil.copytree(PACKS, folder)
    for rel, old, new in edits:
        text = (folder / rel).read_text(encoding="utf-8")
        assert text.count(old) == 1, (rel, old)
        (folder / rel).write_text(text.replace(old, new), encoding="utf-8")
    return folder


def simulate(orders: Path, cand: Path, out: Path) -> tuple[dict[str, Any], list[dict[str, str]], str]:
    subprocess.run([sys.executable, str(ROOT / "simulate.py"), "run", "--orders", str(orders), "--baseline", str(PACKS),
                    "--candidate", str(cand), "--out", str(out), "--workers", "1", "--effective-on", REPLAY_DAY],
                   capture_output=True, text=True, cwd=ROOT, check=True)
    with (out / "diff.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return json.loads((out / "summary.json").read_text()), rows, (out / "report.md").read_text(encoding="utf-8")


def oracle(orders: Path, cand: Path, outputs: tuple[str, ...]) -> dict[str, tuple[str, Any, Any]]:
    """order id -> (currency, baseline, candidate) order_total of each order whose ``outputs`` (or rows) differ, each side decided alone."""
    sides = [build_pack_set(folder)[0] for folder in (PACKS, cand)]
    changed = {}
    for line in orders.read_bytes().splitlines():
        raw = jsonio.loads(line)
        as_of = dt.date.fromisoformat(raw.pop("as_of"))
        answers = []
        for packs in sides:
            assert packs is not None
            try:
                decision = packs.get("order", None, as_of).decide(raw, as_of)
                answers.append({**decision.output, "matched": decision.matched})
            except ArbiterError as exc:
                answers.append({"decision": exc.code})
        a, b = ({k: x.get(k) for k in outputs} for x in answers)
        if jsonio.dumps(a) != jsonio.dumps(b):
            changed[raw["order_id"]] = (raw["currency"], a.get("order_total"), b.get("order_total"))
    return changed


COMPARED = ("decision", "order_total", "margin", "touchless", "hold_reasons", "credit_decision", "hold_code", "fulfilment",
            "approver_level", "exceptions", "matched")
PRICING, CREDIT = "pricing/2.1.0.yaml", "credit/1.2.0.yaml"
HALF_UP = """'if currency = "JPY" then round(discounted, 0, "half_up") else round(discounted, 2, "half_up")'"""
CASES = {
    # a cent off one contract price in a data table (CSV), not in a row: money only, blamed on the data set
    "csv_cent": ([("pricing/contract_prices.csv", "C100,WIDGET-01,8.50", "C100,WIDGET-01,8.49")], {"pricing: data contract_prices"}),
    # rounding at the half cent (and the half yen) only: money moves on exactly the .xx5 lines, never the decision
    "half_even": ([(PRICING, HALF_UP, HALF_UP.replace("half_up", "half_even"))], {"pricing: derive net_price (priced_lines, after)"}),
    # two params, one of which (a typed-price band) changes nothing on orders without a typed price: never blamed
    "one_of_two_params": ([(PRICING, "margin_floor_pct: {type: decimal, value: 10,", "margin_floor_pct: {type: decimal, value: 40,"),
                           (PRICING, "pricing_manager_band_pct: {type: decimal, value: 15,", "pricing_manager_band_pct: {type: decimal, value: 20,")],
                          {"pricing: param margin_floor_pct 10 -> 40"}),
    # each alone holds only orders above 5,000 GBP; together every order of a 1,000-day-old account is new and above 100
    "together": ([(CREDIT, "new_account_days: {type: integer, value: 90,", "new_account_days: {type: integer, value: 2000,"),
                  (CREDIT, "new_account_gbp: {type: money, scale: 2, value: 5000,", "new_account_gbp: {type: money, scale: 2, value: 100,")],
                 {"credit: param new_account_days 90 -> 2000",
                  "credit: param new_account_days 90 -> 2000 + credit: param new_account_gbp 5000 -> 100 (together)"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_changed_orders_causes_and_money_are_what_each_order_decided_alone(case: str, tmp_path: Path) -> None:
    """Changed orders, their causes and each currency's price effect equal the per-order oracle's, never summed across currencies."""
    edits, causes = CASES[case]
    cand = candidate(tmp_path, edits)
    history = write_history(tmp_path / "orders.jsonl", mixed_history())
    summary, diff, _ = simulate(history, cand, tmp_path / "out")
    truth = oracle(history, cand, COMPARED)
    assert truth, "the case must change some order"
    assert sorted(r["order_id"] for r in diff) == sorted(truth)
    assert {c["cause"] for c in summary["causes"]} == causes
    effect: dict[str, Decimal] = {}
    for order_id, (currency, a, b) in truth.items():
        if next(r for r in diff if r["order_id"] == order_id)["kind"] == "money":
            effect[currency] = effect.get(currency, Decimal(0)) + b - a
    assert {cur: Decimal(str(m["price_effect"])) for cur, m in summary["money"].items() if m["price_effect"]} == {
        cur: v for cur, v in effect.items() if v}


def test_a_change_only_in_outputs_not_compared_is_said_to_be_outside_the_count(tmp_path: Path) -> None:
    """A flow step rewired so only headroom moves: "0 changed" is said to cover the compared outputs, headroom named as not compared."""
    cand = candidate(tmp_path, [("order/1.2.0.yaml", "order_amount: max(pricing.order_total, 0)", "order_amount: max(pricing.subtotal, 0)")])
    history = write_history(tmp_path / "orders.jsonl", mixed_history())
    summary, _, report = simulate(history, cand, tmp_path / "out")
    assert oracle(history, cand, ("headroom",)), "headroom must move on some order"
    assert not oracle(history, cand, COMPARED)
    assert summary["changed"] == 0
    assert "headroom" in summary["not_compared"]
    assert "decision" not in summary["not_compared"]
    [headline] = [line for line in report.splitlines() if line.startswith("48 orders replayed through")]
    assert "0 (0.00 %) changed in the outputs compared and rows fired (not compared: " in headline
    assert "headroom" in headline


def test_orders_dated_outside_a_versions_window_are_said_to_be_decided_as_if_it_were_in_force(tmp_path: Path) -> None:
    """Orders of 2025 and 2026 replayed by versions from 2027: the warning names each version and how many days fall outside."""
    days = ["2025-06-01", "2026-06-01", "2027-02-01", REPLAY_DAY, "2031-01-01"]
    history = write_history(tmp_path / "orders.jsonl", [order(i, as_of=d) for i, d in enumerate(days)])
    cand = candidate(tmp_path, CASES["half_even"][0])
    summary, _, report = simulate(history, cand, tmp_path / "out")
    [warning] = [w for w in summary["warnings"] if w.startswith("orders dated outside the window")]
    assert "order@1.2.0 (from 2027-04-01; 3 of 5 order days outside)" in warning
    assert "allocation@1.1.0 (from 2027-01-01; 2 of 5 order days outside)" in warning
    assert f"**warning:** {warning}" in report


def test_a_byte_order_mark_does_not_lose_the_first_order(tmp_path: Path) -> None:
    """A JSONL file saved with a UTF-8 BOM (Excel, PowerShell): its first order is decided like the others, none invalid."""
    orders = [order(i) for i in range(3)]
    plain = write_history(tmp_path / "plain.jsonl", orders)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\n", b"\r\n"))
    cand = candidate(tmp_path, CASES["half_even"][0])
    with_bom, diff, _ = simulate(bom, cand, tmp_path / "bom")
    assert with_bom["orders"] == 3
    assert with_bom["invalid_orders"] == []
    assert [r["order_id"] for r in diff] == ["H-0", "H-1", "H-2"]
    plain_summary = simulate(plain, cand, tmp_path / "plain")[0]
    assert with_bom["money"] == plain_summary["money"]
    assert not [w for w in plain_summary["warnings"] if "repeat an order id" in w]


def test_orders_without_an_id_are_named_by_their_line_not_repeats_of_each_other(tmp_path: Path) -> None:
    """Two orders with a null order_id and one with none are each named by their line: no repeated-id warning, as with "None" thrice."""
    unnamed = [{**order(0), "order_id": None}, {**order(1), "order_id": None}, {k: v for k, v in order(2).items() if k != "order_id"}]
    history = write_history(tmp_path / "orders.jsonl", unnamed)
    summary, _, _ = simulate(history, candidate(tmp_path, CASES["half_even"][0]), tmp_path / "out")
    assert summary["orders"] == 3
    assert not [w for w in summary["warnings"] if "repeat an order id" in w]


def test_an_order_id_given_twice_is_said_with_its_copies_counted(tmp_path: Path) -> None:
    """The same order twice (and one id reused for another order): decided and counted per copy, and the report says so."""
    first, second = order(0), order(1)
    reused = {**order(2, price="20.25"), "order_id": "H-1"}
    history = write_history(tmp_path / "orders.jsonl", [first, second, first, reused])
    summary, diff, report = simulate(history, candidate(tmp_path, CASES["half_even"][0]), tmp_path / "out")
    [warning] = [w for w in summary["warnings"] if "repeat an order id" in w]
    assert warning.startswith("2 order(s) repeat an order id given earlier")
    assert f"**warning:** {warning}" in report
    assert summary["orders"] == 4
    assert [r["order_id"] for r in diff] == ["H-0", "H-1", "H-0", "H-1"]


@pytest.mark.parametrize(("name", "data"), [("empty.jsonl", b""), ("blank.jsonl", b"\n \r\n\n"), ("empty.jsonl.gz", gzip.compress(b"", mtime=0)),
                                             ("bom.jsonl", b"\xef\xbb\xbf\r\n\n"), ("bom-only.jsonl", b"\xef\xbb\xbf")],
                         ids=["empty", "blank", "gzip", "bom", "bom-only"])
def test_a_history_without_orders_is_refused_and_the_earlier_report_kept(tmp_path: Path, name: str, data: bytes) -> None:
    """An empty export is exit 2 with one line, not a report of "0 changed" a CI gate would pass; the earlier report stays."""
    orders = tmp_path / name
    orders.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("earlier")
    done = subprocess.run([sys.executable, str(ROOT / "simulate.py"), "run", "--orders", str(orders), "--baseline", str(PACKS),
                           "--candidate", f"{PACKS}#pricing@2.0.0", "--out", str(out), "--workers", "1", "--effective-on", REPLAY_DAY],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(f"{orders}: no orders (the file is empty or only blank lines): nothing to replay")
    assert (out / "summary.json").read_text() == "earlier"


def test_the_reports_order_command_passes_over_lines_that_are_not_orders(tmp_path: Path) -> None:
    """`simulate.py order --order-id` (the command each cause prints) finds its order past a cut line, and names the lines it passed."""
    good = jsonio.dumps(order(0))
    history = tmp_path / "orders.jsonl"
    history.write_bytes(good[:40] + b"\n" + good + b"\n" + jsonio.dumps({**order(1), "order_id": "BAD", "as_of": "2027-02-30"}) + b"\n")

    def show(order_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(ROOT / "simulate.py"), "order", "--orders", str(history), "--order-id", order_id,
                               "--baseline", str(PACKS), "--candidate", f"{PACKS}#pricing@2.0.0", "--effective-on", REPLAY_DAY],
                              capture_output=True, text=True, cwd=ROOT, check=False)

    found = show("H-0")
    assert found.returncode == 0, found.stderr
    assert '"H-0"' in found.stdout
    missing = show("BAD")
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"simulate: no order 'BAD' in {history} (2 line(s) not orders, the first {history}:1: invalid JSON")
