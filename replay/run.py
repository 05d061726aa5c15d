"""The replay proper: workers parse, decide both sides and tally; chunks come back in input order."""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import jsonio
from engine.compiled import CompiledPack
from engine.demand import Wanted
from replay.attribution import Variant, attribute, kind_of, variants
from replay.cache import (
    CachedSides,
    KeptSteps,
    SideCache,
    forget_said,
    order_digest,
    parser_digest,
    record_digest,
    side_digest,
)
from replay.decide import compared, decide_both, decided, rows_text, what_changed
from replay.executors import Executor
from replay.handover import Handover, handover
from replay.kpis import Kpis, load_kpis
from replay.orders import CHUNK, Logged, Refused, decode_for, parse_record, unnamed
from replay.packdiff import Edit
from replay.parts import Part, Parts
from replay.pool import chunks, in_order, resident_mb, sharing
from replay.shared import SharedSteps
from replay.specs import LOGGED, Production, Spec, SpecPacks, load_spec, local, packed
from replay.tally import Tally
from rules.errors import ArbiterError

_WORKER: dict[str, Any] = {}


def _init_worker(baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str, backend: str,
                 parse: Callable[[Any], tuple[str, dt.date, Any]], cache: str | None = None, handed: Handover | None = None) -> None:
    gc.unfreeze()  # a worker taking another setup: the last one's packs may be collected now
    baseline, candidate = local(baseline), local(candidate)
    shared = SharedSteps() if cache is None else KeptSteps(Path(cache), backend)  # one per worker: both sides share it
    _WORKER["baseline"] = _side(baseline, effective_on, backend, shared)
    if candidate.folder == baseline.folder and candidate.text != LOGGED:  # one folder, two sets of pins: compiled once
        _WORKER["candidate"] = SpecPacks(_WORKER["baseline"].packs, candidate.pins, effective_on, shared)
    else:
        _WORKER["candidate"] = _side(candidate, effective_on, backend, shared)
    _WORKER["specs"] = (candidate, baseline)
    _WORKER["pack"] = pack
    _WORKER["parse"] = parse
    _WORKER["packs"] = {}
    _WORKER["backend"] = backend
    _WORKER["cache"] = None if cache is None else Path(cache)
    _WORKER["parser"] = None if cache is None else parser_digest(parse)  # orders keyed by their lines (replay.cache)
    _WORKER["side_caches"] = None
    forget_said()  # a cache's unreadable parts are said once a folder a run
    _WORKER["steps"] = shared if isinstance(shared, KeptSteps) else None
    _WORKER["variants"] = {} if handed is None or handed.variants is None else {(pack, None): handed.variants}
    _WORKER["cannot"] = () if handed is None else handed.cannot
    _WORKER["roots"] = {}
    root = _shared_root(_WORKER["baseline"], _WORKER["candidate"], pack)
    decode_for(root)
    if root is not None:  # one flow version on both sides: its steps' two versions decided together
        shared.pair(_WORKER["baseline"], _WORKER["candidate"])
    # the packs live as long as the worker: out of the collector's sight, the full collections an
    # order's many short-lived objects set off no longer walk them (about 10 % of a replay's CPU)
    gc.collect()
    gc.freeze()


def _side(spec: Spec, effective_on: dt.date, backend: str, shared: SharedSteps) -> SpecPacks:
    """A side's packs: the folder as the parent loaded it, inherited (``replay.handover``), else loaded here.

    Packs the parent compiled on another backend than this replay's are not used: the cache
    files outcomes under the backend asked for, so it must be the one that decides.
    """
    if spec.packs is None or any(p.backend.name != backend for p in spec.packs):
        return load_spec(spec, effective_on, backend, shared)
    if spec.text == LOGGED:
        return Production(spec.packs, {}, effective_on, shared)
    return SpecPacks(spec.packs, spec.pins, effective_on, shared)


def _shared_root(base: SpecPacks, cand: SpecPacks, name: str) -> CompiledPack | None:
    """The replayed pack's version when both sides decide orders with it: orders are then decoded validated, once."""
    try:
        a, b = base.get(name), cand.get(name)
    except ArbiterError:
        return None
    return a if a.digest == b.digest and not isinstance(base, Production) else None


