"""The durable_rules backend is held equal to the native engine, and refuses what it cannot run."""

from __future__ import annotations

import datetime as dt
import resource
import threading
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backends import BACKENDS
from engine.compiled import CompiledPack, compile_pack
from engine.durable import BackendRefused, durable
from engine.registry import require_pack_set
from engine.testing import run_pack_tests
from rules.errors import ArbiterError, DecisionError
from rules.load import load_text
from tests.conftest import PACKS
from tests.strategies import RandomTable, inputs_for, random_tables, table_inputs
from tests.test_dmn_tck import _cases, check_model

AS_OF = dt.date(2026, 6, 1)
BUNDLED = list(require_pack_set(PACKS)) + list(require_pack_set(Path(__file__).parent / "packs" / "valid"))
SUPPORTED = [p for p in BUNDLED if not p.ir.steps and not p.ir.sections]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("pack", SUPPORTED, ids=lambda p: p.key)
def test_every_backend_passes_the_embedded_tests_and_decides_as_native(pack: CompiledPack, backend: str) -> None:
    """Through the Backend interface: each backend passes a pack's embedded tests, with the native backend's bytes."""
    compiled = compile_pack(pack.ir, BACKENDS[backend])
    assert compiled.backend.name == backend
    report = run_pack_tests(compiled)
    assert [(o.name, o.failures) for o in report.outcomes if not o.passed] == []
    for test in pack.ir.tests:
        as_of = test.as_of or AS_OF
        try:
            expected: bytes | str = pack.decide(test.input, as_of).to_json()
        except ArbiterError as exc:
            expected = exc.code
        try:
            actual: bytes | str = compiled.decide(test.input, as_of).to_json()
        except ArbiterError as exc:
            actual = exc.code
        assert actual == expected, test.name


def test_unsupported_packs_are_refused_naming_the_tables() -> None:
    """Flows and line-level tables are refused with the reason; the native backend still serves them."""
    refused = {p.key: p for p in BUNDLED if p not in SUPPORTED}
    assert {"order@1.0.0", "pricing@1.0.0", "allocation@1.0.0"} <= set(refused)
    with pytest.raises(BackendRefused) as error:
        durable(refused["pricing@1.0.0"])
    assert "table 'quantity_break' is a line-level (for_each) table" in error.value.message
    with pytest.raises(BackendRefused, match="it is a flow"):
        durable(refused["order@1.0.0"])
    with pytest.raises(BackendRefused, match=r"carries values from one element to the next \(for_each carry\)"):
        durable(refused["carried@1.0.0"])


def test_a_table_with_expression_cells_is_refused() -> None:
    """A '?' cell has no durable_rules equivalent: refused, naming the table."""
    text = """pack: expr
version: 1.0.0
description: x
owner: x
inputs: {a: {type: integer}, b: {type: integer}}
tables:
  - id: cross
    hit_policy: first
    inputs: [a]
    outputs: [flag]
    rows:
      - {id: R1, when: {a: "? > b * 2"}, then: {flag: true}}
      - {id: R2, then: {flag: false}}
outputs: {flag: {type: boolean}}
"""
    result = load_text(text, "expr.yaml")
    assert result.pack is not None
    with pytest.raises(BackendRefused, match=r"table 'cross'.*expression"):
        durable(compile_pack(result.pack))


@pytest.mark.parametrize(("model", "cases"), _cases(), ids=lambda p: p.parent.name if isinstance(p, Path) else "")
def test_dmn_tck_on_durable(model: Path, cases: Path) -> None:
    """Every DMN TCK case passes with durable_rules matching the rows (a requirements graph: in each decision's pack)."""
    pack = check_model(model, cases, "durable")
    decided_by = [pack] if not pack.ir.steps else [pack.pack_set.get(step.pack) for step in pack.ir.steps]
    assert all(p.backend.name == "durable" for p in decided_by)


@cache
def _both(table: RandomTable) -> tuple[CompiledPack, CompiledPack]:
    result = load_text(table.pack_yaml(), "random.yaml")
    assert result.pack is not None
    native = compile_pack(result.pack)
    return native, durable(native)


