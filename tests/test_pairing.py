"""Two versions of a pack decided together (engine.pairing): each side's decision is the one it makes alone."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import jsonio
from engine.codegen import generate
from engine.compiled import CompiledPack, compile_pack
from engine.pairing import PairedDecisions, merge_sources, pair_evaluator
from engine.registry import require_pack_set
from engine.runtime import same_items
from replay.decide import decide_both
from replay.shared import SharedSteps
from replay.specs import SpecPacks
from rules.errors import ArbiterError
from rules.load import load_text
from tests.conftest import PACKS, ROOT
from tests.strategies import declaration_edits, one_edit_versions, pricing_edits, pricing_inputs

DAYS = st.dates(dt.date(2025, 12, 1), dt.date(2027, 2, 1))
PRICED = frozenset({"order_total", "subtotal", "freight", "surcharge", "margin", "approval_required"})


def compiled(text: str, path: Path) -> CompiledPack:
    loaded = load_text(text, str(path))
    assert loaded.pack is not None, [str(d) for d in loaded.diagnostics]
    return compile_pack(loaded.pack)


def alone(pack: CompiledPack, values: dict[str, Any], day: dt.date, outputs: frozenset[str] | None) -> Any:
    """The decision as bytes, or the code of the error it raised."""
    try:
        return pack.decide_step(values, day, outputs=outputs).to_json()
    except ArbiterError as exc:
        return exc.code


def assert_paired_as_alone(a: CompiledPack, b: CompiledPack, values: dict[str, Any], day: dt.date,
                           outputs: frozenset[str] | None = None) -> None:
    pairs = PairedDecisions()
    both = pairs.decide(a, b, values, day, frozenset(), outputs)
    expected = (alone(a, values, day, outputs), alone(b, values, day, outputs))
    if both is None:  # a pair not made, or a failing side, sends both back to be decided alone
        assert not pairs.pairable(a, b, outputs) or any(isinstance(x, str) for x in expected), expected
    else:
        assert (both[0].to_json(), both[1].to_json()) == expected


BASE_PRICING = compiled((PACKS / "pricing" / "1.0.0.yaml").read_text(), PACKS / "pricing" / "1.0.0.yaml")


@settings(max_examples=60, deadline=None)
@given(edit=pricing_edits(), orders=st.lists(pricing_inputs, min_size=1, max_size=4), day=DAYS,
       outputs=st.sampled_from([None, PRICED]))
def test_a_pricing_version_differing_in_one_value_decides_as_alone(edit: tuple[str, str], orders: list[dict[str, Any]],
                                                                   day: dt.date, outputs: frozenset[str] | None) -> None:
    """Pricing 1.0.0 and a copy with one value changed (a ceiling, a break, a promotion, a rate, a text): paired equals alone."""
    candidate = compiled(edit[1], PACKS / "pricing" / "1.0.1.yaml")
    assert PairedDecisions().pairable(BASE_PRICING, candidate, outputs)
    for values in orders:
        assert_paired_as_alone(BASE_PRICING, candidate, values, day, outputs)


@settings(max_examples=40, deadline=None)
@given(case=one_edit_versions(), day=DAYS)
def test_a_toy_version_differing_in_one_derive_row_datum_or_parameter_decides_as_alone(
        case: tuple[str, str, str, list[dict[str, Any]]], day: dt.date) -> None:
    """Two versions of a small pack differing in one derive, row, data value or parameter: paired equals alone."""
    base_text, cand_text, _, orders = case
    a = compiled(base_text, ROOT / "toy" / "1.0.0.yaml")
    b = compiled(cand_text.replace("version: 1.0.0", "version: 1.0.1"), ROOT / "toy" / "1.0.1.yaml")
    assert PairedDecisions().pairable(a, b, None)
    for values in orders:
        assert_paired_as_alone(a, b, values, day)


@settings(max_examples=60, deadline=None)
@given(case=declaration_edits(), day=DAYS)
def test_versions_declaring_their_inputs_otherwise_decide_as_alone(case: tuple[str, str, bool, list[dict[str, Any]]],
                                                                    day: dt.date) -> None:
    """The toy pack's two versions adding an input, giving one a default or a bound, or adding one unread: paired equals alone."""
    base_text, cand_text, listed, orders = case
    a = compiled(base_text, ROOT / "toy" / "1.0.0.yaml")
    b = compiled(cand_text.replace("version: 1.0.0", "version: 1.0.1"), ROOT / "toy" / "1.0.1.yaml")
    assert PairedDecisions().pairable(a, b, None) is not listed  # a list the candidate declares otherwise: decided alone
    for values in orders:
        assert_paired_as_alone(a, b, values, day)


# (pack, baseline, candidate) paired: every input the candidate declares otherwise is a plain value (credit 1.1.0 adds
# currency, 1.2.0 two flags); pricing 2.1.0's and allocation 1.1.0's lines carry new fields, routing 1.1.0 a new list
PAIRED = {("pricing", "1.0.0", "2.0.0"), ("pricing", "2.0.0", "1.0.0"), ("exception_routing", "1.1.0", "1.0.0"),
          *(("credit", x, y) for x, y in itertools.permutations(["1.0.0", "1.1.0", "1.2.0"], 2))}


