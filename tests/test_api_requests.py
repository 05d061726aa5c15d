"""What a decision request must be: JSON declared as JSON, every key once, known batch keys, a calendar as_of, pins that apply."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import PACKS, ROOT

EXAMPLE = (ROOT / "examples" / "credit.json").read_bytes()
ORDER = (ROOT / "examples" / "order.json").read_bytes()
CREDIT = "/v1/decisions/credit?as_of=2026-06-01"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(PACKS))


@pytest.fixture(scope="module")
def with_credit_b(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The bundled packs and a copy of credit named credit_b, which no flow runs."""
    root = tmp_path_factory.mktemp("packs")
    shutil.copytree(PACKS, root, dirs_exist_ok=True)
    shutil.copytree(PACKS / "credit", root / "credit_b")
    for path in (root / "credit_b").glob("*.yaml"):
        path.write_text(path.read_text().replace("pack: credit\n", "pack: credit_b\n", 1))  # the first line
    return TestClient(create_app(root))


# (body, the refused key's JSON pointer): the first key, in document order, its object already gave
DUPLICATES = [
    (b'{"risk_tier": "A", "risk_tier": "D"}', "/risk_tier"),
    (b'{"a": {"x": 1, "x": 2}, "a": 3}', "/a/x"),
    (b'{"lines": [{"sku": "A"}, {"sku": "B", "qty": 1, "sku": "C"}]}', "/lines/1/sku"),
    (b'{"a/b": 1, "a/b": 2}', "/a~1b"),
]


@pytest.mark.parametrize(("body", "pointer"), DUPLICATES)
def test_a_key_given_twice_is_refused_at_its_json_pointer(client: TestClient, body: bytes, pointer: str) -> None:
    """A repeated key is a 422 naming where it is, not the last value decided silently; in a batch too."""
    for url, sent in ((CREDIT, body), ("/v1/decisions/credit/batch?as_of=2026-06-01", b'{"inputs": [' + body + b"]}")):
        answer = client.post(url, content=sent)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        expected = pointer if url == CREDIT else "/inputs/0" + pointer
        assert problem["code"] == "input-invalid"
        assert problem["errors"] == [{"pointer": expected, "code": "duplicate-key",
                                      "message": "is given more than once in its object"}]


def test_the_credit_example_with_a_repeated_amount_is_refused(client: TestClient) -> None:
    """The example with its order_amount said twice, the larger last, is not decided on either."""
    body = EXAMPLE.replace(b"{", b'{"order_amount": 1, ', 1)
    assert client.post(CREDIT, content=body).json()["errors"][0]["pointer"] == "/order_amount"


def test_a_batch_refuses_keys_other_than_inputs(client: TestClient) -> None:
    """Like a single decision's undeclared field: a 422 with each unknown key's pointer, nothing decided."""
    answer = client.post("/v1/decisions/credit/batch?as_of=2026-06-01",
                         content=b'{"inputs": [' + EXAMPLE + b'], "as_of": "2027-01-01", "dry_run": true}')
    assert answer.status_code == 422
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/as_of", "/dry_run"]


@pytest.mark.parametrize(("content_type", "status"), [
    ("text/plain", 415), ("application/x-www-form-urlencoded", 415), ("application/xml", 415), ("multipart/form-data", 415),
    ("application/json", 200), ("application/json; charset=utf-8", 200), ("Application/JSON", 200),
    ("application/problem+json", 200), (None, 200),
])
def test_a_body_declared_as_something_other_than_json_is_415(client: TestClient, content_type: str | None,
                                                             status: int) -> None:
    """Content-Type must say JSON (any application/*+json) when given; a body without one is read as JSON."""
    headers = {"content-type": content_type} if content_type is not None else {}
    for url, body in ((CREDIT, EXAMPLE), ("/v1/decisions/credit/batch?as_of=2026-06-01", b'{"inputs": [' + EXAMPLE + b"]}")):
        answer = client.post(url, content=body, headers=headers)
        assert answer.status_code == status, answer.text
        if status == 415:
            assert answer.json()["code"] == "unsupported-media-type"
            assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("as_of", ["20260601", "2026-W23-1", "2026-W23", "2026-152", "2026-6-1", "2026-06-01T00:00",
                                   "２０２６-06-01", " 2026-06-01", "2026-02-30"])
def test_as_of_is_a_calendar_date_written_yyyy_mm_dd(client: TestClient, as_of: str) -> None:
    """Basic, week and ordinal ISO forms, other digits, times and impossible dates are refused with the format."""
    answer = client.post("/v1/decisions/credit", params={"as_of": as_of}, content=EXAMPLE)
    assert answer.status_code == 400, answer.text
    assert "(YYYY-MM-DD)" in answer.json()["detail"]


