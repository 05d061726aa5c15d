"""An append-only JSONL log of decisions, written off the request path, that never fails silently.

Requests hand a record to a bounded queue; one writer thread serialises records and
appends them with ``os.write`` on an ``O_APPEND`` descriptor, many lines per call, so the
workers of one server can share a file and every line stays whole. Each line is
replayable by ``simulate.py`` (``--orders`` accepts a decision log).

Two modes (``ARBITER_DECISION_LOG_MODE``, see ``docs/operations.md``):

- ``best-effort`` (the default): a decision is answered at once. When the file cannot be
  written the writer keeps the records and retries with backoff; what does not fit the
  queue is dropped and counted. ``/readyz`` says not ready while writes fail.
- ``audit``: a decision is answered only once its line is written (in the kernel's page
  cache: ``kill -9`` of a worker then loses none), and while the file cannot be written
  decisions are refused (503). One request is let through per backoff step to find out
  whether the disk has recovered.

Writes that fail are retried, never abandoned: the writer thread does not die on an error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.errors import ServiceUnavailable
from api.metrics import TOTALS_HELP
from engine import jsonio
from engine.compiled import Decision

log = logging.getLogger("arbiter.decision_log")

Ticket = concurrent.futures.Future[None]
Opener = Callable[[Path], int]
Writer = Callable[[int, bytes], int]


def record(request_id: str, decision: Decision, raw_input: Any) -> dict[str, Any]:
    """What one line of the log holds: the input as sent, so the line replays."""
    return {
        "request_id": request_id,
        "pack": decision.pack,
        "version": decision.version,
        "digest": decision.digest,
        "as_of": decision.as_of,
        "input": raw_input,
        "output": decision.output,
        "matched": decision.matched,
    }


@dataclass(frozen=True)
class LogSettings:
    """How the log is written; every field has an ``ARBITER_DECISION_LOG_*`` variable."""

    mode: str = "best-effort"  # or "audit"
    max_queue: int = 10_000  # records waiting for the writer, per worker
    fsync_seconds: float = 1.0  # fsync at most this long after a write; 0: before a write is acknowledged
    max_bytes: int = 0  # rotate when the file reaches this size; 0: never
    backups: int = 5  # rotated files kept: log.1 (newest) to log.N
    wait_seconds: float = 2.0  # audit mode: how long a request waits for its line before a 503
    max_backoff: float = 2.0  # the longest pause between two attempts of a failing write

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LogSettings:
        env = dict(os.environ if env is None else env)
        prefix = "ARBITER_DECISION_LOG_"
        mode = env.get(prefix + "MODE", cls.mode)
        if mode not in ("best-effort", "audit"):
            raise ValueError(f"{prefix}MODE must be best-effort or audit, not {mode!r}")

        def number(name: str, default: float) -> float:
            text = env.get(prefix + name)
            if text is None or not text.strip():
                return default
            try:
                value = float(text)
            except ValueError:
                value = float("nan")
            if not 0 <= value < float("inf"):
                raise ValueError(f"{prefix}{name} must be a number >= 0, not {text!r}")
            return value

        return cls(mode=mode, max_queue=max(1, int(number("QUEUE", cls.max_queue))),
                   fsync_seconds=number("FSYNC_SECONDS", cls.fsync_seconds),
                   max_bytes=int(number("MAX_BYTES", cls.max_bytes)), backups=int(number("BACKUPS", cls.backups)),
                   wait_seconds=number("WAIT_SECONDS", cls.wait_seconds))


def _open_append(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)


@dataclass
class _Entry:
    item: tuple[str, Decision, Any] | dict[str, Any]
    ticket: Ticket | None
    line: bytes = b""


TOTALS_HELP.update({
    "arbiter_decision_log_written_total": "Decision records written to the decision log.",
    "arbiter_decision_log_dropped_total": "Decision records dropped because the writer's queue was full (best-effort mode).",
    "arbiter_decision_log_refused_total": "Decisions answered 503 because their record could not be written (audit mode).",
    "arbiter_decision_log_failed_writes_total": "Attempts to write the decision log that failed (each is retried).",
    "arbiter_decision_log_rotations_total": "Size-based rotations of the decision log.",
    "arbiter_decision_log_unwritten": "Decision records queued and not yet written, summed over workers.",
    "arbiter_decision_log_failing": "Workers whose decision log cannot be written right now.",
})


class LogStats:
    """Counts of what happened to records, for ``/metrics``: each only ever grows."""

    def __init__(self) -> None:
        self.written = 0
        self.dropped = 0  # best-effort: did not fit the queue
        self.refused = 0  # audit: the decision was answered 503 instead
        self.failed_writes = 0  # attempts that raised; each is retried
        self.rotations = 0


class DecisionLog:
    def __init__(self, path: Path, settings: LogSettings | None = None, opener: Opener = _open_append,
                 writer: Writer = os.write) -> None:
        self.path = path
        self._os_write = writer  # tests put a failing disk here
        self.settings = settings or LogSettings()
        self.stats = LogStats()
        self._opener = opener
        self._fd = opener(path)
        self._cond = threading.Condition()
        self._queue: deque[_Entry] = deque()
        self._stopping = False
        self._error: str | None = None  # the last write error while failing, else None
        self._next_probe = 0.0  # audit mode, while failing: when one request may try again
        self._backoff = 0.0
        self._unsynced_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="arbiter-decision-log", daemon=True)
        self._thread.start()

    @property
    def audit(self) -> bool:
        return self.settings.mode == "audit"

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: whether records are being written, and how many wait."""
        return {"state": "failing" if self._error else "ok", "error": self._error, "unwritten": len(self._queue),
                "mode": self.settings.mode}

    def totals(self) -> dict[str, int]:
        """The counts under their metric names (``api.metrics.TOTALS_HELP``)."""
        stats = self.stats
        return {"arbiter_decision_log_written_total": stats.written, "arbiter_decision_log_dropped_total": stats.dropped,
                "arbiter_decision_log_refused_total": stats.refused,
                "arbiter_decision_log_failed_writes_total": stats.failed_writes,
                "arbiter_decision_log_rotations_total": stats.rotations,
                "arbiter_decision_log_unwritten": len(self._queue), "arbiter_decision_log_failing": int(not self.healthy)}

    @property
    def healthy(self) -> bool:
        return self._error is None

    def write(self, request_id: str, decision: Decision, raw_input: Any) -> Ticket | None:
        """Queue one record; in audit mode the returned ticket completes once it is written (or fails)."""
        return self.put((request_id, decision, raw_input))

    def put(self, item: tuple[str, Decision, Any] | dict[str, Any]) -> Ticket | None:
        """Queue a record built by ``api.audit`` (docs/decision-log.md), or ``write``'s three parts; as ``write``."""
        with self._cond:
            if len(self._queue) >= self.settings.max_queue:
                if self.audit:
                    self.stats.refused += 1
                    raise ServiceUnavailable("the decision log's queue is full; the decision is not answered (audit mode)")
                self.stats.dropped += 1
                if self.stats.dropped in (1, 10, 100) or self.stats.dropped % 1000 == 0:
                    log.error("decision log %s: %d record(s) dropped so far (queue full: %s)", self.path,
                              self.stats.dropped, self._error or "the writer is behind")
                return None
            ticket: Ticket | None = concurrent.futures.Future() if self.audit else None
            self._queue.append(_Entry(item, ticket))
            self._cond.notify()
            return ticket

    def admit(self) -> None:
        """Audit mode: raise ``ServiceUnavailable`` when a decision now could not be logged."""
        if self.audit:
            with self._cond:
                self._admit_locked()

    def _admit_locked(self) -> None:
        full = len(self._queue) >= self.settings.max_queue
        if self._error is None and not full:
            return
        now = time.monotonic()
        if not full and now >= self._next_probe:
            self._next_probe = now + max(self._backoff, 0.05)  # one request tries the disk per backoff step
            return
        self.stats.refused += 1
        raise ServiceUnavailable(f"the decision log cannot be written ({self._error or 'queue full'}); "
                                 "decisions are refused until it can (audit mode)")

    async def settled(self, tickets: Iterable[Ticket | None]) -> None:
        """Wait until every ticket's record is written; a 503 if one fails or takes too long."""
        pending = [asyncio.wrap_future(t) for t in tickets if t is not None]
        if not pending:
            return
        try:
            await asyncio.wait_for(asyncio.gather(*pending), self.settings.wait_seconds)
        except (TimeoutError, OSError) as exc:
            with self._cond:
                self.stats.refused += len(pending)
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            raise ServiceUnavailable(f"the decision could not be written to the decision log ({reason}); "
                                     "it is not answered (audit mode)") from None

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._stopping:
                    self._cond.wait(self._sync_due())
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 512))]
                stop = self._stopping and not batch
            if batch:
                self._write_batch(batch)
            if stop:
                break
            self._maybe_sync()  # fsync outside the lock: a slow disk must not stall the requests queueing records
        self._sync()

    def _write_batch(self, batch: list[_Entry]) -> None:
        # a request that stopped waiting (audit mode, timed out) was answered 503: its record is not written
        batch = [e for e in batch if e.ticket is None or not e.ticket.cancelled()]
        batch = [entry for entry in batch if self._serialise(entry)]
        while batch:
            try:
                self._rotate_if_due()
                written = self._append(batch)
            except OSError as exc:
                batch = self._failed(batch, exc)
                continue
            self._succeeded(batch[:written])
            batch = batch[written:]

    def _serialise(self, entry: _Entry) -> bool:
        """The entry's line; a record that cannot be written as JSON is counted and logged, never the writer's end."""
        try:
            entry.line = jsonio.dumps(entry.item if isinstance(entry.item, dict) else record(*entry.item)) + b"\n"
        except (TypeError, ValueError) as exc:
            with self._cond:
                self.stats.dropped += 1
            log.error("decision log %s: a record could not be serialised and is dropped: %s", self.path, exc)
            if entry.ticket is not None:
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    entry.ticket.set_exception(OSError(f"the record could not be serialised: {exc}"))
            return False
        return True

    def _append(self, batch: list[_Entry]) -> int:
        """Write the batch's lines in one call; the number of whole lines written (a partial line is finished)."""
        chunk = b"".join(e.line for e in batch)
        done = self._os_write(self._fd, chunk)
        if done == len(chunk):
            return len(batch)
        count, offset = 0, 0
        for entry in batch:  # a short write (disk nearly full): finish the line it stopped in, if any
            if offset + len(entry.line) > done:
                if offset < done:
                    self._finish(entry.line[done - offset:])
                    count += 1
                break
            offset += len(entry.line)
            count += 1
        return count

    def _finish(self, rest: bytes) -> None:
        while rest:  # a half line would corrupt the file for every reader: retry it until it goes
            try:
                rest = rest[self._os_write(self._fd, rest):]
            except OSError as exc:
                self._note_error(exc)
                time.sleep(self._backoff)

    def _succeeded(self, entries: list[_Entry]) -> None:
        if self._error is not None:
            log.warning("decision log %s: writing again after %d failed attempt(s)", self.path, self.stats.failed_writes)
        with self._cond:
            self._error = None
            self._backoff = 0.0
            self.stats.written += len(entries)
        if self._unsynced_since is None:
            self._unsynced_since = time.monotonic()
        if self.settings.fsync_seconds == 0:
            self._sync()
        for entry in entries:
            if entry.ticket is not None:
                with contextlib.suppress(concurrent.futures.InvalidStateError):  # its request stopped waiting
                    entry.ticket.set_result(None)

    def _failed(self, batch: list[_Entry], exc: OSError) -> list[_Entry]:
        """Note the error; audit mode fails the waiting requests at once, best-effort keeps the records to retry."""
        self._note_error(exc)
        if self.audit:
            for entry in batch:
                if entry.ticket is not None:
                    with contextlib.suppress(concurrent.futures.InvalidStateError):
                        entry.ticket.set_exception(exc)
            return []
        time.sleep(self._backoff)
        return batch

    def _note_error(self, exc: OSError) -> None:
        with self._cond:
            first = self._error is None
            self._error = f"{type(exc).__name__}: {exc}"
            self._backoff = min(self.settings.max_backoff, max(0.05, self._backoff * 2))
            self._next_probe = time.monotonic() + self._backoff
            self.stats.failed_writes += 1
        if first or self.stats.failed_writes % 100 == 0:
            log.error("decision log %s: write failed (%s); retrying with backoff, %d record(s) waiting", self.path,
                      self._error, len(self._queue))

    def _rotate_if_due(self) -> None:
        """Size-based rotation, safe across workers sharing the file: one rotates under a lock, the others reopen."""
        limit = self.settings.max_bytes
        if limit <= 0:
            return
        if os.fstat(self._fd).st_size < limit and self._same_file():
            return
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._same_file() and os.fstat(self._fd).st_size >= limit:
                for n in range(self.settings.backups - 1, 0, -1):
                    older = self.path.with_name(f"{self.path.name}.{n}")
                    if older.exists():
                        os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
                if self.settings.backups > 0:
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                else:
                    os.unlink(self.path)
                self.stats.rotations += 1
            self._reopen()

    def _same_file(self) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self._fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def _reopen(self) -> None:
        fresh = self._opener(self.path)
        self._sync()
        os.close(self._fd)
        self._fd = fresh

    def _sync_due(self) -> float | None:
        if self._unsynced_since is None:
            return None
        return max(0.0, self._unsynced_since + self.settings.fsync_seconds - time.monotonic())

    def _maybe_sync(self) -> None:
        due = self._sync_due()
        if due is not None and due <= 0:
            self._sync()

    def _sync(self) -> None:
        if self._unsynced_since is None:
            return
        try:
            os.fsync(self._fd)
            self._unsynced_since = None
        except OSError as exc:
            self._note_error(exc)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds), then close; what could not be written is logged."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("decision log %s: closed with %d record(s) unwritten (%s)", self.path, len(self._queue), self._error)
            return
        with contextlib.suppress(OSError):
            os.close(self._fd)
