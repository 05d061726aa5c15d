"""Requests a careless or hostile client sends: refused with a 4xx that names the fault, never decided on a guess."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import cli
from api.app import create_app
from api.server import preflight
from api.settings import seconds
from engine.registry import build_pack_set
from tests.conftest import PACKS, ROOT

EXAMPLE = (ROOT / "examples" / "credit.json").read_bytes()
ORDER = (ROOT / "examples" / "order.json").read_bytes()
BATCH = b'{"inputs": [' + EXAMPLE + b"]}"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(PACKS))


# (route and query, body, status, what the problem's detail says): a repeated parameter kept only its last value,
# a misspelt one was ignored, trace= on a batch was ignored, and version= beat a contrary versions= pin, silently
QUERIES = [
    ("credit?as_of=2026-06-01&as_of=2027-06-01", EXAMPLE, 400, "'as_of' given more than once"),
    ("credit?as_of=2026-06-01&version=1.0.0&version=1.1.0", EXAMPLE, 400, "'version' given more than once"),
    ("order?as_of=2026-06-01&versions=pricing@2.0.0&versions=credit@1.1.0", ORDER, 400, "'versions' given more than once"),
    ("credit?asof=2027-06-01", EXAMPLE, 400, "unknown query parameter 'asof'"),
    ("credit?as_of=2026-06-01&verison=1.1.0", EXAMPLE, 400, "unknown query parameter 'verison'"),
    ("credit/batch?as_of=2026-06-01&trace=true", BATCH, 400, "unknown query parameter 'trace'"),
    ("credit?as_of=2026-06-01&version=1.0.0&versions=credit@1.1.0", EXAMPLE, 400, "pin 'credit' differently"),
    ("credit?as_of=2026-06-01&version=1.1.0&versions=credit@1.1.0", EXAMPLE, 200, ""),
    ("credit?as_of=2026-06-01&trace=true&version=1.0.0", EXAMPLE, 200, ""),
    ("credit/batch?as_of=2026-06-01&version=1.0.0", BATCH, 200, ""),
]


@pytest.mark.parametrize(("route", "body", "status", "says"), QUERIES)
def test_query_parameters_are_read_once_and_only_those_the_route_knows(client: TestClient, route: str, body: bytes,
                                                                       status: int, says: str) -> None:
    """A parameter twice, an unknown one or two pins that disagree is a 400 naming it; the right ones are decided."""
    answer = client.post(f"/v1/decisions/{route}", content=body)
    assert answer.status_code == status, answer.text
    if status != 200:
        problem = answer.json()
        assert problem["code"] == "request-malformed"
        assert says in problem["detail"]
        assert answer.headers["x-request-id"] == problem["request_id"]


# (variable, value, what the one line says): each made every worker stop with a traceback, and under
# --workers 2 uvicorn started the dying workers again and again while the port looked alive
BAD_SETTINGS = [
    ("ARBITER_MAX_BATCH", "abc", "ARBITER_MAX_BATCH='abc' is not a positive whole number"),
    ("ARBITER_DECISION_LOG", "{tmp}/missing/d.jsonl",
     "ARBITER_DECISION_LOG='{tmp}/missing/d.jsonl' cannot be opened for appending: No such file or directory"),
    ("ARBITER_DECISION_LOG", "{tmp}", "ARBITER_DECISION_LOG='{tmp}' cannot be opened for appending: Is a directory"),
    ("ARBITER_WATCH", "abc", "ARBITER_WATCH='abc' is not a number of seconds above 0"),
    ("ARBITER_BACKEND", "xx", "ARBITER_BACKEND='xx' is not one of durable, native"),
    ("ARBITER_SHADOW", "nope=1.0", "ARBITER_SHADOW: unknown pack 'nope'"),
    ("ARBITER_SHADOW", "credit=9.9.9", "ARBITER_SHADOW: pack 'credit' has no version '9.9.9'"),
    ("ARBITER_LOG_MASK", "customer_id", "ARBITER_LOG_MASK: 'customer_id' is not a JSON pointer"),
    ("ARBITER_DECISION_LOG_QUEUE", "inf", "ARBITER_DECISION_LOG_QUEUE must be a number >= 0, not 'inf'"),
    ("ARBITER_DECISION_LOG_FSYNC_SECONDS", "soon", "ARBITER_DECISION_LOG_FSYNC_SECONDS must be a number >= 0"),
    ("ARBITER_RELOAD_WAIT_SECONDS", "x", "ARBITER_RELOAD_WAIT_SECONDS='x' is not a number of seconds above 0"),
    ("ARBITER_TIMEZONE", "Mars/Olympus", "ARBITER_TIMEZONE='Mars/Olympus' is not an IANA time zone"),
]


@pytest.mark.parametrize(("name", "value", "says"), BAD_SETTINGS)
def test_serve_refuses_a_bad_setting_in_one_line_before_any_worker_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str, value: str, says: str) -> None:
    """`arbiter serve --workers 2` with a bad variable: exit 2 naming it, no traceback, no socket, no worker."""
    for set_by_serve in ("ARBITER_PACKS", "ARBITER_BACKEND", "ARBITER_LOG_LEVEL"):  # restored after the test
        monkeypatch.setenv(set_by_serve, os.environ.get(set_by_serve, ""))
    monkeypatch.delenv("ARBITER_BACKEND")
    monkeypatch.setenv(name, value.format(tmp=tmp_path))
    monkeypatch.setattr("uvicorn.run", _no_server)
    assert cli.main(["serve", "--packs", str(PACKS), "--port", "0", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert f"arbiter serve: {says.format(tmp=tmp_path)}" in err, err
    assert err.rstrip().endswith("nothing was started")
    assert "Traceback" not in err


def test_a_good_configuration_passes_the_checks_before_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys, a decision log, a mask and a shadow pin that are right pass; the log file may be created, nothing else."""
    for name, value in (("ARBITER_API_KEYS", "k1,k2"), ("ARBITER_DECISION_LOG", str(tmp_path / "d.jsonl")),
                        ("ARBITER_LOG_MASK", "/customer_id"), ("ARBITER_SHADOW", "credit=1.1.0"), ("ARBITER_WATCH", "2")):
        monkeypatch.setenv(name, value)
    pack_set, _ = build_pack_set(PACKS)
    assert pack_set is not None
    preflight(pack_set)
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


