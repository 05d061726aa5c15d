"""The shadow process: decides each challenger, compares it with the champion, counts and records the result.

It runs apart from the serving process (``api.shadow`` starts it), so the challenger's
evaluation never competes with requests for the interpreter lock, and at the lowest CPU
priority (``ARBITER_SHADOW_NICE``, 19 by default), so on a busy host it takes only the CPU
the server and its neighbours leave: when it falls behind, the serving process's bounded
buffer fills and comparisons are skipped and counted. Jobs come in batches, one JSON list
per frame of a pipe (``multiprocessing.connection`` framing). It compiles its own packs
from the served folder (a pin challenger) or the challenger's folder, and compiles again
when a job says the serving process has reloaded. Counts go back to the serving process
in batches (at most every ``COUNTS_SECONDS``) for /metrics; each comparison is a line of the
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

import orjson

from api import logs
from api.audit import FORMAT, Mask
from api.decision_log import DecisionLog, LogSettings
from engine import jsonio
from engine.compiled import CompiledPack, Decision
from engine.registry import PackSet, require_pack_set
from rules.errors import ArbiterError

log = logging.getLogger("arbiter.shadow")

FLUSH_SECONDS = 0.2
# counts go back at most this often: each message wakes a thread of the serving process that takes the
# interpreter lock from the requests (five a second showed in the shadowed server's p99); /metrics of a
# server with several workers is a second behind too (api.service)
COUNTS_SECONDS = 1.0
MAX_NICE = 19
MAX_DAYS = 4096  # as_of dates whose challenger version is kept resolved
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
    nice: int = 0  # added to the process's nice value at start (ARBITER_SHADOW_NICE)


def answer_of(champion: Decision) -> dict[str, Any]:
    """What the shadow process needs of the champion's answer: the part of the response it compares and records."""
    answer = {"pack": champion.pack, "version": champion.version, "digest": champion.digest, "as_of": champion.as_of,
              "output": champion.output}
    if champion.steps is not None:
        answer["steps"] = champion.steps
    return answer


def wire(jobs: list[tuple[int, str, str, bytes, bytes]]) -> bytes:
    """Jobs as one JSON list of ``[generation, decision_id, request_id, input, answer]``, written once per batch.

    ``input`` and ``answer`` are JSON texts spliced in as they are (``orjson.Fragment``): for a
    single decision, the request body the champion read and the response it answered, so
    nothing is written twice; the shadow process reads the body with the same parser as the
    champion did. One call for the batch: the request path only keeps the job's parts.
    """
    return jsonio.dumps([[generation, decision_id, request_id, orjson.Fragment(raw_input), orjson.Fragment(answer)]
                         for generation, decision_id, request_id, raw_input, answer in jobs])


class Tally:
    """Comparison counts, kept per job in a few counters and expanded to per-output labels when sent."""

    def __init__(self) -> None:
        self.results: Counter[tuple[str, str]] = Counter()  # (pack, result) of whole decisions
        self.compared: Counter[tuple[str, tuple[str, ...], tuple[str, ...]]] = Counter()  # (pack, output names of each side)
        self.disagreed: Counter[tuple[str, str]] = Counter()  # (pack, output)

    def __bool__(self) -> bool:
        return bool(self.results)

    def labels(self) -> dict[Labels, int]:
        """The counts by (pack, output, result), '' for the decision as a whole, as /metrics adds them up."""
        out: Counter[Labels] = Counter()
        for (pack, result), count in self.results.items():
            out[(pack, "", result)] += count
        for (pack, champion, challenger), count in self.compared.items():
            for name in set(champion) & set(challenger):
                out[(pack, name, "agree")] += count
        for (pack, name), count in self.disagreed.items():
            out[(pack, name, "agree")] -= count
            out[(pack, name, "disagree")] += count
        return dict(out)

    def clear(self) -> None:
        self.results.clear()
        self.compared.clear()
        self.disagreed.clear()


def differing(champion: dict[str, Any], challenger: dict[str, Any]) -> list[str]:
    """``compare`` for a challenger output as decided (not read back from JSON): the same answer, cheaper.

    Values equal as decided are equal as JSON; only the ones that are not (a date against its
    ISO text, a tuple against a list, or a real difference) are written and read back first.
    """
    found = [name for name in champion if name in challenger and champion[name] != challenger[name]]
    return [name for name in found if champion[name] != jsonio.loads(jsonio.dumps(challenger[name]))]


