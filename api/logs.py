"""Structured logs and the request id: one JSON object per line on stderr, one access line per request.

Every request gets an id: the caller's ``X-Request-ID`` when it is a plain token (letters,
digits, ``._:-``, at most 128), else a generated one. It is returned in the ``X-Request-ID``
header of every response, errors included, put in problem bodies and decision-log records,
and added to every log line written while the request runs.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import tracing
from engine import jsonio

REQUEST_ID = contextvars.ContextVar[str | None]("arbiter_request_id", default=None)
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# scope keys a route fills in for the access line (the pack and version it resolved)
PACK, VERSION, ID = "arbiter.pack", "arbiter.version", "arbiter.request_id"

access = logging.getLogger("arbiter.access")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, request id and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return jsonio.dumps(out).decode()


def level_from(flag: str | None = None) -> str:
    """The log level: the flag, else ARBITER_LOG_LEVEL, else INFO (which includes the access log)."""
    chosen = (flag or os.environ.get("ARBITER_LOG_LEVEL") or "INFO").strip().upper()
    if chosen not in LEVELS:
        raise ValueError(f"log level {chosen!r} is not one of {', '.join(LEVELS)}")
    return chosen


def configure(level: str | None = None) -> None:
    """JSON lines on stderr for Arbiter's loggers and uvicorn's, at ``level_from(level)``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    chosen = level_from(level)
    for name in ("arbiter", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(chosen)
        logger.propagate = False


def request_id_of(scope: Scope) -> str:
    found = scope.get(ID)
    return found if isinstance(found, str) else ""


def _given_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if VALID_REQUEST_ID.fullmatch(text) else uuid.uuid4().hex
    return uuid.uuid4().hex


class RequestContext:
    """ASGI middleware: the request id in, on every response out, and one access line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope[ID] = _given_id(scope)
        header = (b"x-request-id", request_id.encode())
        start = time.perf_counter()
        status = 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
                # before the body: a server span (FastAPI's) ends with the response's last part
                tracing.annotate(request_id, scope.get(PACK), scope.get(VERSION))
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, with_id)
        finally:
            if access.isEnabledFor(logging.INFO):
                route = scope.get("route")
                access.info("%s %s %s", scope["method"], scope["path"], status, extra={
                    "method": scope["method"], "route": getattr(route, "path", scope["path"]),
                    "pack": scope.get(PACK), "version": scope.get(VERSION), "status": status,
                    "latency_ms": round((time.perf_counter() - start) * 1000, 3)})
            REQUEST_ID.reset(token)
