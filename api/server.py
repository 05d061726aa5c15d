"""Running the API under uvicorn with the settings measured to matter.

uvloop + httptools set TCP_NODELAY on every worker; with the plain asyncio loop and more
than one worker uvicorn binds the socket itself and never sets it, which measured as a
44 ms floor on every response (see docs/performance.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def serve(*, packs: str, host: str, port: int, workers: int, backend: str = "native") -> int:
    import uvicorn

    from engine.registry import build_pack_set

    pack_set, diagnostics = build_pack_set(Path(packs))
    if pack_set is None:
        for d in diagnostics:
            print(d, file=sys.stderr)
        print("arbiter serve: the packs do not compile; nothing was started", file=sys.stderr)
        return 1
    os.environ["ARBITER_PACKS"] = str(Path(packs).resolve())
    os.environ["ARBITER_BACKEND"] = backend
    signals = None
    if workers > 1 and not os.environ.get("ARBITER_RELOAD_SIGNAL"):
        # each worker holds its own packs: an admin reload answered by one reaches the others through this file
        signals = tempfile.TemporaryDirectory(prefix="arbiter-reload-")
        os.environ["ARBITER_RELOAD_SIGNAL"] = str(Path(signals.name) / "generation")
    print(f"arbiter: serving {sum(1 for _ in pack_set)} pack version(s) from {packs} on http://{host}:{port}"
          f" (interactive docs: http://{host}:{port}/docs)", file=sys.stderr, flush=True)
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    if signals is not None:
        signals.cleanup()
    return 0
