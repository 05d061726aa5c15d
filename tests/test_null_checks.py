"""Nullable arithmetic checked inline, and the other inline forms, give what the helpers give, on every pack that has them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backend import load
from engine.codegen import generate
from engine.compiled import CompiledPack
from engine.registry import require_pack_set
from importers.conformance import import_graph
from rules.load import load_text
from tests.conftest import PACKS, ROOT, evaluated_bytes, shared
from tests.strategies import inputs_for

VALID = ROOT / "tests" / "packs" / "valid"
AS_OF = dt.date(2026, 6, 1)
# the imported zen graphs benchmarks/engine.py times; tests/test_jdm.py holds them all against zen-engine itself
GRAPHS = ["credit-limit-adjustment", "decision-table-shipping", "shipping-carrier-selector", "warehouse-storage-location"]


@cache
def guarded() -> list[tuple[CompiledPack, Any]]:
    """Every pack whose code checks some nulls inline, with its longhand (a helper call per operator)."""
    packs = [p for folder in (PACKS, VALID) for p in require_pack_set(folder)]
    packs += [outcome.pack for name in GRAPHS if (outcome := import_graph(shared("zen", "graphs", f"{name}.json"))).pack]
    pairs = [(p, generate(p.ir, inline_nulls=False)) for p in packs]
    return [(p, load(*longhand, p.key)) for p, longhand in pairs if longhand[0] != p.source]


def test_the_nullable_arithmetic_pack_and_the_cost_tables_check_inline() -> None:
    """The test pack and the zen graphs with null-aware cost arithmetic are among the packs whose code changes."""
    names = {p.name for p, _ in guarded()}
    assert {"nullable_arithmetic", "shipping_carrier_selector", "credit_limit_adjustment"} <= names
    pack = next(p for p, _ in guarded() if p.name == "nullable_arithmetic")
    assert "n_add((None if v0 is None or v1 is None else n_div(" in pack.source  # a division inside keeps the helpers, under the guard
    assert "(None if v0 is None or v1 is None else max(v0, v1))" in pack.source


def test_the_order_flow_steps_use_the_inline_forms() -> None:
    """The bundled steps join texts, sort by itemgetter and take min, max and coalesce inline: the property below compares them."""
    sources = {f"{p.name}@{p.version}": p.source for p, _ in guarded()}
    assert "''.join((" in sources["credit@1.2.0"]
    assert "sorted(v4, key=K" in sources["allocation@1.1.0"]
    assert " if 0 > _it2['quantity'] else " in sources["allocation@1.1.0"]
    assert " is not None else " in sources["pricing@2.1.0"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_inline_null_checks_equal_the_helpers(data: st.DataObject) -> None:
    """On any valid input, inline checks and helper calls give the same bytes, rows and reasons, or fail alike."""
    pack, longhand = data.draw(st.sampled_from(guarded()))
    values = pack.validate(data.draw(inputs_for(pack.ir)))
    assert evaluated_bytes(pack._evaluate, values, AS_OF) == evaluated_bytes(longhand, values, AS_OF)


FOLDED = """
pack: folded
version: 1.0.0
description: arithmetic over literals and parameters, computed once when the code is generated
owner: tests
params:
  pct: {type: decimal, value: 10, description: a share}
  big: {type: integer, value: 1000000000000000000, description: a large whole number}
inputs:
  x: {type: decimal}
outputs:
  factor: {type: decimal, value: '1 + pct / 100'}
  whole: {type: integer, value: '(2 + 3) * 4 - 1'}
  mixed: {type: decimal, value: '100 + pct'}
  thirds: {type: decimal, value: '1 / 3 + 0'}
  scaled: {type: decimal, value: 'x * (100 + pct) / 100'}
  nothing: {type: decimal, optional: true, value: 'pct / (pct - pct)'}
  past: {type: integer, value: 'if x > 0 then big * big * 10 else 0'}
"""
FOLDED_CASES = [Decimal("-1"), Decimal("0"), Decimal("2.50"), Decimal("12345678901234567890.123456789")]


def test_constant_arithmetic_is_folded_to_what_the_code_computes() -> None:
    """Literals and parameters fold to the value and type the generated code gives (int or Decimal, 34 digits); a division by zero and a product past 10^36 are left to run and fail alike."""
    result = load_text(FOLDED, "folded.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    source, constants = generate(result.pack)
    assert Decimal("1.1") in constants.values()
    assert Decimal("110") in constants.values()
    for line in ("o0 = K", "o1 = 19", "o2 = K"):
        assert line in source
    folded, longhand = load(source, constants, "folded"), load(*generate(result.pack, inline_nulls=False), "folded")
    for x in FOLDED_CASES:
        try:
            got: Any = repr(folded({"x": x}, AS_OF))
        except ArithmeticError as exc:
            got = type(exc).__name__
        try:
            want: Any = repr(longhand({"x": x}, AS_OF))
        except ArithmeticError as exc:
            want = type(exc).__name__
        assert got == want, x
    assert got == "OverflowError"  # the last case: 10^37, past what a whole number may hold
