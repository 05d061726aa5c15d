"""The decision API: the app factory, putting together the service and its routes.

The parts: ``api.service`` (the swappable packs, reloads, metrics publishing),
``api.routers`` (decisions, packs, operations), ``api.openapi`` (the document),
``api.security`` (keys and the admin token), ``api.settings`` (configuration),
``api.problems`` (every error to HTTP, in one place) and ``api.docs`` (offline docs).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from api import docs, logs, openapi, problems
from api.decision_log import LogSettings
from api.routers import decisions, operations, packs
from api.service import Service, lifespan
from api.settings import Settings


def create_app(root: Path | str = "policy_packs", *, admin_token: str | None = None,
               api_keys: list[str] | None = None, decision_log: Path | None = None,
               watch_seconds: float | None = None, backend: str = "native",
               reload_signal: Path | None = None, metrics_dir: Path | None = None,
               settings: Settings | None = None, log_settings: LogSettings | None = None) -> FastAPI:
    service = Service(Path(root), admin_token, api_keys or [], decision_log, backend, reload_signal, metrics_dir,
                      settings, log_settings)
    app = FastAPI(
        title="Arbiter",
        version="1",
        description="Decisions for order capture and release: credit, pricing, allocation, exception routing. "
        "Money is exact: JSON numbers are read as decimals and written from their exact text.",
        lifespan=lifespan(service, watch_seconds),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.add_middleware(logs.RequestContext)
    problems.install(app)
    for group in (decisions, packs, operations):
        app.include_router(group.router(service))
    openapi.install(app, service)
    docs.install(app)
    return app


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
