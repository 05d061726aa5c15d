"""HTTP limits enforced while a request is read, before any route or API key sees it.

uvicorn's httptools protocol bounds none of these: a 20 MB header was held in full, a client
sending one byte every few seconds kept its connection for ever, and half-open connections
could take every file descriptor (issue 22). ``LimitedHttpProtocol`` is that protocol with:

- the request head (request line and header fields) at most ``header_bytes`` and
  ``headers`` fields: more is a 431 and the connection closed, having held at most
  ``header_bytes`` plus one read of the socket;
- the head received within ``header_seconds`` of its first byte (or of the connection):
  else a 408 and the connection closed;
- the body received within ``body_seconds`` of the head: else a 408 (or, once the answer is
  sent, the connection closed), so a body sent a byte at a time holds nothing for long;
- at most ``connections`` open connections per worker: one more closes the connection that
  has waited longest for its request head (a slow or idle client), or, when every connection
  is busy with a request, gets a 503; requests still running for clients that left count too.

Every answer is problem+json, like the app's. The limits are per worker process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import resource
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api import logs, problems
from api.errors import HeaderTooLarge, Overloaded, RequestTimeout
from api.logs import given_request_id
from api.metrics import TOTALS_HELP
from api.settings import seconds, whole_number
from engine import jsonio
from rules.errors import ArbiterError, MalformedRequest

log = logging.getLogger("arbiter.http")

# 16 KiB is Node's default head limit; a request to Arbiter carries a few short headers
# (an API key, a request id, content type and length), and a long `versions=` pin list is
# well under 1 KiB.
DEFAULT_HEADER_BYTES = 16 * 1024
DEFAULT_HEADERS = 100  # Apache's LimitRequestFields and Go's default
DEFAULT_HEADER_SECONDS = 10.0
# 30 s lets the largest body (4 MiB, ARBITER_MAX_BODY_BYTES) through at 140 KB/s
DEFAULT_BODY_SECONDS = 30.0
FD_RESERVE = 64  # descriptors kept for pack files, the decision log, metrics and the listening socket


def default_connections() -> int:
    """1,000, or fewer when the open-file limit would run out first."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(1, min(1000, soft - FD_RESERVE))


@dataclass(frozen=True)
class HttpLimits:
    header_bytes: int = DEFAULT_HEADER_BYTES
    headers: int = DEFAULT_HEADERS
    header_seconds: float = DEFAULT_HEADER_SECONDS
    body_seconds: float = DEFAULT_BODY_SECONDS
    connections: int = field(default_factory=default_connections)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HttpLimits:
        env = os.environ if env is None else env
        return cls(whole_number(env, "ARBITER_MAX_HEADER_BYTES", DEFAULT_HEADER_BYTES),
                   whole_number(env, "ARBITER_MAX_HEADERS", DEFAULT_HEADERS),
                   seconds(env, "ARBITER_HEADER_TIMEOUT_SECONDS") or DEFAULT_HEADER_SECONDS,
                   seconds(env, "ARBITER_BODY_TIMEOUT_SECONDS") or DEFAULT_BODY_SECONDS,
                   whole_number(env, "ARBITER_MAX_CONNECTIONS", default_connections()))


@functools.cache
def process_limits() -> HttpLimits:
    """This worker's limits, read once from the environment ``arbiter serve`` checked."""
    return HttpLimits.from_env()


def problem_bytes(exc: ArbiterError, default_headers: list[tuple[bytes, bytes]], request_id: str) -> bytes:
    """A whole HTTP/1.1 problem+json answer that closes the connection."""
    status = problems.status_of(exc)
    body = jsonio.dumps(problems.problem_body(exc))
    head = [STATUS_LINE[status]]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head.append(b"x-request-id: %s\r\n" % request_id.encode())
    head.append(b"content-type: application/problem+json\r\ncontent-length: %d\r\nconnection: close\r\n" % len(body))
    if status == 503:
        head.append(b"retry-after: 1\r\n")
    return b"".join([*head, b"\r\n", body])


