"""The decision API: an app factory over an atomically swappable ``PackSet``.

Endpoints read the raw body and parse it with ``engine.jsonio`` (numbers straight to
Decimal, bounded depth), then call the same ``CompiledPack.decide`` that the CLI and the
simulator call; the response body is ``Decision.as_dict()`` plus a request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from api import docs, logs, problems
from api import reload as reloads
from api.audit import Recorder, key_id
from api.batch import Call, after_decision, batch_inputs, check_lines, count_decision, count_outcomes, decide_each
from api.decision_log import DecisionLog, LogSettings
from api.fallbacks import fallback_answer, fallback_decision
from api.metrics import Metrics
from api.openapi import openapi_document
from api.pins import PinnedPacks, parse_pins
from api.settings import Settings
from api.shadow import start_shadow
from engine import heap, jsonio
from engine.compiled import CompiledPack
from engine.registry import PackSet, build_pack_set, require_pack_set, with_backend
from rules.errors import (
    ArbiterError,
    AuthError,
    FeatureDisabled,
    Forbidden,
    MalformedRequest,
    PackError,
    RequestTooLarge,
)
from rules.load import pack_files
from rules.schema import field_schema, object_schema

log = logging.getLogger("arbiter.api")



class Service:
    """What the app serves; ``packs`` is replaced as a whole, never mutated."""

    def __init__(self, root: Path, admin_token: str | None, api_keys: list[str], decision_log: Path | None = None,
                 backend: str = "native", reload_signal: Path | None = None, metrics_dir: Path | None = None,
                 settings: Settings | None = None, log_settings: LogSettings | None = None) -> None:
        self.root = root
        self.settings = settings or Settings()
        self.openapi_cache: tuple[PackSet, dt.date, bytes] | None = None
        self.reload_signal = reload_signal  # shared by the workers of one server: a reload in one reaches all
        self.metrics_dir = metrics_dir  # shared too: each worker's counts, for every worker's /metrics
        if metrics_dir is not None:
            metrics_dir.mkdir(parents=True, exist_ok=True)
        # a pid alone could be reused by a restarted worker and overwrite a dead one's counts
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        signal = reloads.read_signal(reload_signal)
        self.generation = signal[0] if signal else None
        self.behind: str | None = None  # why this worker does not serve what the last reload signalled
        self.admin_token = admin_token
        self.api_keys = [k.encode() for k in api_keys]
        self.backend = backend
        self.packs: PackSet = self._switch(require_pack_set(root))
        self.metrics = Metrics()
        self.decision_log = DecisionLog(decision_log, log_settings) if decision_log is not None else None
        self.recorder = Recorder(self.decision_log, self.settings.mask) if self.decision_log is not None else None
        self.key_ids = {key: key_id(key) for key in self.api_keys}
        self.shadow = start_shadow(self.settings, self.packs, self.metrics, decision_log, log_settings)
        self.fingerprint = self._fingerprint()
        self._reload_lock = threading.Lock()

    def _switch(self, packs: PackSet) -> PackSet:
        switched, notes = with_backend(packs, self.backend)
        for note in notes:
            log.warning(note)
        return switched

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        out = []
        for path in pack_files(self.root):
            with contextlib.suppress(OSError):
                stat = path.stat()
                out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def reload(self) -> PackSet:
        with self._reload_lock, _yielding_gil():
            fingerprint = self._fingerprint()
            fresh, diagnostics = build_pack_set(self.root)
            if fresh is None:
                self.metrics.reload("failed")
                raise PackError(diagnostics)
            fresh = self._switch(fresh)
            self.packs = fresh  # one reference assignment: requests see the old set or the new one
            self.fingerprint = fingerprint
            heap.settle()  # the replaced packs go, the new ones are frozen
            self.metrics.reload("ok")
            return fresh

    def reload_everywhere(self) -> PackSet:
        """Reload here, then tell this server's other workers to reload too (they follow the signal file)."""
        fresh = self.reload()
        self.behind = None
        if self.reload_signal is not None:
            token = uuid.uuid4().hex
            self.generation = token  # before the signal: this worker's own follower must not reload again
            reloads.write_signal(self.reload_signal, token, self.served_digest())
        with contextlib.suppress(OSError):
            reloads.report(self)
        return fresh

    def changed(self) -> bool:
        return self._fingerprint() != self.fingerprint

    def publish_metrics(self) -> None:
        """Write this worker's counts where the server's other workers read them (atomically: whole or old)."""
        if self.metrics_dir is None:
            return
        self.refresh_totals()
        staged = self.metrics_dir / f".{self.worker}.tmp"
        staged.write_bytes(jsonio.dumps(self.metrics.snapshot()))
        os.replace(staged, self.metrics_dir / f"{self.worker}.json")

    def refresh_totals(self) -> None:
        if self.decision_log is not None:
            self.metrics.set_totals(self.decision_log.totals())

    def other_workers_metrics(self) -> list[dict[str, Any]]:
        """The last counts every other worker of this server published, including workers that have since exited."""
        if self.metrics_dir is None:
            return []
        found = []
        for path in sorted(self.metrics_dir.glob("*.json")):
            if path.stem == self.worker:
                continue
            with contextlib.suppress(OSError, MalformedRequest):
                found.append(jsonio.loads(path.read_bytes()))
        return found

    def served_digest(self) -> str:
        """One digest of every pack version served: equal across workers that serve the same packs."""
        return hashlib.sha256("|".join(f"{p.key}:{p.digest}" for p in self.packs).encode()).hexdigest()


