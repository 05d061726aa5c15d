"""Nullable arithmetic checked inline, and the other inline forms, give what the helpers give, on every pack that has them."""

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
from importers.conformance import import_graph
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