OVERLOADED_METRIC = "arbiter_overloaded_total"
REFUSED_METRIC = "arbiter_refused_before_app_total"
# how many requests this worker answered 503 `overloaded`, and every answer given before the app by status and
# code, for /metrics (api.service adds them to the totals)
refusals = {OVERLOADED_METRIC: 0}
TOTALS_HELP[OVERLOADED_METRIC] = "Requests answered 503 overloaded: every slot of ARBITER_MAX_CONNECTIONS was busy."
TOTALS_HELP[REFUSED_METRIC] = ("Requests the server answered before the app (HTTP limits: 400, 408, 431, 503), by status "
                               "and code; arbiter_requests_total counts the app's answers.")
PATH_CHARS = 200  # of a refused request's path in its access line: a 431 may be a 20 MB URL


def answered_before_app(error: ArbiterError, method: str, path: str, latency_ms: float, request_id: str) -> None:
    """Count an answer the app never saw, and write its access line: every request has one."""
    status = problems.status_of(error)
    key = f'{REFUSED_METRIC}{{status="{status}",code="{error.code}"}}'
    refusals[key] = refusals.get(key, 0) + 1
    logs.refused_access(method, path[:PATH_CHARS], status, latency_ms, request_id)
WARN_EVERY_SECONDS = 10.0  # an overload is logged once per this many seconds, with the count since the last line
_warned = [float("-inf"), 0]  # when the last overload was logged, and how many since