def _pack(name: str) -> tuple[Kpis, Wanted]:
    """A replayed pack's declaration and the outputs it reads."""
    found = _WORKER["packs"].get(name)
    if found is None:
        candidate, baseline = _WORKER["specs"]
        kpis = side_kpis(candidate, baseline, name)
        found = _WORKER["packs"][name] = (kpis, compared(kpis))
    return found  # type: ignore[no-any-return]


def _variants(name: str, version: str | None = None) -> tuple[list[Variant], list[Edit]]:
    """The baseline (as a log record names it) with each edit alone, compiled once per worker when the first order changes."""
    found = _WORKER["variants"].get((name, version))
    if found is None:
        cannot = _WORKER["cannot"] if (name, version) == (_WORKER["pack"], None) else ()
        found = _WORKER["variants"][(name, version)] = variants(_WORKER["baseline"], _WORKER["candidate"], name, cannot)
    return found  # type: ignore[no-any-return]


def _side_caches() -> tuple[SideCache, SideCache]:
    """Both sides' outcome caches for the replayed pack, named by what decides each side (replay.cache)."""
    if _WORKER["side_caches"] is None:
        name = _WORKER["pack"]
        kpis, outputs = _pack(name)
        _WORKER["side_caches"] = tuple(SideCache(_WORKER["cache"], side_digest(side, name, outputs, kpis, _WORKER["backend"]))
                                       for side in (_WORKER["baseline"], _WORKER["candidate"]))
    return _WORKER["side_caches"]  # type: ignore[no-any-return]


@dataclass
class Chunk:
    """What a worker sends back for a run of orders: its tally and the diff rows of the orders that changed."""

    tally: Tally
    diff: list[list[str]]
    rss_mb: float | None = None  # of the process that decided it, now (replay.pool.resident_mb): flat as input grows
    worker: int = 0  # that process's id, so the parent follows each worker's memory
    reused: int = 0  # outcomes read from the cache instead of decided (replay.cache)
    steps_reused: int = 0  # steps of outcomes decided here that were read from the cache (replay.cache.KeptSteps)


def _replay_chunk(batch: tuple[int, list[Any] | Part]) -> Chunk:
    index, part = batch  # a batch's number names its part in the outcome cache
    records = part if isinstance(part, list) else part.records()  # a part of the orders file is read here
    cached = CachedSides(_side_caches(), index, _WORKER["steps"]) if _WORKER["cache"] is not None else None
    tally = Tally()
    diff: list[list[str]] = []
    for record in records:
        try:
            order_id, as_of, value = _WORKER["parse"](record)
        except (ArbiterError, ValueError, KeyError) as exc:  # a line that is not an order: counted, not fatal
            refused: dict[str, Any] = {"decision": "error", "error": getattr(exc, "code", "malformed"), "detail": str(exc), "matched": {}}
            tally.order(unnamed(record[0] if isinstance(record, tuple) else "?"), "", None, refused, refused, _pack(_WORKER["pack"])[0])
            continue
        if isinstance(value, Refused):  # the service decided nothing: there is nothing to reproduce or compare
            tally.refused[value.status] += 1
            continue
        key = record_digest(_WORKER["parser"], record) if cached is not None and _WORKER["parser"] is not None else None
        _replay_one(tally, diff, order_id, as_of, value, cached, key)
    if cached is not None:
        cached.flush()
    return Chunk(tally, diff, resident_mb(), os.getpid(), cached.reused if cached else 0,
                 _WORKER["steps"].steps_reused if cached and _WORKER["steps"] else 0)


def _replay_one(tally: Tally, diff: list[list[str]], order_id: str, as_of: dt.date, value: Any,
                cached: CachedSides | None = None, key: str | None = None) -> None:
    base, cand, name = _WORKER["baseline"], _WORKER["candidate"], _WORKER["pack"]
    version = None
    if isinstance(value, Logged):  # each record through its own pack; a logged baseline through the versions it names
        name, logged, value = value.pack, value, value.input
        if isinstance(base, Production):
            version = logged.version
            base.name_versions(name, version, logged.steps)
            tally.reproduce(order_id, logged, base, value, as_of)
    kpis, outputs = _pack(name)
    if cached is not None and name == _WORKER["pack"] and version is None and not isinstance(base, Production):
        a, b = cached.decide((base, cand), name, key or order_digest(order_id, as_of, value), value, as_of, outputs, kpis)
    else:
        a, b = _decide(base, cand, name, value, as_of, outputs, kpis, version)
    tally.ran(*_roots(name, version))
    if tally.order(order_id, as_of.isoformat(), value, a, b, kpis):
        # the changed orders, a few in a thousand, are decided again in full: every step's output is compared
        full_a, full_b = _decide(base, cand, name, value, as_of, None, kpis, version)
        changed = what_changed(full_a, full_b, base, cand)
        tally.changed_outputs.update(changed)
        kind = kind_of(full_a, full_b, kpis)
        try:
            credits = attribute(*_variants(name, version), name, value, as_of, full_a, full_b, kpis)
        except ArbiterError:  # a baseline version the folder lacks: there is nothing to take edits from
            credits = []
        tally.explain(order_id, value, a, b, kind, credits, kpis)
        diff.append(diff_row(order_id, as_of, a, b, changed, kind, "; ".join(c.text for c in credits)))


