"""OpenTelemetry: Arbiter's facts on the request's server span, when OpenTelemetry is importable and on.

Arbiter does not depend on OpenTelemetry. FastAPI (0.165 and later; earlier with
``opentelemetry-instrumentation-fastapi``) opens a server span per request once an operator
configures a tracer provider (an SDK with an exporter, e.g. under ``opentelemetry-instrument``),
continuing the caller's ``traceparent``. This adds what only Arbiter knows to that span: the
pack and version that decided and the request id. Without the package, or without a
recording span, it does nothing.
"""

from __future__ import annotations

import importlib
from typing import Any


def _trace() -> Any:
    try:
        return importlib.import_module("opentelemetry.trace")
    except ImportError:
        return None


TRACE = _trace()


def annotate(request_id: str, pack: str | None, version: str | None) -> None:
    """Put the request id, pack and version on the current span, if one is recording."""
    if TRACE is None:
        return
    span = TRACE.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute("arbiter.request_id", request_id)
    if pack and version:
        span.set_attribute("arbiter.pack", pack)
        span.set_attribute("arbiter.version", version)
