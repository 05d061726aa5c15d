"""The shadow process: decides each challenger, compares it with the champion, counts and records the result.

It runs apart from the serving process (``api.shadow`` starts it), so the challenger's
evaluation never competes with requests for the interpreter lock. Jobs come in batches, one
JSON list per frame of a pipe (``multiprocessing.connection`` framing). It compiles its own packs
from the served folder (a pin challenger) or the challenger's folder, and compiles again
when a job says the serving process has reloaded. Counts go back to the serving process
in batches (at most every ``FLUSH_SECONDS``) for /metrics; each comparison is a line of the
shadow log, under the champion's decision id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api import logs
from api.audit import FORMAT, Mask
from api.decision_log import DecisionLog, LogSettings
from engine import jsonio
from engine.compiled import CompiledPack, Decision
from engine.registry import PackSet, require_pack_set
from rules.errors import ArbiterError

log = logging.getLogger("arbiter.shadow")

FLUSH_SECONDS = 0.2
Labels = tuple[str, str, str]  # pack, output ('' for the whole decision), result


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


def parse_challengers(specs: tuple[str, ...], served: PackSet, compile_folders: bool = True) -> dict[str, Challenger]:
    """``pack=version`` or ``pack=folder`` entries; a wrong one is a ValueError or an ArbiterError naming it."""
    found: dict[str, Challenger] = {}
    for spec in specs:
        name, sep, target = (part.strip() for part in spec.partition("="))
        if not sep or not name or not target:
            raise ValueError(f"ARBITER_SHADOW: {spec!r} is not pack=version or pack=folder")
        served.versions(name)  # the champion must be served
        if Path(target).is_dir():
            folder = require_pack_set(Path(target)) if compile_folders else None
            if folder is not None:
                folder.versions(name)
            found[name] = Challenger(name, packs=folder, source=target)
        else:
            served.get(name, target)
            found[name] = Challenger(name, version=target, source=f"{name}@{target}")
    return found


def compare(champion: dict[str, Any], challenger: dict[str, Any]) -> list[str]:
    """The outputs both sides declare on which the two decisions differ (by value: 1.0 and 1.00 agree).

    An output only one version has (a candidate's new output) cannot agree or disagree; the
    record names it under ``one_side`` instead of counting every decision as a disagreement.
    """
    return sorted(name for name in champion.keys() & challenger.keys() if champion[name] != challenger[name])


@dataclass(frozen=True)
class Config:
    """What the shadow process needs, sent to it at start (picklable)."""

    root: Path
    specs: tuple[str, ...]
    mask: tuple[str, ...] = ()
    log_path: Path | None = None  # the shadow log, beside the decision log
    log_settings: LogSettings | None = None
    log_level: str = "WARNING"


@dataclass(frozen=True)
class Job:
    """One champion decision to compare: what the serving process knew, nothing it would have to compute."""

    generation: int  # of the packs the serving process served: a new one makes this process compile again
    decision_id: str
    request_id: str
    pack: str
    version: str
    digest: str
    steps: Any
    as_of: dt.date
    output: dict[str, Any]
    raw_input: Any

    @classmethod
    def from_wire(cls, item: list[Any]) -> Job:
        """A job from its wire form (``wire``)."""
        generation, decision_id, request_id, pack, version, digest, steps, as_of, output, raw_input = item
        return cls(generation, decision_id, request_id, pack, version, digest, steps, dt.date.fromisoformat(as_of),
                   output, raw_input)


def wire(generation: int, decision_id: str, request_id: str, champion: Decision, raw_input: Any) -> list[Any]:
    """A job as a JSON-ready list, made on the request path: ``engine.jsonio`` writes it faster than pickle."""
    return [generation, decision_id, request_id, champion.pack, champion.version, champion.digest, champion.steps,
            champion.as_of, champion.output, raw_input]


class Comparer:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.mask = Mask(config.mask)
        self.generation = 1
        self.served = require_pack_set(config.root)
        self.challengers = parse_challengers(config.specs, self.served)
        self.counts: Counter[Labels] = Counter()
        self.sink: DecisionLog | None = None
        if config.log_path is not None:
            # best-effort whatever the decision log's mode: a comparison never holds up an answer
            best_effort = dataclasses.replace(config.log_settings or LogSettings(), mode="best-effort")
            self.sink = DecisionLog(config.log_path, best_effort)

    def follow(self, generation: int) -> None:
        """The serving process reloaded: compile the served folder again (pin challengers resolve in it)."""
        if generation <= self.generation:
            return
        try:
            self.served = require_pack_set(self.config.root)
        except ArbiterError as exc:  # the serving process reloaded what compiled then; keep the last good set
            log.error("shadow: the served packs do not compile now: %s", exc.message)
        self.generation = generation

    def compare(self, job: Job) -> None:
        self.follow(job.generation)
        challenger = self.challengers[job.pack]
        start = time.perf_counter()
        side: dict[str, Any] = {"source": challenger.source}
        try:
            pack = challenger.resolve(self.served, job.as_of)
            side.update(version=pack.version, digest=pack.digest)
            decided = pack.decide(job.raw_input, job.as_of)
        except ArbiterError as exc:
            side["problem"] = {"code": exc.code, "detail": exc.message}
            self.counts[(job.pack, "", "challenger_error")] += 1
            self.record(job, side, None, time.perf_counter() - start)
            return
        # the champion's output came as JSON; the challenger's is compared as JSON too (as a caller would see it)
        output = jsonio.loads(jsonio.dumps(decided.output))
        side.update(steps=decided.steps, output=self.mask(output), one_side=sorted(job.output.keys() ^ output.keys()))
        differ = compare(job.output, output)
        for name in job.output.keys() & output.keys():
            self.counts[(job.pack, name, "disagree" if name in differ else "agree")] += 1
        self.counts[(job.pack, "", "disagree" if differ else "agree")] += 1
        self.record(job, side, differ, time.perf_counter() - start)

    def record(self, job: Job, challenger: dict[str, Any], differ: list[str] | None, latency: float) -> None:
        if self.sink is None:
            return
        # laid out as a decision-log record of the champion (the replay reads it so), plus the challenger's side
        self.sink.put({
            "format": FORMAT, "record": "shadow", "ts": dt.datetime.now(dt.UTC), "decision_id": job.decision_id,
            "request_id": job.request_id, "pack": job.pack, "version": job.version,
            "digest": job.digest, "steps": job.steps, "as_of": job.as_of,
            "input": self.mask(job.raw_input), "output": self.mask(job.output),
            "challenger": challenger, "agree": differ == [], "disagree": differ, "latency_ms": round(latency * 1000, 3),
        })

    def flush(self, results: Any) -> None:
        if self.counts:
            results.put(("counts", dict(self.counts)))
            self.counts.clear()

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


def run(config: Config, jobs: Any, results: Any, parent: int) -> None:
    """The shadow process's main: say ready (or why not), then compare until told to stop or the server is gone."""
    logs.configure(config.log_level)
    try:
        comparer = Comparer(config)
    except (ArbiterError, ValueError, OSError) as exc:
        results.put(("error", getattr(exc, "message", str(exc))))
        return
    results.put(("ready", os.getpid()))
    _serve(comparer, jobs, results, parent)
    comparer.close()
    results.put(("stopped", None))


def _compare_all(comparer: Comparer, batch: list[Any]) -> None:
    """A batch of jobs, as the serving process wrote them (``wire`` items in a JSON list)."""
    for item in batch:
        try:
            comparer.compare(Job.from_wire(item))
        except Exception:  # one failed comparison must never stop the ones that follow
            log.exception("shadow comparison failed", extra={"decision_id": item[1]})


def _serve(comparer: Comparer, jobs: Any, results: Any, parent: int) -> None:
    """Frames from the serving process: a list of jobs, or a control message (["drain", token], ["stop"])."""
    flushed = time.monotonic()
    while True:
        message: Any = None
        try:
            if jobs.poll(FLUSH_SECONDS):
                message = jsonio.loads(jobs.recv_bytes())
            elif os.getppid() != parent:  # the serving process is gone: nobody reads the counts
                return
        except (EOFError, OSError):
            return
        control = isinstance(message, list) and bool(message) and isinstance(message[0], str)
        if message and not control:
            _compare_all(comparer, message)
        if control or message is None or time.monotonic() - flushed >= FLUSH_SECONDS:
            comparer.flush(results)
            flushed = time.monotonic()
        if control and message[0] == "drain":
            results.put(("drained", message[1]))
        elif control and message[0] == "stop":
            return
