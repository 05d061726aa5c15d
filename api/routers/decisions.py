"""The decision routes: one input, or a batch, decided by a pack version; refusals recorded, outcomes counted.

The routes take the bare Request and read path and query themselves: FastAPI's per-request
parameter solving cost about a third of a single decision's time in the app (profiled);
each pack's route is documented with its own schemas (``api.openapi``), so they are plain
Starlette routes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from api import logs, security
from api.batch import after_decision, batch_inputs, check_lines, count_decision, count_outcomes, decide_each
from api.call import Call, Observe
from api.errors import RequestTimeout, RequestTooLarge
from api.fallbacks import fallback_answer, fallback_decision
from api.pins import PinnedPacks, check_pins, parse_pins
from api.request_body import check_media_type, loads
from api.routers import respond
from api.service import Service
from api.settings import Settings
from engine import jsonio
from engine.compiled import CompiledPack
from engine.dates import calendar_date
from rules.errors import ArbiterError, MalformedRequest

DECIDE = "/v1/decisions/{pack}"
BATCH = "/v1/decisions/{pack}/batch"
DECIDE_PARAMS = frozenset({"as_of", "version", "versions", "trace"})
BATCH_PARAMS = frozenset({"as_of", "version", "versions"})


def _as_of(value: str | None, settings: Settings) -> dt.date:
    if value is None:
        return settings.today()
    try:
        return calendar_date(value)
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


def _content(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """The request's Content-Length, Content-Type and Content-Encoding, in one walk of its header fields (ASGI names are lower case)."""
    length = kind = encoding = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value.decode("latin-1")
        elif name == b"content-type":
            kind = value.decode("latin-1")
        elif name == b"content-encoding":
            encoding = value.decode("latin-1")
    return length, kind, encoding


async def _body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The body, at most ``limit`` bytes, read from the ASGI messages (Starlette's stream adds a generator per request)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"body is larger than {limit} bytes (ARBITER_MAX_BODY_BYTES)")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # gone, or closed by the body timeout (api.http_limits): not a server error
            raise RequestTimeout("the client left before its body arrived")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"body is larger than {limit} bytes (ARBITER_MAX_BODY_BYTES)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_queries: dict[bytes, dict[str, str]] = {}
QUERIES_KEPT = 256  # distinct query strings parsed and kept: ERP clients send a few forms again and again


def query_of(scope: Scope) -> Mapping[str, str]:
    """The query's parameters, parsed once per distinct query; a name given twice is a 400.

    Keeping the last of two (as Starlette does) decided ``versions=a&versions=b`` without
    ``a``'s pins and ``as_of`` twice on the second date, silently.
    """
    raw: bytes = scope["query_string"]
    found = _queries.get(raw)
    if found is None:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
        found = dict(pairs)
        if len(found) != len(pairs):
            names = [name for name, _ in pairs]
            twice = sorted({name for name in names if names.count(name) > 1})
            raise MalformedRequest(f"query parameter {', '.join(map(repr, twice))} given more than once")
        if len(_queries) >= QUERIES_KEPT:
            _queries.clear()
        _queries[raw] = found
    return found


def _check_names(query: Mapping[str, str], known: frozenset[str]) -> None:
    """A parameter the route does not read (``asof=``, ``trace=`` on a batch) is a 400: ignored, it decided on a guess."""
    if not known.issuperset(query):
        unknown = sorted(set(query) - known)
        raise MalformedRequest(f"unknown query parameter {', '.join(map(repr, unknown))} "
                               f"(this route reads {', '.join(sorted(known))})")


async def resolve(service: Service, call: Call, request: Request,
                  known: frozenset[str] = DECIDE_PARAMS) -> tuple[CompiledPack, dt.date]:
    """What both decision routes need first: the caller allowed, the date, the pack version, the body."""
    call.caller = security.caller(service, request)
    scope = request.scope
    query = query_of(scope)
    _check_names(query, known)
    call.day = _as_of(query.get("as_of"), service.settings)
    packs = call.packs = service.packs
    pins = parse_pins(query.get("versions"), packs)
    name = request.path_params["pack"]
    version = query.get("version") or None
    if pins:
        check_pins(name, pins, packs)
        call.steps_from = PinnedPacks(packs, pins)
        if version is not None and pins.get(name, version) != version:
            raise MalformedRequest(f"version={version} and versions={name}@{pins[name]} pin {name!r} differently")
    compiled = call.pack = call.observe.resolved(packs.get(name, version or pins.get(name), call.day))
    if service.decision_log is not None:
        service.decision_log.admit()  # audit mode: no decision the log could not hold
    length, kind, encoding = _content(scope)
    check_media_type(kind, encoding)
    call.raw = await _body(request.receive, length, service.settings.limits.body_bytes)
    call.body = loads(call.raw)
    return compiled, call.day


def router(service: Service) -> APIRouter:
    routes = APIRouter()
    metrics = service.metrics

    async def decide(request: Request) -> Response:
        request.scope[logs.ROUTE] = DECIDE
        with Observe(metrics, "decide", request) as observe:
            call = Call(observe, logs.request_id_of(request.scope))
            fallback: dict[str, Any] | None = None
            try:
                compiled, day = await resolve(service, call, request)
                check_lines(call.body, service.settings.limits.lines)
                trace = _flag(query_of(request.scope).get("trace"))
                decision = compiled.evaluate(compiled.validate(call.body), day, trace=trace, pack_set=call.steps_from)
            except ArbiterError as exc:
                found = fallback_decision(call.pack, call.day, exc)
                if found is None:
                    if observe.version:  # refused after the pack was resolved: a decision that was not made
                        metrics.decision(observe.pack, observe.version, "refused")
                    call.refuse(service.recorder, exc, "decide", service.settings.today())
                    raise
                decision, fallback = found
            count_decision(metrics, decision, fallback)
            out = fallback_answer(decision, fallback) if fallback is not None else decision.as_dict()
            out["request_id"] = call.request_id
            answer = call.answer = jsonio.dumps(out)  # written once: shadow mode passes these bytes on
            ticket = after_decision(decision, call.body, call, service.recorder, service.shadow, "decide",
                                    time.perf_counter() - observe.start, fallback=fallback)
            if service.decision_log is not None:
                await service.decision_log.settled([ticket])
            return Response(answer, media_type="application/json")

    async def decide_batch(request: Request) -> Response:
        request.scope[logs.ROUTE] = BATCH
        with Observe(metrics, "batch", request) as observe:
            call = Call(observe, logs.request_id_of(request.scope))
            try:
                compiled, _ = await resolve(service, call, request, BATCH_PARAMS)
                inputs = batch_inputs(call.body, service.settings.limits.batch)
            except ArbiterError as exc:
                call.refuse(service.recorder, exc, "batch", service.settings.today())
                raise
            results, tickets = decide_each(compiled, inputs, call, service.recorder, service.settings.limits.lines,
                                           service.shadow)
            count_outcomes(metrics, compiled, results)
            if service.decision_log is not None:
                await service.decision_log.settled(tickets)
            return respond({"pack": compiled.name, "version": compiled.version, "digest": compiled.digest,
                            "as_of": call.day, "results": results, "request_id": call.request_id})

    # Starlette routes, not FastAPI's: they are documented by hand (api.openapi), and FastAPI's
    # per-request work (dependencies, an exit stack, its telemetry) cost about a fifth of a
    # single decision's time in the app (profiled)
    routes.add_route(DECIDE, decide, methods=["POST"], include_in_schema=False)
    routes.add_route(BATCH, decide_batch, methods=["POST"], include_in_schema=False)
    return routes
