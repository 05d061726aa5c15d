"""The HTTP API: contract, errors as problem+json, auth, reload; and a real uvicorn process."""

from __future__ import annotations

import datetime as dt
import gc
import subprocess
import sys
import time
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.metrics import Metrics
from engine import jsonio
from engine.registry import require_pack_set
from tests.conftest import PACKS, ROOT
from tests.faults import start_server
from tests.strategies import metric_events

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


def test_query_pins_the_version_and_asks_for_the_trace(client: TestClient) -> None:
    """version= pins a pack version and trace=true adds the trace, on one decision and on a batch."""
    pinned = client.post("/v1/decisions/credit?version=1.0.0&as_of=2027-02-01&trace=true", content=EXAMPLE).json()
    assert pinned["version"] == "1.0.0"
    assert "trace" in pinned
    newest = client.post("/v1/decisions/credit?as_of=2027-02-01", content=EXAMPLE).json()
    assert newest["version"] == "1.1.0"
    assert "trace" not in newest
    batch = client.post("/v1/decisions/credit/batch?version=1.0.0&as_of=2027-02-01",
                        content=b'{"inputs": [' + EXAMPLE + b"]}").json()
    assert batch["version"] == "1.0.0"
    assert batch["as_of"] == "2027-02-01"


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
        ("/v1/decisions/credit", b"{" + b'"a":1,' * 800_000 + b'"b":1}', 413, "request-too-large"),
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


@pytest.mark.parametrize("pack", ["credit", "order"])
@pytest.mark.parametrize("logged", [False, True])
def test_batch_items_are_the_engine_decisions_byte_for_byte(tmp_path: Path, pack: str, logged: bool) -> None:
    """Each batch result is the engine's decision for that input, with or without the decision log."""
    example = (ROOT / "examples" / f"{pack}.json").read_bytes()
    client = TestClient(create_app(PACKS, decision_log=tmp_path / "log.jsonl" if logged else None))
    response = client.post(f"/v1/decisions/{pack}/batch?as_of=2026-06-01", content=b'{"inputs": [' + example + b"]}")
    assert response.status_code == 200
    (item,) = jsonio.loads(response.content)["results"]
    engine = require_pack_set(PACKS).get(pack, None, dt.date(2026, 6, 1))
    assert jsonio.dumps(item) == engine.decide(jsonio.loads(example), dt.date(2026, 6, 1)).to_json()


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
    switch = sys.getswitchinterval()
    assert client.post("/v1/admin/reload").status_code == 401
    assert client.post("/v1/admin/reload", headers={"authorization": "Bearer wrong"}).status_code == 403
    before = client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE).json()["digest"]
    (folder / "1.0.0.yaml").write_text(source.replace("exposure: open_receivables", "exposure: open_receivablez"))
    response = client.post("/v1/admin/reload", headers={"authorization": "Bearer s3cret"})
    assert response.status_code == 422
    assert any(d["code"] == "unknown-name" for d in response.json()["diagnostics"])
    after = client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE).json()["digest"]
    assert after == before
    assert sys.getswitchinterval() == switch  # the reload compiles with short GIL slices, then puts them back


def test_served_packs_are_frozen_out_of_collection_and_a_reload_frees_the_replaced_ones(tmp_path: Path) -> None:
    """Serving freezes the app and its packs out of the garbage collector; a reload lets the replaced pack set go."""
    (tmp_path / "credit").mkdir()
    (tmp_path / "credit" / "1.0.0.yaml").write_text((PACKS / "credit" / "1.0.0.yaml").read_text())
    try:
        with TestClient(create_app(tmp_path, admin_token="t")) as client:
            assert gc.get_freeze_count() > 0
            service = client.app.state.service  # type: ignore[attr-defined]
            replaced = weakref.ref(service.packs.get("credit", None, dt.date(2026, 6, 1)))
            assert client.post("/v1/admin/reload", headers={"authorization": "Bearer t"}).status_code == 200
            assert service.packs.get("credit", None, dt.date(2026, 6, 1)) is not replaced()
            assert replaced() is None  # frozen without a collection first, its reference cycles would live on
    finally:
        gc.unfreeze()


