"""Reloads that reach every worker of a server, or say which did not.

Under ``arbiter serve --workers N`` the worker that answers ``POST /v1/admin/reload``
compiles the packs, swaps them in, and writes a signal file holding a fresh token and the
digest it now serves. Every worker's follower task polls that file and reloads; each
worker writes what it serves (pid, digest, an error if it could not follow) beside the
metrics snapshots, so ``/readyz`` shows the digest of every worker and the admin answer
says how many run the new one.

The follower and the pack watcher never die: every exception is logged and retried with
backoff. A worker that cannot follow the signal is *behind*: its ``/readyz`` answers 503
until it catches up, so a load balancer stops sending it traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.settings import seconds
from engine import jsonio
from rules.errors import MalformedRequest, PackError

if TYPE_CHECKING:
    from api.service import Service

log = logging.getLogger("arbiter.reload")

FOLLOW_SECONDS = 0.05  # how often a follower reads the signal file: one stat and a small read
MAX_BACKOFF = 10.0  # a follower that cannot follow recompiles at most this often


def read_signal(path: Path | None) -> tuple[str, str] | None:
    """(token, digest) of the last reload signalled, or None."""
    if path is None:
        return None
    try:
        token, _, digest = path.read_text().partition(" ")
    except OSError:
        return None
    return (token, digest) if token else None


def write_signal(path: Path, token: str, digest: str) -> None:
    staged = path.with_name(f".{path.name}.{token}")
    staged.write_text(f"{token} {digest}")
    os.replace(staged, path)  # atomic: a follower reads the old signal or the new one


def report(service: Service) -> None:
    """Write what this worker serves where the others read it (``/readyz``, the admin answer)."""
    if service.metrics_dir is None:
        return
    state = {"pid": os.getpid(), "packs_digest": service.served_digest(), "behind": service.behind, "at": time.time()}
    staged = service.metrics_dir / f".{service.worker}.digest.tmp"
    staged.write_bytes(jsonio.dumps(state))
    os.replace(staged, service.metrics_dir / f"{service.worker}.digest")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def workers(service: Service) -> list[dict[str, Any]]:
    """What every live worker of this server last reported serving (this worker's own state, fresh)."""
    mine = {"pid": os.getpid(), "packs_digest": service.served_digest(), "behind": service.behind}
    if service.metrics_dir is None:
        return [mine]
    found = [mine]
    for path in sorted(service.metrics_dir.glob("*.digest")):
        if path.name.startswith(f"{service.worker}."):
            continue
        with contextlib.suppress(OSError, MalformedRequest):
            state = jsonio.loads(path.read_bytes())
            if isinstance(state, dict) and isinstance(state.get("pid"), int) and _alive(state["pid"]):
                found.append({k: state.get(k) for k in ("pid", "packs_digest", "behind")})
    return found


def split(service: Service) -> dict[str, Any]:
    """For ``/readyz``: every live worker's digest, and whether they differ."""
    states = workers(service)
    return {"workers": states, "split": len({s["packs_digest"] for s in states}) > 1}


async def converged(service: Service) -> dict[str, Any]:
    """For the admin answer: wait (``ARBITER_RELOAD_WAIT_SECONDS``, default 10) until every live worker serves
    this worker's digest; how many do, and how long they took."""
    digest = service.served_digest()
    start = time.monotonic()
    deadline = start + (seconds(os.environ, "ARBITER_RELOAD_WAIT_SECONDS") or 10)  # checked at start (api.app)
    while True:
        states = workers(service)
        on = sum(1 for s in states if s["packs_digest"] == digest)
        if on == len(states) or time.monotonic() >= deadline:
            return {"workers_total": len(states), "workers_on_digest": on, "workers": states,
                    "switch_seconds": round(time.monotonic() - start, 3)}
        await asyncio.sleep(FOLLOW_SECONDS)


async def follow(service: Service, seconds: float = FOLLOW_SECONDS) -> None:
    """Reload when another worker has reloaded; on any failure, log, mark this worker behind, and retry."""
    failures = 0
    while True:
        await asyncio.sleep(seconds if not failures else min(MAX_BACKOFF, seconds * 2 ** failures))
        try:
            signal = read_signal(service.reload_signal)
            # a worker behind looks again even at a signal it has seen: its own reload may have set
            # `generation` while this follower's attempt at an older signal failed (issue 22)
            if signal is None or (signal[0] == service.generation and service.behind is None):
                continue
            reloaded = service.served_digest() != signal[1]  # else this worker's watcher got there first
            if reloaded:
                await asyncio.to_thread(service.reload)
            digest = service.served_digest()
            if digest != signal[1]:
                raise RuntimeError(f"the pack files compile to {digest[:12]}, not the {signal[1][:12]} signalled: "
                                   "they changed since; reload again")
            if service.behind is not None:
                log.warning("caught up with the last reload (digest %s)", digest[:12])
            elif reloaded:
                log.warning("packs reloaded from %s after another worker's reload (digest %s)", service.root, digest[:12])
            service.generation, service.behind, failures = signal[0], None, 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a follower that dies splits the server for good
            failures += 1
            service.behind = _describe(exc)
            log.error("reload after another worker's reload failed (attempt %d, retrying): %s", failures, service.behind)
        with contextlib.suppress(OSError):
            report(service)


async def watch(service: Service, seconds: float) -> None:
    """Reload when a pack file changes; a broken pack is logged and the served set stays; nothing ends the task."""
    failures = 0
    while True:
        await asyncio.sleep(seconds if not failures else min(MAX_BACKOFF, seconds * 2 ** failures))
        try:
            if not service.changed():
                continue
            fingerprint = service._fingerprint()
            try:
                await asyncio.to_thread(service.reload_everywhere)
                log.warning("packs reloaded from %s", service.root)
            except PackError as exc:
                service.fingerprint = fingerprint  # do not retry the same broken files every tick
                log.error("reload refused: %s", exc.message)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the watcher must outlive any one bad tick
            failures += 1
            log.error("pack watch failed (attempt %d, retrying): %s", failures, _describe(exc))


def _describe(exc: BaseException) -> str:
    return exc.message if isinstance(exc, PackError) else f"{type(exc).__name__}: {exc}"