@pytest.mark.parametrize(("name", "x", "y"), [(name, a.version, b.version) for name in ("pricing", "credit", "allocation", "exception_routing")
                                              for a, b in itertools.permutations(require_pack_set(PACKS).versions(name), 2)])
def test_the_bundled_versions_paired_decide_their_tests_as_alone(name: str, x: str, y: str) -> None:
    """Each bundled pair of versions either way round, on every input of either version's embedded tests, on both versions' dates."""
    packs = require_pack_set(PACKS)
    a, b = packs.get(name, x), packs.get(name, y)
    assert PairedDecisions().pairable(a, b, None) == ((name, x, y) in PAIRED)
    cases = [t.input for t in (*a.ir.tests, *b.ir.tests) if isinstance(t.input, dict)]
    assert cases
    for values in cases:
        for day in (dt.date(2026, 6, 15), dt.date(2027, 6, 15)):
            assert_paired_as_alone(a, b, values, day)


def pricing_pair_source() -> str:
    """The merged source of pricing 1.0.0 and 2.0.0 deciding what a replay reads of pricing."""
    packs = require_pack_set(PACKS)
    a, b = packs.get("pricing", "1.0.0"), packs.get("pricing", "2.0.0")
    return merge_sources(generate(a.ir, outputs=PRICED), generate(b.ir, outputs=PRICED))[0]


def test_what_both_pricing_versions_compute_alike_is_computed_once() -> None:
    """Pricing 1.0.0 against 2.0.0: the contract price and the quantity break run once a line, the ceiling twice."""
    source = pricing_pair_source()
    assert source.count(".get((v0, _it1['sku']))") == 1  # the contract price lookup by (customer, sku)
    assert source.count("if c1_0 >= 1000:") == 1
    assert source.count("30 if _KA11 < ") == 1  # the ceiling compared as a Decimal constant
    assert source.count("25 if _KB13 < ") == 1


def test_rows_both_pricing_versions_fire_alike_are_recorded_once() -> None:
    """Pricing 1.0.0 against 2.0.0: the price source and quantity break rows go into one list; the promotions (dated otherwise) into two."""
    source = pricing_pair_source()
    assert "matched_b['price_source'] = _hits0_0_b = _hits0_0\n" in source
    assert "matched_b['quantity_break'] = _hits0_1_b = _hits0_1\n" in source
    assert "matched_b['promotion'] = _hits0_2_b = []\n" in source
    assert "_hits0_0_b.append" not in source
    assert "_hits0_2_b.append('PR1')" in source


def test_code_that_cannot_be_aligned_is_not_paired() -> None:
    """A generated function of another shape (a flow's, with its step runner) is refused, and deciding falls back to alone."""
    order = require_pack_set(PACKS).get("order", "1.0.0")
    assert pair_evaluator(generate(order.ir), generate(order.ir), "order") is None


# the candidate's pins, and the steps of one order its side reads as the baseline decided them, alone and paired: allocation
# (the same version) either way, and pricing and routing when the candidate runs their versions on the same input; pricing
# when paired; credit when paired and its input (the priced total) is the same,
# which it is beside the same pricing (pricing 2.0.0 prices these two orders otherwise)
REUSED = [({"credit": "1.1.0", "pricing": "2.0.0"}, 1, 2), ({"credit": "1.1.0"}, 3, 4), ({"credit": "1.2.0"}, 3, 4)]


@pytest.mark.parametrize(("pins", "alone", "paired"), REUSED)
def test_a_replay_decides_the_candidates_step_with_the_baselines(pins: dict[str, str], alone: int, paired: int) -> None:
    """Both sides of the order flow, paired and not: the same outcomes, the candidate's paired steps read, not decided again."""
    packs = require_pack_set(PACKS)
    day = dt.date(2026, 11, 24)
    orders = [jsonio.loads((ROOT / "examples" / name).read_bytes()) for name in ("order.json", "order-northwind-10248.json")]
    results = []
    for pairing in (False, True):
        shared = SharedSteps()
        base = SpecPacks(packs, {}, day, shared)
        cand = SpecPacks(packs, pins, day, shared)
        if pairing:
            shared.pair(base, cand)
        results.append([jsonio.dumps(decide_both(base, cand, "order", order, day)) for order in orders])
        assert shared.reused == len(orders) * (paired if pairing else alone)
    assert results[0] == results[1]


COUNTING = "def evaluate(inp, as_of):\n    n = 0\n    m = n\n    return ({'n': m}, {}, [])\n"


