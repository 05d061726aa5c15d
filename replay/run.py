"""The replay proper: workers parse, decide both sides and tally; chunks come back in input order."""

from __future__ import annotations

import datetime as dt
import resource
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from engine import jsonio
from engine.demand import Wanted
from replay.attribution import Variant, attribute, kind_of, variants
from replay.decide import compared, decide_both, decided, rows_text, what_changed
from replay.executors import Executor
from replay.kpis import Kpis, load_kpis
from replay.orders import CHUNK, Logged, parse_record
from replay.packdiff import Edit
from replay.pool import chunks, in_order
from replay.shared import SharedSteps
from replay.specs import Production, Spec, load_spec, local, packed
from replay.tally import Tally
from rules.errors import ArbiterError

_WORKER: dict[str, Any] = {}


def _init_worker(baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str, backend: str,
                 parse: Callable[[Any], tuple[str, dt.date, Any]]) -> None:
    baseline, candidate = local(baseline), local(candidate)
    shared = SharedSteps()
    _WORKER["baseline"] = load_spec(baseline, effective_on, backend, shared)
    _WORKER["candidate"] = load_spec(candidate, effective_on, backend, shared)
    _WORKER["specs"] = (candidate, baseline)
    _WORKER["pack"] = pack
    _WORKER["parse"] = parse
    _WORKER["packs"] = {}


def _pack(name: str) -> tuple[Kpis, Wanted, tuple[list[Variant], list[Edit]]]:
    """A replayed pack's declaration, the outputs it reads, and the baseline with each edit alone (compiled once)."""
    found = _WORKER["packs"].get(name)
    if found is None:
        candidate, baseline = _WORKER["specs"]
        kpis = side_kpis(candidate, baseline, name)
        found = _WORKER["packs"][name] = (kpis, compared(kpis), variants(_WORKER["baseline"], _WORKER["candidate"], name))
    return found  # type: ignore[no-any-return]


@dataclass
class Chunk:
    """What a worker sends back for a run of orders: its tally and the diff rows of the orders that changed."""

    tally: Tally
    diff: list[list[str]]
    peak_rss_mb: float = 0.0  # of the process that decided it: memory must stay flat as input grows


def _replay_chunk(records: list[Any]) -> Chunk:
    tally = Tally()
    diff: list[list[str]] = []
    for record in records:
        try:
            order_id, as_of, value = _WORKER["parse"](record)
        except (ArbiterError, ValueError, KeyError) as exc:  # a line that is not an order: counted, not fatal
            refused: dict[str, Any] = {"decision": "error", "error": getattr(exc, "code", "malformed"), "detail": str(exc), "matched": {}}
            tally.observe(f"line-{record[0] if isinstance(record, tuple) else '?'}", "", None, refused, refused, _pack(_WORKER["pack"])[0])
            tally.add(refused, refused)
            continue
        _replay_one(tally, diff, order_id, as_of, value)
    return Chunk(tally, diff, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _replay_one(tally: Tally, diff: list[list[str]], order_id: str, as_of: dt.date, value: Any) -> None:
    base, cand, name = _WORKER["baseline"], _WORKER["candidate"], _WORKER["pack"]
    version = None
    if isinstance(value, Logged):
        name, logged, value = value.pack, value, value.input
        if isinstance(base, Production):
            version = logged.version
            tally.reproduce(order_id, logged, base, value, as_of)
    kpis, outputs, (made, alone) = _pack(name)
    a, b = decide_both(base, cand, name, value, as_of, outputs, kpis, version)
    tally.observe(order_id, as_of.isoformat(), value, a, b, kpis)
    if tally.add(a, b):
        # the changed orders, a few in a thousand, are decided again in full: every step's output is compared
        full_a, full_b = decide_both(base, cand, name, value, as_of, None, kpis, version)
        changed = what_changed(full_a, full_b, base, cand)
        tally.changed_outputs.update(changed)
        kind = kind_of(full_a, full_b, kpis)
        credits = attribute(made, alone, name, value, as_of, full_a, full_b, kpis)
        tally.explain(order_id, value, a, b, kind, credits, kpis)
        diff.append(diff_row(order_id, as_of, a, b, changed, kind, "; ".join(c.text for c in credits)))


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


def replay(records: Iterable[Any], baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str, workers: int,
           backend: str = "native", parse: Callable[[Any], tuple[str, dt.date, Any]] = parse_record,
           executor: Executor | None = None) -> Iterator[Chunk]:
    """Chunks of results in input order, whatever ``workers`` and ``executor`` (default: the local pool).

    Workers parse, decide and tally; the parent only reads records and merges chunk tallies,
    so it does not compete with the workers for the cores.
    """
    batches = chunks(records, CHUNK)
    if executor is None:
        return in_order(_replay_chunk, batches, workers, _init_worker, (baseline, candidate, effective_on, pack, backend, parse))
    setup = (packed(baseline), packed(candidate), effective_on, pack, backend, parse)  # workers may not share our files
    return executor.in_order(_replay_chunk, batches, _init_worker, setup)



