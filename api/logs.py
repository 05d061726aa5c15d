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
import threading
import time
import weakref
from os import urandom
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import tracing
from engine import jsonio

REQUEST_ID = contextvars.ContextVar[str | None]("arbiter_request_id", default=None)
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# scope keys a route fills in for the access line (the pack and version it resolved)
PACK, VERSION, ID = "arbiter.pack", "arbiter.version", "arbiter.request_id"
ROUTE = "arbiter.route"  # the route's template, set by routes the framework does not name in the scope

access = logging.getLogger("arbiter.access")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


_second: list[Any] = [None, ""]  # the last whole second formatted, and its text


def timestamp(created: float) -> str:
    """``created`` as ISO 8601 in UTC to the millisecond; the date and time of the second are formatted once a second."""
    second = int(created)
    if _second[0] != second:
        _second[:] = [second, dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{int((created - second) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, request id and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        fields = record.__dict__.get("_fields")
        if fields is not None:  # an access line (_access_record): its fields without a walk of every attribute
            out.update(fields)
        else:
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


class LineBatches(logging.StreamHandler):  # type: ignore[type-arg]
    """Lines written to the stream in batches: one write per ``CHUNK`` bytes of lines, not one per line.

    At one access line per request, a write (and a flush) per line was the largest part of
    the line's cost. Lines wait at most ``SECONDS`` (a timer thread writes what is pending),
    a warning or worse is written at once with what is before it, and ``flush`` (at exit,
    ``logging.shutdown``) writes everything. Each write holds whole lines and at most
    ``CHUNK`` bytes (PIPE_BUF), so workers sharing one pipe never interleave inside a line.
    """

    CHUNK = 4096
    SECONDS = 0.2

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.pending: list[str] = []
        self.size = 0
        _timer().add(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]
            self.pending.append(line)
            self.size += len(line)
            due = record.levelno >= logging.WARNING or self.size >= self.CHUNK
        if due:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self.pending, self.size = self.pending, [], 0
            chunk: list[str] = []
            size = 0
            for line in lines:
                if chunk and size + len(line) > self.CHUNK:
                    self._write("".join(chunk))
                    chunk, size = [], 0
                chunk.append(line)
                size += len(line)
            if chunk:
                self._write("".join(chunk))

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            if hasattr(self.stream, "flush"):
                self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not fail a request
            pass


class _Timer(threading.Thread):
    """Writes the lines every LineBatches handler holds, every ``LineBatches.SECONDS``."""

    def __init__(self) -> None:
        super().__init__(name="arbiter-log-lines", daemon=True)
        self.handlers: weakref.WeakSet[LineBatches] = weakref.WeakSet()
        self.start()

    def add(self, handler: LineBatches) -> None:
        self.handlers.add(handler)

    def run(self) -> None:
        while True:
            time.sleep(LineBatches.SECONDS)
            for handler in list(self.handlers):
                if handler.pending:
                    handler.flush()


_timers: list[_Timer] = []


def _timer() -> _Timer:
    if not _timers or not _timers[0].is_alive():
        _timers[:] = [_Timer()]
    return _timers[0]


def configure(level: str | None = None) -> None:
    """JSON lines on stderr for Arbiter's loggers and uvicorn's, at ``level_from(level)``."""
    handler = LineBatches(sys.stderr)
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


def new_request_id() -> str:
    """128 random bits as 32 hex digits: what ``uuid.uuid4().hex`` gave, without building a UUID (a fifth of the cost)."""
    return urandom(16).hex()


def given_request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if VALID_REQUEST_ID.fullmatch(text) else new_request_id()
    return new_request_id()


class RequestContext:
    """ASGI middleware: the request id in, on every response out, and one access line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope[ID] = given_request_id(scope)
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
                access.handle(_access_record(scope, status, round((time.perf_counter() - start) * 1000, 3)))
            REQUEST_ID.reset(token)


def refused_access(method: str, path: str, status: int, latency_ms: float, request_id: str) -> None:
    """The access line of a request the server answered before the app (``api.http_limits``): none else is written."""
    if access.isEnabledFor(logging.INFO):
        token = REQUEST_ID.set(request_id)
        try:
            access.handle(_access_record({"method": method, "path": path, ROUTE: None}, status, latency_ms))
        finally:
            REQUEST_ID.reset(token)


_template: dict[str, Any] = {}


def _access_record(scope: Scope, status: int, latency_ms: float) -> logging.LogRecord:
    """The access line's record, made from a template instead of by ``Logger.info``.

    ``Logger.info`` looks up the caller's frame and the thread's and process's names for
    every record; at one line per request that was most of the line's cost (profiled), and
    the access line never shows them. The template holds what they would have been.
    """
    if not _template or _template["process"] != os.getpid():
        _template.clear()
        _template.update(logging.LogRecord(access.name, logging.INFO, __file__, 0, "", None, None).__dict__)
    record = logging.LogRecord.__new__(logging.LogRecord)
    route = scope.get(ROUTE) or getattr(scope.get("route"), "path", scope["path"])
    now = time.time()
    fields = {"method": scope["method"], "route": route, "pack": scope.get(PACK), "version": scope.get(VERSION),
              "status": status, "latency_ms": latency_ms}
    # the fields are attributes too, as ``extra=`` makes them, for any other handler or filter
    record.__dict__.update(_template, created=now, msecs=(now - int(now)) * 1000,
                           relativeCreated=_template["relativeCreated"] + (now - _template["created"]) * 1000,
                           msg=f"{scope['method']} {scope['path']} {status}", _fields=fields, **fields)
    return record
