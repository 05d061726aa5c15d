"""Every bundled step version pinned under every order flow version: a decision or a named refusal, never a server error."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.registry import require_pack_set
from replay.decide import decide_both
from replay.shared import SharedSteps
from replay.specs import SpecPacks
from tests.conftest import PACKS, ROOT

STEP_PACKS = ("pricing", "credit", "allocation", "exception_routing")
PINS = [(flow.stem, pack, version.stem) for flow in sorted((PACKS / "order").glob("*.yaml"))
        for pack in STEP_PACKS for version in sorted((PACKS / pack).glob("*.yaml"))]
DAYS = ("2026-06-01", "2027-05-01")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(PACKS), raise_server_exceptions=False)


@pytest.mark.parametrize(("flow", "pack", "version"), PINS)
def test_a_pinned_step_version_is_decided_or_refused_by_the_step_contract(client: TestClient, flow: str, pack: str,
                                                                          version: str) -> None:
    """A step version the flow cannot read (an output, or a field of the records it lists) is a 422 step-contract naming it."""
    order = json.loads((ROOT / "examples" / "order.json").read_text())
    for day in DAYS:
        r = client.post(f"/v1/decisions/order?version={flow}&versions={pack}@{version}&as_of={day}", json=order)
        assert r.status_code in (200, 422), (day, r.text)
        if r.status_code == 422:
            body = r.json()
            assert body["code"] == "step-contract", body
            assert f"order@{flow}" in body["detail"], body


def test_a_field_missing_from_a_listed_record_names_the_field() -> None:
    """order 1.1.0 reads lines[].backorder_quantity of allocation, which 1.0.0's records lack: refused by that name."""
    client = TestClient(create_app(PACKS), raise_server_exceptions=False)
    order = json.loads((ROOT / "examples" / "order.json").read_text())
    r = client.post("/v1/decisions/order?version=1.1.0&versions=allocation@1.0.0&as_of=2027-05-01", json=order)
    assert r.status_code == 422
    assert r.json()["code"] == "step-contract"
    assert "lines[].backorder_quantity" in r.json()["detail"]
    assert "allocation@1.0.0" in r.json()["detail"]


def test_a_field_read_deeper_than_the_contract_check_sees_is_a_step_contract_refusal() -> None:
    """A flow looping over a step's records reads 'weight', which src 1.0.0's lack: a 422 naming it, not a 500."""
    client = TestClient(create_app(ROOT / "tests" / "packs" / "deep_step_read"), raise_server_exceptions=False)
    for trace in ("false", "true"):
        refused = client.post(f"/v1/decisions/flow?versions=src@1.0.0&as_of=2026-06-01&trace={trace}", json={"n": 1})
        assert refused.status_code == 422
        assert refused.json()["code"] == "step-contract"
        assert "'weight'" in refused.json()["detail"]
    decided = client.post("/v1/decisions/flow?versions=src@2.0.0&as_of=2026-06-01", json={"n": 1})
    assert decided.json()["output"] == {"total": 50}


def test_a_replay_of_both_sides_in_one_flow_run_refuses_that_side_alone() -> None:
    """Replayed in one flow run for both sides, the side running src 1.0.0 is refused as step-contract; the other decides."""
    packs = require_pack_set(ROOT / "tests" / "packs" / "deep_step_read")
    day = dt.date(2026, 6, 1)
    shared = SharedSteps()
    base, cand = SpecPacks(packs, {"src": "1.0.0"}, day, shared), SpecPacks(packs, {"src": "2.0.0"}, day, shared)
    shared.pair(base, cand)
    a, b = decide_both(base, cand, "flow", {"n": 1}, day)
    assert (a["decision"], a["error"]) == ("error", "step-contract")
    assert b["total"] == 50
