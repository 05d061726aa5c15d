"""An append-only JSONL log of decisions, written off the request path.

Requests hand a record to a queue; one writer thread serialises and appends it. ``close``
drains the queue and flushes, so a clean shutdown loses no line. Each line is replayable by
``simulate.py`` (``--orders`` accepts a decision log): it holds the pack input as sent.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

from engine import jsonio
from engine.compiled import Decision

_STOP = object()


class DecisionLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._file = path.open("ab")
        self._thread = threading.Thread(target=self._run, name="arbiter-decision-log", daemon=True)
        self._thread.start()

    def write(self, request_id: str, decision: Decision, raw_input: Any) -> None:
        self._queue.put((request_id, decision, raw_input))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            self._append(item)
            if self._queue.empty():
                self._file.flush()
        self._file.flush()

    def _append(self, item: tuple[str, Decision, Any]) -> None:
        request_id, decision, raw_input = item
        record = {
            "request_id": request_id,
            "pack": decision.pack,
            "version": decision.version,
            "digest": decision.digest,
            "as_of": decision.as_of,
            "input": raw_input,
            "output": decision.output,
            "matched": decision.matched,
        }
        self._file.write(jsonio.dumps(record) + b"\n")

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        self._file.close()
