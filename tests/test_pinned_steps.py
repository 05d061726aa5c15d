"""Every bundled step version pinned under every order flow version: a decision or a named refusal, never a server error."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
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
