"""Shadow mode: a challenger per pack, decided in a separate process and compared with the champion.

``ARBITER_SHADOW=credit=1.1.0,pricing=/srv/candidate_packs`` names, per pack, a challenger:
a version of the served set (a pin) or a packs folder (its version effective on the
decision's ``as_of``). Live calls are answered by the champion alone. Each champion decision
of a shadowed pack is sent, in batches, to one shadow process per worker
(``api.shadow_worker``) through a bounded buffer: when it is full the comparison is skipped
and counted, never waited for. The process decides the challenger, counts agreement per pack and output (the
counts come back for /metrics), and writes a shadow record under the champion's decision id
beside the decision log (``<log>.shadow.jsonl``: it replays like the log; docs/shadow.md).

A thread in the serving process would compete with requests for the interpreter lock: it
doubled the p99 (benchmarks/api.py). Here the request path only appends the decision's
parts (ids and the JSON bytes it already has) to a list; every 128 decisions, or 50 ms after
the first, the list is written as one JSON message (one ``engine.jsonio`` call for the
batch; pickle took 6 to 10 µs a decision) to a pipe that never blocks: what the pipe cannot
take now waits, as the frames themselves (no copy), in a buffer of at most ``MAX_BYTES``,
and a batch that would overflow it is skipped and counted; until the buffer is half empty
again, decisions are skipped (and counted) before any work is done for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import struct
import threading
import time
import uuid
import zlib
from collections import Counter, deque
from pathlib import Path
from typing import Any

from api.decision_log import LogSettings
from api.metrics import Metrics
from api.settings import Settings
from api.shadow_worker import Challenger, Config, answer_of, compare, parse_challengers, run, wire
from engine import jsonio
from engine.compiled import Decision
from engine.registry import PackSet

__all__ = ["Challenger", "Shadow", "compare", "parse_challengers", "start_shadow"]

log = logging.getLogger("arbiter.shadow")

MAX_BYTES = 1 << 20  # decisions written but not yet taken by the shadow process, beyond the pipe's own buffer
BATCH = 128  # decisions sent as one message
FLUSH_SECONDS = 0.05  # a batch not yet full is sent this long after its first decision
START_SECONDS = 120.0  # the shadow process compiles the packs before it says it is ready
WAIT_SECONDS = 30.0  # drain and close: how long to wait for the process


class Shadow:
    """The serving process's side: submits champion decisions, reads the counts back into ``metrics``."""

    def __init__(self, config: Config, names: frozenset[str], metrics: Metrics, max_bytes: int = MAX_BYTES,
                 start: bool = True, sample: float = 1.0) -> None:
        self.challengers = names
        self.metrics = metrics
        self.sample = sample
        # a request is compared when its id's CRC-32 is below this; None: every request (no hashing)
        self._threshold = None if sample >= 1 else int(sample * (1 << 32))
        context = multiprocessing.get_context("spawn")  # never fork a process that runs threads and an event loop
        # a pipe written without blocking by the request path itself: a queue's feeder thread
        # would take the interpreter lock from the requests for every batch
        jobs, self._pipe = context.Pipe(duplex=False)
        os.set_blocking(self._pipe.fileno(), False)
        self._out: deque[memoryview] = deque()  # frames (and the rest of one) the pipe has not taken yet
        self._unsent = 0  # their bytes
        self._behind = False  # a batch was skipped and the buffer is still over half full: skip at once
        self._max_bytes = max_bytes
        self._results: Any = context.Queue()
        self._process = context.Process(target=run, args=(config, jobs, self._results, os.getpid()),
                                        name="arbiter-shadow", daemon=True)
        self._served: PackSet | None = None
        self._generation = 0
        # (pack, (generation, decision_id, request_id, input JSON, answer JSON)): api.shadow_worker.wire's parts
        self._pending: list[tuple[str, tuple[int, str, str, bytes, bytes]]] = []
        self._prefix = uuid.uuid4().hex[:16]
        self._count = 0
        self._lock = threading.Lock()  # submits come from the event loop, flushes also from its timer
        self._acks: set[str] = set()
        self._acked = threading.Condition()
        self._reader: threading.Thread | None = None
        if start:
            self.start()

    def start(self) -> None:
        """Start the process and wait until it has compiled its packs; its refusal is the service's."""
        self._process.start()
        try:
            kind, detail = self._results.get(timeout=START_SECONDS)
        except queue.Empty:
            self._process.kill()
            raise RuntimeError(f"the shadow process did not start within {START_SECONDS:.0f} s") from None
        if kind == "error":
            self._process.join(WAIT_SECONDS)
            raise ValueError(f"ARBITER_SHADOW: {detail}")
        self._reader = threading.Thread(target=self._read, name="arbiter-shadow-counts", daemon=True)
        self._reader.start()

    def sampled(self, request_id: str) -> bool:
        """Whether ``request_id`` is in the sample (``ARBITER_SHADOW_SAMPLE``): the same id always gives the same answer.

        CRC-32 of the id, not ``hash``: it is the same in every worker and after a restart,
        so a retried request (the caller's ``X-Request-ID``) is compared or not, again.
        """
        return self._threshold is None or zlib.crc32(request_id.encode()) < self._threshold

    def submit(self, champion: Decision, raw_input: Any, request_id: str, served: PackSet,
               decision_id: str | None = None, body: bytes | None = None, answer: bytes | None = None) -> None:
        """Queue the champion's decision for comparison; never blocks the request.

        ``body`` and ``answer``, when the route has them, are the request body the champion
        read and the JSON it answered: they are passed on as they are, not written again.
        """
        pack = champion.pack
        if pack not in self.challengers:
            return
        if not self.sampled(request_id):
            self.metrics.shadow_sampled(pack, False)
            return
        if self._behind:  # shed before any work: the process cannot take more now (counted, as a skipped batch is)
            self.metrics.shadow_sampled(pack, True)
            self.metrics.shadow(pack, "", "skipped")
            return
        if served is not self._served:  # a reload: the shadow process compiles the served folder again
            self._served = served
            self._generation += 1
        self._count += 1  # an id for the shadow record when no decision log gave one: unique, and cheap
        job = (self._generation, decision_id or f"{self._prefix}{self._count:016x}", request_id,
               jsonio.dumps(raw_input) if body is None else body,
               jsonio.dumps(answer_of(champion)) if answer is None else answer)
        with self._lock:
            self._pending.append((pack, job))
            waiting = len(self._pending)
        if waiting >= BATCH:
            self.flush()
        elif waiting == 1:
            # without an event loop (a script, a test) it is sent when full, or by flush, drain and close
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Send what is pending as one frame; when too much is still unsent, skip it and count each decision skipped."""
        with self._lock:
            batch, self._pending = self._pending, []
            if batch:
                for pack, count in Counter(pack for pack, _ in batch).items():  # counted here, not on the request path
                    self.metrics.shadow_sampled(pack, True, count)
                self._send(wire([job for _, job in batch]), batch)
            elif self._out:
                self._write()
            if self._out:  # the process is behind: try again soon
                with contextlib.suppress(RuntimeError):
                    asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def _send(self, data: bytes, batch: list[tuple[str, Any]] | None = None) -> bool:
        if self._out and self._unsent + len(data) > self._max_bytes:
            for pack, count in Counter(pack for pack, _ in batch or ()).items():
                self.metrics.shadow(pack, "", "skipped", count)
            if batch is not None:
                self._behind = True
            return False
        self._out += (memoryview(struct.pack("!i", len(data))), memoryview(data))  # Connection.recv_bytes's framing
        self._unsent += 4 + len(data)
        self._write()
        return True

    def _write(self) -> None:
        """Write what the pipe takes now, in order; the rest stays as views of the frames (nothing copied or moved)."""
        while self._out:
            chunk = list(itertools.islice(self._out, 64))
            try:
                written = os.writev(self._pipe.fileno(), chunk)
            except BlockingIOError:
                return
            except OSError:  # the process is gone; _read reports it
                self._out.clear()
                self._unsent = 0
                return
            self._unsent -= written
            if self._unsent <= self._max_bytes // 2:
                self._behind = False
            full = written < sum(len(view) for view in chunk)  # the pipe took part: it is full for now
            while written:
                head = self._out[0]
                if len(head) > written:
                    self._out[0] = head[written:]
                    break
                written -= len(head)
                self._out.popleft()
            if full:
                return

    def _read(self) -> None:
        """Apply the counts the process sends back; note acknowledgements of drains."""
        while True:
            try:
                kind, detail = self._results.get(timeout=1.0)
            except queue.Empty:
                if not self._process.is_alive():
                    log.error("the shadow process has exited (code %s): comparisons stop",
                              self._process.exitcode)
                    return
                continue
            except (EOFError, OSError):
                return
            if kind == "counts":
                for (pack, output, result), count in detail.items():
                    self.metrics.shadow(pack, output, result, count)
            elif kind in ("drained", "stopped"):
                with self._acked:
                    self._acks.add(detail if kind == "drained" else "stopped")
                    self._acked.notify_all()
                if kind == "stopped":
                    return

    def _ask(self, message: list[str], ack: str) -> bool:
        """Send a control message after everything pending, and wait for its acknowledgement."""
        self.flush()
        deadline = time.monotonic() + WAIT_SECONDS
        with self._lock:
            while not self._send(jsonio.dumps(message)):
                self._write()
                time.sleep(0.001)
            while self._out and time.monotonic() < deadline:
                self._write()
                time.sleep(0.001)
        with self._acked:
            return self._acked.wait_for(lambda: ack in self._acks, WAIT_SECONDS)

    def drain(self) -> None:
        """Wait until every comparison queued so far is counted (tests, benchmarks)."""
        token = uuid.uuid4().hex
        if not self._ask(["drain", token], token):
            raise RuntimeError("the shadow process did not finish its comparisons")

    def close(self) -> None:
        """Finish what is queued, then stop; the shadow records are all written."""
        if self._process.is_alive() and not self._ask(["stop"], "stopped"):
            log.error("the shadow process did not stop in time; stopping it")
        self._process.join(WAIT_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(WAIT_SECONDS)
        if self._reader is not None:
            self._reader.join(WAIT_SECONDS)
        self._pipe.close()
        self._results.close()


def start_shadow(settings: Settings, root: Path, served: PackSet, metrics: Metrics, decision_log: Path | None,
                 log_settings: LogSettings | None = None) -> Shadow | None:
    """Shadow mode as configured (``ARBITER_SHADOW``), its records beside the decision log; None when off."""
    if not settings.shadow:
        return None
    # checked here too, for a clear error before a process starts; the process compiles the folders
    challengers = parse_challengers(settings.shadow, served, compile_folders=False)
    log_path = None
    if decision_log is not None:
        log_path = decision_log.with_name(f"{decision_log.stem}.shadow{decision_log.suffix or '.jsonl'}")
    level = logging.getLevelName(logging.getLogger("arbiter").getEffectiveLevel())  # the process logs as this one
    config = Config(root.resolve(), settings.shadow, settings.mask, log_path, log_settings, level, settings.shadow_nice)
    log.info("shadow mode: %s; sample %s of requests; shadow process nice +%d", ", ".join(c.source for c in challengers.values()),
             settings.shadow_sample, settings.shadow_nice,
             extra={"challengers": {name: c.source for name, c in challengers.items()}, "sample": settings.shadow_sample,
                    "nice": settings.shadow_nice})
    return Shadow(config, frozenset(challengers), metrics, sample=settings.shadow_sample)
