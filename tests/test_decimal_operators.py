"""Decimal arithmetic as Python operators under CTX gives what CTX's methods give, and leaves the caller's context alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, getcontext
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import jsonio
from engine.backend import load
from engine.codegen import generate
from engine.compiled import CompiledPack, compile_pack
from engine.registry import require_pack_set
from importers.conformance import import_graph
from rules.errors import DecisionError
from rules.load import load_text
from tests.conftest import PACKS, ROOT, shared
from tests.strategies import inputs_for

VALID = ROOT / "tests" / "packs" / "valid"
AS_OF = dt.date(2026, 6, 1)
GRAPHS = ["credit-limit-adjustment", "decision-table-shipping", "shipping-carrier-selector", "warehouse-storage-location"]

# Thirty-one significant digits: CTX keeps them all, Python's default 28-digit context would not.
DIGITS = """
pack: digits
version: 1.0.0
description: arithmetic past 28 digits, with enough operators to run under CTX
owner: tests
inputs:
  a: {type: decimal}
  b: {type: decimal}
outputs:
  r: {type: decimal, value: 'a * 1.000000000000000000000000000001 + 0.1 + 0.2 + 0.3 + 0.4 + 0.5 - 1.5'}
  q: {type: decimal, value: '(b - b) / 2 + 1 / (b - b) * 3 + 4'}
"""


def digits() -> CompiledPack:
    result = load_text(DIGITS, "digits.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    return compile_pack(result.pack)


@cache
def with_operators() -> list[tuple[CompiledPack, Any]]:
    """Every pack whose code has decimal operators, with its longhand (CTX's method per operator)."""
    packs = [p for folder in (PACKS, VALID) for p in require_pack_set(folder)]
    packs += [outcome.pack for name in GRAPHS if (outcome := import_graph(shared("zen", "graphs", f"{name}.json"))).pack]
    packs.append(digits())
    return [(p, load(*generate(p.ir, operators=False), p.key)) for p in packs if "setcontext(CTX)" in p.source]


def outcome(evaluate: Any, values: dict[str, Any]) -> Any:
    """Bytes and reprs (so 0 and Decimal('0.0') differ) of an evaluation, or what it raised."""
    try:
        found = evaluate(values, AS_OF)
    except Exception as exc:  # the two must fail alike
        return type(exc).__name__
    return jsonio.dumps(list(found)), repr(found)


def test_the_cost_tables_and_the_digits_pack_run_on_operators() -> None:
    """The zen cost tables and the test pack are among the packs written with operators."""
    names = {p.name for p, _ in with_operators()}
    assert {"shipping_carrier_selector", "digits"} <= names


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_operators_equal_the_context_methods(data: st.DataObject) -> None:
    """On any valid input, operators and CTX's methods give the same values, types, rows and reasons, or fail alike."""
    pack, longhand = data.draw(st.sampled_from(with_operators()))
    values = pack.validate(data.draw(inputs_for(pack.ir)))
    assert outcome(pack._evaluate, values) == outcome(longhand, values)


def test_operators_keep_34_digits_and_give_the_caller_its_context_back() -> None:
    """31 digits survive; after a decision, and after one that fails, the caller's 28-digit context is current again."""
    caller = getcontext()
    pack = digits()
    with pytest.raises(DecisionError) as raised:
        pack.decide({"a": 3, "b": 1}, AS_OF)  # 1 / (b - b) is null: q is missing, raised inside the evaluation
    assert raised.value.code == "output-missing"
    assert getcontext() is caller
    fine = load_text(DIGITS.replace("1 / (b - b)", "1 / b"), "digits.yaml")
    assert fine.pack is not None
    out = compile_pack(fine.pack).decide({"a": 3, "b": 2}, AS_OF).output
    assert out["r"] == Decimal("3.000000000000000000000000000003")
    assert out["q"] == Decimal("5.5")
    assert getcontext() is caller
    assert getcontext().prec == 28