def _decide(pack: CompiledPack, values: object) -> bytes | str:
    try:
        return pack.decide(values, AS_OF).to_json()
    except DecisionError as exc:
        return exc.code


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=random_tables(), inputs=st.lists(table_inputs, min_size=1, max_size=6))
def test_random_tables_decide_the_same_on_both_backends(table: RandomTable, inputs: list[dict[str, object]]) -> None:
    """On random tables of every hit policy, durable_rules gives the native engine's decision, byte for byte."""
    native, other = _both(table)
    for values in inputs:
        assert _decide(other, values) == _decide(native, values), (values, table.pack_yaml())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_inputs_decide_the_same_on_both_backends(data: st.DataObject) -> None:
    """Inputs drawn from each supported pack's schema get byte-identical decisions on both backends."""
    for pack in SUPPORTED:
        values = data.draw(inputs_for(pack.ir))
        try:
            expected: bytes | str = pack.decide(values, AS_OF).to_json()
        except ArbiterError as exc:
            expected = exc.code
        try:
            actual: bytes | str = durable(pack).decide(values, AS_OF).to_json()
        except ArbiterError as exc:
            actual = exc.code
        assert actual == expected


def _credit_inputs(n: int) -> list[dict[str, object]]:
    from decimal import Decimal

    out = []
    for i in range(n):
        out.append({"order_amount": Decimal(i % 7000) + Decimal("0.25"), "open_receivables": Decimal((i * 37) % 60000),
                    "open_orders": Decimal(i % 500), "credit_limit": (i * 13) % 5 * 20000, "days_past_due": (i * 7) % 120,
                    "risk_tier": "ABCD"[i % 4], "segment": ["smb", "midmarket", "enterprise", "government", "consumer"][i % 5],
                    "payment_terms": ["net30", "net60", "cash_in_advance"][i % 3], "account_age_days": (i * 11) % 400,
                    "prepaid_amount": Decimal(i % 9000), "intercompany": i % 97 == 0})
    return out


def test_eight_threads_decide_correctly_at_once() -> None:
    """8 threads x 20,000 decisions on the durable backend: no crash, every decision equals the native one."""
    native = require_pack_set(PACKS).get("credit", "1.0.0")
    other = durable(native)
    inputs = _credit_inputs(20_000)
    expected = [native.decide(v, AS_OF).to_json() for v in inputs]
    wrong: list[int] = []

    def work(offset: int) -> None:
        for k in range(len(inputs)):
            i = (k + offset * 2500) % len(inputs)
            if other.decide(inputs[i], AS_OF).to_json() != expected[i]:
                wrong.append(i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_memory_stays_flat_over_a_million_decisions() -> None:
    """RSS grows by less than 20 MB between 100,000 and 1,000,000 durable decisions."""
    pack = durable(require_pack_set(PACKS).get("credit", "1.0.0"))
    values = [pack.validate(v) for v in _credit_inputs(1000)]
    for i in range(100_000):
        pack.evaluate(values[i % 1000], AS_OF)
    early = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(900_000):
        pack.evaluate(values[i % 1000], AS_OF)
    late = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert late - early < 20 * 1024


def test_api_and_simulator_serve_the_durable_backend(tmp_path: Path) -> None:
    """With the durable backend the API answers the same bytes, and packs it cannot run stay native."""
    import json
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.conftest import ROOT

    body = (ROOT / "examples" / "credit.json").read_bytes()
    native = TestClient(create_app(PACKS)).post("/v1/decisions/credit?as_of=2026-06-01", content=body, headers={"x-request-id": "r"})
    client = TestClient(create_app(PACKS, backend="durable"))
    other = client.post("/v1/decisions/credit?as_of=2026-06-01", content=body, headers={"x-request-id": "r"})
    assert other.content == native.content
    order = (ROOT / "examples" / "order.json").read_bytes()
    assert client.post("/v1/decisions/order?as_of=2026-06-01", content=order).json()["output"]["decision"] == "release"
    orders = tmp_path / "orders.jsonl"
    orders.write_text(json.dumps({"order_id": "o1", "as_of": "2026-06-01", **json.loads(body)}) + "\n")
    subprocess.run([sys.executable, str(ROOT / "simulate.py"), "run", "--orders", str(orders), "--baseline", str(PACKS),
                    "--candidate", f"{PACKS}#credit@1.1.0", "--pack", "credit", "--backend", "durable", "--workers", "1",
                    "--out", str(tmp_path / "out"), "--effective-on", "2026-06-01"], check=True, capture_output=True)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["orders"] == 1
    assert summary["errors"] == {"baseline": {}, "candidate": {}}


def test_a_traced_decision_is_the_native_trace() -> None:
    """Asking the durable backend for a trace gives the same bytes as the native engine's traced decision."""
    import json

    from tests.conftest import ROOT

    native = require_pack_set(PACKS).get("credit", "1.0.0")
    values = json.loads((ROOT / "examples" / "credit.json").read_text(), parse_float=__import__("decimal").Decimal)
    traced = durable(native).decide(values, AS_OF, trace=True)
    assert traced.trace is not None
    assert traced.to_json() == native.decide(values, AS_OF, trace=True).to_json()