async def overloaded(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI answer when this worker already runs as many requests as it has connections to spare."""
    exc = Overloaded("too many requests in progress on this worker (ARBITER_MAX_CONNECTIONS); retry shortly")
    request_id = given_request_id(scope)
    refusals[OVERLOADED_METRIC] += 1
    _warned[1] += 1
    now = time.monotonic()
    if now - _warned[0] >= WARN_EVERY_SECONDS:
        log.warning("%d request(s) answered 503 overloaded: every slot of ARBITER_MAX_CONNECTIONS is busy", _warned[1],
                    extra={"code": exc.code, "request_id": request_id, "path": scope.get("path"), "refused": _warned[1]})
        _warned[:] = [now, 0]
    answered_before_app(exc, scope.get("method", "-"), scope.get("path", "-"), 0.0, request_id)
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/problem+json"), (b"connection", b"close"),
                            (b"retry-after", b"1"), (b"x-request-id", request_id.encode())]})
    await send({"type": "http.response.body", "body": jsonio.dumps(problems.problem_body(exc))})


# the requests each server's app is running and has not answered in full, including those whose clients
# left (their answer never completes), by server (a process may run several, in tests)
_busy: weakref.WeakKeyDictionary[Any, list[int]] = weakref.WeakKeyDictionary()


class Refused(Exception):
    """Raised inside a parser callback: the request is answered with ``error`` and not handed on."""

    def __init__(self, error: ArbiterError) -> None:
        super().__init__(error.message)
        self.error = error


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of ``process_limits()`` (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = process_limits()
        self.head_bytes = 0  # bytes received since the current request head began
        self.head_began = 0.0  # when its first byte came
        self.reading_head = True
        self.waiting_since = self.loop.time()
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting_since = self.loop.time()
        self._arm(self.limits.header_seconds, self._head_timed_out)
        if len(self.connections) > self.limits.connections and self._open() > self.limits.connections \
                and not self._make_room():
            self.refuse(Overloaded(f"this worker has {self.limits.connections} connections, each busy with a request "
                                   "(ARBITER_MAX_CONNECTIONS); retry shortly"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self.reading_head:
            if not self.head_bytes:
                self.head_began = self.loop.time()
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._disarm()
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            refused = exc.__context__
            self.refuse(refused.error if isinstance(refused, Refused) else
                        MalformedRequest("the request is not valid HTTP/1.1"))
        else:
            if self.reading_head and self.head_bytes > self.limits.header_bytes:
                self.refuse(self._head_too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:  # a later request on a kept-alive connection: its head's time starts now
            self._arm(self.limits.header_seconds, self._head_timed_out)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self.limits.headers:
            raise Refused(HeaderTooLarge(f"more than {self.limits.headers} header fields (ARBITER_MAX_HEADERS)"))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.header_bytes:
            raise Refused(self._head_too_large())
        self.reading_head = False
        self._arm(self.limits.body_seconds, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self.reading_head, self.head_bytes, self.waiting_since = True, 0, self.loop.time()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        # requests whose clients left keep running and are not connections: bound them too. A request
        # stops counting when its answer is complete, not when its task ends: on a kept-alive connection
        # the previous request's task may still be ending when the next request starts, which counted
        # each busy connection twice. A counter, not a scan of the running requests on every request
        busy = _busy.setdefault(self.server_state, [0])
        chosen = overloaded if busy[0] >= self.limits.connections else app

        async def tracked(scope: Any, receive: Any, send: Any) -> None:
            busy[0] += 1
            counted = True

            async def sending(message: Any) -> None:
                nonlocal counted
                await send(message)
                if counted and cycle.response_complete:
                    counted = False
                    busy[0] -= 1

            try:
                await chosen(scope, receive, sending)
            finally:
                if counted:
                    busy[0] -= 1

        super()._start_asgi_task(cycle, tracked)

    def refuse(self, error: ArbiterError) -> None:
        """Answer ``error`` as problem+json (unless an answer has begun) and close the connection."""
        self._disarm()
        if self.transport.is_closing():
            return
        # the caller's X-Request-ID if its field was read before the refusal, else a new one
        request_id = given_request_id({"headers": self.headers or []})
        log.warning("connection from %s refused: %s", self.client, error.message,
                    extra={"code": error.code, "client": str(self.client), "request_id": request_id})
        if self.reading_head:  # else the app has the request and writes its line (a body timeout: its 408)
            self._before_app(error, request_id)
        cycle = self.cycle
        if cycle is not None:
            # this request already has (part of) an answer, or an earlier one is still being answered
            if cycle.response_started if not self.reading_head else not cycle.response_complete:
                self.transport.close()
                return
            if not self.reading_head:  # the app waits for the body: told the client left, its answer is dropped
                cycle.disconnected = True
                cycle.message_event.set()
        self.transport.write(problem_bytes(error, self.server_state.default_headers, request_id))
        self.transport.close()

    def _before_app(self, error: ArbiterError, request_id: str) -> None:
        """The refused request's access line and count, with what was read of its request line."""
        url = getattr(self, "url", b"")
        method = self.parser.get_method().decode("ascii", "replace") if url else "-"  # the method is read before the URL
        path = url.split(b"?", 1)[0][:PATH_CHARS].decode("latin-1") if url else "-"
        began = self.head_began if self.head_bytes else self.loop.time()
        answered_before_app(error, method, path, round((self.loop.time() - began) * 1000, 3), request_id)

    def idle(self) -> bool:
        """Waiting for a request head (a new, kept-alive or slow client), with no request in progress."""
        return (self.reading_head and not self.transport.is_closing()
                and (self.cycle is None or self.cycle.response_complete))

    def _open(self) -> int:
        """Connections not yet closing: one closed to make room stays in the set until the loop drops it."""
        return sum(1 for c in self.connections if not c.transport.is_closing())

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for its head; False when every other one is busy."""
        waiting = [c for c in self.connections if c is not self and isinstance(c, LimitedHttpProtocol) and c.idle()]
        if not waiting:
            return False
        victim = min(waiting, key=lambda c: c.waiting_since)
        if victim.head_bytes:
            victim.refuse(RequestTimeout("closed to make room for a new connection (ARBITER_MAX_CONNECTIONS) "
                                         "before this request's head was received"))
        else:
            victim.transport.close()
        return True

    def _head_too_large(self) -> HeaderTooLarge:
        return HeaderTooLarge(f"the request head is larger than {self.limits.header_bytes} bytes "
                              "(ARBITER_MAX_HEADER_BYTES)")

    def _head_timed_out(self) -> None:
        self.deadline = None
        if not self.head_bytes:  # nothing asked: an idle connection is closed without an answer
            self.transport.close()
            return
        self.refuse(RequestTimeout(f"the request head did not arrive within {self.limits.header_seconds:g} s "
                                   "(ARBITER_HEADER_TIMEOUT_SECONDS)"))

    def _body_timed_out(self) -> None:
        self.deadline = None
        self.refuse(RequestTimeout(f"the request body did not arrive within {self.limits.body_seconds:g} s "
                                   "(ARBITER_BODY_TIMEOUT_SECONDS)"))

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
