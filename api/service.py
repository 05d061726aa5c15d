"""What the app serves, and its life: the swappable ``PackSet``, reloads, and the counts it publishes.

``Service.packs`` is replaced as a whole, never mutated, so a request sees the old set or
the new one. Under ``arbiter serve --workers N`` each worker holds its own service: a
reload in one reaches the others through the signal file (``api.reload``), and each
worker's counts reach the others' ``/metrics`` through the metrics folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api import http_limits
from api import reload as reloads
from api.audit import Recorder, key_id
from api.decision_log import DecisionLog, LogSettings
from api.metrics import Metrics
from api.settings import Settings
from api.shadow import start_shadow
from engine import heap, jsonio
from engine.registry import PackSet, build_pack_set, require_pack_set, with_backend
from rules.errors import MalformedRequest, PackError
from rules.load import pack_files

log = logging.getLogger("arbiter.api")


class Service:
    """What the app serves; ``packs`` is replaced as a whole, never mutated."""

    def __init__(self, root: Path, admin_token: str | None, api_keys: list[str], decision_log: Path | None = None,
                 backend: str = "native", reload_signal: Path | None = None, metrics_dir: Path | None = None,
                 settings: Settings | None = None, log_settings: LogSettings | None = None) -> None:
        self.root = root
        self.settings = settings or Settings()
        self.openapi_cache: tuple[PackSet, dt.date, bytes] | None = None  # api.openapi
        self.reload_signal = reload_signal  # shared by the workers of one server: a reload in one reaches all
        self.metrics_dir = metrics_dir  # shared too: each worker's counts, for every worker's /metrics
        if metrics_dir is not None:
            metrics_dir.mkdir(parents=True, exist_ok=True)
        # a pid alone could be reused by a restarted worker and overwrite a dead one's counts
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        signal = reloads.read_signal(reload_signal)
        self.generation = signal[0] if signal else None
        self.behind: str | None = None  # why this worker does not serve what the last reload signalled
        self.admin_token = admin_token
        self.api_keys = [k.encode() for k in api_keys]
        self.backend = backend
        self.packs: PackSet = self._switch(require_pack_set(root))
        self.metrics = Metrics()
        self.decision_log = DecisionLog(decision_log, log_settings) if decision_log is not None else None
        self.recorder = Recorder(self.decision_log, self.settings.mask) if self.decision_log is not None else None
        self.key_ids = {key: key_id(key) for key in self.api_keys}
        self.shadow = start_shadow(self.settings, root, self.packs, self.metrics, decision_log, log_settings)
        self.fingerprint = self._fingerprint()
        self._reload_lock = threading.Lock()

    def _switch(self, packs: PackSet) -> PackSet:
        switched, notes = with_backend(packs, self.backend)
        for note in notes:
            log.warning(note)
        return switched

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        out = []
        for path in pack_files(self.root):
            with contextlib.suppress(OSError):
                stat = path.stat()
                out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def reload(self) -> PackSet:
        with self._reload_lock, _yielding_gil():
            fingerprint = self._fingerprint()
            fresh, diagnostics = build_pack_set(self.root)
            if fresh is None:
                self.metrics.reload("failed")
                raise PackError(diagnostics)
            fresh = self._switch(fresh)
            self.packs = fresh  # one reference assignment: requests see the old set or the new one
            self.fingerprint = fingerprint
            heap.settle()  # the replaced packs go, the new ones are frozen
            self.metrics.reload("ok")
            return fresh

    def reload_everywhere(self) -> PackSet:
        """Reload here, then tell this server's other workers to reload too (they follow the signal file)."""
        fresh = self.reload()
        self.behind = None
        if self.reload_signal is not None:
            token = uuid.uuid4().hex
            self.generation = token  # before the signal: this worker's own follower must not reload again
            reloads.write_signal(self.reload_signal, token, self.served_digest())
        with contextlib.suppress(OSError):
            reloads.report(self)
        return fresh

    def changed(self) -> bool:
        return self._fingerprint() != self.fingerprint

    def publish_metrics(self) -> None:
        """Write this worker's counts where the server's other workers read them (atomically: whole or old)."""
        if self.metrics_dir is None:
            return
        self.refresh_totals()
        staged = self.metrics_dir / f".{self.worker}.tmp"
        staged.write_bytes(jsonio.dumps(self.metrics.snapshot()))
        os.replace(staged, self.metrics_dir / f"{self.worker}.json")

    def refresh_totals(self) -> None:
        self.metrics.set_totals(http_limits.refusals)
        if self.decision_log is not None:
            self.metrics.set_totals(self.decision_log.totals())

    def other_workers_metrics(self) -> list[dict[str, Any]]:
        """The last counts every other worker of this server published, including workers that have since exited."""
        if self.metrics_dir is None:
            return []
        found = []
        for path in sorted(self.metrics_dir.glob("*.json")):
            if path.stem == self.worker:
                continue
            with contextlib.suppress(OSError, MalformedRequest):
                found.append(jsonio.loads(path.read_bytes()))
        return found

    def served_digest(self) -> str:
        """One digest of every pack version served: equal across workers that serve the same packs."""
        return hashlib.sha256("|".join(f"{p.key}:{p.digest}" for p in self.packs).encode()).hexdigest()

    def close(self) -> None:
        """At shutdown: the last counts outlive the worker (counters never go back), queued records are written."""
        with contextlib.suppress(OSError):
            self.publish_metrics()
        if self.shadow is not None:
            self.shadow.close()
        if self.decision_log is not None:
            self.decision_log.close()


@contextlib.contextmanager
def _yielding_gil(seconds: float = 0.0005) -> Iterator[None]:
    """Compile with the interpreter switching threads every 0.5 ms instead of 5 ms.

    The reload compiles in a worker thread while the event loop serves; with the default
    interval each request waits behind 5 ms slices of compiling, and p99 during a reload
    grew several-fold.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def lifespan(service: Service, watch_seconds: float | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: the background tasks (watch, follow, publish) while it serves, then ``Service.close``."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        heap.settle()  # the app and its packs are built: keep them out of every garbage collection
        tasks = [asyncio.create_task(reloads.watch(service, watch_seconds))] if watch_seconds else []
        if service.reload_signal is not None:
            tasks.append(asyncio.create_task(reloads.follow(service)))
        with contextlib.suppress(OSError):
            reloads.report(service)
        if service.metrics_dir is not None:
            tasks.append(asyncio.create_task(_publish(service)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            service.close()

    return run


async def _publish(service: Service, seconds: float = 1.0) -> None:
    """Publish this worker's counts every second: another worker's /metrics is at most that far behind."""
    while True:
        await asyncio.sleep(seconds)
        try:
            service.publish_metrics()
        except OSError as exc:
            log.error("metrics not published: %s", exc)