def test_a_reload_compiles_in_short_gil_slices(tmp_path: Path) -> None:
    """While a reload compiles, threads switch every 0.5 ms so requests are not held behind 5 ms slices."""
    from api import service as app_module

    seen = []
    original = app_module.build_pack_set

    def spy(root: Path) -> Any:
        seen.append(sys.getswitchinterval())
        return original(root)

    (tmp_path / "credit").mkdir()
    (tmp_path / "credit" / "1.0.0.yaml").write_text((PACKS / "credit" / "1.0.0.yaml").read_text())
    client = TestClient(create_app(tmp_path, admin_token="t"))
    app_module.build_pack_set = spy  # type: ignore[assignment]
    try:
        assert client.post("/v1/admin/reload", headers={"authorization": "Bearer t"}).status_code == 200
    finally:
        app_module.build_pack_set = original
    assert seen == [0.0005]
    assert sys.getswitchinterval() == 0.005


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


def _start_server(env_extra: dict[str, str], packs: Path = PACKS, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    return start_server(env_extra, packs, workers)


def test_real_uvicorn_process_serves_decisions() -> None:
    """`arbiter serve` starts a real server that answers over HTTP on a free port."""
    proc, base = _start_server({})
    try:
        response = httpx.post(f"{base}/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, timeout=5)
        assert response.status_code == 200
        assert response.json()["output"]["decision"] in ("release", "hold", "reject")
        assert httpx.post(f"{base}/v1/decisions/credit", content=b"{", timeout=5).status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _log_decisions(path: Path, worker: str, count: int) -> None:
    from api.decision_log import DecisionLog
    from engine.compiled import Decision

    log = DecisionLog(path)
    decision = Decision("order", "1.0.0", "0" * 64, dt.date(2026, 6, 1), {"decision": "release"}, {}, [])
    for i in range(count):  # records from 300 bytes to 30 KB: inside, across and beyond the write buffer
        log.write(f"{worker}-{i}", decision, {"lines": [{"sku": f"S{j}", "note": worker * 40} for j in range(i % 7 * 50 + 1)]})
    log.close()


def test_workers_sharing_a_decision_log_lose_no_record(tmp_path: Path) -> None:
    """Two processes appending to one decision log, as the workers of one server do: every record, whole."""
    import multiprocessing

    path = tmp_path / "decisions.jsonl"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_log_decisions, args=(path, worker, 300)) for worker in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    ids = [jsonio.loads(line)["request_id"] for line in path.read_bytes().splitlines()]
    assert sorted(ids) == sorted(f"{w}-{i}" for w in ("a", "b") for i in range(300))


def test_decision_log_keeps_every_line_of_a_clean_shutdown(tmp_path: Path) -> None:
    """With ARBITER_DECISION_LOG set, SIGTERM after N decisions leaves N replayable lines."""
    log_path = tmp_path / "decisions.jsonl"
    proc, base = _start_server({"ARBITER_DECISION_LOG": str(log_path)})
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            for i in range(150):
                response = http.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, headers={"x-request-id": f"r{i}"})
                assert response.status_code == 200
    finally:
        proc.terminate()
        # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit too
        assert proc.wait(timeout=15) in (0, -15)
    lines = log_path.read_bytes().splitlines()
    assert len(lines) == 150
    pack = require_pack_set(PACKS).get("credit", None, dt.date(2026, 6, 1))
    records = [jsonio.loads(line) for line in lines]
    assert [r["request_id"] for r in records] == [f"r{i}" for i in range(150)]
    replayed = pack.decide(records[-1]["input"], dt.date.fromisoformat(records[-1]["as_of"]))
    assert jsonio.dumps(replayed.output) == jsonio.dumps(records[-1]["output"])


