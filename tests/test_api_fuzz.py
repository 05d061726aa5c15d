"""Hostile and generated requests never produce a 5xx: hypothesis bodies and schemathesis."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from engine import jsonio
from tests.conftest import PACKS
from tests.strategies import json_values

APP = create_app(PACKS, admin_token="fuzz-token")
CLIENT = TestClient(APP)
# 413 is how the service rejects too much (ARBITER_MAX_LINES, a body over the limit): a rejection too
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]}}})
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)

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


# Every check schemathesis has (not_a_server_error, status code, content type, response headers
# and schema conformance, negative data rejection, unsupported methods, ...) but these:
# positive_data_acceptance expects every schema-valid input decided, and the document cannot
# say all the service enforces (a decimal sent as text is held to the field's minimum after it
# is read; numbers beyond the engine's range of 1e18 are refused), so valid-looking inputs
# get a documented 422 instead. A batch answers 200 with each invalid item's problem in its
# place (by design), so negative_data_rejection does not apply to the batch routes.
CHECKS_OFF = [schemathesis.checks.positive_data_acceptance]
BATCH_CHECKS_OFF = [*CHECKS_OFF, schemathesis.checks.negative_data_rejection]


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_schemathesis_finds_no_failure(case: schemathesis.Case) -> None:
    """Every operation in /openapi.json answers generated requests as documented: no 5xx, no undeclared status,
    content type, header or body."""
    batch = case.operation.path.endswith("/batch")
    case.call_and_validate(excluded_checks=BATCH_CHECKS_OFF if batch else CHECKS_OFF)
