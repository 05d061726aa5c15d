"""The decision API: an app factory over an atomically swappable ``PackSet``.

Endpoints read the raw body and parse it with ``engine.jsonio`` (numbers straight to
Decimal, bounded depth), then call the same ``CompiledPack.decide`` that the CLI and the
simulator call; the response body is ``Decision.as_dict()`` plus a request id.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from api import problems
from engine import jsonio
from engine.compiled import CompiledPack
from engine.registry import PackSet, build_pack_set, require_pack_set
from rules.errors import (
    ArbiterError,
    AuthError,
    FeatureDisabled,
    Forbidden,
    MalformedRequest,
    PackError,
    RequestTooLarge,
)
from rules.schema import field_schema, object_schema

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 1000
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class Service:
    """What the app serves; ``packs`` is replaced as a whole, never mutated."""

    def __init__(self, root: Path, admin_token: str | None, api_keys: list[str]) -> None:
        self.root = root
        self.admin_token = admin_token
        self.api_keys = [k.encode() for k in api_keys]
        self.packs: PackSet = require_pack_set(root)
        self._reload_lock = threading.Lock()

    def reload(self) -> PackSet:
        with self._reload_lock:
            fresh, diagnostics = build_pack_set(self.root)
            if fresh is None:
                raise PackError(diagnostics)
            self.packs = fresh  # one reference assignment: requests see the old set or the new one
            return fresh


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise MalformedRequest(f"as_of {value!r} is not a date (YYYY-MM-DD)") from None


def _flag(value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise MalformedRequest(f"trace={value!r} is not a boolean")


async def _body(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return jsonio.loads(b"".join(chunks))


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def pack_summary(pack: CompiledPack) -> dict[str, Any]:
    ir = pack.ir
    return {
        "pack": ir.name,
        "version": ir.version,
        "kind": ir.kind,
        "digest": ir.digest,
        "description": ir.description,
        "owner": ir.owner,
        "effective_from": ir.effective_from,
        "effective_to": ir.effective_to,
    }


def pack_detail(pack: CompiledPack) -> dict[str, Any]:
    ir = pack.ir
    out = pack_summary(pack)
    out["input_schema"] = object_schema({f.name: f.spec for f in ir.inputs})
    out["output_schema"] = {"type": "object", "properties": {f.name: field_schema(f.spec) for f in ir.outputs}}
    out["tables"] = [{"id": t.id, "hit_policy": t.hit_policy, "rows": [r.id for r in t.rows]} for t in ir.tables]
    return out


def create_app(root: Path | str = "policy_packs", *, admin_token: str | None = None,
               api_keys: list[str] | None = None) -> FastAPI:
    service = Service(Path(root), admin_token, api_keys or [])
    app = FastAPI(
        title="Arbiter",
        version="1",
        description="Decisions for order capture and release: credit, pricing, allocation, exception routing.",
    )
    app.state.service = service
    problems.install(app)

    def require_api_key(request: Request) -> None:
        if not service.api_keys:
            return
        header = request.headers.get("authorization", "")
        given = header[7:].encode() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "").encode()
        if not given:
            raise AuthError("an API key is required (Authorization: Bearer <key> or X-API-Key)")
        if not any(hmac.compare_digest(given, key) for key in service.api_keys):
            raise Forbidden("the API key is not valid")

    def respond(body: dict[str, Any], status: int = 200) -> Response:
        return Response(jsonio.dumps(body), status_code=status, media_type="application/json")

    @app.post("/v1/decisions/{pack}", summary="One decision", tags=["decisions"])
    async def decide(pack: str, request: Request, version: str | None = None, as_of: str | None = None,
                     trace: str | None = None) -> Response:
        require_api_key(request)
        day = _as_of(as_of)
        compiled = service.packs.get(pack, version, day)
        body = await _body(request)
        decision = compiled.decide(body, day, trace=_flag(trace))
        out = decision.as_dict()
        out["request_id"] = _request_id(request)
        return respond(out)

    @app.post("/v1/decisions/{pack}/batch", summary="Many decisions, each result or error in place", tags=["decisions"])
    async def decide_batch(pack: str, request: Request, version: str | None = None,
                           as_of: str | None = None) -> Response:
        require_api_key(request)
        day = _as_of(as_of)
        compiled = service.packs.get(pack, version, day)
        body = await _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise MalformedRequest('body must be {"inputs": [...]}')
        inputs = body["inputs"]
        if len(inputs) > MAX_BATCH:
            raise RequestTooLarge(f"a batch holds at most {MAX_BATCH} inputs")
        results: list[dict[str, Any]] = []
        for item in inputs:
            try:
                results.append(compiled.decide(item, day).as_dict())
            except ArbiterError as exc:
                results.append({"error": problems.problem_body(exc)})
        return respond({"pack": compiled.name, "version": compiled.version, "digest": compiled.digest,
                        "as_of": day, "results": results, "request_id": _request_id(request)})

    @app.get("/v1/packs", summary="Packs and their versions", tags=["packs"])
    async def list_packs() -> Response:
        packs = service.packs
        return respond({"packs": [{"pack": name, "versions": [pack_summary(p) for p in packs.versions(name)]}
                                  for name in packs.names()]})

    @app.get("/v1/packs/{pack}", summary="One pack: versions, windows, digests, JSON Schemas", tags=["packs"])
    async def get_pack(pack: str) -> Response:
        return respond({"pack": pack, "versions": [pack_detail(p) for p in service.packs.versions(pack)]})

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        return respond({"status": "ok"})

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> Response:
        count = sum(1 for _ in service.packs)
        return respond({"status": "ready", "pack_versions": count})

    @app.post("/v1/admin/reload", tags=["operations"])
    async def reload(request: Request) -> Response:
        if service.admin_token is None:
            raise FeatureDisabled("admin routes are off: set ARBITER_ADMIN_TOKEN to enable them")
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise AuthError("the admin token is required (Authorization: Bearer <token>)")
        if not hmac.compare_digest(header[7:].encode(), service.admin_token.encode()):
            raise Forbidden("the admin token is not valid")
        fresh = service.reload()
        return respond({"status": "reloaded", "packs": [p.key for p in fresh]})

    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn: configuration comes from the environment."""
    keys = [k.strip() for k in os.environ.get("ARBITER_API_KEYS", "").split(",") if k.strip()]
    return create_app(
        os.environ.get("ARBITER_PACKS", "policy_packs"),
        admin_token=os.environ.get("ARBITER_ADMIN_TOKEN") or None,
        api_keys=keys,
    )
