"""The replay's tally: one pass over an order's two outcomes counts what a pass over each side counts."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import jsonio
from replay.caveats import repeated
from replay.decide import decided
from replay.kpis import Kpis
from replay.tally import SIDES, Tally, written_alike
from tests.strategies import outcome_pairs

KPIS = Kpis(decision="decision", currency="currency", money=("order_total",), compare=("hold_reasons", "other"),
            queue_output="exceptions", approvals="approver_level")


def _side_by_side(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """What each side's outcomes add up to, counted side by side, one side at a time."""
    want: dict[str, Any] = {"changed": 0, "transitions": Counter((a["decision"], b["decision"]) for a, b in pairs)}
    for n, side in enumerate(SIDES):
        outcomes = [pair[n] for pair in pairs]
        fired: dict[str, Counter[str]] = {}
        totals: dict[str, Decimal] = {}
        for r in outcomes:
            for table, rows in r["matched"].items():
                fired.setdefault(table, Counter()).update(rows)
            amount = r.get("order_total")
            if r["decision"] != "error" and type(amount) in (Decimal, int):
                totals[r["decision"]] = totals.get(r["decision"], Decimal(0)) + amount
        want[side] = {"mix": Counter(r["decision"] for r in outcomes), "fired": fired, "totals": {"GBP": totals} if totals else {},
                      "steps": Counter(tuple(r["steps"].items()) for r in outcomes if r.get("steps")),
                      "errors": Counter(r["error"] for r in outcomes if r["decision"] == "error"),
                      "queues": Counter(i["queue"] for r in outcomes if r["decision"] != "error" for i in r.get("exceptions") or [])}
    for a, b in pairs:
        want["changed"] += a["matched"] != b["matched"] or jsonio.dumps(decided(a)) != jsonio.dumps(decided(b))
    return want


def _counted(tally: Tally) -> dict[str, Any]:
    got: dict[str, Any] = {"changed": tally.changed, "transitions": tally.transitions}
    for side in SIDES:
        got[side] = {"mix": tally.mix[side], "fired": tally.fired[side], "totals": tally.totals[side], "steps": tally.steps[side],
                     "errors": tally.errors[side], "queues": Counter({q: sum(d.values()) for q, d in tally.queue_days[side].items()})}
    return got


@settings(max_examples=300, deadline=None)
@given(outcome_pairs())
def test_two_outcomes_are_written_alike_exactly_when_their_json_is_the_same(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The shortcut agrees with writing both decided parts: a decimal's scale, 1 against Decimal(1), key order all count."""
    a, b = pair
    assert written_alike(a, b) == (jsonio.dumps(decided(a)) == jsonio.dumps(decided(b)))


@settings(max_examples=150, deadline=None)
@given(st.lists(outcome_pairs(), min_size=1, max_size=8), st.integers(0, 8))
def test_one_pass_counts_what_each_side_counts_alone(pairs: list[tuple[dict[str, Any], dict[str, Any]]], cut: int) -> None:
    """Counted in one pass, in two chunks merged, every side's rows, decisions, money and steps equal a count side by side."""
    chunks = [Tally(), Tally()]
    for i, (a, b) in enumerate(pairs):
        chunks[i >= cut].order(f"SO-{i}", "2026-06-01", {"currency": "GBP"}, a, b, KPIS)
    tally = Tally()
    for chunk in chunks:
        tally.merge(chunk)
    assert _counted(tally) == _side_by_side(pairs)
    assert tally.orders == len(pairs)
    assert not tally.fired_alike


def test_a_repeated_order_id_is_warned_and_distinct_ids_are_not() -> None:
    """The id digests a worker keeps find one id given twice across chunks, and none among distinct ids."""
    pair = ({"decision": "release", "matched": {}}, {"decision": "release", "matched": {}})
    first, second = Tally(), Tally()
    for order_id in ("SO-1", "SO-2", "SO-3"):
        first.order(order_id, "", None, *pair, KPIS)
    second.order("SO-4", "", None, *pair, KPIS)
    whole = Tally()
    whole.merge(first)
    whole.merge(second)
    assert repeated(whole.ids) == []
    third = Tally()
    third.order("SO-2", "", None, *pair, KPIS)
    whole.merge(third)
    assert [w[:28] for w in repeated(whole.ids)] == ["1 order(s) repeat an order i"]