class Comparer:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.mask = Mask(config.mask)
        self.generation = 1
        self.served = require_pack_set(config.root)
        self.challengers = parse_challengers(config.specs, self.served)
        self.counts = Tally()
        self._days: dict[str, dt.date] = {}
        self._resolved: dict[tuple[str, str], CompiledPack] = {}  # (pack, as_of) -> challenger, for this generation
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
        self._resolved.clear()

    def challenger(self, name: str, as_of: str) -> tuple[CompiledPack, dt.date]:
        """The challenger's version for ``as_of`` (ISO text, as the answer gave it), and the date."""
        day = self._days.get(as_of)
        if day is None:
            if len(self._days) >= MAX_DAYS:  # callers choose as_of: the caches stay bounded
                self._days.clear()
                self._resolved.clear()
            day = self._days[as_of] = dt.date.fromisoformat(as_of)
        found = self._resolved.get((name, as_of))
        if found is None:
            found = self._resolved[(name, as_of)] = self.challengers[name].resolve(self.served, day)
        return found, day

    def compare(self, job: list[Any]) -> None:
        """One job in its wire form (``wire``): the challenger decides the champion's input on the champion's as_of."""
        generation, decision_id, request_id, raw_input, answer = job
        self.follow(generation)
        name = answer["pack"]
        start = time.perf_counter()
        side: dict[str, Any] = {"source": self.challengers[name].source}
        try:
            pack, day = self.challenger(name, answer["as_of"])
            side.update(version=pack.version, digest=pack.digest)
            decided = pack.decide(raw_input, day)
        except ArbiterError as exc:
            side["problem"] = {"code": exc.code, "detail": exc.message}
            self.counts.results[(name, "challenger_error")] += 1
            self.record(decision_id, request_id, raw_input, answer, side, None, time.perf_counter() - start)
            return
        champion, output = answer["output"], decided.output
        differ = differing(champion, output)
        self.counts.compared[(name, tuple(champion), tuple(output))] += 1
        for output_name in differ:
            self.counts.disagreed[(name, output_name)] += 1
        self.counts.results[(name, "disagree" if differ else "agree")] += 1
        if self.sink is not None:
            side.update(steps=decided.steps, output=self.mask(output), one_side=sorted(champion.keys() ^ output.keys()))
            self.record(decision_id, request_id, raw_input, answer, side, differ, time.perf_counter() - start)

    def record(self, decision_id: str, request_id: str, raw_input: Any, answer: dict[str, Any],
               challenger: dict[str, Any], differ: list[str] | None, latency: float) -> None:
        if self.sink is None:
            return
        # laid out as a decision-log record of the champion (the replay reads it so), plus the challenger's side
        self.sink.put({
            "format": FORMAT, "record": "shadow", "ts": dt.datetime.now(dt.UTC), "decision_id": decision_id,
            "request_id": request_id, "pack": answer["pack"], "version": answer["version"],
            "digest": answer["digest"], "steps": answer.get("steps"), "as_of": answer["as_of"],
            "input": self.mask(raw_input), "output": self.mask(answer["output"]),
            "challenger": challenger, "agree": differ == [], "disagree": differ, "latency_ms": round(latency * 1000, 3),
        })

    def flush(self, results: Any) -> None:
        if self.counts:
            results.put(("counts", self.counts.labels()))
            self.counts.clear()

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


def lower_priority(nice: int) -> None:
    """Yield the CPU to the server and its neighbours: the process then runs on what they leave.

    At 19, on Linux, the process also joins the idle scheduling class (SCHED_IDLE): a nice
    value alone lets a task that got the CPU keep it for a slice (milliseconds) after the
    server wakes, which showed in the server's p99; any other task preempts an idle-class one
    at once.
    """
    if nice <= 0:
        return
    try:
        os.nice(nice)
        if nice >= MAX_NICE and hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError) as exc:  # not on this platform, or not allowed: compare at the same priority
        log.warning("shadow: could not lower the process's priority: %s", exc)


def run(config: Config, jobs: Any, results: Any, parent: int) -> None:
    """The shadow process's main: say ready (or why not), then compare until told to stop or the server is gone."""
    logs.configure(config.log_level)
    lower_priority(config.nice)  # before any thread starts: a Linux thread's nice value is its own, inherited by those it starts
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
            comparer.compare(item)
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
        if control or time.monotonic() - flushed >= COUNTS_SECONDS:
            comparer.flush(results)
            flushed = time.monotonic()
        if control and message[0] == "drain":
            results.put(("drained", message[1]))
        elif control and message[0] == "stop":
            return
