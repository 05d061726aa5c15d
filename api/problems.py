"""The one place where errors become HTTP responses (RFC 9457 problem details)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.errors import (
    AuthError,
    Forbidden,
    HeaderTooLarge,
    RequestTimeout,
    RequestTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    VersionsNotApplicable,
)
from api.logs import request_id_of
from engine import jsonio
from rules.errors import (
    ArbiterError,
    DecisionError,
    FeatureDisabled,
    InputError,
    MalformedRequest,
    PackError,
    UnknownPack,
    UnknownVersion,
)

log = logging.getLogger("arbiter.api")

STATUS: dict[type[ArbiterError], int] = {
    MalformedRequest: 400,
    AuthError: 401,
    Forbidden: 403,
    UnknownPack: 404,
    UnknownVersion: 404,
    FeatureDisabled: 404,
    RequestTimeout: 408,
    RequestTooLarge: 413,
    UnsupportedMediaType: 415,
    HeaderTooLarge: 431,
    InputError: 422,
    VersionsNotApplicable: 422,
    DecisionError: 422,
    PackError: 422,
    ServiceUnavailable: 503,
}

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          408: "Request timeout", 413: "Request too large", 415: "Unsupported media type", 422: "Unprocessable input",
          431: "Request header fields too large", 500: "Internal error", 503: "Service unavailable"}


def status_of(exc: ArbiterError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem_body(exc: ArbiterError, instance: str | None = None) -> dict[str, Any]:
    status = status_of(exc)
    body: dict[str, Any] = {
        "type": f"https://arbiter.dev/problems/{exc.code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": exc.message,
    }
    body.update({k: v for k, v in exc.as_dict().items() if k not in ("message",)})
    if instance is not None:
        body["instance"] = instance
    return body


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None,
                     request: Request | None = None) -> Response:
    if request is not None:
        body["request_id"] = request_id_of(request.scope)
    return Response(jsonio.dumps(body), status_code=status, media_type="application/problem+json", headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ArbiterError)
    async def arbiter_error(request: Request, exc: ArbiterError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
        if isinstance(exc, ServiceUnavailable):
            headers = {"Retry-After": "1"}
        return problem_response(status_of(exc), problem_body(exc, request.url.path), headers, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"pointer": "/" + "/".join(str(p) for p in e.get("loc", ())), "code": e.get("type", "invalid"), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        body = {"type": "https://arbiter.dev/problems/request-invalid", "title": TITLES[422], "status": 422,
                "detail": "the request parameters are invalid", "code": "request-invalid", "errors": errors}
        return problem_response(422, body, None, request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        body = {"type": "about:blank", "title": TITLES.get(exc.status_code, "Error"), "status": exc.status_code,
                "detail": str(exc.detail), "code": f"http-{exc.status_code}"}
        return problem_response(exc.status_code, body, dict(exc.headers or {}), request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        request_id = request_id_of(request.scope)
        log.exception("unexpected error on %s", request.url.path, extra={"request_id": request_id})
        body = {"type": "about:blank", "title": TITLES[500], "status": 500, "detail": "internal error", "code": "internal"}
        # this handler answers outside the middleware that adds the header to every other response
        return problem_response(500, body, {"X-Request-ID": request_id}, request)