def _digests_by_worker(base: str, workers: int, want: str | None = None) -> dict[int, str]:
    """Ask /readyz on fresh connections until every worker has answered (with ``want``, once all serve it)."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = httpx.get(f"{base}/readyz", timeout=5).json()
        seen[ready["worker"]] = ready["packs_digest"]
        if len(seen) == workers and (want is None or set(seen.values()) == {want}):
            break
    return seen


def test_a_reload_reaches_every_worker_of_the_server(tmp_path: Path) -> None:
    """With --workers 2, the admin reload answered by one worker is served by both soon after."""
    folder = tmp_path / "credit"
    folder.mkdir()
    source = (PACKS / "credit" / "1.0.0.yaml").read_text()
    (folder / "1.0.0.yaml").write_text(source)
    proc, base = _start_server({"ARBITER_ADMIN_TOKEN": "t0ken"}, packs=tmp_path, workers=2)
    try:
        before = _digests_by_worker(base, 2)
        assert len(before) == 2
        assert len(set(before.values())) == 1
        (folder / "1.0.0.yaml").write_text(source.replace("description: >", "description: >\n  Reloaded.", 1))
        answer = httpx.post(f"{base}/v1/admin/reload", headers={"authorization": "Bearer t0ken"}, timeout=30)
        assert answer.status_code == 200
        reloaded = create_app(tmp_path).state.service.served_digest()  # what the new files compile to
        assert reloaded not in before.values()
        after = _digests_by_worker(base, 2, want=reloaded)
        assert set(after) == set(before)
        assert set(after.values()) == {reloaded}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _series(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_metrics_count_every_worker_of_the_server() -> None:
    """With --workers 2, every scrape of /metrics gives the server's totals, whichever worker answers it."""
    proc, base = _start_server({}, workers=2)
    series = 'arbiter_requests_total{route="decide",pack="credit",version="1.0.0",status="200"}'
    try:
        served: dict[int, int] = {}
        while sum(served.values()) < 30 or len(served) < 2:
            assert sum(served.values()) < 300, f"one worker took every connection: {served}"
            with httpx.Client(base_url=base, timeout=5) as http:  # a fresh connection: either worker may take it
                assert http.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE).status_code == 200
                worker = http.get("/readyz").json()["worker"]  # the same connection, so the same worker
            served[worker] = served.get(worker, 0) + 1
        time.sleep(1.5)  # each worker publishes its counts every second
        scraped_by: set[int] = set()
        for _ in range(100):
            with httpx.Client(base_url=base, timeout=5) as http:
                text = http.get("/metrics").text
                scraped_by.add(http.get("/readyz").json()["worker"])
            assert _series(text, series) == sum(served.values()), (served, text)
            if len(scraped_by) == 2:
                break
        assert len(scraped_by) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_reload_under_load_drops_no_request(tmp_path: Path) -> None:
    """Requests in flight while the packs are reloaded all succeed."""
    import threading

    folder = tmp_path / "credit"
    folder.mkdir()
    (folder / "1.0.0.yaml").write_text((PACKS / "credit" / "1.0.0.yaml").read_text())
    proc, base = _start_server({"ARBITER_ADMIN_TOKEN": "t0ken"}, packs=tmp_path)
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            while not stop.is_set():
                statuses.append(http.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE).status_code)

    workers = [threading.Thread(target=load) for _ in range(4)]
    try:
        for w in workers:
            w.start()
        with httpx.Client(base_url=base, timeout=30) as admin:
            for _ in range(5):
                time.sleep(0.2)
                reload = admin.post("/v1/admin/reload", headers={"authorization": "Bearer t0ken"})
                assert reload.status_code == 200
    finally:
        stop.set()
        for w in workers:
            w.join()
        proc.terminate()
        proc.wait(timeout=10)
    assert len(statuses) > 50
    assert set(statuses) == {200}


