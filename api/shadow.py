"""Shadow mode: a challenger per pack, decided off the request path and compared with the champion.

``ARBITER_SHADOW=credit=1.1.0,pricing=/srv/candidate_packs`` names, per pack, a challenger:
a version of the served set (a pin) or a packs folder (its version effective on the
decision's ``as_of``). Live calls are answered by the champion alone; each champion decision
of a shadowed pack is queued (bounded: when full, the comparison is skipped and counted) and
one background thread decides the challenger, counts agreement per pack and output for
/metrics, and writes a shadow record under the champion's decision id beside the decision
log (``<log>.shadow.jsonl``: it replays like the log; docs/shadow.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.audit import FORMAT, Mask
from api.decision_log import DecisionLog, LogSettings
from api.metrics import Metrics
from api.settings import Settings
from engine.compiled import CompiledPack, Decision
from engine.registry import PackSet, require_pack_set
from rules.errors import ArbiterError

log = logging.getLogger("arbiter.shadow")

MAX_QUEUE = 1000
_STOP = object()


@dataclass(frozen=True)
class Challenger:
    pack: str
    version: str | None = None  # a pin in the served set
    packs: PackSet | None = None  # or a folder of packs
    source: str = ""

    def resolve(self, served: PackSet, as_of: dt.date) -> CompiledPack:
        if self.packs is not None:
            return self.packs.get(self.pack, None, as_of)
        return served.get(self.pack, self.version)


def parse_challengers(specs: tuple[str, ...], served: PackSet) -> dict[str, Challenger]:
    """``pack=version`` or ``pack=folder`` entries; a wrong one stops the service at start."""
    found: dict[str, Challenger] = {}
    for spec in specs:
        name, sep, target = (part.strip() for part in spec.partition("="))
        if not sep or not name or not target:
            raise ValueError(f"ARBITER_SHADOW: {spec!r} is not pack=version or pack=folder")
        served.versions(name)  # the champion must be served
        if Path(target).is_dir():
            folder = require_pack_set(Path(target))
            folder.versions(name)
            found[name] = Challenger(name, packs=folder, source=target)
        else:
            served.get(name, target)
            found[name] = Challenger(name, version=target, source=f"{name}@{target}")
    return found


@dataclass
class _Job:
    champion: Decision
    raw_input: Any
    decision_id: str
    request_id: str
    served: PackSet


def compare(champion: dict[str, Any], challenger: dict[str, Any]) -> list[str]:
    """The outputs both sides declare on which the two decisions differ (by value: 1.0 and 1.00 agree).

    An output only one version has (a candidate's new output) cannot agree or disagree; the
    record names it under ``one_side`` instead of counting every decision as a disagreement.
    """
    return sorted(name for name in champion.keys() & challenger.keys() if champion[name] != challenger[name])


class Shadow:
    def __init__(self, challengers: dict[str, Challenger], metrics: Metrics, sink: Any = None,
                 mask: Mask | None = None, max_queue: int = MAX_QUEUE) -> None:
        self.challengers = challengers
        self.metrics = metrics
        self.sink = sink  # a DecisionLog for shadow records, or None
        self.mask = mask or Mask(())
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._thread = threading.Thread(target=self._run, name="arbiter-shadow", daemon=True)
        self._thread.start()

    def submit(self, champion: Decision, raw_input: Any, request_id: str, served: PackSet,
               decision_id: str | None = None) -> None:
        """Queue the champion's decision for comparison; never blocks the request."""
        if champion.pack not in self.challengers:
            return
        try:
            self._queue.put_nowait(_Job(champion, raw_input, decision_id or uuid.uuid4().hex, request_id, served))
        except queue.Full:
            self.metrics.shadow(champion.pack, "", "skipped")

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                break
            try:
                self._compare(job)
            except Exception:  # a shadow failure must never stop the comparisons that follow
                log.exception("shadow comparison failed", extra={"decision_id": job.decision_id})
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _compare(self, job: _Job) -> None:
        champion = job.champion
        challenger = self.challengers[champion.pack]
        start = time.perf_counter()
        side: dict[str, Any] = {"source": challenger.source}
        try:
            pack = challenger.resolve(job.served, champion.as_of)
            side.update(version=pack.version, digest=pack.digest)
            decided = pack.decide(job.raw_input, champion.as_of)
        except ArbiterError as exc:
            side["problem"] = {"code": exc.code, "detail": exc.message}
            self.metrics.shadow(champion.pack, "", "challenger_error")
            self._record(job, side, None, time.perf_counter() - start)
            return
        side.update(steps=decided.steps, output=self.mask(decided.output),
                    one_side=sorted(champion.output.keys() ^ decided.output.keys()))
        differ = compare(champion.output, decided.output)
        for name in champion.output.keys() & decided.output.keys():
            self.metrics.shadow(champion.pack, name, "disagree" if name in differ else "agree")
        self.metrics.shadow(champion.pack, "", "disagree" if differ else "agree")
        self._record(job, side, differ, time.perf_counter() - start)

    def _record(self, job: _Job, challenger: dict[str, Any], differ: list[str] | None, latency: float) -> None:
        if self.sink is None:
            return
        champion = job.champion
        # laid out as a decision-log record of the champion (the replay reads it so), plus the challenger's side
        self.sink.put({
            "format": FORMAT, "record": "shadow", "ts": dt.datetime.now(dt.UTC), "decision_id": job.decision_id,
            "request_id": job.request_id, "pack": champion.pack, "version": champion.version,
            "digest": champion.digest, "steps": champion.steps, "as_of": champion.as_of,
            "input": self.mask(job.raw_input), "output": self.mask(champion.output),
            "challenger": challenger, "agree": differ == [], "disagree": differ, "latency_ms": round(latency * 1000, 3),
        })

    def drain(self) -> None:
        """Wait until every queued comparison is done (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        """Finish what is queued, then stop; the shadow records are all written."""
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        if self.sink is not None:
            self.sink.close()


def start_shadow(settings: Settings, served: PackSet, metrics: Metrics, decision_log: Path | None,
                 log_settings: LogSettings | None = None) -> Shadow | None:
    """Shadow mode as configured (``ARBITER_SHADOW``), its records beside the decision log; None when off."""
    if not settings.shadow:
        return None
    challengers = parse_challengers(settings.shadow, served)
    sink = None
    if decision_log is not None:
        # best-effort whatever the decision log's mode: a comparison never holds up an answer
        best_effort = dataclasses.replace(log_settings or LogSettings(), mode="best-effort")
        sink = DecisionLog(decision_log.with_name(f"{decision_log.stem}.shadow{decision_log.suffix or '.jsonl'}"), best_effort)
    log.info("shadow mode: %s", ", ".join(c.source for c in challengers.values()),
             extra={"challengers": {name: c.source for name, c in challengers.items()}})
    return Shadow(challengers, metrics, sink, Mask(settings.mask))
