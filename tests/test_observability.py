"""Following a request: request ids, JSON access logs, audit-grade decision-log records, limits, pinned steps."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api import logs
from api.app import create_app
from api.audit import MASKED, Mask, key_id
from api.settings import Limits, Settings
from engine import jsonio
from tests.conftest import PACKS, ROOT
from tests.faults import start_server, stop
from tests.test_api import EXAMPLE

ORDER = (ROOT / "examples" / "order.json").read_bytes()
RETAIL = (ROOT / "examples" / "order-online-retail-536365.json").read_bytes()


def _records(path: Path, app_client: TestClient) -> list[dict[str, Any]]:
    """The decision log's records once the app has shut down (its writer drained)."""
    app_client.__exit__(None, None, None)
    return [jsonio.loads(line) for line in path.read_bytes().splitlines()]


def test_one_request_is_followed_by_its_id_end_to_end(tmp_path: Path) -> None:
    """A live server: the caller's X-Request-ID is in the response header, the JSON access line and the decision log."""
    log_path, stderr_path = tmp_path / "decisions.jsonl", tmp_path / "stderr.log"
    env = {"ARBITER_DECISION_LOG": str(log_path), "ARBITER_API_KEYS": "k-secret", "ARBITER_LOG_LEVEL": "INFO"}
    proc, base = start_server(env, stderr=stderr_path)
    try:
        headers = {"x-request-id": "follow-me-42", "x-api-key": "k-secret"}
        response = httpx.post(f"{base}/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, headers=headers, timeout=10)
        refused = httpx.post(f"{base}/v1/decisions/credit", content=b"{", headers={"x-request-id": "bad id!"}, timeout=10)
    finally:
        stop(proc)
    assert response.headers["x-request-id"] == "follow-me-42"
    assert refused.status_code == 401
    generated = refused.headers["x-request-id"]
    assert generated != "bad id!"
    assert refused.json()["request_id"] == generated
    lines = [jsonio.loads(line) for line in stderr_path.read_bytes().splitlines() if line.startswith(b"{")]
    access = [line for line in lines if line["logger"] == "arbiter.access" and line.get("request_id") == "follow-me-42"]
    assert len(access) == 1
    assert {k: access[0][k] for k in ("method", "route", "pack", "version", "status")} == {
        "method": "POST", "route": "/v1/decisions/{pack}", "pack": "credit", "version": "1.0.0", "status": 200}
    assert access[0]["latency_ms"] > 0
    record = jsonio.loads(log_path.read_bytes().splitlines()[0])
    assert record["request_id"] == "follow-me-42"
    assert record["caller"] == key_id(b"k-secret")
    assert b"k-secret" not in log_path.read_bytes()
    assert {"ts", "decision_id", "pack", "version", "digest", "as_of", "latency_ms", "input", "output"} <= set(record)


def test_every_response_carries_the_request_id() -> None:
    """Success, 400, 404, 405 and the docs: each response has X-Request-ID; problem bodies repeat it."""
    client = TestClient(create_app(PACKS))
    calls = [("post", "/v1/decisions/credit?as_of=2026-06-01", EXAMPLE), ("post", "/v1/decisions/credit", b"{"),
             ("post", "/v1/decisions/nope", b"{}"), ("get", "/v1/decisions/credit", None), ("get", "/healthz", None)]
    for i, (method, path, body) in enumerate(calls):
        response = client.request(method, path, content=body, headers={"x-request-id": f"id-{i}"})
        assert response.headers["x-request-id"] == f"id-{i}", path
        if response.status_code >= 400:
            assert response.json()["request_id"] == f"id-{i}", path


def test_a_batch_records_each_item_and_counts_each_outcome(tmp_path: Path) -> None:
    """One record per item, each its own decision id; a refused item is recorded with its problem and counted."""
    log_path = tmp_path / "decisions.jsonl"
    client = TestClient(create_app(PACKS, decision_log=log_path))
    client.__enter__()
    good = jsonio.loads(EXAMPLE)
    body = jsonio.dumps({"inputs": [good, {"order_amount": 1}, good]})
    response = client.post("/v1/decisions/credit/batch?as_of=2026-06-01", content=body, headers={"x-request-id": "b-1"})
    assert response.status_code == 200
    metrics = client.get("/metrics").text
    assert 'arbiter_decisions_total{pack="credit",version="1.0.0",outcome="hold"} 2' in metrics
    assert 'arbiter_decisions_total{pack="credit",version="1.0.0",outcome="refused"} 1' in metrics
    records = _records(log_path, client)
    assert [r["batch_index"] for r in records] == [0, 1, 2]
    assert len({r["decision_id"] for r in records}) == 3
    assert {r["request_id"] for r in records} == {"b-1"}
    assert [r["status"] for r in records] == [200, 422, 200]
    assert records[1]["problem"]["code"] == "input-invalid"
    assert records[0]["output"] == jsonio.loads(jsonio.dumps(response.json()["results"][0]["output"]))


def test_a_refused_decision_is_recorded_with_its_problem(tmp_path: Path) -> None:
    """A 422 leaves a record: status, problem with pointers, the input as sent, the resolved pack version."""
    log_path = tmp_path / "decisions.jsonl"
    client = TestClient(create_app(PACKS, decision_log=log_path))
    client.__enter__()
    client.post("/v1/decisions/credit?as_of=2026-06-01", content=b'{"order_amount": -1}', headers={"x-request-id": "r-422"})
    (record,) = _records(log_path, client)
    assert (record["status"], record["pack"], record["version"], record["request_id"]) == (422, "credit", "1.0.0", "r-422")
    assert record["input"] == {"order_amount": -1}
    assert "/order_amount" in [e["pointer"] for e in record["problem"]["errors"]]


def test_masked_fields_never_reach_the_log(tmp_path: Path) -> None:
    """ARBITER_LOG_MASK pointers (with * over a list) are masked in the record; the answer is unchanged."""
    log_path = tmp_path / "decisions.jsonl"
    settings = Settings(mask=("/customer/customer_id", "/lines/*/sku", "/order_id", "/warehouses/*/stock/*/sku"))
    client = TestClient(create_app(PACKS, decision_log=log_path, settings=settings))
    client.__enter__()
    plain = TestClient(create_app(PACKS)).post("/v1/decisions/order?as_of=2026-06-01", content=ORDER)
    masked = client.post("/v1/decisions/order?as_of=2026-06-01", content=ORDER)
    assert jsonio.loads(masked.content)["output"] == jsonio.loads(plain.content)["output"]
    (record,) = _records(log_path, client)
    assert record["input"]["customer"]["customer_id"] == MASKED
    assert {line["sku"] for line in record["input"]["lines"]} == {MASKED}
    assert record["output"]["order_id"] == MASKED
    assert b"WIDGET-01" not in log_path.read_bytes()
    assert record["masked"] == ["/customer/customer_id", "/lines/*/sku", "/order_id", "/warehouses/*/stock/*/sku"]
    assert record["steps"] == {"pricing": "1.0.0", "credit": "1.0.0", "allocation": "1.0.0", "routing": "1.0.0"}


def test_mask_copies_only_what_it_masks() -> None:
    """Masking leaves the value it was given untouched and ignores pointers that reach nothing."""
    value = {"a": {"b": 1, "c": [1, 2]}, "d": [{"e": 1}, {"e": 2}]}
    before = jsonio.dumps(value)
    masked = Mask(["/a/b", "/d/*/e", "/x/y", "/a/c/5"])(value)
    assert masked == {"a": {"b": MASKED, "c": [1, 2]}, "d": [{"e": MASKED}, {"e": MASKED}]}
    assert jsonio.dumps(value) == before
    with pytest.raises(ValueError, match="JSON pointer"):
        Mask(["customer_id"])


def test_a_request_pins_the_versions_of_a_flows_steps() -> None:
    """versions=pricing@2.0.0 runs today's order flow with candidate pricing; steps says so; bad pins are 4xx."""
    client = TestClient(create_app(PACKS))
    today = client.post("/v1/decisions/order?as_of=2026-06-01", content=ORDER).json()
    pinned = client.post("/v1/decisions/order?as_of=2026-06-01&versions=pricing@2.0.0,credit@1.1.0", content=ORDER).json()
    assert (today["steps"]["pricing"], today["steps"]["credit"]) == ("1.0.0", "1.0.0")
    assert (pinned["steps"]["pricing"], pinned["steps"]["credit"]) == ("2.0.0", "1.1.0")
    assert pinned["version"] == today["version"] == "1.0.0"
    for query, status, code in [("versions=pricing@9.9.9", 404, "unknown-version"), ("versions=nope@1.0.0", 404, "unknown-pack"),
                                ("versions=pricing", 400, "request-malformed"),
                                ("versions=pricing@2.0.0,pricing@1.0.0", 400, "request-malformed")]:
        response = client.post(f"/v1/decisions/order?as_of=2026-06-01&{query}", content=ORDER)
        assert (response.status_code, response.json()["code"]) == (status, code), query


def test_a_thousand_typical_orders_fit_one_batch_by_default() -> None:
    """1,000 seven-line Online Retail orders (1.7 MB) pass the default limits in one batch."""
    body = b'{"inputs": [' + b",".join([RETAIL] * 1000) + b"]}"
    assert len(body) > 1024 * 1024  # the old fixed 1 MiB limit refused this
    response = TestClient(create_app(PACKS)).post("/v1/decisions/order/batch?as_of=2026-06-01", content=body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1000
    assert all("output" in r for r in results)


def test_limits_come_from_configuration() -> None:
    """Body size, batch size and lines per order are configured; each refusal is a 413 naming its setting."""
    settings = Settings(limits=Limits(body_bytes=5000, batch=2, lines=1))
    client = TestClient(create_app(PACKS, settings=settings))
    too_many_lines = client.post("/v1/decisions/order?as_of=2026-06-01", content=ORDER)
    assert (too_many_lines.status_code, too_many_lines.json()["code"]) == (413, "request-too-large")
    assert "ARBITER_MAX_LINES" in too_many_lines.json()["detail"]
    batch = client.post("/v1/decisions/order/batch?as_of=2026-06-01", content=b'{"inputs": [' + ORDER + b"]}")
    assert batch.json()["results"][0]["error"]["code"] == "request-too-large"
    three = client.post("/v1/decisions/credit/batch?as_of=2026-06-01", content=b'{"inputs": [{}, {}, {}]}')
    assert "ARBITER_MAX_BATCH" in three.json()["detail"]
    big = client.post("/v1/decisions/credit?as_of=2026-06-01", content=b" " * 6000 + EXAMPLE)
    assert "ARBITER_MAX_BODY_BYTES" in big.json()["detail"]
    assert Settings.from_env({"ARBITER_MAX_BATCH": "5"}).limits.batch == 5
    with pytest.raises(ValueError, match="ARBITER_MAX_LINES"):
        Settings.from_env({"ARBITER_MAX_LINES": "-3"})


def test_admin_reloads_are_logged_with_their_outcome(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An accepted reload logs 'reloaded', a wrong token 'forbidden'."""
    client = TestClient(create_app(PACKS, admin_token="s3cret"))
    with caplog.at_level(logging.INFO, logger="arbiter"):
        client.post("/v1/admin/reload", headers={"authorization": "Bearer s3cret"})
        client.post("/v1/admin/reload", headers={"authorization": "Bearer nope"})
    outcomes = [getattr(r, "outcome", None) for r in caplog.records if r.name == "arbiter.api"]
    assert outcomes == ["reloaded", "forbidden"]


def test_log_lines_are_json_with_the_level_from_flag_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag wins over ARBITER_LOG_LEVEL, INFO by default; a line is one JSON object with the request id."""
    monkeypatch.setenv("ARBITER_LOG_LEVEL", "warning")
    assert logs.level_from(None) == "WARNING"
    assert logs.level_from("debug") == "DEBUG"
    monkeypatch.delenv("ARBITER_LOG_LEVEL")
    assert logs.level_from(None) == "INFO"
    with pytest.raises(ValueError, match="log level"):
        logs.level_from("loud")
    record = logging.makeLogRecord({"name": "arbiter.api", "levelname": "INFO", "msg": "x %s", "args": ("y",), "pack": "credit"})
    token = logs.REQUEST_ID.set("rid-1")
    try:
        line = jsonio.loads(logs.JsonFormatter().format(record))
    finally:
        logs.REQUEST_ID.reset(token)
    assert {k: line[k] for k in ("level", "logger", "msg", "request_id", "pack")} == {
        "level": "INFO", "logger": "arbiter.api", "msg": "x y", "request_id": "rid-1", "pack": "credit"}
    assert dt.datetime.fromisoformat(line["ts"]).tzinfo is not None


def test_the_server_span_carries_the_pack_version_and_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """With an OpenTelemetry SDK provider, FastAPI's server span continues the traceparent and gets Arbiter's facts."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr("opentelemetry.trace.get_tracer_provider", lambda: provider)
    client = TestClient(create_app(PACKS))
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, headers={"traceparent": parent, "x-request-id": "t-1"})
    (server,) = [s for s in exporter.get_finished_spans() if s.name == "POST /v1/decisions/{pack}"]
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert server.attributes is not None
    assert {k: server.attributes.get(k) for k in ("arbiter.pack", "arbiter.version", "arbiter.request_id")} == {
        "arbiter.pack": "credit", "arbiter.version": "1.0.0", "arbiter.request_id": "t-1"}
