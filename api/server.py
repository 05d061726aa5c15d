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