@pytest.mark.parametrize("update", ["n = n + x", "n += x"])
def test_a_candidate_only_loop_counts_from_its_own_value(update: str) -> None:
    """A name both sides set alike, then only the candidate updates in a loop: it counts from its own value, not the baseline's."""
    candidate = f"def evaluate(inp, as_of):\n    n = 0\n    for x in inp['b']:\n        {update}\n    return ({{'n': n}}, {{}}, [])\n"
    paired = pair_evaluator((COUNTING, {}), (candidate, {}), "counting")
    assert paired is not None
    assert paired({"b": [1, 2, 3]}, None, {}) == (({"n": 0}, {}, []), ({"n": 6}, {}, []))


def test_a_lambda_is_not_paired() -> None:
    """A sort key's lambda has parameters of its own, which the merge does not rename: such code is decided alone."""
    sort = "def evaluate(inp, as_of):\n    d = sorted(inp['l'], key=lambda _it8: (_it8['p'],))\n    return ({'d': d}, {}, [])\n"
    assert pair_evaluator((sort, {}), (sort.replace("'p'", "'q'"), {}), "sorting") is None


SCALED = "def evaluate(inp, as_of):\n    x = inp['{field}']\n    y = x * 3\n    y = y + {add}\n    return ({{'y': y}}, {{}}, [])\n"


@pytest.mark.parametrize(("p", "q"), [(2, 2), (2, 5), (10**40, 10**40), (None, 1)])
def test_the_candidate_reuses_the_baselines_value_only_when_its_locals_hold_the_same_objects(p: Any, q: Any) -> None:
    """``y_b = y if x_b is x else x_b * 3``: the same inputs give the baseline's value, others the candidate's own; a local updated from itself is never reused."""
    a, b = (SCALED.format(field="p", add=1), {}), (SCALED.format(field="q", add=1), {})
    source, _ = merge_sources(a, b)
    assert "y_b = y if x_b is x else x_b * 3" in source
    assert "y_b = y if" not in source.split("x_b * 3")[1]  # y = y + 1 reads what it assigns
    paired = pair_evaluator(a, b, "scaled")
    assert paired is not None
    values = {"p": p, "q": q}
    try:
        expected: Any = ({"y": p * 3 + 1}, {}, []), ({"y": q * 3 + 1}, {}, [])
    except TypeError:
        with pytest.raises(TypeError):
            paired(values, None, {})
        return
    assert paired(values, None, {}) == expected


def test_a_pair_made_without_reasons_decides_as_alone_but_for_the_fixed_reasons() -> None:
    """PairedDecisions(reasons=False), a replay's: each bundled pricing test decides outputs and rows as alone, with no fixed reason recorded."""
    packs = require_pack_set(PACKS)
    a, b = packs.get("pricing", "1.0.0"), packs.get("pricing", "2.0.0")
    pairs = PairedDecisions(reasons=False)
    for values in [t.input for t in (*a.ir.tests, *b.ir.tests) if isinstance(t.input, dict)]:
        both = pairs.decide(a, b, values, dt.date(2026, 6, 15), frozenset(), PRICED)
        if both is None:
            continue
        for pack, decision in zip((a, b), both, strict=True):
            expected = pack.decide_step(values, dt.date(2026, 6, 15), outputs=PRICED).as_dict()
            assert expected["reasons"]
            assert decision.reasons == []
            assert {**decision.as_dict(), "reasons": expected["reasons"]} == expected


def test_a_templated_reason_is_still_formatted_without_reasons() -> None:
    """generate(reasons=False) drops a fixed reason's append, not a template's, whose values may fail (tests/test_reasons.py's line pack)."""
    from tests.test_reasons import LINES
    loaded = load_text(LINES, "lines.yaml")
    assert loaded.pack is not None
    source, _ = generate(loaded.pack, reasons=False)
    assert source.count("reasons.append(") == 2
    pricing = require_pack_set(PACKS).get("pricing", "1.0.0")
    assert "reasons.append(" in generate(pricing.ir)[0]
    assert "reasons.append(" not in generate(pricing.ir, reasons=False)[0]


ONE, ONE_0 = Decimal("1.0"), Decimal("1.00")
SAME_ITEMS = [([ONE, ONE_0], [ONE, ONE_0], True), ([ONE], [Decimal("1.0")], False), ([ONE], [ONE_0], False),
              ([ONE], [ONE, ONE], False), ((ONE,), (ONE,), False), ([], [], True)]


@pytest.mark.parametrize(("a", "b", "same"), SAME_ITEMS)
def test_lists_are_the_same_items_only_when_they_hold_the_same_objects_in_order(a: Any, b: Any, same: bool) -> None:
    """same_items: equal values are not enough (1.0 and 1.00 sum to other scales); the same list is always."""
    assert same_items(a, b) is same
    assert same_items(a, a)


def test_the_candidates_total_is_the_baselines_when_its_lines_are_the_same_objects() -> None:
    """Pricing 1.0.0 against 2.0.0: a total folds the candidate's list only when its items are not the baseline's; a line's discount is guarded by identity."""
    source = pricing_pair_source()
    assert "r_0_b = r_0 if same_items(_f0_b, _f0) else exact_sum(_f0_b)" in source
    assert "a0_3_b = a0_3 if a0_1_b is a0_1 else " in source
