"""Deciding for some outputs only: the same decision on every output kept, and the same errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import jsonio
from engine.compiled import CompiledPack, compile_pack
from engine.demand import can_leave_out, step_outputs
from engine.registry import require_pack_set
from rules.errors import ArbiterError, DecisionError
from rules.load import load_text
from tests.conftest import PACKS, inside_window
from tests.strategies import inputs_for

AS_OF = dt.date(2026, 6, 1)

RATIO_PACK = """
pack: ratio
version: 1.0.0
description: a share of a whole
owner: tests
effective_from: 2026-01-01
inputs:
  name: {type: string}
  part: {type: decimal}
  whole: {type: decimal}
  big: {type: decimal, optional: true, default: 1}
outputs:
  label: {type: string, value: name}
  share: {type: decimal, value: part / whole}
  cubed: {type: string, value: 'text(round(big * big * big, 2, "half_up"))'}
"""


@cache
def bundled() -> list[CompiledPack]:
    return list(require_pack_set(PACKS))


def _decide(pack: CompiledPack, values: dict[str, Any], outputs: frozenset[str] | None) -> Any:
    try:
        d = pack.evaluate(values, inside_window(pack, AS_OF), outputs=outputs)
    except ArbiterError as exc:
        return exc.code
    return d


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_some_outputs_decide_as_all_outputs_do(data: st.DataObject) -> None:
    """Asked for some outputs, every pack fires the same rows, gives the same reasons, and equals the full decision on what it gives."""
    pack = data.draw(st.sampled_from(bundled()))
    values = pack.validate(data.draw(inputs_for(pack.ir)))
    names = [f.name for f in pack.ir.outputs]
    wanted = frozenset(data.draw(st.lists(st.sampled_from(names), unique=True)))
    full, some = _decide(pack, values, None), _decide(pack, values, wanted)
    if isinstance(full, str):
        assert some == full
        return
    assert wanted <= some.output.keys() <= full.output.keys()
    assert (some.matched, some.reasons, some.steps) == (full.matched, full.reasons, full.steps)
    assert jsonio.dumps(some.output) == jsonio.dumps({k: v for k, v in full.output.items() if k in some.output})


def test_the_order_flow_leaves_out_the_priced_lines_and_the_plan() -> None:
    """Asked for its outcome, the order flow leaves out the line lists, and asks pricing for its totals but not its lines."""
    flow = next(p for p in bundled() if p.ir.steps)
    wanted = frozenset({"decision", "order_total"})
    left_out = {f.name for f in flow.ir.outputs if can_leave_out(f)}
    assert {"lines", "allocation", "exceptions"} <= left_out
    assert "order_total" not in left_out  # money is rounded, and rounding can fail
    pricing = step_outputs(flow.ir, wanted)[[s.id for s in flow.ir.steps].index("pricing")]
    assert pricing is not None
    assert "order_total" in pricing
    assert "lines" not in pricing
    assert step_outputs(flow.ir, None) == [None] * len(flow.ir.steps)


@pytest.mark.parametrize("wanted", [frozenset({"label"}), frozenset()])
def test_an_output_that_can_fail_is_computed_even_when_not_asked_for(wanted: frozenset[str]) -> None:
    """A required output nobody asked for that comes out null (a share of nothing) still fails the decision, as in full."""
    result = load_text(RATIO_PACK, "ratio.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    pack = compile_pack(result.pack)
    values = pack.validate({"name": "x", "part": 1, "whole": 0})
    for outputs in (None, wanted):
        with pytest.raises(DecisionError) as raised:
            pack.evaluate(values, AS_OF, outputs=outputs)
        assert raised.value.code == "output-missing"
    fine = pack.evaluate(pack.validate({"name": "x", "part": 1, "whole": 4}), AS_OF, outputs=wanted)
    assert fine.output["share"] == Decimal("0.25")


def test_a_text_output_whose_rounding_overflows_fails_even_when_not_asked_for() -> None:
    """A rounding in an output nobody asked for can still raise (too many digits), so it is computed and fails alike."""
    result = load_text(RATIO_PACK, "ratio.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    pack = compile_pack(result.pack)
    values = pack.validate({"name": "x", "part": 1, "whole": 2, "big": 10**14})
    for outputs in (None, frozenset({"label"})):
        with pytest.raises(DecisionError) as raised:
            pack.evaluate(values, AS_OF, outputs=outputs)
        assert raised.value.code == "arithmetic"
    small = pack.evaluate(pack.validate({"name": "x", "part": 1, "whole": 2, "big": 2}), AS_OF, outputs=frozenset({"label"}))
    assert small.output["cubed"] == "8.00"
