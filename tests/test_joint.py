"""One flow version run once for both sides of a replay (replay.joint): each side's outcome is the one it gets alone."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from engine import jsonio
from engine.pairing import PairedDecisions
from engine.registry import require_pack_set
from replay import joint
from replay.decide import compared, decide_both
from replay.kpis import load_kpis
from replay.shared import SharedSteps
from replay.specs import SpecPacks
from tests.conftest import PACKS, ROOT
from tests.strategies import version_pins

STEPS = ("credit", "pricing", "allocation", "exception_routing")
VERSIONS = {name: sorted(p.stem for p in (PACKS / name).glob("*.yaml")) for name in STEPS}
FLOWS = sorted(p.stem for p in (PACKS / "order").glob("*.yaml"))
DAYS = [dt.date(2026, 1, 15), dt.date(2026, 6, 1), dt.date(2026, 11, 24)]
PAIRED = PairedDecisions()  # merged functions made once for the whole module: they depend on the two versions only


def _orders() -> list[dict[str, Any]]:
    """The bundled orders, and the example with a tier C customer around its limit (credit versions hold it otherwise)."""
    found = [jsonio.loads(p.read_bytes()) for p in sorted((ROOT / "examples").glob("order*.json"))]
    example = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    found += [dict(example, customer=dict(example["customer"], risk_tier="C", credit_limit=10000, open_receivables=owed))
              for owed in range(9000, 10600, 400)]
    return found


ORDERS = _orders()
KPIS = load_kpis(PACKS, "order")


def both_ways(base_pins: dict[str, str], cand_pins: dict[str, str], order: dict[str, Any], day: dt.date,
              outputs: frozenset[str] | None) -> tuple[Any, Any]:
    """Each side's outcome and steps decided with the sides sharing (one flow run), then with each side alone, as bytes."""
    packs = require_pack_set(PACKS)
    shared = SharedSteps()
    shared.paired = PAIRED
    results = []
    for sides in ((SpecPacks(packs, base_pins, day), SpecPacks(packs, cand_pins, day)),
                  (SpecPacks(packs, base_pins, day, shared), SpecPacks(packs, cand_pins, day, shared))):
        if sides[0].shared is not None:
            shared.pair(*sides)
        outcomes = decide_both(*sides, "order", order, day, outputs, KPIS)
        steps = [[(name, d.as_dict()) for name, d in side.steps_decided] for side in sides]
        results.append(jsonio.dumps([outcomes, steps]))
    return results[1], results[0]


@settings(max_examples=30, deadline=None)
@given(version_pins(VERSIONS), version_pins(VERSIONS), st.sampled_from(FLOWS), st.sampled_from(ORDERS), st.sampled_from(DAYS),
       st.booleans())
def test_both_sides_in_one_flow_run_decide_as_each_alone(base_pins: dict[str, str], cand_pins: dict[str, str], flow: str,
                                                          order: dict[str, Any], day: dt.date, partial: bool) -> None:
    """Any two sets of bundled step versions under one flow version: outcomes and steps decided are those of each side alone."""
    try:
        sharing, alone = both_ways({**base_pins, "order": flow}, {**cand_pins, "order": flow}, order, day,
                                   compared(KPIS) if partial else None)
    except KeyError:  # order 1.1.0 reads allocation 1.0.0's lines' backorder_quantity, which it lacks: a crash alone too
        reject()
    assert sharing == alone


def test_the_candidate_runs_alone_from_the_step_where_the_sides_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the bundled candidate pins and orders, some candidates are decided in the joint run and some part and run alone."""
    ran_alone = []
    original = joint._alone
    monkeypatch.setattr(joint, "_alone", lambda *args: ran_alone.append(len(args[-1])) or original(*args))
    cases = 0
    for credit, pricing in itertools.product(VERSIONS["credit"], VERSIONS["pricing"]):
        for order in ORDERS[:2] + ORDERS[-2:]:  # priced otherwise by pricing 2.0.0, and held otherwise by credit 1.1.0
            sharing, alone = both_ways({}, {"credit": credit, "pricing": pricing}, order, DAYS[-1], compared(KPIS))
            assert sharing == alone
            cases += 1
    assert 0 < len(ran_alone) < cases  # both ways taken
    assert any(ran_alone)  # and some candidates parted after a step decided beside the baseline's, which they take


AGREEMENT = [
    ({"a": Decimal("1.0"), "b": 1}, {"a": Decimal("1.0"), "b": 2}, ("a",), True),  # b is not read
    ({"a": Decimal("1.0")}, {"a": Decimal("1.00")}, ("a",), False),  # equal, written otherwise
    ({"a": 1}, {"a": Decimal(1)}, ("a",), False),
    ({"a": 1}, {"a": True}, ("a",), False),
    ({"a": [{"x": 1}]}, {"a": [{"x": 1}]}, ("a",), True),
    ({"a": 1}, {}, ("a",), False),  # one side lacks it
    ({"a": 1, "b": None}, {"a": 1, "b": None}, ("a", "b"), True),
    ({"a": 1}, {"a": 1, "c": 2}, None, False),  # the whole output read
]


@pytest.mark.parametrize(("x", "y", "read", "agreed"), AGREEMENT)
def test_two_step_outputs_agree_on_what_the_flow_reads_written_alike(x: dict[str, Any], y: dict[str, Any],
                                                                      read: tuple[str, ...] | None, agreed: bool) -> None:
    """Only the fields read count; 1.0 against 1.00, 1 against True or Decimal(1), a missing field: not the same."""
    from operator import itemgetter
    assert joint.agree(None if read is None else itemgetter(*read), x, y) is agreed


def test_a_step_field_read_only_by_a_carry_parts_the_sides() -> None:
    """A flow whose carry starts at a step's output: the candidate's limit is its own, not the baseline's (19 against 9)."""
    packs = require_pack_set(ROOT / "tests" / "packs" / "joint_carry")
    day = dt.date(2026, 6, 1)
    order = {"n": 1, "lines": [{"qty": 1}, {"qty": 2}]}
    alone = decide_both(SpecPacks(packs, {"cap": "1.0.0"}, day), SpecPacks(packs, {"cap": "2.0.0"}, day), "flow", order, day)
    shared = SharedSteps()
    base, cand = SpecPacks(packs, {"cap": "1.0.0"}, day, shared), SpecPacks(packs, {"cap": "2.0.0"}, day, shared)
    shared.pair(base, cand)
    assert decide_both(base, cand, "flow", order, day) == alone
    assert (alone[0]["total"], alone[1]["total"]) == (19, 9)