def _roots(name: str, version: str | None) -> tuple[str, str]:
    """pack@version each side decides an order with (the baseline's as a log record names it): counted per order."""
    found = _WORKER["roots"].get((name, version))
    if found is None:
        keys = []
        for side, v in ((_WORKER["baseline"], version), (_WORKER["candidate"], None)):
            try:
                keys.append(side.get(name, v).key)
            except ArbiterError:
                keys.append(f"{name}@{v or '?'} (unknown)")
        found = _WORKER["roots"][(name, version)] = tuple(keys)
    return found  # type: ignore[no-any-return]


def _decide(base: SpecPacks, cand: SpecPacks, name: str, value: Any, as_of: dt.date, outputs: Wanted, kpis: Kpis,
            version: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both outcomes; a pack or version one side lacks (a log naming a version no longer in the folder) is that side's error."""
    try:
        return decide_both(base, cand, name, value, as_of, outputs, kpis, version)
    except ArbiterError as exc:
        lost = {"decision": "error", "error": exc.code, "detail": exc.message, "matched": {}}
    try:
        base.get(name, version)
    except ArbiterError:
        return lost, decide_both(cand, cand, name, value, as_of, outputs, kpis)[1]
    return decide_both(base, base, name, value, as_of, outputs, kpis, version)[0], lost


DIFF_HEADER = ["order_id", "as_of", "kind", "causes", "baseline_decision", "candidate_decision", "changed", "baseline_output",
               "candidate_output", "baseline_rows", "candidate_rows"]


def diff_row(order_id: str, as_of: dt.date, a: dict[str, Any], b: dict[str, Any], changed: list[str], kind: str,
             causes: str) -> list[str]:
    return [order_id, as_of.isoformat(), kind, causes, a["decision"], b["decision"], " ".join(changed),
            jsonio.dumps(decided(a)).decode(), jsonio.dumps(decided(b)).decode(), rows_text(a["matched"]), rows_text(b["matched"])]



def side_kpis(candidate: Spec, baseline: Spec, pack: str) -> Kpis:
    """The replay declaration beside the candidate's pack, else beside the baseline's."""
    found = load_kpis(candidate.folder, pack)
    return found if found.outputs or found.dimensions else load_kpis(baseline.folder, pack)


def replay(records: Iterable[Any] | Parts, baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str,
           runner: int | Executor, backend: str = "native", parse: Callable[[Any], tuple[str, dt.date, Any]] = parse_record,
           cache: Path | None = None) -> Iterator[Chunk]:
    """Chunks of results in input order, whatever runs them: ``runner`` workers of the local pool, or an executor.

    Workers parse, decide and tally; the parent only reads records (given ``Parts``, only where
    each batch starts in the file: the workers read the orders) and merges chunk tallies, so it
    does not compete with the workers for the cores.
    """
    # a batch's number names its part in the outcome cache; file parts are the same batches, read by the workers
    batches: Iterable[tuple[int, list[Any] | Part]] = enumerate(records if isinstance(records, Parts) else chunks(records, CHUNK))
    kept = None if cache is None else str(cache)
    seen = sharing(runner) if isinstance(runner, int) else runner.sharing()
    handed = handover(baseline, candidate, effective_on, pack, seen)  # what this process loaded, given to the workers
    if seen == "none":  # workers start afresh, maybe on machines that do not share our files
        baseline, candidate = packed(baseline), packed(candidate)
    setup = (baseline, candidate, effective_on, pack, backend, parse, kept, handed)
    return in_order(_replay_chunk, batches, runner, _init_worker, setup) if isinstance(runner, int) else \
        runner.in_order(_replay_chunk, batches, _init_worker, setup)
