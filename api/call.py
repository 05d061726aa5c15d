"""One decision call's state: what the route learned as it went, and its timing by the status it ended with."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from starlette.requests import Request

from api import logs, problems
from api.audit import Recorder
from api.errors import ServiceUnavailable
from api.metrics import Metrics
from engine.compiled import CompiledPack
from rules.errors import ArbiterError


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


@dataclass
class Call:
    """What a decision route learns about its request as it goes (a refusal records what was known)."""

    observe: Observe
    request_id: str
    caller: str | None = None
    day: dt.date | None = None
    body: Any = None
    raw: bytes | None = None  # the body as it came, before it was parsed into ``body``
    answer: bytes | None = None  # a single decision's response, once written
    steps_from: Any = None  # api.pins.PinnedPacks when the request pins step versions
    packs: Any = None  # the PackSet served when the call resolved its pack (a reload swaps the service's)
    pack: CompiledPack | None = None  # the pack version resolved

    def refuse(self, recorder: Recorder | None, exc: ArbiterError, route: str, today: dt.date) -> None:
        """Record the refusal ``exc`` (not when it is the decision log itself that cannot take records)."""
        if recorder is None or isinstance(exc, ServiceUnavailable):
            return
        observe = self.observe
        recorder.write_refusal(recorder.refusal(problems.problem_body(exc), self.body, request_id=self.request_id, caller=self.caller,
                                route=route, latency=time.perf_counter() - observe.start,
                                pack=observe.pack if observe.version else None, version=observe.version or None,
                                as_of=self.day or today))
