"""HTTP limits against a live server on loopback: header bombs, slow clients, too many connections, big bodies.

Each test talks raw HTTP/1.1 to ``arbiter serve`` (uvicorn, one worker) with small limits set
through the environment, bounded in connections, bytes and seconds, and asserts the answer is
problem+json and the connection is closed; nothing here waits on a clock to pass or fail
except the bounds themselves.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import re
import socket
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import http_limits
from api.http_limits import HttpLimits, default_connections
from api.metrics import Metrics
from tests.faults import (
    EXAMPLE,
    open_fds,
    raw_socket,
    read_answer,
    rss_bytes,
    send_raw,
    start_server,
    stop,
)

LIMITS = {"ARBITER_MAX_HEADER_BYTES": "4096", "ARBITER_MAX_HEADERS": "30", "ARBITER_HEADER_TIMEOUT_SECONDS": "1",
          "ARBITER_BODY_TIMEOUT_SECONDS": "1", "ARBITER_MAX_CONNECTIONS": "8", "ARBITER_MAX_BODY_BYTES": "1000"}
GET = b"GET /healthz HTTP/1.1\r\nHost: t\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, str]]:
    proc, base = start_server(LIMITS)
    try:
        yield proc.pid, base
    finally:
        stop(proc)


def _served(base: str) -> bool:
    return httpx.get(f"{base}/healthz", timeout=10).status_code == 200


HEAD_BOMBS = {
    "one field past the size": GET + b"X-Big: " + b"a" * 5000 + b"\r\n\r\n",
    "more fields than allowed": GET + b"".join(b"X-%d: a\r\n" % i for i in range(31)) + b"\r\n",
    "a head that never ends": GET + b"X-Big: " + b"a" * 200_000,
    "a long request line": b"GET /healthz?" + b"q" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(HEAD_BOMBS))
def test_an_oversized_request_head_is_a_431_problem_and_the_connection_closes(server: tuple[int, str], name: str) -> None:
    """Too many header bytes or fields: 431 problem+json `header-too-large`, closed; others are still served."""
    answer = send_raw(server[1], HEAD_BOMBS[name])
    assert answer.status == 431
    assert answer.problem()["code"] == "header-too-large"
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])  # generated: none was sent
    assert answer.closed
    assert _served(server[1])


def test_a_head_at_the_limits_is_served(server: tuple[int, str]) -> None:
    """30 header fields and a head just under 4096 bytes are within the limits: 200."""
    fields = b"".join(b"X-%d: a\r\n" % i for i in range(27)) + b"Connection: close\r\n"  # with Host and X-Pad: 30
    head = GET + fields
    head += b"X-Pad: " + b"p" * (4000 - len(head)) + b"\r\n\r\n"
    answer = send_raw(server[1], head)
    assert answer.status == 200, answer.body


def test_header_bombs_do_not_grow_the_worker(server: tuple[int, str]) -> None:
    """Twenty 20 MB header values, one per connection: each is a 431 and the worker grows by under 20 MB."""
    pid, base = server
    before = rss_bytes(pid)
    bomb = GET + b"X-Bomb: " + b"b" * (20 * 1024 * 1024)
    for _ in range(20):
        answer = send_raw(base, bomb)
        assert answer.status == 431
    assert rss_bytes(pid) - before < 20 * 1024 * 1024
    assert _served(base)


def test_a_slow_head_is_closed_with_a_408_after_the_header_timeout(server: tuple[int, str]) -> None:
    """Six clients sending a head a byte at a time get 408 `request-timeout` and are closed within the bound."""
    clients = [raw_socket(server[1]) for _ in range(6)]
    started = time.monotonic()
    for index in range(5):  # a byte every 0.3 s: still no whole head when the 1 s timeout passes
        for sock in clients:
            sock.sendall(GET[index:index + 1])
        time.sleep(0.3)
    answers = [read_answer(sock, seconds=20) for sock in clients]
    assert time.monotonic() - started < 25  # without the timeout they would wait for ever
    for answer in answers:
        assert answer.status == 408
        assert "ARBITER_HEADER_TIMEOUT_SECONDS" in str(answer.problem()["detail"])
        assert answer.closed


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server: tuple[int, str]) -> None:
    """An idle connection is closed without an answer (there is no request to answer)."""
    answer = read_answer(raw_socket(server[1]), seconds=20)
    assert answer.closed
    assert answer.status == 0


@pytest.mark.parametrize("pack", ["credit", "unknown"])
def test_a_slow_body_is_closed_after_the_body_timeout(server: tuple[int, str], pack: str) -> None:
    """A body that never completes: 408 problem+json while unanswered (credit); closed after an early 404 (unknown)."""
    sock = raw_socket(server[1])
    sock.sendall(b"POST /v1/decisions/%s HTTP/1.1\r\nHost: t\r\nX-Request-ID: slow-%s\r\nContent-Length: 500\r\n\r\n{"
                 % (pack.encode(), pack.encode()))
    answer = read_answer(sock, seconds=20)
    assert answer.closed
    assert answer.headers["x-request-id"] == f"slow-{pack}"  # the caller's id, from the app's answer or the 408
    if pack == "credit":
        assert answer.status == 408
        assert "ARBITER_BODY_TIMEOUT_SECONDS" in str(answer.problem()["detail"])
    else:
        assert answer.status == 404  # answered before the body: the late 408 is not added to it
        assert answer.body.count(b"HTTP/1.1") == 0


def test_half_open_connections_give_way_to_new_clients_and_hold_few_descriptors(server: tuple[int, str]) -> None:
    """40 half-open connections against a limit of 8: new clients are still served; the worker holds at most ~8 fds more."""
    pid, base = server
    before = open_fds(pid)
    half_open = []
    for _ in range(40):
        sock = raw_socket(base)
        sock.sendall(GET[:10])
        half_open.append(sock)
    time.sleep(0.2)  # let the worker accept them (not an assertion on time)
    assert open_fds(pid) <= before + 8 + 2
    for _ in range(5):
        assert _served(base)
    answers = [read_answer(sock, seconds=20) for sock in half_open]
    assert all(answer.closed for answer in answers)
    evicted = [answer for answer in answers if answer.status == 408]
    assert len(evicted) >= 40 - 8
    assert all(answer.problem()["code"] == "request-timeout" for answer in evicted)


def test_when_every_connection_is_busy_a_new_client_gets_a_503_problem(server: tuple[int, str]) -> None:
    """8 connections in the middle of a body hold every slot: the ninth gets 503 `overloaded` with Retry-After."""
    busy = []
    for _ in range(8):
        sock = raw_socket(server[1])
        sock.sendall(b"POST /v1/decisions/credit HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n{")
        busy.append(sock)
    time.sleep(0.2)
    answer = send_raw(server[1], GET + b"\r\n")
    for sock in busy:
        sock.close()
    assert answer.status == 503, answer.body
    assert answer.problem()["code"] == "overloaded"
    assert answer.headers["retry-after"] == "1"
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
    assert answer.closed


def test_the_default_connection_limit_keeps_the_descriptor_budget() -> None:
    """With 256 descriptors (the report's case), 300 half-open connections do not shut out a new client."""
    proc, base = start_server({}, open_files=256)
    try:
        pid = proc.pid
        half_open = []
        for _ in range(300):
            sock = raw_socket(base)
            sock.sendall(GET[:10])
            half_open.append(sock)
        time.sleep(0.5)
        assert open_fds(pid) < 256
        for _ in range(3):
            assert _served(base)
        for sock in half_open:
            sock.close()
    finally:
        stop(proc)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_a_413_problem_from_the_live_server(server: tuple[int, str], chunked: bool) -> None:
    """A 5,000-byte body against ARBITER_MAX_BODY_BYTES=1000, declared or chunked: 413 problem+json."""
    body = EXAMPLE.rstrip()[:-1] + b', "pad": "' + b"x" * 5000 + b'"}'
    content = iter([body[:2000], body[2000:]]) if chunked else body
    response = httpx.post(f"{server[1]}/v1/decisions/credit?as_of=2026-06-01", content=content, timeout=10)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "request-too-large"
    assert "ARBITER_MAX_BODY_BYTES" in response.json()["detail"]
    assert httpx.post(f"{server[1]}/v1/decisions/credit?as_of=2026-06-01", content=EXAMPLE, timeout=10).status_code == 200


def test_limits_come_from_the_environment_and_bad_ones_are_refused() -> None:
    """Each ARBITER_* limit is read; zero, negative, infinite or non-numbers name the variable."""
    limits = HttpLimits.from_env(LIMITS)
    assert (limits.header_bytes, limits.headers, limits.connections) == (4096, 30, 8)
    assert (limits.header_seconds, limits.body_seconds) == (1.0, 1.0)
    assert HttpLimits.from_env({}) == HttpLimits()
    assert 1 <= default_connections() <= 1000
    for name, bad in [("ARBITER_MAX_HEADER_BYTES", "0"), ("ARBITER_MAX_HEADERS", "1.5"),
                      ("ARBITER_HEADER_TIMEOUT_SECONDS", "-1"), ("ARBITER_BODY_TIMEOUT_SECONDS", "inf"),
                      ("ARBITER_MAX_CONNECTIONS", "many")]:
        with pytest.raises(ValueError, match=name):
            HttpLimits.from_env({name: bad})


def test_serve_refuses_to_start_with_a_bad_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """`arbiter serve` with ARBITER_HEADER_TIMEOUT_SECONDS=soon exits 2 naming it, before any socket is bound."""
    from api.server import serve

    monkeypatch.setenv("ARBITER_HEADER_TIMEOUT_SECONDS", "soon")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert serve(packs="policy_packs", host="127.0.0.1", port=port, workers=1) == 2


def _keep_alive_client(base: str, count: int) -> list[int]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    statuses = []
    try:
        for _ in range(count):
            conn.request("POST", "/v1/decisions/credit?as_of=2026-06-01", body=EXAMPLE,
                         headers={"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            if response.status != 200:  # a 503 closes the connection
                conn.close()
    finally:
        conn.close()
    return statuses


def test_keep_alive_clients_under_the_connection_limit_are_never_refused() -> None:
    """6 keep-alive clients looping against ARBITER_MAX_CONNECTIONS=8 all get 200s (each busy connection counts once)."""
    proc, base = start_server({**LIMITS, "ARBITER_MAX_BODY_BYTES": "100000"})
    try:
        with ThreadPoolExecutor(6) as pool:
            runs = list(pool.map(lambda _: _keep_alive_client(base, 150), range(6)))
        assert Counter(status for run in runs for status in run) == {200: 900}
    finally:
        stop(proc)


def test_an_overloaded_answer_has_a_request_id_a_warning_and_a_count(caplog: pytest.LogCaptureFixture,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The 503 `overloaded` answer carries X-Request-ID, is counted for /metrics and logged once per interval."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    monkeypatch.setattr(http_limits, "_warned", [float("-inf"), 0])
    before = http_limits.refusals[http_limits.OVERLOADED_METRIC]
    scope = {"type": "http", "path": "/v1/decisions/credit", "headers": [(b"x-request-id", b"abc-1")]}
    with caplog.at_level(logging.WARNING, logger="arbiter.http"):
        for _ in range(3):
            asyncio.run(http_limits.overloaded(scope, None, send))
    headers = dict(sent[0]["headers"])
    assert (sent[0]["status"], headers[b"x-request-id"]) == (503, b"abc-1")
    assert json.loads(sent[1]["body"])["code"] == "overloaded"
    assert http_limits.refusals[http_limits.OVERLOADED_METRIC] == before + 3
    warnings = [r for r in caplog.records if "overloaded" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited: one line per WARN_EVERY_SECONDS, not one per refusal
    assert warnings[0].__dict__["request_id"] == "abc-1"
    metrics = Metrics()
    metrics.set_totals(http_limits.refusals)
    assert f"arbiter_overloaded_total {before + 3}\n" in metrics.render()


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_head_on_an_operations_route_is_the_get_without_its_body(server: tuple[int, str], path: str) -> None:
    """Load balancers probe with HEAD: 200 with the GET's headers and no body, not 405."""
    answer = send_raw(server[1], b"HEAD %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path.encode())
    assert answer.status == 200, answer.body
    assert answer.body == b""
    assert int(answer.headers["content-length"]) > 0  # the GET's length, as HEAD answers say
    assert "x-request-id" in answer.headers


# (what is sent, then read until closed; the status, code and the access line's method and path)
BEFORE_THE_APP = [
    (GET.replace(b"Host: t\r\n", b"Host: t\r\nX-Request-ID: bomb-1\r\n") + b"X-Big: " + b"a" * 5000 + b"\r\n\r\n",
     "bomb-1", 431, "header-too-large", "GET", "/healthz"),
    (b"GET /metrics?" + b"q" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", None, 431, "header-too-large", "GET", "/metrics"),
    (b"POST /v1/decisions/credit HTTP/1.1\r\nX-Request-ID: partial-1\r\nHost: t", "partial-1", 408, "request-timeout",
     "POST", "/v1/decisions/credit"),
    (b"NOT HTTP AT ALL\r\n\r\n", None, 400, "request-malformed", "-", "-"),
]


def test_answers_given_before_the_app_have_an_access_line_and_a_count(tmp_path: Path) -> None:
    """A 431, a 408 (a head never finished) and a 400 each write an access line with the request id, and are counted."""
    log = tmp_path / "server.log"
    proc, base = start_server({**LIMITS, "ARBITER_LOG_LEVEL": "INFO"}, stderr=log)
    try:
        answers = [send_raw(base, sent) for sent, *_ in BEFORE_THE_APP]
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        stop(proc)
    lines = [json.loads(line) for line in log.read_text().splitlines() if '"arbiter.access"' in line]
    for answer, (_, request_id, status, code, method, path) in zip(answers, BEFORE_THE_APP, strict=True):
        assert (answer.status, answer.problem()["code"]) == (status, code)
        given = answer.headers["x-request-id"]
        assert request_id in (None, given)
        line = next(line for line in lines if line.get("request_id") == given)
        assert (line["status"], line["method"], line["route"]) == (status, method, path)
        assert line["latency_ms"] >= 0
    counted = Counter((status, code) for _, _, status, code, _, _ in BEFORE_THE_APP)
    for (status, code), count in counted.items():
        assert f'arbiter_refused_before_app_total{{status="{status}",code="{code}"}} {count}\n' in metrics
    assert metrics.count("# HELP arbiter_refused_before_app_total") == 1
