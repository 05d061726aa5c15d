"""The OpenAPI document: the service's routes plus one documented path per pack.

Each pack's decision route is documented from its live version (the one effective on the
business date the document is built for), lists the others, and carries request and
response examples made from that version's embedded tests, decided by the engine. Money
and decimals are exact: answers write them as JSON numbers from their decimal text
(``format: decimal``); requests may also send them as strings of decimal text, as OData v2
does (``DECIMAL_TEXT``). Neither passes through a binary float.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.responses import Response

from api.service import Service
from engine import jsonio
from engine.compiled import CompiledPack
from engine.inputs import DECIMAL_TEXT
from engine.registry import PackSet
from rules.errors import ArbiterError
from rules.schema import field_schema, object_schema

MAX_EXAMPLES = 3

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details: what went wrong, with a stable code and, for bad input, every field at fault.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "what went wrong, for a person"},
        "code": {"type": "string", "description": "stable machine-readable code, e.g. input-invalid, unknown-version",
                 "examples": ["input-invalid"]},
        "errors": {"type": "array", "description": "each field at fault (input-invalid)",
                   "items": {"$ref": "#/components/schemas/FieldProblem"}},
        "diagnostics": {"type": "array", "description": "each pack diagnostic (pack-invalid, on reload)",
                        "items": {"type": "object"}},
        "table": {"type": ["string", "null"], "description": "the decision table that failed (decision errors)"},
        "instance": {"type": "string", "description": "the request path"},
        "request_id": {"type": "string", "description": "the X-Request-ID of the request, to find it in the logs"},
    },
}
FIELD_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["pointer", "code", "message"],
    "properties": {
        "pointer": {"type": "string", "description": "RFC 6901 JSON pointer of the field in the request body",
                    "examples": ["/order_amount"]},
        "code": {"type": "string", "examples": ["missing", "type", "minimum", "enum"]},
        "message": {"type": "string"},
    },
}
SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "one of the keys in ARBITER_API_KEYS (required on decision routes when it is set)"},
    "ApiKeyBearer": {"type": "http", "scheme": "bearer", "description": "the same API key as `Authorization: Bearer <key>`"},
    "AdminToken": {"type": "http", "scheme": "bearer",
                   "description": "ARBITER_ADMIN_TOKEN as `Authorization: Bearer <token>`; admin routes are off without it"},
}
PROBLEM_STATUSES = {
    "400": "malformed request: invalid JSON, NaN, nesting too deep, a bad as_of or versions",
    "401": "an API key is required",
    "403": "the API key is not valid",
    "404": "unknown pack or version, or no version effective on as_of",
    "413": "the body, the batch or an order's lines exceed the configured limits",
    "415": "the body is declared (Content-Type) as something other than JSON",
    "422": "the input does not fit the pack's schema (every field at fault, by JSON pointer; a key given twice "
           "in one object too), versions= pins a pack the flow never runs, or the pack cannot decide it",
    # answered by the server itself (api.http_limits) or by its health, on any route
    "408": "the request head or body did not arrive within the server's time limits",
    "431": "the request head has more bytes or header fields than the server's limits",
    "503": "not ready, or no connection or request slot is free (Retry-After says when to try again)",
}
QUERY_PARAMETERS = [
    {"name": "version", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "pin a version; default: the newest effective on as_of"},
    {"name": "as_of", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
     "description": "the decision date; default: today in the service's business time zone (ARBITER_TIMEZONE)"},
    {"name": "trace", "in": "query", "required": False, "schema": {"type": "boolean"},
     "description": "add each table's evaluated conditions to the decision"},
    {"name": "versions", "in": "query", "required": False,
     "schema": {"type": "string", "pattern": r"^\s*([a-z][a-z0-9_]*@[0-9]+(\.[0-9]+)*\s*(,\s*[a-z][a-z0-9_]*@[0-9]+(\.[0-9]+)*\s*)*)?$"},
     # exactly what api.pins accepts: empty means no pins, spaces around each pin are allowed
     "description": "pin the versions a flow's steps run, e.g. `pricing@2.0.0,credit@1.1.0` (the decision's "
                    "`steps` says what ran)", "example": "pricing@2.0.0"},
]
SERVER_STATUSES = ("408", "431", "503")
REQUEST_ID_HEADER = {"X-Request-ID": {"description": "the request's id: the caller's X-Request-ID if valid, else generated",
                                      "schema": {"type": "string"}}}


def decimal_input(schema: Any) -> Any:
    """``schema`` with each exact decimal also accepted as a string of decimal text (requests only)."""
    if isinstance(schema, list):
        return [decimal_input(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "number" and schema.get("format") == "decimal":
        bounds = {k: schema[k] for k in ("minimum", "maximum") if k in schema}
        text = {"type": "string", "format": "decimal", "pattern": DECIMAL_TEXT.pattern, "maxLength": 40}
        rest = {k: v for k, v in schema.items() if k not in ("type", "format", "minimum", "maximum", "description")}
        out = {"anyOf": [{"type": "number", "format": "decimal", **bounds}, text], **rest}
        if "description" in schema:
            out["description"] = schema["description"]
        return out
    return {k: decimal_input(v) for k, v in schema.items()}


def problem_responses(*statuses: str) -> dict[str, Any]:
    return {status: {"description": PROBLEM_STATUSES[status], "headers": REQUEST_ID_HEADER,
                     "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in statuses}


def live_version(packs: PackSet, name: str, today: dt.date) -> CompiledPack:
    """The version a call without version= or as_of= gets today; the newest if none is effective today."""
    try:
        return packs.get(name, None, today)
    except ArbiterError:
        return packs.versions(name)[-1]


def _window(pack: CompiledPack) -> str:
    start = pack.ir.effective_from.isoformat() if pack.ir.effective_from else "always"
    end = f" until {pack.ir.effective_to.isoformat()}" if pack.ir.effective_to else ""
    return f"from {start}{end}" if pack.ir.effective_from else f"always{end}"


def _description(packs: PackSet, live: CompiledPack, today: dt.date) -> str:
    ir = live.ir
    lines = [ir.description.strip(), "",
             f"Documented from version **{live.version}** ({_window(live)}), the version served on {today.isoformat()} "
             "when no `version` or `as_of` is given. Other versions (pin one with `version=`; "
             f"`GET /v1/packs/{live.name}` gives each one's schemas):"]
    others = [p for p in packs.versions(live.name) if p is not live]
    lines += [f"- {p.version} ({_window(p)}), digest `{p.digest[:12]}`" for p in others] or ["- none"]
    return "\n".join(lines)


def _examples(pack: CompiledPack, today: dt.date) -> tuple[dict[str, Any], dict[str, Any]]:
    """Request and response examples from the pack's embedded tests, each answer decided by the engine."""
    requests: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    for test in pack.ir.tests:
        if test.error is not None or len(requests) >= MAX_EXAMPLES:
            continue
        day = test.as_of or today
        try:
            decision = pack.decide(test.input, day).as_dict()
        except ArbiterError:
            continue
        key = f"test{len(requests) + 1}"
        requests[key] = {"summary": test.name, "value": test.input}
        responses[key] = {"summary": f"{test.name} (as_of {day.isoformat()})",
                          "value": {**decision, "request_id": "3f2a9c1e0b7d4e6f8a1b2c3d4e5f6a7b"}}
    return requests, responses


