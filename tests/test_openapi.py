"""The OpenAPI contract: valid, from each pack's live version, exact money, real problem schema, offline docs."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from api.app import create_app
from api.settings import Settings
from engine import jsonio
from engine.registry import require_pack_set
from tests.conftest import PACKS
from tests.test_api import EXAMPLE, _start_server


def _clock(text: str) -> Settings:
    moment = dt.datetime.fromisoformat(text)
    return Settings(clock=lambda: moment)


def _document(day: str = "2026-06-01T12:00:00+00:00", **kwargs: Any) -> dict[str, Any]:
    client = TestClient(create_app(PACKS, settings=_clock(day), **kwargs))
    document: dict[str, Any] = jsonio.loads(client.get("/openapi.json").content)  # numbers exact, as Decimal
    return document


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return _document()


def _validator(document: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """A validator for components/schemas/``name`` that resolves the document's other schemas."""
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


def test_the_document_passes_the_spec_validator(document: dict[str, Any]) -> None:
    """openapi-spec-validator finds no error in /openapi.json (keys required or not)."""
    validate(document)
    validate(_document(api_keys=["k"], admin_token="t"))


def test_every_response_has_a_description_and_the_request_id_header(document: dict[str, Any]) -> None:
    """Every response of every operation says what it is and documents X-Request-ID."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                assert response.get("description"), (path, method, status)
                assert "X-Request-ID" in response["headers"], (path, method, status)


@pytest.mark.parametrize(("day", "documented", "others"), [
    ("2026-06-01T12:00:00+00:00", "1.0.0", "1.1.0"),
    ("2027-02-01T12:00:00+00:00", "1.1.0", "1.0.0"),
])
def test_a_pack_is_documented_from_its_live_version(day: str, documented: str, others: str) -> None:
    """credit's route describes the version served that day and lists the other one."""
    operation = _document(day)["paths"]["/v1/decisions/credit"]["post"]
    assert f"version **{documented}**" in operation["description"]
    assert f"- {others} (" in operation["description"]


def test_examples_are_the_packs_tests_decided_by_the_engine(document: dict[str, Any]) -> None:
    """Each request example is an embedded test's input; each response example is the engine's decision for it."""
    packs = require_pack_set(PACKS)
    for name in packs.names():
        operation = document["paths"][f"/v1/decisions/{name}"]["post"]
        requests = operation["requestBody"]["content"]["application/json"]["examples"]
        responses = operation["responses"]["200"]["content"]["application/json"]["examples"]
        assert requests, name
        live = packs.get(name, None, dt.date(2026, 6, 1))
        tests = {t.name: t for t in live.ir.tests}
        for key, example in requests.items():
            test = tests[example["summary"]]
            assert jsonio.loads(jsonio.dumps(test.input)) == jsonio.loads(jsonio.dumps(example["value"]))
            _validator(document, f"{name.title().replace('_', '')}Input").validate(example["value"])
            answer = responses[key]["value"]
            expected = live.decide(test.input, test.as_of or dt.date(2026, 6, 1)).as_dict()
            assert jsonio.loads(jsonio.dumps(expected))["output"] == answer["output"]
            _validator(document, f"{name.title().replace('_', '')}Decision").validate(answer)


def test_money_is_an_exact_decimal_and_may_be_sent_as_text(document: dict[str, Any]) -> None:
    """Money out is a number of format decimal; money in is that or a string of decimal text."""
    schemas = document["components"]["schemas"]
    assert schemas["CreditOutput"]["properties"]["exposure"] == {"type": "number", "format": "decimal"}
    order_amount = schemas["CreditInput"]["properties"]["order_amount"]
    kinds = {(s["type"], s["format"]) for s in order_amount["anyOf"]}
    assert kinds == {("number", "decimal"), ("string", "decimal")}
    pattern = next(s["pattern"] for s in order_amount["anyOf"] if s["type"] == "string")
    assert re.fullmatch(pattern, "65550.55")
    assert not re.search(pattern, "6.5e4")
    assert all(node.get("format") == "decimal" for node in _nodes(document) if node.get("type") == "number")


def _nodes(value: Any) -> list[dict[str, Any]]:
    """Every object in a JSON document, depth first."""
    found = [value] if isinstance(value, dict) else []
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        found += _nodes(child)
    return found


