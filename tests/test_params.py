"""Pack parameters: compiled in as constants, part of the digest, and named in the IR with the places that read them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from engine.compiled import compile_pack
from rules.ir import PackIR
from rules.load import load_text

PACK = """\
pack: priced
version: 1.0.0
description: parameters read in a derive, a cell, an output cell and an invariant
owner: tests
params:
  margin_floor: {type: decimal, scale: 2, value: MARGIN, description: net price at least this times cost}
  large_order: {type: money, value: 5000, description: orders above this are reviewed}
  review_queue: {type: string, value: credit, description: where a review goes}
inputs:
  cost: {type: money}
  price: {type: money}
  amount: {type: money}
derive:
  floor: cost * margin_floor
outputs:
  below_floor: {type: boolean, value: price < floor}
  queue: {type: string, optional: true}
tables:
  - id: review
    hit_policy: first
    inputs: [amount]
    outputs: [queue]
    rows:
      - {id: R1, when: {amount: "> large_order"}, then: {queue: "=review_queue"}}
      - {id: R2, then: {queue: none}}
invariants:
  - {name: floor above cost, expr: "margin_floor >= 1"}
"""


def _load(margin: str = "1.1") -> PackIR:
    result = load_text(PACK.replace("MARGIN", margin), "priced.yaml")
    assert result.pack is not None, result.diagnostics
    return result.pack


def test_the_ir_names_each_parameter_and_the_places_that_read_it() -> None:
    """PackIR.params holds each declared constant at its scale; param_reads lists where each is read."""
    ir = _load()
    assert [(p.name, p.kind, p.value, p.scale) for p in ir.params] == [
        ("margin_floor", "decimal", Decimal("1.10"), 2), ("large_order", "money", Decimal("5000"), None),
        ("review_queue", "string", "credit", None)]
    assert str(ir.params[0].value) == "1.10"
    assert ir.param_reads() == {"margin_floor": ["derive.floor", "invariants.0"], "large_order": ["tables.review.R1"],
                                "review_queue": ["tables.review.R1"]}
    assert ir.positions["params.large_order"].line == 7


def test_a_parameter_is_a_constant_in_the_generated_code() -> None:
    """The generated source never reads a parameter by name: its value is a constant, and the decision uses it."""
    pack = compile_pack(_load())
    assert "margin_floor" not in pack.source
    assert "large_order" not in pack.source
    decision = pack.decide({"cost": 10, "price": "10.99", "amount": 6000}, dt.date(2026, 6, 1))
    assert decision.output == {"below_floor": True, "queue": "credit"}
    assert pack.violated_invariants({"cost": 10, "price": 11, "amount": 1}, decision.output, dt.date(2026, 6, 1)) == []


def test_changing_a_parameter_changes_the_digest_and_the_decision_only() -> None:
    """A new value is a new digest and a new decision; the generated source differs only in the constant's value."""
    a, b = _load("1.1"), _load("1.05")
    assert a.digest != b.digest
    pa, pb = compile_pack(a), compile_pack(b)
    assert pa.source == pb.source
    order = {"cost": 10, "price": "10.99", "amount": 1}
    assert pa.decide(order, dt.date(2026, 6, 1)).output["below_floor"] is True
    assert pb.decide(order, dt.date(2026, 6, 1)).output["below_floor"] is False


def test_an_unread_parameter_is_a_warning_at_its_name() -> None:
    """A parameter nothing reads is reported (unused-param, a warning) and the pack still loads."""
    text = PACK.replace("  review_queue: {type: string", "  spare: {type: integer, value: 3, description: unread}\n  review_queue: {type: string")
    result = load_text(text.replace("MARGIN", "1.1"), "priced.yaml")
    assert result.pack is not None
    assert [(d.code, d.severity, d.position.line, d.position.col) for d in result.diagnostics] == [("unused-param", "warning", 8, 3)]