def test_serve_reads_arbiter_packs_when_no_flag_names_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """ARBITER_PACKS was ignored by `arbiter serve` (it served ./policy_packs); now it is the folder served."""
    monkeypatch.setenv("ARBITER_PACKS", str(tmp_path))
    monkeypatch.setattr("uvicorn.run", _no_server)
    assert cli.main(["serve", "--port", "0"]) == 1
    assert f"{tmp_path}:0:0: no-packs" in capsys.readouterr().err


def _no_server(*args: object, **kwargs: object) -> None:
    raise AssertionError("uvicorn.run was reached: the bad setting was not refused before")


@pytest.mark.parametrize(("headers", "status"), [
    ({"content-type": "application/json; charset=latin-1"}, 415),
    ({"content-type": "application/json; charset=\"UTF-16\""}, 415),
    ({"content-type": "application/json", "content-encoding": "gzip"}, 415),
    ({"content-type": "application/json", "content-encoding": "br"}, 415),
    ({"content-type": "application/json; charset=utf-8"}, 200),
    ({"content-type": "application/json; charset=UTF-8", "content-encoding": "identity"}, 200),
])
def test_a_body_declared_in_another_charset_or_compressed_is_415(client: TestClient, headers: dict[str, str],
                                                                 status: int) -> None:
    """The body is read as UTF-8 bytes: a latin-1 or gzip declaration was ignored and the bytes read as something else."""
    for route, body in (("credit?as_of=2026-06-01", EXAMPLE), ("credit/batch?as_of=2026-06-01", BATCH)):
        answer = client.post(f"/v1/decisions/{route}", content=body, headers=headers)
        assert answer.status_code == status, answer.text
        if status == 415:
            assert answer.json()["code"] == "unsupported-media-type"


