"""Running the API under uvicorn with the settings measured to matter.

uvloop + httptools set TCP_NODELAY on every worker; with the plain asyncio loop and more
than one worker uvicorn binds the socket itself and never sets it, which measured as a
44 ms floor on every response (see docs/performance.md).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rules.errors import ArbiterError

if TYPE_CHECKING:
    from engine.registry import PackSet


def preflight(pack_set: PackSet) -> None:
    """Check once, before any worker starts, what each would refuse at its start (api.app.app_from_env)."""
    from api.app import options_from_env
    from api.audit import Mask
    from api.shadow_worker import parse_challengers
    from engine.backends import BACKENDS

    options = options_from_env()
    if options["backend"] not in BACKENDS:
        raise ValueError(f"ARBITER_BACKEND={options['backend']!r} is not one of {', '.join(sorted(BACKENDS))}")
    settings = options["settings"]
    Mask(settings.mask)
    try:
        parse_challengers(settings.shadow, pack_set)
    except ArbiterError as exc:
        raise ValueError(f"ARBITER_SHADOW: {exc.message}") from None
    log = options["decision_log"]
    if log is not None:
        try:
            os.close(os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644))
        except OSError as exc:
            raise ValueError(f"ARBITER_DECISION_LOG={str(log)!r} cannot be opened for appending: {exc.strerror}") from None


def serve(*, packs: str, host: str, port: int, workers: int, backend: str = "native", log_level: str | None = None) -> int:
    import uvicorn

    from api import logs
    from api.http_limits import HttpLimits, LimitedHttpProtocol

    try:
        HttpLimits.from_env()  # each worker reads them again (api.http_limits.process_limits)
    except ValueError as exc:
        print(f"arbiter serve: {exc}; nothing was started", file=sys.stderr)
        return 2

    level = logs.level_from(log_level)
    os.environ["ARBITER_LOG_LEVEL"] = level  # the workers configure their logs from it (api.app.app_from_env)
    logs.configure(level)

    from engine.registry import build_pack_set

    pack_set, diagnostics = build_pack_set(Path(packs))
    if pack_set is None:
        for d in diagnostics:
            print(d, file=sys.stderr)
        print("arbiter serve: the packs do not compile; nothing was started", file=sys.stderr)
        return 1
    os.environ["ARBITER_PACKS"] = str(Path(packs).resolve())
    os.environ["ARBITER_BACKEND"] = backend
    try:
        preflight(pack_set)
    except (ValueError, OSError, ArbiterError) as exc:
        # each worker would stop at start on it, with a traceback; uvicorn would start it again and again
        print(f"arbiter serve: {getattr(exc, 'message', exc)}; nothing was started", file=sys.stderr)
        return 2
    shared = None
    if workers > 1 and not (os.environ.get("ARBITER_RELOAD_SIGNAL") and os.environ.get("ARBITER_METRICS_DIR")):
        # each worker holds its own packs and counts: an admin reload answered by one reaches the
        # others through the signal file, and each worker's counts reach the others' /metrics
        shared = tempfile.TemporaryDirectory(prefix="arbiter-workers-")
        os.environ.setdefault("ARBITER_RELOAD_SIGNAL", str(Path(shared.name) / "generation"))
        os.environ.setdefault("ARBITER_METRICS_DIR", str(Path(shared.name) / "metrics"))
    logging.getLogger("arbiter.server").info(
        "serving %d pack version(s) from %s on http://%s:%d (interactive docs: /docs)", sum(1 for _ in pack_set), packs,
        host, port, extra={"packs_dir": packs, "workers": workers, "log_level": level})
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http=LimitedHttpProtocol,  # httptools, with limits on the request head, read times and connections
        access_log=False,  # api.logs writes one JSON access line per request, with the pack and version
        log_config=None,  # logging is configured by api.logs, as JSON lines
        log_level=level.lower(),
    )
    if shared is not None:
        shared.cleanup()
    return 0
