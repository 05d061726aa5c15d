"""What a decision-log record holds, built where the decision is made (the writer is ``api.decision_log``).

One record per decision, one per item of a batch, each with its own decision id; refusals
are recorded too, with their problem. Fields named in ``ARBITER_LOG_MASK`` (JSON pointers,
``*`` for every element of a list or every field of an object) are replaced by ``MASKED``
in the input and output; the record says which pointers were masked. The format is
documented in docs/decision-log.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from engine.compiled import Decision
from rules.errors import ArbiterError

MASKED = "***"
FORMAT = 2  # the record format's version: 1 had request_id, pack, version, digest, as_of, input, output, matched


class Sink(Protocol):
    def put(self, item: Any) -> Any: ...


def key_id(key: bytes) -> str:
    """A stable id of an API key for logs: its SHA-256 prefix, never the key."""
    return "key-" + hashlib.sha256(key).hexdigest()[:16]


def _token(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def parse_pointer(pointer: str) -> tuple[str, ...]:
    if not pointer.startswith("/"):
        raise ValueError(f"ARBITER_LOG_MASK: {pointer!r} is not a JSON pointer (it starts with /)")
    return tuple(_token(part) for part in pointer[1:].split("/"))


def _masked(value: Any, path: tuple[str, ...]) -> Any:
    """``value`` with what ``path`` reaches replaced by MASKED; copies only along the path."""
    if not path:
        return MASKED
    head, rest = path[0], path[1:]
    keys: list[Any]
    copy: Any
    if isinstance(value, dict):
        keys, copy = (list(value) if head == "*" else [head] if head in value else []), dict(value)
    elif isinstance(value, list):
        index = int(head) if head.isdigit() else len(value)
        keys, copy = (list(range(len(value))) if head == "*" else [index] if index < len(value) else []), list(value)
    else:
        return value
    if not keys:
        return value
    for key in keys:
        copy[key] = _masked(value[key], rest)
    return copy


class Mask:
    def __init__(self, pointers: Sequence[str]) -> None:
        self.pointers = tuple(pointers)
        self.paths = [parse_pointer(p) for p in pointers]

    def __call__(self, value: Any) -> Any:
        for path in self.paths:
            value = _masked(value, path)
        return value


class Recorder:
    """Builds decision-log records and hands them to the writer."""

    def __init__(self, sink: Sink, mask: Sequence[str] = ()) -> None:
        self.sink = sink
        self.mask = Mask(mask)

    def _base(self, request_id: str, caller: str | None, route: str, latency: float) -> dict[str, Any]:
        record: dict[str, Any] = {
            "format": FORMAT,
            "ts": dt.datetime.now(dt.UTC),
            "decision_id": uuid.uuid4().hex,
            "request_id": request_id,
            "caller": caller,
            "route": route,
            "latency_ms": round(latency * 1000, 3),
        }
        if self.mask.pointers:
            record["masked"] = list(self.mask.pointers)
        return record

    def decision(self, decision: Decision, raw_input: Any, *, request_id: str, caller: str | None, route: str,
                 latency: float, index: int | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        record = self._base(request_id, caller, route, latency)
        if index is not None:
            record["batch_index"] = index
        record.update({
            "status": 200, "pack": decision.pack, "version": decision.version, "digest": decision.digest,
            "steps": decision.steps, "as_of": decision.as_of, "input": self.mask(raw_input),
            "output": self.mask(decision.output), "matched": decision.matched, "reasons": decision.reasons,
        })
        if extra:
            record.update(extra)
        return record

    def refusal(self, problem: dict[str, Any], raw_input: Any, *, request_id: str, caller: str | None, route: str,
                latency: float, pack: str | None, version: str | None, as_of: dt.date,
                index: int | None = None) -> dict[str, Any]:
        record = self._base(request_id, caller, route, latency)
        if index is not None:
            record["batch_index"] = index
        record.update({"status": problem.get("status"), "pack": pack, "version": version, "as_of": as_of,
                       "input": self.mask(raw_input), "problem": problem})
        return record

    def write(self, record: dict[str, Any]) -> Any:
        """Queue the record; what the writer returns (in audit mode, a ticket to wait on)."""
        return self.sink.put(record)

    def write_refusal(self, record: dict[str, Any]) -> None:
        """Queue a refusal's record; a log that cannot take it now does not change the refusal the caller gets."""
        with contextlib.suppress(ArbiterError):
            self.sink.put(record)
