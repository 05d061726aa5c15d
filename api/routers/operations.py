"""What an operator calls: liveness, readiness, the admin reload, Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import problems, security
from api import reload as reloads
from api.routers import respond
from api.service import Service
from rules.errors import PackError

log = logging.getLogger("arbiter.api")


def readiness(service: Service) -> Response:
    """Ready, or 503 naming each reason: the decision log cannot be written, or this worker is behind a reload."""
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


async def reload_packs(service: Service, request: Request) -> Response:
    """Recompile and swap the packs in every worker; each outcome logged; 503 while a worker is not on the new ones."""
    security.require_admin(service, request)
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


def router(service: Service) -> APIRouter:
    routes = APIRouter()

    @routes.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        return respond({"status": "ok"})

    @routes.get("/readyz", tags=["operations"])
    async def readyz() -> Response:
        return readiness(service)

    @routes.post("/v1/admin/reload", tags=["operations"])
    async def reload(request: Request) -> Response:
        return await reload_packs(service, request)

    @routes.get("/metrics", tags=["operations"], summary="Prometheus metrics of the server (every worker's counts)",
                response_class=Response,  # documented as what it sends, not FastAPI's default JSON
                responses={200: {"description": "Prometheus text exposition format 0.0.4",
                                 "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}}})
    async def prometheus() -> Response:
        service.refresh_totals()
        return Response(service.metrics.render(service.other_workers_metrics()), media_type="text/plain; version=0.0.4")

    # load balancers probe with HEAD: the GET's answer, its body left out by the server; not in the
    # OpenAPI document, where it would repeat the GET's operation
    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", prometheus)):
        routes.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
    return routes
