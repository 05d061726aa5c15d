"""Declared fallbacks: a named failure answers the pack's safe output, 200, with its cause; logged and counted."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.fallbacks import fallback_decision
from engine import jsonio
from engine.registry import build_pack_set, require_pack_set
from rules.errors import DecisionError
from tests.conftest import PACKS
from tests.test_api import EXAMPLE

FALLBACK = """
fallbacks:
  - on: [missing_input]
    output: {decision: hold, hold_code: MANUAL_REVIEW, approver_level: credit_analyst}
    reason: Incomplete order; held for manual review.
  - on: [evaluation_error]
    output: {decision: hold, hold_code: ENGINE_ERROR}
"""


def _packs(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "packs" / "credit"
    folder.mkdir(parents=True)
    (folder / "1.0.0.yaml").write_text((PACKS / "credit" / "1.0.0.yaml").read_text() + extra)
    return tmp_path / "packs"


def test_a_declared_failure_answers_the_fallback_with_its_cause(tmp_path: Path) -> None:
    """Missing inputs answer 200 with the fallback output, reason and cause; logged with its cause and counted."""
    log_path = tmp_path / "d.jsonl"
    client = TestClient(create_app(_packs(tmp_path, FALLBACK), decision_log=log_path))
    client.__enter__()
    response = client.post("/v1/decisions/credit?as_of=2026-06-01", content=b'{"order_amount": 1}')
    assert response.status_code == 200
    body = response.json()
    assert body["output"] == {"decision": "hold", "hold_code": "MANUAL_REVIEW", "approver_level": "credit_analyst"}
    assert body["reasons"] == ["Incomplete order; held for manual review."]
    assert body["fallback"]["cause"] == "missing_input"
    assert body["fallback"]["problem"]["code"] == "input-invalid"
    assert "/credit_limit" in [e["pointer"] for e in body["fallback"]["problem"]["errors"]]
    batch = client.post("/v1/decisions/credit/batch?as_of=2026-06-01", content=b'{"inputs": [{"order_amount": 1}, ' + EXAMPLE + b"]}")
    assert [r.get("fallback", {}).get("cause") for r in batch.json()["results"]] == ["missing_input", None]
    assert 'arbiter_decisions_total{pack="credit",version="1.0.0",outcome="fallback"} 2' in client.get("/metrics").text
    client.__exit__(None, None, None)
    records = [jsonio.loads(line) for line in log_path.read_bytes().splitlines()]
    assert [r["fallback"]["cause"] if "fallback" in r else None for r in records] == ["missing_input", "missing_input", None]
    assert records[0]["status"] == 200


def test_a_failure_no_fallback_names_is_refused_as_before(tmp_path: Path) -> None:
    """An invalid (not just missing) input is not missing_input: the 422 stands."""
    client = TestClient(create_app(_packs(tmp_path, FALLBACK)))
    bad = jsonio.loads(EXAMPLE) | {"order_amount": -5}
    response = client.post("/v1/decisions/credit?as_of=2026-06-01", content=jsonio.dumps(bad))
    assert response.status_code == 422
    assert response.json()["code"] == "input-invalid"


def test_without_a_declaration_nothing_changes() -> None:
    """The bundled credit pack declares none: a missing input is a 422 problem."""
    response = TestClient(create_app(PACKS)).post("/v1/decisions/credit?as_of=2026-06-01", content=b'{"order_amount": 1}')
    assert response.status_code == 422


def test_an_evaluation_error_finds_its_fallback(tmp_path: Path) -> None:
    """A DecisionError is an evaluation_error: the second declaration answers it."""
    pack = require_pack_set(_packs(tmp_path, FALLBACK)).get("credit", "1.0.0")
    found = fallback_decision(pack, pack.ir.effective_from, DecisionError("arithmetic", "arithmetic out of range"))
    assert found is not None
    assert found[0].output == {"decision": "hold", "hold_code": "ENGINE_ERROR"}
    assert found[1]["cause"] == "evaluation_error"


def test_a_fallback_naming_an_undeclared_output_is_a_pack_error(tmp_path: Path) -> None:
    """A typo in a fallback's output is reported at its line, with the closest output."""
    packs = _packs(tmp_path, "fallbacks:\n  - on: [invalid_input]\n    output: {decison: hold}\n")
    pack_set, diagnostics = build_pack_set(packs)
    assert pack_set is None
    (error,) = [d for d in diagnostics if d.severity == "error"]
    assert error.code == "unknown-output"
    assert "decision" in error.message
    assert error.position.line > 150