def _decision_schema(title: str, flow: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "pack": {"type": "string"}, "version": {"type": "string"}, "digest": {"type": "string"},
        "as_of": {"type": "string", "format": "date"}, "output": {"$ref": f"#/components/schemas/{title}Output"},
        "matched": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "the rows that matched, by table"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "trace": {"type": "object", "description": "each table's evaluated conditions (trace=true)"},
        "request_id": {"type": "string"},
        "fallback": {"type": "object", "description": "present when the pack's declared fallback answered instead of a "
                     "refusal: which failure, and the problem it would have been",
                     "required": ["cause", "problem"],
                     "properties": {"cause": {"type": "string", "enum": ["invalid_input", "missing_input", "evaluation_error"]},
                                    "problem": {"$ref": "#/components/schemas/Problem"}}},
    }
    if flow:
        properties["steps"] = {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "the version each step of the flow ran"}
    # request_id is the call's: a batch's items have none, a single decision always has it (see _pack_paths)
    return {"type": "object", "required": ["pack", "version", "digest", "as_of", "output", "matched"],
            "properties": properties}


def _output_schema(packs: PackSet, name: str, live: CompiledPack) -> dict[str, Any]:
    """The live version's outputs, each also as any other served version writes it (``version=`` or ``as_of`` pick one)."""
    shapes: dict[str, list[Any]] = {}
    for pack in [live, *packs.versions(name)]:
        for spec in pack.ir.outputs:
            known = shapes.setdefault(spec.name, [])
            if (shape := field_schema(spec.spec)) not in known:
                known.append(shape)
    return {"type": "object", "properties": {key: found[0] if len(found) == 1 else {"anyOf": found}
                                             for key, found in shapes.items()}}


