"""Hostile and generated requests never produce a 5xx: hypothesis bodies and schemathesis."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from engine import jsonio
from tests.conftest import PACKS
from tests.strategies import json_values

APP = create_app(PACKS, admin_token="fuzz-token")
CLIENT = TestClient(APP)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)

nasty_text = st.sampled_from([
    b"", b"{", b"[]", b"null", b'{"order_amount": NaN}', b'{"order_amount": Infinity}', b'{"order_amount": -Infinity}',
    b"[" * 3000, b'{"a":' * 300 + b"1" + b"}" * 300, b'{"order_amount": 1e999999}', b'{"order_amount": "\\ud800"}',
    b"\xff\xfe\x00", b'{"order_amount": 0.' + b"1" * 5000 + b"}", "{\"segment\": \"\u00e9\u4e2d\U0001f600\"}".encode(),
])


def _body(value: Any) -> bytes:
    try:
        return jsonio.dumps(value)
    except TypeError:
        return b"{}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(json_values.map(_body), nasty_text, st.binary(max_size=200)),
       path=st.sampled_from(["/v1/decisions/credit", "/v1/decisions/credit/batch", "/v1/decisions/order", "/v1/decisions/x"]),
       query=st.sampled_from(["", "?as_of=2026-06-01", "?as_of=2026-13-45", "?version=1.0.0", "?trace=maybe", "?trace=true&as_of=2026-06-01"]))
def test_generated_bodies_never_give_a_server_error(body: bytes, path: str, query: str) -> None:
    """Wrong types, huge numbers, NaN, deep nesting, invalid UTF-8 and unicode all get a 2xx or 4xx."""
    response = CLIENT.post(path + query, content=body, headers={"authorization": "Bearer fuzz-token"})
    assert response.status_code < 500, response.text


@SCHEMA.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error(case: schemathesis.Case) -> None:
    """Every operation in /openapi.json answers generated requests without a 5xx."""
    response = case.call()
    assert response.status_code < 500, response.text
