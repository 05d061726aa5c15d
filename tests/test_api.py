"""The HTTP API: contract, errors as problem+json, auth, reload; and a real uvicorn process."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine import jsonio
from engine.registry import require_pack_set
from tests.conftest import PACKS, ROOT

EXAMPLE = (ROOT / "examples" / "credit.json").read_bytes()


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(PACKS, admin_token="s3cret"))


def test_decision_bytes_equal_the_engine(client: TestClient) -> None:
    """The API's decision is the engine's decision, byte for byte, plus a request id."""
    response = client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, headers={"x-request-id": "r-1"})
    assert response.status_code == 200
    pack = require_pack_set(PACKS).get("credit", None, dt.date(2026, 6, 1))
    expected = pack.decide(jsonio.loads(EXAMPLE), dt.date(2026, 6, 1)).to_json()
    assert response.content == expected[:-1] + b',"request_id":"r-1"}'


def test_money_is_exact_on_the_wire(client: TestClient) -> None:
    """0.10 three times is 0.30 in the JSON text, not 0.30000000000000004."""
    body = b'{"order_amount": 0.10, "open_receivables": 0.10, "open_orders": 0.10, "credit_limit": 1, "days_past_due": 0, "risk_tier": "A", "segment": "smb", "payment_terms": "net30", "account_age_days": 900}'
    response = client.post("/v1/decisions/credit?as_of=2026-06-01", content=body)
    assert b'"exposure":0.30' in response.content
    assert b'"headroom":0.70' in response.content


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/decisions/credit", b'{"order_amount": NaN}', 400, "request-malformed"),
        ("/v1/decisions/credit", b"[" * 5000 + b"]" * 5000, 400, "request-malformed"),
        ("/v1/decisions/credit", b"{\"order_amount\": " + b"9" * 100_000 + b"}", 400, "request-malformed"),
        ("/v1/decisions/credit", b"not json", 400, "request-malformed"),
        ("/v1/decisions/credit", b'{"order_amount": "12"}', 422, "input-invalid"),
        ("/v1/decisions/credit", b'{"order_amount": 1e400}', 422, "input-invalid"),
        ("/v1/decisions/credit?as_of=yesterday", b"{}", 400, "request-malformed"),
        ("/v1/decisions/credit?as_of=1999-01-01", b"{}", 404, "unknown-version"),
        ("/v1/decisions/credit?version=9.9.9", b"{}", 404, "unknown-version"),
        ("/v1/decisions/nope", b"{}", 404, "unknown-pack"),
        ("/v1/decisions/credit", b"{" + b'"a":1,' * 200_000 + b'"b":1}', 413, "request-too-large"),
    ],
)
def test_bad_requests_get_problem_details(client: TestClient, path: str, body: bytes, status: int, code: str) -> None:
    """Each bad request gets its 4xx and an application/problem+json body with a stable code."""
    response = client.post(path, content=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_input_errors_carry_json_pointers(client: TestClient) -> None:
    """A 422 lists every problem with the JSON pointer of its field."""
    response = client.post("/v1/decisions/credit?as_of=2026-06-01", content=b'{"order_amount": -1, "risk_tier": "Z"}')
    errors = {e["pointer"]: e["code"] for e in response.json()["errors"]}
    assert errors["/order_amount"] == "minimum"
    assert errors["/risk_tier"] == "enum"
    assert errors["/credit_limit"] == "missing"


def test_batch_returns_each_result_or_error_in_place(client: TestClient) -> None:
    """A batch answers item by item; a bad item does not spoil the others."""
    good = jsonio.loads(EXAMPLE)
    body = jsonio.dumps({"inputs": [good, {"order_amount": 1}, good]})
    response = client.post("/v1/decisions/credit/batch?as_of=2026-06-01", content=body)
    results = response.json()["results"]
    assert response.status_code == 200
    assert [("error" in r) for r in results] == [False, True, False]
    assert results[1]["error"]["code"] == "input-invalid"


def test_api_keys_are_required_when_configured() -> None:
    """With API keys set, a missing key is 401 and a wrong one 403."""
    client = TestClient(create_app(PACKS, api_keys=["k1"]))
    assert client.post("/v1/decisions/credit", content=EXAMPLE).status_code == 401
    assert client.post("/v1/decisions/credit", content=EXAMPLE, headers={"x-api-key": "nope"}).status_code == 403
    ok = client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, headers={"authorization": "Bearer k1"})
    assert ok.status_code == 200


def test_reload_needs_the_token_and_keeps_serving_on_a_broken_pack(tmp_path: Path) -> None:
    """A broken pack on reload answers 422 with diagnostics and leaves the served set unchanged."""
    folder = tmp_path / "credit"
    folder.mkdir()
    source = (PACKS / "credit" / "1.0.0.yaml").read_text()
    (folder / "1.0.0.yaml").write_text(source)
    client = TestClient(create_app(tmp_path, admin_token="s3cret"))
    assert client.post("/v1/admin/reload").status_code == 401
    assert client.post("/v1/admin/reload", headers={"authorization": "Bearer wrong"}).status_code == 403
    before = client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE).json()["digest"]
    (folder / "1.0.0.yaml").write_text(source.replace("exposure: open_receivables", "exposure: open_receivablez"))
    response = client.post("/v1/admin/reload", headers={"authorization": "Bearer s3cret"})
    assert response.status_code == 422
    assert any(d["code"] == "unknown-name" for d in response.json()["diagnostics"])
    after = client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE).json()["digest"]
    assert after == before


def test_admin_routes_are_off_without_a_token() -> None:
    """Without ARBITER_ADMIN_TOKEN, reload does not exist."""
    client = TestClient(create_app(PACKS))
    assert client.post("/v1/admin/reload", headers={"authorization": "Bearer x"}).status_code == 404


def test_packs_listing_shows_versions_digests_and_schemas(client: TestClient) -> None:
    """GET /v1/packs/{pack} gives versions, windows, digests and the input JSON Schema."""
    detail = client.get("/v1/packs/credit").json()
    version = detail["versions"][0]
    assert len(version["digest"]) == 64
    assert "order_amount" in version["input_schema"]["properties"]
    assert version["effective_from"] == "2026-01-01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_real_uvicorn_process_serves_decisions() -> None:
    """`arbiter serve` starts a real server that answers over HTTP on a free port."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--packs", str(PACKS), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        response = httpx.post(f"{base}/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, timeout=5)
        assert response.status_code == 200
        assert response.json()["output"]["decision"] in ("release", "hold", "reject")
        assert httpx.post(f"{base}/v1/decisions/credit", content=b"{", timeout=5).status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_json_numbers_are_read_exactly() -> None:
    """A 38-digit amount survives parsing digit for digit (no binary float on the way)."""
    from decimal import Decimal

    value = jsonio.loads(b'{"a": 12345678901234567890.123456789012345678, "b": 0.1}')
    assert value == {"a": Decimal("12345678901234567890.123456789012345678"), "b": Decimal("0.1")}
