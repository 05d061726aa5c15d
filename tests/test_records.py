"""Records built with only the fields something reads: the same decisions, and no field nobody reads."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.codegen import generate
from engine.compiled import CompiledPack, Decision
from engine.registry import PackSet, require_pack_set
from rules.errors import ArbiterError
from rules.load import load_text
from tests.conftest import PACKS, inside_window
from tests.strategies import inputs_for

AS_OF = dt.date(2026, 6, 1)

LINES_PACK = """
pack: lines
version: 1.0.0
description: priced lines, listed and counted
owner: tests
effective_from: 2026-01-01
inputs:
  lines:
    type: list
    max_items: 20
    items:
      line_no: {type: integer}
      sku: {type: string}
      quantity: {type: integer}
      price: {type: money}
for_each:
  - id: priced
    over: lines
    after:
      total: quantity * price
      flag: quantity > 10
      spare: quantity * 2
    keep: [total, flag, spare]
rollup:
  flagged: count(filter(priced as p, p.flag) as q, q.sku != "none")
outputs:
  lines:
    type: list
    value: priced
    items:
      line_no: {type: integer}
      total: {type: money}
  flagged: {type: integer}
  {extra}
"""


class Recording:
    """A pack set that keeps each step's decision; ``steps_unread`` says whether the flow alone reads them."""

    def __init__(self, packs: PackSet, steps_unread: bool) -> None:
        self.packs = packs
        self.steps_unread = steps_unread
        self.decided: dict[str, Decision] = {}

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        return self.packs.get(name, version, as_of)

    def decide_step(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
                    outputs: Any = None) -> Decision:
        decision = self.packs.decide_step(pack, values, as_of, trusted, outputs)
        self.decided[pack.name] = decision
        return decision


@cache
def bundled() -> PackSet:
    return require_pack_set(PACKS)


def flows() -> list[CompiledPack]:
    return [p for p in bundled() if p.ir.steps]


def _decided(flow: CompiledPack, raw: Any, as_of: dt.date, steps_unread: bool) -> tuple[bytes | str, Recording]:
    side = Recording(bundled(), steps_unread)
    try:
        return flow.evaluate(flow.validate(raw), as_of, pack_set=side).to_json(), side
    except ArbiterError as exc:
        return exc.code, side


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_flow_whose_steps_build_only_what_it_reads_decides_as_in_full(data: st.DataObject) -> None:
    """On any valid order, a flow whose steps build only the fields it reads gives the bytes of one whose steps build all."""
    flow = data.draw(st.sampled_from(flows()))
    raw = data.draw(inputs_for(flow.ir))
    as_of = inside_window(flow, AS_OF)
    lean, _ = _decided(flow, raw, as_of, steps_unread=True)
    full, _ = _decided(flow, raw, as_of, steps_unread=False)
    assert lean == full
    if not isinstance(lean, str):
        assert flow.decide(raw, as_of).to_json() == lean  # served from its own set, the flow trims too
        traced = flow.decide(raw, as_of, trace=True)  # traced, every step decides in full
        assert traced._replace(trace=None).to_json() == lean


@pytest.mark.parametrize("test_index", range(30))
def test_every_embedded_order_decides_alike_trimmed_or_not(test_index: int) -> None:
    """Each embedded test of each order flow version gives the same bytes whether its steps build every field or not."""
    for flow in flows():
        if test_index < len(flow.ir.tests):
            test = flow.ir.tests[test_index]
            as_of = test.as_of or flow.ir.effective_from or AS_OF
            assert _decided(flow, test.input, as_of, True)[0] == _decided(flow, test.input, as_of, False)[0]


def test_a_step_keeps_the_fields_a_later_reader_reads_and_builds_no_other() -> None:
    """Order 1.2.0 reads margin_breach and floor_price of pricing's lines (its holds): they are built; price_source is not."""
    flow = bundled().get("order", "1.2.0")
    test = next(t for t in flow.ir.tests if "three reasons" in t.name)
    as_of = test.as_of or flow.ir.effective_from
    assert as_of is not None
    _, lean = _decided(flow, test.input, as_of, steps_unread=True)
    _, full = _decided(flow, test.input, as_of, steps_unread=False)
    lean_line, full_line = lean.decided["pricing"].output["lines"][0], full.decided["pricing"].output["lines"][0]
    assert {"margin_breach", "floor_price", "below_floor_pct", "override_level", "net_price", "line_no"} <= lean_line.keys()
    assert {"price_source", "base_price", "break_code", "ceiling_applied"}.isdisjoint(lean_line)
    assert {"price_source", "base_price", "break_code", "ceiling_applied"} <= full_line.keys()
    assert {k: full_line[k] for k in lean_line} == lean_line
    assert "backordered_lines" not in lean.decided["allocation"].output  # an output the flow never reads
    assert lean.decided["allocation"].output["lines"][1]["backorder_quantity"] == 100


def _source(extra: str = "") -> str:
    result = load_text(LINES_PACK.replace("{extra}", extra), "lines.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    return generate(result.pack)[0]


def test_a_loop_builds_its_records_with_the_fields_its_outputs_and_rollups_read() -> None:
    """The records carry line_no and total (listed), flag and sku (the rollup reads them), not price, quantity or spare."""
    source = _source()
    record = next(line for line in source.splitlines() if "sec0.append(" in line)
    for field in ("line_no", "total", "flag", "sku"):
        assert f"'{field}'" in record
    for field in ("price", "spare", "quantity"):
        assert f"'{field}'" not in record
    assert "**" not in record
    assert "{'line_no': _e.get('line_no'), 'total': _e.get('total')}" in source  # the output still lists two of the four


@pytest.mark.parametrize("extra", [
    "first_line: {type: boolean, value: 'first(priced as p, p.flag) != null'}",  # a record compared whole
    "all_lines: {type: list, value: 'map(priced as p, p)', items: {line_no: {type: integer}}}",  # an element passed whole
])
def test_a_record_read_whole_keeps_every_field(extra: str) -> None:
    """Where a record is compared or passed whole, every element field and kept value is built, as before."""
    record = next(line for line in _source(extra).splitlines() if "sec0.append(" in line)
    assert "{**_it" in record


def test_records_built_as_the_caller_reads_them_are_not_picked_again() -> None:
    """Asked by order 1.2.0, pricing 2.1.0 builds each line's record with the fields the flow reads and lists it as built."""
    flow = bundled().get("order", "1.2.0")
    index = [s.id for s in flow.ir.steps].index("pricing")
    view = flow._served_step_outputs()[index]
    assert view is not None
    assert {"lines.", "lines.margin_breach", "lines.net_price"} <= view
    assert "lines.price_source" not in view
    pricing = bundled().get("pricing", "2.1.0")
    lean, full = generate(pricing.ir, outputs=view)[0], generate(pricing.ir)[0]
    assert "_e.get(" not in lean
    assert "'price_source': _e.get('price_source')" in full