def test_a_calendar_as_of_is_decided_on(client: TestClient) -> None:
    """The one accepted form is read as the date it says."""
    assert client.post("/v1/decisions/credit", params={"as_of": "2027-02-01"}, content=EXAMPLE).json()["as_of"] == "2027-02-01"


@pytest.mark.parametrize(("url", "body", "status"), [
    ("/v1/decisions/credit?as_of=2026-06-01&versions=pricing@2.0.0", EXAMPLE, 422),  # credit is not a flow
    ("/v1/decisions/credit/batch?as_of=2026-06-01&versions=pricing@2.0.0", b'{"inputs": []}', 422),
    ("/v1/decisions/order?as_of=2026-06-01&versions=credit_b@1.0.0", ORDER, 422),  # a pack the flow never runs
    ("/v1/decisions/credit?as_of=2026-06-01&versions=credit@1.0.0", EXAMPLE, 200),  # a pack's own version
    ("/v1/decisions/order?as_of=2026-06-01&versions=pricing@2.0.0", ORDER, 200),  # a step of the flow
])
def test_versions_that_the_pack_never_runs_are_refused(with_credit_b: TestClient, url: str, body: bytes,
                                                       status: int) -> None:
    """versions= on a pack that is not a flow, or naming no step of the flow, is a 422, not ignored."""
    answer = with_credit_b.post(url, content=body)
    assert answer.status_code == status, answer.text
    if status == 422:
        assert answer.json()["code"] == "versions-not-applicable"


QUERIES = ["as_of=2026-06-01", "trace=&as_of=2026-06-01", "a+b=c%20d&x=%E2%82%AC",
           "", "versions=pricing@2.1.0,credit@1.0.0&version=1.0.0", "as_of", "=x&y=%zz"]


@pytest.mark.parametrize("query", QUERIES)
def test_the_query_is_read_as_starlette_reads_it_whether_parsed_or_kept(query: str) -> None:
    """query_of gives Starlette's QueryParams, the first time and from its kept parse (a repeated name is refused:
    tests/test_hostile_requests.py)."""
    from starlette.datastructures import QueryParams

    from api.routers.decisions import query_of

    scope = {"query_string": query.encode()}
    expected = dict(QueryParams(query.encode()))
    assert query_of(scope) == expected
    assert query_of({"query_string": query.encode()}) == expected


def test_the_kept_queries_are_bounded() -> None:
    """More distinct queries than QUERIES_KEPT never grow the kept parses past it, and each is still read right."""
    from api.routers import decisions

    for day in range(decisions.QUERIES_KEPT * 2 + 3):
        raw = f"as_of=2026-01-01&n={day}".encode()
        assert decisions.query_of({"query_string": raw})["n"] == str(day)
        assert len(decisions._queries) <= decisions.QUERIES_KEPT


def _messages(*parts: bytes, gone: bool = False) -> Any:
    """An ASGI receive giving ``parts`` as http.request messages, then a disconnect when ``gone``."""
    messages = [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1 or gone} for i, part in enumerate(parts)]
    if gone:
        messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


def test_a_body_sent_in_parts_is_read_whole() -> None:
    """A body in several ASGI messages is joined in order: the bytes sent, whole."""
    from api.routers.decisions import _body

    assert asyncio.run(_body(_messages(EXAMPLE[:7], EXAMPLE[7:40], b"", EXAMPLE[40:]), None, 10_000)) == EXAMPLE


@pytest.mark.parametrize(("declared", "parts"), [(None, (EXAMPLE[:40], EXAMPLE[40:])), (str(len(EXAMPLE)), (EXAMPLE,))])
def test_a_body_past_the_limit_is_413(declared: str | None, parts: tuple[bytes, ...]) -> None:
    """Past the limit by its Content-Length, or counted over its parts as they come: 413, not the decision."""
    from api.errors import RequestTooLarge
    from api.routers.decisions import _body

    with pytest.raises(RequestTooLarge):
        asyncio.run(_body(_messages(*parts), declared, 64))


def test_a_client_that_leaves_mid_body_is_a_timeout_not_a_server_error() -> None:
    """A disconnect before the body's last part is RequestTimeout (408), as the body timeout's is."""
    from api.errors import RequestTimeout
    from api.routers.decisions import _body

    with pytest.raises(RequestTimeout):
        asyncio.run(_body(_messages(EXAMPLE[:40], gone=True), None, 10_000))
