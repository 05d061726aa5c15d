"""Helpers of the fault suite: a live server on loopback, a disk that fills and recovers."""

from __future__ import annotations

import errno
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PACKS = ROOT / "policy_packs"
EXAMPLE = (ROOT / "examples" / "credit.json").read_bytes()


class FillingDisk:
    """An ``os.write`` whose disk is full while ``full`` is set: ENOSPC, or a short write into the last bytes."""

    def __init__(self, room: int | None = None) -> None:
        self.full = threading.Event()
        self.room = room  # bytes left when it fills: the first write after gets a short count
        self.calls = 0

    def __call__(self, fd: int, data: bytes) -> int:
        self.calls += 1
        if self.full.is_set():
            if self.room:
                taken, self.room = self.room, 0
                return os.write(fd, data[: min(taken, len(data))])
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env_extra: dict[str, str], packs: Path = PACKS, workers: int = 1,
                 stderr: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``arbiter serve`` on 127.0.0.1 and a free port, once /readyz counts every worker."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    err = stderr.open("wb") if stderr is not None else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--packs", str(packs), "--port", str(port),
                             "--workers", str(workers)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # every worker compiles the packs; the machine may be busy
    while True:
        try:
            ready = httpx.get(f"{base}/readyz", timeout=1)
            if ready.status_code == 200 and len(ready.json().get("workers", ())) >= workers:  # every worker is up
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("server did not start")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def limit_file_size(pid: int, limit: int) -> None:
    """The disk "fills": files the running process writes stop at ``limit`` bytes (a short write, then EFBIG)."""
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


def lift_file_size_limit(pid: int) -> None:
    """The disk "recovers": the running process may write files of any size again."""
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def wait_until(predicate: Callable[[], bool], seconds: float = 20, step: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def metric(text: str, name: str) -> float:
    """The value of an unlabelled series in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0