@contextlib.contextmanager
def _yielding_gil(seconds: float = 0.0005) -> Iterator[None]:
    """Compile with the interpreter switching threads every 0.5 ms instead of 5 ms.

    The reload compiles in a worker thread while the event loop serves; with the default
    interval each request waits behind 5 ms slices of compiling, and p99 during a reload
    grew several-fold.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class Observe:
    """Times one request and records it by the status its outcome maps to."""

    def __init__(self, metrics: Metrics, route: str, request: Request) -> None:
        self.metrics = metrics
        self.route = route
        self.scope = request.scope
        self.pack = "unknown"
        self.version = ""

    def __enter__(self) -> Observe:
        self.start = time.perf_counter()
        return self

    def resolved(self, pack: CompiledPack) -> CompiledPack:
        self.pack, self.version = pack.name, pack.version
        self.scope[logs.PACK], self.scope[logs.VERSION] = pack.name, pack.version  # for the access line
        return pack

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            status = 200
        elif isinstance(exc, ArbiterError):
            status = problems.status_of(exc)
        else:
            status = 500
        self.metrics.observe(self.route, self.pack, self.version, status, time.perf_counter() - self.start)


def _as_of(value: str | None, settings: Settings) -> dt.date:
    if value is None:
        return settings.today()
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


async def _body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"body is larger than {limit} bytes (ARBITER_MAX_BODY_BYTES)")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"body is larger than {limit} bytes (ARBITER_MAX_BODY_BYTES)")
        chunks.append(chunk)
    return jsonio.loads(b"".join(chunks))


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


QUERY_PARAMETERS = [
    {"name": "version", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "pin a version; default: the newest effective on as_of"},
    {"name": "as_of", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
     "description": "the decision date; default: today in the service's business time zone (ARBITER_TIMEZONE)"},
    {"name": "trace", "in": "query", "required": False, "schema": {"type": "boolean"},
     "description": "add each table's evaluated conditions to the decision"},
    {"name": "versions", "in": "query", "required": False,
     "schema": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*@[0-9.]+(,[a-z][a-z0-9_]*@[0-9.]+)*$"},
     "description": "pin the versions a flow's steps run, e.g. `pricing@2.0.0,credit@1.1.0` (the decision's "
                    "`steps` says what ran)", "example": "pricing@2.0.0"},
]


def create_app(root: Path | str = "policy_packs", *, admin_token: str | None = None,
               api_keys: list[str] | None = None, decision_log: Path | None = None,
               watch_seconds: float | None = None, backend: str = "native",
               reload_signal: Path | None = None, metrics_dir: Path | None = None,
               settings: Settings | None = None, log_settings: LogSettings | None = None) -> FastAPI:
    service = Service(Path(root), admin_token, api_keys or [], decision_log, backend, reload_signal, metrics_dir,
                      settings, log_settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        heap.settle()  # the app and its packs are built: keep them out of every garbage collection
        tasks = [asyncio.create_task(reloads.watch(service, watch_seconds))] if watch_seconds else []
        if reload_signal is not None:
            tasks.append(asyncio.create_task(reloads.follow(service)))
        with contextlib.suppress(OSError):
            reloads.report(service)
        if metrics_dir is not None:
            tasks.append(asyncio.create_task(_publish(service)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(OSError):
                service.publish_metrics()  # a worker's last counts outlive it: counters never go back
            if service.shadow is not None:
                service.shadow.close()
            if service.decision_log is not None:
                service.decision_log.close()

    app = FastAPI(
        title="Arbiter",
        version="1",
        description="Decisions for order capture and release: credit, pricing, allocation, exception routing. "
        "Money is exact: JSON numbers are read as decimals and written from their exact text.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.add_middleware(logs.RequestContext)
    problems.install(app)
    metrics = service.metrics

    def require_api_key(request: Request) -> str | None:
        """The caller's key id (api.audit.key_id), or None when the service has no keys."""
        if not service.api_keys:
            return None
        header = request.headers.get("authorization", "")
        given = header[7:].encode() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "").encode()
        if not given:
            raise AuthError("an API key is required (Authorization: Bearer <key> or X-API-Key)")
        for key, ident in service.key_ids.items():
            if hmac.compare_digest(given, key):
                return ident
        raise Forbidden("the API key is not valid")

    def respond(body: dict[str, Any], status: int = 200) -> Response:
        return Response(jsonio.dumps(body), status_code=status, media_type="application/json")

    async def resolve(call: Call, request: Request) -> tuple[CompiledPack, dt.date]:
        """What both decision routes need first: the caller allowed, the date, the pack version, the body."""
        call.caller = require_api_key(request)
        query = request.query_params
        call.day = _as_of(query.get("as_of"), service.settings)
        packs = call.packs = service.packs
        pins = parse_pins(query.get("versions"), packs)
        if pins:
            call.steps_from = PinnedPacks(packs, pins)
        name = request.path_params["pack"]
        compiled = call.pack = call.observe.resolved(packs.get(name, query.get("version") or pins.get(name), call.day))
        if service.decision_log is not None:
            service.decision_log.admit()  # audit mode: no decision the log could not hold
        call.body = await _body(request, service.settings.limits.body_bytes)
        return compiled, call.day

    # The routes take the bare Request and read path and query themselves: FastAPI's
    # per-request parameter solving cost about a third of a single decision's time in the
    # app (profiled); each pack's route is documented with its own schemas (api.openapi).
    @app.post("/v1/decisions/{pack}", include_in_schema=False)
    async def decide(request: Request) -> Response:
        with Observe(metrics, "decide", request) as observe:
            call = Call(observe, logs.request_id_of(request.scope))
            fallback: dict[str, Any] | None = None
            try:
                compiled, day = await resolve(call, request)
                check_lines(call.body, service.settings.limits.lines)
                trace = _flag(request.query_params.get("trace"))
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
            ticket = after_decision(decision, call.body, call, service.recorder, service.shadow, "decide",
                                    time.perf_counter() - observe.start, fallback=fallback)
            if service.decision_log is not None:
                await service.decision_log.settled([ticket])
            out = fallback_answer(decision, fallback) if fallback is not None else decision.as_dict()
            out["request_id"] = call.request_id
            return respond(out)

    @app.post("/v1/decisions/{pack}/batch", include_in_schema=False)
    async def decide_batch(request: Request) -> Response:
        with Observe(metrics, "batch", request) as observe:
            call = Call(observe, logs.request_id_of(request.scope))
            try:
                compiled, _ = await resolve(call, request)
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
        body: dict[str, Any] = {"status": "ready", "pack_versions": count, "packs_digest": service.served_digest(),
                                "worker": os.getpid(), **reloads.split(service)}
        not_ready = []
        if service.decision_log is not None:
            body["decision_log"] = service.decision_log.status()
            if not service.decision_log.healthy:
                not_ready.append("the decision log cannot be written")
        if service.behind is not None:
            not_ready.append(f"this worker does not serve the packs the last reload signalled ({service.behind})")
        if not_ready:
            body.update(status=503, type="https://arbiter.dev/problems/not-ready", code="not-ready",
                        title="Service unavailable", detail="not ready: " + "; ".join(not_ready))
            return problems.problem_response(503, body)
        return respond(body)

    @app.post("/v1/admin/reload", tags=["operations"])
    async def reload(request: Request) -> Response:
        if service.admin_token is None:
            raise FeatureDisabled("admin routes are off: set ARBITER_ADMIN_TOKEN to enable them")
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            log.warning("admin reload refused: no token", extra={"outcome": "unauthorized"})
            raise AuthError("the admin token is required (Authorization: Bearer <token>)")
        if not hmac.compare_digest(header[7:].encode(), service.admin_token.encode()):
            log.warning("admin reload refused: wrong token", extra={"outcome": "forbidden"})
            raise Forbidden("the admin token is not valid")
        try:
            fresh = await asyncio.to_thread(service.reload_everywhere)
        except PackError as exc:
            log.warning("admin reload refused: %s", exc.message, extra={
                "outcome": "refused", "errors": sum(1 for d in exc.diagnostics if d.severity == "error")})
            raise
        keys = [p.key for p in fresh]
        log.info("admin reload: %d pack version(s) served", len(keys), extra={
            "outcome": "reloaded", "packs": keys, "packs_digest": service.served_digest()})
        body: dict[str, Any] = {"status": "reloaded", "packs": keys, "packs_digest": service.served_digest()}
        body.update(await reloads.converged(service))
        if body["workers_on_digest"] < body["workers_total"]:
            body.update(status=503, type="https://arbiter.dev/problems/reload-incomplete", code="reload-incomplete",
                        title="Service unavailable", detail="reloaded here, but not every worker serves the new packs yet")
            return problems.problem_response(503, body)
        return respond(body)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics of the server (every worker's counts)",
             response_class=Response,  # documented as what it sends, not FastAPI's default JSON
             responses={200: {"description": "Prometheus text exposition format 0.0.4",
                              "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}}})
    async def prometheus() -> Response:
        service.refresh_totals()
        return Response(metrics.render(service.other_workers_metrics()), media_type="text/plain; version=0.0.4")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> Response:
        today = service.settings.today()
        cached = service.openapi_cache
        if cached is None or cached[0] is not service.packs or cached[1] != today:
            document = openapi_document(app, service.packs, today, QUERY_PARAMETERS, bool(service.api_keys))
            cached = service.openapi_cache = (service.packs, today, jsonio.dumps(document))
        return Response(cached[2], media_type="application/json")

    docs.install(app)

    return app


async def _publish(service: Service, seconds: float = 1.0) -> None:
    """Publish this worker's counts every second: another worker's /metrics is at most that far behind."""
    while True:
        await asyncio.sleep(seconds)
        try:
            service.publish_metrics()
        except OSError as exc:
            log.error("metrics not published: %s", exc)


def app_from_env() -> FastAPI:
    """Factory for uvicorn: configuration comes from the environment."""
    logs.configure()
    keys = [k.strip() for k in os.environ.get("ARBITER_API_KEYS", "").split(",") if k.strip()]
    if os.environ.get("ARBITER_API_KEYS", "").strip() and not keys:  # " , " must not quietly mean "no auth"
        raise ValueError("ARBITER_API_KEYS is set but holds no key; unset it to run without keys")
    log_path = os.environ.get("ARBITER_DECISION_LOG")
    watch = os.environ.get("ARBITER_WATCH")
    return create_app(
        os.environ.get("ARBITER_PACKS", "policy_packs"),
        admin_token=os.environ.get("ARBITER_ADMIN_TOKEN") or None,
        api_keys=keys,
        decision_log=Path(log_path) if log_path else None,
        watch_seconds=float(watch) if watch else None,
        backend=os.environ.get("ARBITER_BACKEND", "native"),
        reload_signal=Path(os.environ["ARBITER_RELOAD_SIGNAL"]) if os.environ.get("ARBITER_RELOAD_SIGNAL") else None,
        metrics_dir=Path(os.environ["ARBITER_METRICS_DIR"]) if os.environ.get("ARBITER_METRICS_DIR") else None,
        settings=Settings.from_env(),
        log_settings=LogSettings.from_env(),
    )