def _count(metrics: Metrics, event: tuple[Any, ...]) -> None:
    if event[0] == "observe":
        _, route, (pack, version), status, seconds = event
        metrics.observe(route, pack, version, status, seconds)
    elif event[0] == "decision":
        _, (pack, version), outcome = event
        metrics.decision(pack, version, outcome)
    else:
        metrics.reload(event[1])


@given(metric_events)
def test_counts_split_among_workers_render_as_one(events: list[tuple[int, tuple[Any, ...]]]) -> None:
    """Any split of the same events among workers, their snapshots passed as JSON, renders the text one worker would."""
    alone = Metrics()
    workers = [Metrics() for _ in range(4)]
    for worker, event in events:
        _count(alone, event)
        _count(workers[worker], event)
    published = [jsonio.loads(jsonio.dumps(w.snapshot())) for w in workers[1:]]
    assert workers[0].render(published) == alone.render()


def test_metrics_count_requests_and_decisions(client: TestClient) -> None:
    """/metrics reports requests by pack, version and status, latency histograms and outcomes."""
    client.post("/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE)
    client.post("/v1/decisions/credit?as_of=2026-06-01", content=b"{}")
    client.post("/v1/decisions/nope", content=b"{}")
    text = client.get("/metrics").text
    assert 'arbiter_requests_total{route="decide",pack="credit",version="1.0.0",status="200"} 1' in text
    assert 'arbiter_requests_total{route="decide",pack="credit",version="1.0.0",status="422"} 1' in text
    assert 'arbiter_requests_total{route="decide",pack="unknown",version="",status="404"} 1' in text
    assert 'arbiter_decisions_total{pack="credit",version="1.0.0",outcome="hold"} 1' in text
    assert 'arbiter_request_duration_seconds_count{route="decide",pack="credit",version="1.0.0",status="200"} 1' in text


def test_openapi_documents_every_pack_with_its_fields(client: TestClient) -> None:
    """/openapi.json has a path per pack whose request schema lists the pack's inputs; /docs is served."""
    document = client.get("/openapi.json").json()
    assert "/v1/decisions/credit" in document["paths"]
    schema = document["components"]["schemas"]["CreditInput"]
    assert {"order_amount", "risk_tier", "payment_terms"} <= set(schema["properties"])
    assert schema["properties"]["risk_tier"]["enum"] == ["A", "B", "C", "D"]
    one = document["paths"]["/v1/decisions/credit"]["post"]["parameters"]
    assert [(p["name"], p["in"]) for p in one] == [("version", "query"), ("as_of", "query"), ("trace", "query"),
                                                   ("versions", "query")]
    batch = document["paths"]["/v1/decisions/credit/batch"]["post"]["parameters"]
    assert [p["name"] for p in batch] == ["version", "as_of", "versions"]
    assert client.get("/docs").status_code == 200


def test_json_numbers_are_read_exactly() -> None:
    """A 38-digit amount survives parsing digit for digit (no binary float on the way)."""
    value = jsonio.loads(b'{"a": 12345678901234567890.123456789012345678, "b": 0.1}')
    assert value == {"a": Decimal("12345678901234567890.123456789012345678"), "b": Decimal("0.1")}


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimals_are_written_as_their_exact_json_number(value: Decimal) -> None:
    """A finite Decimal is written as a JSON number that reads back to the same value and scale."""
    text = jsonio.decimal_text(value)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -40 <= exponent <= 40:
        assert text == format(value, "f")
    back = jsonio.loads(text.encode())
    assert back == value
    if isinstance(back, Decimal) and "E" not in text:
        assert back.as_tuple() == value.as_tuple() or value.is_zero()


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimals_are_refused_on_writing(value: Decimal) -> None:
    """NaN and the infinities have no JSON number; writing one fails instead of emitting text JSON cannot read."""
    with pytest.raises(ValueError, match="non-finite"):
        jsonio.decimal_text(value)