def _batch_schemas(title: str) -> dict[str, Any]:
    item = {"oneOf": [{"$ref": f"#/components/schemas/{title}Decision"},
                      {"type": "object", "required": ["error"], "properties": {"error": {"$ref": "#/components/schemas/Problem"}}}]}
    return {
        f"{title}Batch": {"type": "object", "required": ["inputs"],
                          "properties": {"inputs": {"type": "array", "items": {"$ref": f"#/components/schemas/{title}Input"}}}},
        f"{title}BatchResult": {"type": "object", "required": ["pack", "version", "digest", "as_of", "results", "request_id"],
                                "properties": {"pack": {"type": "string"}, "version": {"type": "string"},
                                               "digest": {"type": "string"}, "as_of": {"type": "string", "format": "date"},
                                               "results": {"type": "array", "items": item},
                                               "request_id": {"type": "string"}}},
    }


def _pack_paths(packs: PackSet, name: str, today: dt.date, parameters: list[dict[str, Any]],
                security: list[dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    live = live_version(packs, name, today)
    ir = live.ir
    title = "".join(part.capitalize() for part in name.split("_"))
    schemas[f"{title}Input"] = decimal_input(object_schema({f.name: f.spec for f in ir.inputs}))
    schemas[f"{title}Output"] = _output_schema(packs, name, live)
    schemas[f"{title}Decision"] = _decision_schema(title, bool(ir.steps))
    schemas.update(_batch_schemas(title))
    requests, responses = _examples(live, today)
    summary = ir.description.strip().splitlines()[0][:80] if ir.description.strip() else name
    ok = {"description": "the decision", "headers": REQUEST_ID_HEADER,
          "content": {"application/json": {"schema": {"allOf": [{"$ref": f"#/components/schemas/{title}Decision"},
                                                                {"required": ["request_id"]}]},
                                            "examples": responses}}}
    batch_ok = {"description": "each item's decision or problem, in order", "headers": REQUEST_ID_HEADER,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{title}BatchResult"}}}}
    batch_example = {"inputs": [e["value"] for e in requests.values()]}
    errors = problem_responses("400", "401", "403", "404", "413", "415", "422", *SERVER_STATUSES)
    return {
        f"/v1/decisions/{name}": {"post": {
            "tags": ["decisions"], "summary": f"{name}: {summary}", "description": _description(packs, live, today),
            "operationId": f"decide_{name}", "parameters": parameters, "security": security,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{title}Input"}, "examples": requests}}},
            "responses": {"200": ok, **errors},
        }},
        f"/v1/decisions/{name}/batch": {"post": {
            "tags": ["decisions"], "summary": f"{name}: many decisions, each result or problem in place",
            "operationId": f"decide_{name}_batch", "parameters": [p for p in parameters if p["name"] != "trace"],
            "security": security,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{title}Batch"}, "example": batch_example}}},
            "responses": {"200": batch_ok, **errors},
        }},
    }


def _complete_service_routes(paths: dict[str, Any]) -> None:
    """The service's own routes: admin security, problem responses and the request id header."""
    reload = paths.get("/v1/admin/reload", {}).get("post")
    if reload is not None:
        reload["security"] = [{"AdminToken": []}]
        reload["responses"].update(problem_responses("401", "403", "404", "422"))
        reload["responses"]["404"]["description"] = "admin routes are off (ARBITER_ADMIN_TOKEN is not set)"
        reload["responses"]["422"]["description"] = "a pack does not compile: its diagnostics; nothing changed"
    detail = paths.get("/v1/packs/{pack}", {}).get("get")
    if detail is not None:
        detail["responses"].update(problem_responses("404"))
    for operations in paths.values():
        for operation in operations.values():
            for status, response in problem_responses(*SERVER_STATUSES).items():
                operation["responses"].setdefault(status, response)
            for response in operation["responses"].values():
                response.setdefault("headers", REQUEST_ID_HEADER)


def openapi_document(app: FastAPI, packs: PackSet, today: dt.date, parameters: list[dict[str, Any]],
                     keys_required: bool) -> dict[str, Any]:
    """The whole document, for the packs served and the business date ``today``."""
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["FieldProblem"] = FIELD_PROBLEM_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    paths = document["paths"]
    _complete_service_routes(paths)
    security: list[dict[str, Any]] = [{"ApiKey": []}, {"ApiKeyBearer": []}]
    if not keys_required:
        security.append({})  # no ARBITER_API_KEYS: the decision routes are open
    for name in packs.names():
        paths.update(_pack_paths(packs, name, today, parameters, security, schemas))
    return document


def install(app: FastAPI, service: Service) -> None:
    """``GET /openapi.json``: built once per served pack set and business date, then answered from bytes."""

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> Response:
        today = service.settings.today()
        cached = service.openapi_cache
        if cached is None or cached[0] is not service.packs or cached[1] != today:
            document = openapi_document(app, service.packs, today, QUERY_PARAMETERS, bool(service.api_keys))
            cached = service.openapi_cache = (service.packs, today, jsonio.dumps(document))
        return Response(cached[2], media_type="application/json")
