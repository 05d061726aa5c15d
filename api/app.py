"""The decision API: the app factory, putting together the service and its routes.

The parts: ``api.service`` (the swappable packs, reloads, metrics publishing),
``api.routers`` (decisions, packs, operations), ``api.openapi`` (the document),
``api.security`` (keys and the admin token), ``api.settings`` (configuration),
``api.problems`` (every error to HTTP, in one place) and ``api.docs`` (offline docs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api import docs, logs, openapi, problems
from api.decision_log import LogSettings
from api.routers import decisions, operations, packs
from api.service import Service, lifespan
from api.settings import Settings, optional_path, seconds


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


def options_from_env() -> dict[str, Any]:
    """``create_app``'s arguments from the environment; a value that does not parse is a ValueError naming its variable."""
    keys = [k.strip() for k in os.environ.get("ARBITER_API_KEYS", "").split(",") if k.strip()]
    if os.environ.get("ARBITER_API_KEYS", "").strip() and not keys:  # " , " must not quietly mean "no auth"
        raise ValueError("ARBITER_API_KEYS is set but holds no key; unset it to run without keys")
    seconds(os.environ, "ARBITER_RELOAD_WAIT_SECONDS")  # read by each admin reload (api.reload): refused at start, not then
    return {
        "root": os.environ.get("ARBITER_PACKS", "policy_packs"),
        "admin_token": os.environ.get("ARBITER_ADMIN_TOKEN") or None,
        "api_keys": keys,
        "decision_log": optional_path(os.environ, "ARBITER_DECISION_LOG"),
        "watch_seconds": seconds(os.environ, "ARBITER_WATCH"),
        "backend": os.environ.get("ARBITER_BACKEND", "native"),
        "reload_signal": optional_path(os.environ, "ARBITER_RELOAD_SIGNAL"),
        "metrics_dir": optional_path(os.environ, "ARBITER_METRICS_DIR"),
        "settings": Settings.from_env(),
        "log_settings": LogSettings.from_env(),
    }


def app_from_env() -> FastAPI:
    """Factory for uvicorn: configuration comes from the environment."""
    logs.configure()
    options = options_from_env()
    return create_app(options.pop("root"), **options)