def test_a_problem_answer_fits_the_problem_schema(document: dict[str, Any]) -> None:
    """A real 422 body validates against components/schemas/Problem and carries the request id."""
    client = TestClient(create_app(PACKS))
    response = client.post("/v1/decisions/credit?as_of=2026-06-01", content=b'{"order_amount": -1}',
                           headers={"x-request-id": "trace-me-1"})
    assert response.status_code == 422
    _validator(document, "Problem").validate(response.json())
    assert response.json()["request_id"] == "trace-me-1"
    assert document["paths"]["/v1/decisions/credit"]["post"]["responses"]["422"]["content"][
        "application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_security_schemes_are_declared(document: dict[str, Any]) -> None:
    """API keys (header or bearer) on decisions, the admin token on reload; with keys set, no anonymous option."""
    assert set(document["components"]["securitySchemes"]) == {"ApiKey", "ApiKeyBearer", "AdminToken"}
    assert document["paths"]["/v1/admin/reload"]["post"]["security"] == [{"AdminToken": []}]
    assert {} in document["paths"]["/v1/decisions/credit"]["post"]["security"]
    secured = _document(api_keys=["k"])
    assert secured["paths"]["/v1/decisions/credit"]["post"]["security"] == [{"ApiKey": []}, {"ApiKeyBearer": []}]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_name_no_outside_host(path: str) -> None:
    """/docs and /redoc load their assets from this service: no URL with a host in the page."""
    client = TestClient(create_app(PACKS))
    page = client.get(path)
    assert page.status_code == 200
    assert not re.search(r"(https?:)?//[A-Za-z0-9.-]+", page.text), page.text
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert len(assets) >= 2
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def _generate_models(document: dict[str, Any], folder: Path) -> Any:
    """Pydantic models generated from the document by datamodel-code-generator, imported."""
    source = folder / "openapi.json"
    source.write_bytes(jsonio.dumps(document))
    target = folder / "arbiter_models.py"
    subprocess.run([sys.executable, "-m", "datamodel_code_generator", "--input", str(source), "--input-file-type",
                    "openapi", "--output", str(target), "--output-model-type", "pydantic_v2.BaseModel"],
                   check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("arbiter_models", target)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["arbiter_models"] = module
    spec.loader.exec_module(module)
    return module


def test_a_generated_client_decides_against_a_live_server(tmp_path: Path) -> None:
    """Models generated from /openapi.json type money as Decimal and decide a credit order over HTTP exactly."""
    proc, base = _start_server({})
    try:
        document = httpx.get(f"{base}/openapi.json", timeout=10).json()
        models = _generate_models(document, tmp_path)
        code = (tmp_path / "arbiter_models.py").read_text()
        assert "float" not in code
        assert re.search(r"exposure: .*Decimal", code)
        order = models.CreditInput.model_validate_json(EXAMPLE)
        # pydantic writes a Decimal as a JSON string: the service reads decimal text exactly
        response = httpx.post(f"{base}/v1/decisions/credit?as_of=2026-06-01", content=order.model_dump_json(), timeout=10,
                              headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
        decision = models.CreditDecision.model_validate_json(response.content)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    expected = require_pack_set(PACKS).get("credit", None, dt.date(2026, 6, 1)).decide(jsonio.loads(EXAMPLE), dt.date(2026, 6, 1))
    assert decision.output.exposure == expected.output["exposure"]
    assert str(decision.output.headroom) == str(expected.output["headroom"])
    assert decision.output.decision.value == expected.output["decision"]
    assert response.headers["x-request-id"] == decision.request_id


def test_decimal_text_is_read_exactly_and_other_text_refused() -> None:
    """"0.10" three times is exposure 0.30; "1e3", " 5" and "0x10" are refused with the field's pointer."""
    client = TestClient(create_app(PACKS))
    body = (b'{"order_amount": "0.10", "open_receivables": "0.10", "open_orders": 0.10, "credit_limit": "1",'
            b' "days_past_due": 0, "risk_tier": "A", "segment": "smb", "payment_terms": "net30", "account_age_days": 900}')
    response = client.post("/v1/decisions/credit?as_of=2026-06-01", content=body)
    assert b'"exposure":0.30' in response.content
    for bad in ("1e3", " 5", "0x10", "5.", "1" * 41, "NaN"):
        refused = client.post("/v1/decisions/credit?as_of=2026-06-01",
                              content=body.replace(b'"order_amount": "0.10"', b'"order_amount": "' + bad.encode() + b'"'))
        assert refused.status_code == 422
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/order_amount"]


def test_the_default_as_of_is_today_in_the_business_time_zone() -> None:
    """At 22:30 UTC on 31 December it is already 1 January in Sydney: the 2027 credit version answers."""
    moment = dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
    for zone, version, day in (("UTC", "1.0.0", "2026-12-31"), ("Australia/Sydney", "1.1.0", "2027-01-01")):
        settings = Settings.from_env({"ARBITER_TIMEZONE": zone})
        settings = Settings(settings.timezone, clock=lambda: moment)
        answer = TestClient(create_app(PACKS, settings=settings)).post("/v1/decisions/credit", content=EXAMPLE).json()
        assert (answer["version"], answer["as_of"]) == (version, day)
    with pytest.raises(ValueError, match="ARBITER_TIMEZONE"):
        Settings.from_env({"ARBITER_TIMEZONE": "Mars/Olympus"})


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz", "/v1/packs"])
def test_each_operations_route_sends_the_content_type_it_documents(document: dict[str, Any], path: str) -> None:
    """What a GET answers with is a media type the document lists for that status (/metrics is Prometheus text)."""
    answer = TestClient(create_app(PACKS)).get(path)
    documented = document["paths"][path]["get"]["responses"][str(answer.status_code)].get("content", {})
    assert answer.headers["content-type"].split(";")[0] in {media.split(";")[0] for media in documented}
