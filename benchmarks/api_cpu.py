"""CPU per request of Arbiter's credit route against the bare FastAPI app, both in this one process.

    .venv/bin/python benchmarks/api_cpu.py [--requests 400] [--rounds 15] [--log-level INFO]
                                           [--shadow] [--profile arbiter|bare]

``benchmarks/api.py`` measures throughput with wrk against servers, which on a loaded
machine is mostly noise. Here each app is called as ASGI directly (a prepared scope, the
body in one ``http.request`` message, the answer collected), on one uvloop loop, in
interleaved rounds of ``--requests`` requests each, the order swapped every round; a
round's cost is ``time.process_time`` (every thread of the process: the log writer's too)
over its requests. The report gives the median microseconds per request of each app and the
median of the per-round ratios Arbiter / bare. Arbiter logs as ``arbiter serve`` does at
``--log-level`` (JSON lines, one access line per request at INFO) to a file. What both apps
share under uvicorn (the HTTP parser, the socket, the event loop) is left out, so this ratio
is larger than the servers' CPU-per-request ratio in ``benchmarks/api.py``.
``--shadow`` adds a third app, Arbiter with ``ARBITER_SHADOW=credit=1.1.0`` (every request
sent to the shadow process, whose CPU is not counted: it is the serving process's cost).
``--profile NAME`` runs cProfile over that app's requests instead, sorted by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api import random_orders  # noqa: E402
from engine import jsonio  # noqa: E402

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
PATHS = {"bare": ("/decide", b""), "arbiter": ("/v1/decisions/credit", b"as_of=2026-06-01"),
         "shadow": ("/v1/decisions/credit", b"as_of=2026-06-01")}


def scope_of(name: str, body: bytes) -> dict[str, Any]:
    path, query = PATHS[name]
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}


async def call(app: App, name: str, body: bytes) -> tuple[int, bytes]:
    """One request through ``app``: its status and body."""
    sent = False
    status = 0
    parts: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # as a server does until the client leaves: never, here
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope_of(name, body), receive, send)
    return status, b"".join(parts)


async def round_cpu(app: App, name: str, bodies: list[bytes]) -> float:
    """Microseconds of process CPU per request over ``bodies``."""
    start = time.process_time()
    for body in bodies:
        status, _ = await call(app, name, body)
        if status != 200:
            raise RuntimeError(f"{name} answered {status}")
    return (time.process_time() - start) / len(bodies) * 1e6


@contextlib.asynccontextmanager
async def started(apps: dict[str, Any]) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield


def build(args: argparse.Namespace, log_file: Path) -> dict[str, Any]:
    os.environ["ARBITER_LOG_LEVEL"] = args.log_level
    from api.app import app_from_env
    from benchmarks.bare_app import app as bare

    apps: dict[str, Any] = {"bare": bare, "arbiter": app_from_env()}
    stream = log_file.open("a")  # the servers' stderr goes to a file in benchmarks/api.py
    for handler in {h for n in ("arbiter", "uvicorn") for h in logging.getLogger(n).handlers}:
        handler.setStream(stream)  # type: ignore[attr-defined,unused-ignore]
    if args.shadow:
        os.environ["ARBITER_SHADOW"] = "credit=1.1.0"
        try:
            apps["shadow"] = app_from_env()
        finally:
            del os.environ["ARBITER_SHADOW"]
    return apps


async def measure(args: argparse.Namespace, apps: dict[str, Any]) -> dict[str, list[float]]:
    bodies = [jsonio.dumps(o) for o in random_orders(args.requests)]
    names = list(apps)
    for name in names:  # warm-up, and both must answer every body
        for body in bodies:
            status, _ = await call(apps[name], name, body)
            if status != 200:
                raise RuntimeError(f"{name} answered {status} in the warm-up")
    if args.callgrind:  # each app's rounds between two calls of getppid, where callgrind dumps its counts
        for name in names:
            os.getppid()
            for _ in range(args.rounds):
                await round_cpu(apps[name], name, bodies)
        os.getppid()
        return {}
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.rounds):
            await round_cpu(apps[args.profile], args.profile, bodies)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
        return {}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else reversed(names):
            cpu[name].append(await round_cpu(apps[name], name, bodies))
    return cpu


def report(cpu: dict[str, list[float]], args: argparse.Namespace) -> None:
    print(f"{args.rounds} interleaved rounds x {args.requests} requests per app, log level {args.log_level}, "
          f"load average {os.getloadavg()[0]:.1f}; process CPU (time.process_time) per request")
    for name, values in cpu.items():
        print(f"  {name:<8} median {statistics.median(values):7.1f} us/request  (rounds {min(values):.1f}-{max(values):.1f})")
    for name, values in cpu.items():
        if name == "bare":
            continue
        paired = [a / b for a, b in zip(values, cpu["bare"], strict=True)]
        print(f"CPU/REQUEST {name} / bare: {statistics.median(values) / statistics.median(cpu['bare']):.3f} "
              f"(median of paired rounds {statistics.median(paired):.3f})")
    if "shadow" in cpu:
        paired = [a / b for a, b in zip(cpu["shadow"], cpu["arbiter"], strict=True)]
        print(f"CPU/REQUEST shadow / arbiter: {statistics.median(paired):.3f} (median of paired rounds)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests per app per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--shadow", action="store_true", help="also Arbiter with shadow mode on (credit=1.1.0)")
    parser.add_argument("--profile", choices=tuple(PATHS), help="cProfile this app's requests instead")
    parser.add_argument("--callgrind", action="store_true",
                        help="run each app's rounds unmeasured, between calls of os.getppid: under valgrind "
                             "--tool=callgrind --dump-before=getppid, dump N+1 counts app N's instructions (ANNOTATE)")
    parser.add_argument("--top", type=int, default=40, help="rows of the profile")
    args = parser.parse_args()
    os.environ.setdefault("ARBITER_PACKS", str(ROOT / "policy_packs"))
    import uvloop

    with tempfile.TemporaryDirectory(prefix="arbiter-cpu-") as tmp:
        apps = build(args, Path(tmp) / "arbiter.log")

        async def run() -> dict[str, list[float]]:
            async with started(apps):
                return await measure(args, apps)

        cpu = uvloop.run(run())
    if cpu:
        report(cpu, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