def test_a_repeated_name_is_refused_every_time_not_kept() -> None:
    """query_of keeps parses per distinct query: a refused one is refused again, not served from the kept parses."""
    from api.routers.decisions import query_of
    from rules.errors import MalformedRequest

    for _ in range(2):
        with pytest.raises(MalformedRequest, match="'as_of' given more than once"):
            query_of({"query_string": b"as_of=2026-06-01&as_of=2026-07-01"})


# (value, seconds or the error): one reader for serve's start check and each admin reload, so a
# blank that start let through as "unset" cannot fail every reload later (float("  ") was a 500)
SECONDS = [("", None), ("  ", None), ("2.5", 2.5), (" 3 ", 3.0), ("0", "is not a number of seconds above 0"),
           ("inf", "is not a number of seconds above 0"), ("soon", "is not a number of seconds above 0")]


@pytest.mark.parametrize(("value", "expected"), SECONDS)
def test_seconds_settings_read_alike_at_start_and_on_reload(value: str, expected: float | str | None) -> None:
    """A seconds variable is unset when blank, a number above 0, or refused naming the variable."""
    env = {"ARBITER_RELOAD_WAIT_SECONDS": value}
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=f"ARBITER_RELOAD_WAIT_SECONDS={value!r} {expected}"):
            seconds(env, "ARBITER_RELOAD_WAIT_SECONDS")
    else:
        assert seconds(env, "ARBITER_RELOAD_WAIT_SECONDS") == expected


# (headers, status, code): every credential presented is checked and none wins; a wrong X-API-Key beside a good
# bearer key was accepted, as were an empty X-API-Key and a Basic header beside a good key
KEYED = [
    ([("x-api-key", "wrong"), ("authorization", "Bearer k1")], 403, "forbidden"),
    ([("authorization", "Bearer wrong"), ("x-api-key", "k1")], 403, "forbidden"),
    ([("x-api-key", ""), ("authorization", "Bearer k1")], 401, "unauthorized"),
    ([("authorization", "Basic azE6"), ("x-api-key", "k1")], 401, "unauthorized"),
    ([("authorization", "Bearer ")], 401, "unauthorized"),
    ([("x-api-key", "k1"), ("x-api-key", "wrong")], 401, "unauthorized"),
    ([("x-api-key", "k1"), ("x-api-key", "k1")], 401, "unauthorized"),
    ([("authorization", "Bearer k1"), ("authorization", "Bearer k1")], 401, "unauthorized"),
    ([("x-api-key", "k1"), ("authorization", "Bearer k2")], 401, "unauthorized"),
    ([("x-api-key", "k1 k1")], 403, "forbidden"),
    ([("x-api-key", "k1"), ("authorization", "Bearer k1")], 200, ""),
    ([("authorization", "bearer   k2\t")], 200, ""),
    ([("x-api-key", "k2")], 200, ""),
]


@pytest.mark.parametrize(("headers", "status", "code"), KEYED)
def test_a_wrong_or_garbled_credential_is_refused_whatever_else_is_sent(headers: list[tuple[str, str]], status: int,
                                                                        code: str) -> None:
    """Both headers are read, every value of each: a wrong key is 403, an ambiguous or empty one 401; one key is served."""
    keyed = TestClient(create_app(PACKS, api_keys=["k1", "k2"]))
    for route, body in (("credit?as_of=2026-06-01", EXAMPLE), ("credit/batch?as_of=2026-06-01", BATCH)):
        answer = keyed.post(f"/v1/decisions/{route}", content=body, headers=headers)
        assert answer.status_code == status, answer.text
        if status != 200:
            assert answer.json()["code"] == code
