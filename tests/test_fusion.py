"""Rollups computed in the line loop give what reading them back from the list of records gives."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backend import load
from engine.codegen import generate
from engine.compiled import CompiledPack
from engine.registry import require_pack_set
from tests.conftest import PACKS, ROOT, evaluated_bytes
from tests.strategies import inputs_for

VALID = ROOT / "tests" / "packs" / "valid"
AS_OF = dt.date(2026, 6, 1)


@cache
def looping() -> list[tuple[CompiledPack, Any]]:
    """Every bundled and test pack with a for_each loop, with its longhand (unfused) evaluation."""
    packs = [p for folder in (PACKS, VALID) for p in require_pack_set(folder) if p.ir.sections]
    return [(p, load(*generate(p.ir, fuse=False), p.key)) for p in packs]


def test_the_packs_with_loops_are_the_ones_fused() -> None:
    """Pricing, allocation and the rollups pack have loops, and the loop work moved changes the code of each."""
    names = {p.name for p, _ in looping()}
    assert {"pricing", "allocation", "rollups"} <= names
    for pack, _ in looping():
        assert pack.source != generate(pack.ir, fuse=False)[0], pack.key


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fused_rollups_equal_the_longhand(data: st.DataObject) -> None:
    """On any valid input, fused and longhand evaluation give the same bytes, rows and reasons, or fail alike."""
    pack, longhand = data.draw(st.sampled_from(looping()))
    values = pack.validate(data.draw(inputs_for(pack.ir)))
    assert evaluated_bytes(pack._evaluate, values, AS_OF) == evaluated_bytes(longhand, values, AS_OF)


def test_a_loop_nothing_reads_but_its_rollups_builds_no_records() -> None:
    """Asked for its totals, pricing prices every line but keeps no list of line records."""
    pricing = next(p for p, _ in looping() if p.name == "pricing")
    lean, _ = generate(pricing.ir, outputs=frozenset({"order_total"}))
    full, _ = generate(pricing.ir)
    assert "sec0 = []" in full
    assert "sec0" not in lean
    assert "matched['quantity_break'] = " in lean  # its rows are still recorded


def test_a_value_only_a_later_row_reads_waits_for_that_row() -> None:
    """Allocation looks for a line's nearest depot only once the rows before the one that reads it missed; an unread value is never computed."""
    allocation = next(p for p, _ in looping() if p.name == "allocation")
    lines = allocation.source.splitlines()
    search = next(i for i, line in enumerate(lines) if "= next(" in line and "_it5" in line)
    first_row = next(i for i, line in enumerate(lines) if "<= 0):" in line)
    assert search > first_row
    assert "next(" in generate(allocation.ir, fuse=False)[0].split("for _it5 in")[1].splitlines()[1]
    rollups = next(p for p, _ in looping() if p.name == "rollups")
    unused = "_IMUL(_it1['quantity'], 2)"  # rollups' `unused`: in the band table's columns, tested by no row
    assert unused in generate(rollups.ir, fuse=False)[0]
    assert unused not in rollups.source
