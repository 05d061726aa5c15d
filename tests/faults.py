"""Helpers of the fault suite: a live server on loopback, a disk that fills and recovers."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from engine import jsonio

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
                 stderr: Path | None = None, open_files: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``arbiter serve`` on 127.0.0.1 and a free port, once /readyz counts every worker.

    ``open_files`` lowers the server's limit of file descriptors (RLIMIT_NOFILE) before it starts.
    """
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_extra}
    err = stderr.open("wb") if stderr is not None else subprocess.DEVNULL
    limit = None if open_files is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files)))
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--packs", str(packs), "--port", str(port),
                             "--workers", str(workers)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                            preexec_fn=limit,  # noqa: PLW1509 (only setrlimit, in a single-threaded test process)
                            start_new_session=True)  # its own process group: a failed start takes its workers with it
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # every worker compiles the packs; a loaded machine took over 90 s for two
    while True:
        try:
            ready = httpx.get(f"{base}/readyz", timeout=1)
            if ready.status_code == 200 and len(ready.json().get("workers", ())) >= workers:  # every worker is up
                return proc, base
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            kill_group(proc)
            raise AssertionError("server did not start")
        time.sleep(0.2)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the server and every worker it spawned (killing the parent alone orphans uvicorn's workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return
    with contextlib.suppress(ProcessLookupError):  # a worker that outlived its parent's shutdown
        os.killpg(proc.pid, signal.SIGKILL)


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


class RawAnswer:
    """What a raw client read back: the status, the lower-cased headers, the body, and whether the server closed."""

    def __init__(self, data: bytes, closed: bool) -> None:
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/1.1 ") else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        self.closed = closed

    def problem(self) -> dict[str, object]:
        assert self.headers.get("content-type") == "application/problem+json", self.headers
        body: dict[str, object] = jsonio.loads(self.body)
        assert body["status"] == self.status
        return body


def raw_socket(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def read_answer(sock: socket.socket, seconds: float = 30) -> RawAnswer:
    """Read until the server closes (or ``seconds`` pass): what it answered and whether it closed."""
    sock.settimeout(seconds)
    data = b""
    closed = False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    sock.close()
    return RawAnswer(data, closed)


def send_raw(base: str, data: bytes) -> RawAnswer:
    """Send ``data`` as it is on a new connection; stop sending if the server closes first."""
    sock = raw_socket(base)
    with contextlib.suppress(OSError):  # the server may close while a bomb is still being sent
        for start in range(0, len(data), 65536):
            sock.sendall(data[start:start + 65536])
    return read_answer(sock)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
