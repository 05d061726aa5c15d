"""The replay proper: workers parse, decide both sides and tally; chunks come back in input order."""

from __future__ import annotations

import datetime as dt
import resource
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from engine import jsonio
from replay.attribution import attribute, kind_of, variants
from replay.decide import compared, decide_both, decided, rows_text, what_changed
from replay.kpis import Kpis, load_kpis
from replay.orders import CHUNK, parse_record
from replay.pool import chunks, in_order
from replay.shared import SharedSteps
from replay.specs import Spec, load_spec
from replay.tally import Tally
from rules.errors import ArbiterError

_WORKER: dict[str, Any] = {}


def _init_worker(baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str, backend: str,
                 parse: Callable[[Any], tuple[str, dt.date, Any]]) -> None:
    shared = SharedSteps()
    base = _WORKER["baseline"] = load_spec(baseline, effective_on, backend, shared)
    cand = _WORKER["candidate"] = load_spec(candidate, effective_on, backend, shared)
    _WORKER["pack"] = pack
    _WORKER["parse"] = parse
    kpis = _WORKER["kpis"] = side_kpis(candidate, baseline, pack)
    _WORKER["compared"] = compared(kpis)
    # the baseline with each edit alone, compiled once per worker, run on changed orders only
    _WORKER["variants"] = variants(base, cand, pack)


@dataclass
class Chunk:
    """What a worker sends back for a run of orders: its tally and the diff rows of the orders that changed."""

    tally: Tally
    diff: list[list[str]]
    peak_rss_mb: float = 0.0  # of the process that decided it: memory must stay flat as input grows


def _replay_chunk(records: list[Any]) -> Chunk:
    base, cand, name, parse, kpis = _WORKER["baseline"], _WORKER["candidate"], _WORKER["pack"], _WORKER["parse"], _WORKER["kpis"]
    tally = Tally()
    diff = []
    for record in records:
        try:
            order_id, as_of, value = parse(record)
        except (ArbiterError, ValueError, KeyError) as exc:  # a line that is not an order: counted, not fatal
            refused: dict[str, Any] = {"decision": "error", "error": getattr(exc, "code", "malformed"), "detail": str(exc), "matched": {}}
            tally.observe(f"line-{record[0] if isinstance(record, tuple) else '?'}", "", None, refused, refused, kpis)
            tally.add(refused, refused)
            continue
        a, b = decide_both(base, cand, name, value, as_of, _WORKER["compared"], kpis)
        tally.observe(order_id, as_of.isoformat(), value, a, b, kpis)
        if tally.add(a, b):
            # the changed orders, a few in a thousand, are decided again in full: every step's output is compared
            full_a, full_b = decide_both(base, cand, name, value, as_of, None, kpis)
            changed = what_changed(full_a, full_b, base, cand)
            tally.changed_outputs.update(changed)
            kind = kind_of(full_a, full_b, kpis)
            made, alone = _WORKER["variants"]
            credits = attribute(made, alone, name, value, as_of, full_a, full_b, kpis)
            tally.explain(order_id, value, a, b, kind, credits, kpis)
            diff.append(diff_row(order_id, as_of, a, b, changed, kind, "; ".join(c.text for c in credits)))
    return Chunk(tally, diff, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


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
           backend: str = "native", parse: Callable[[Any], tuple[str, dt.date, Any]] = parse_record) -> Iterator[Chunk]:
    """Chunks of results in input order, whatever ``workers``.

    Workers parse, decide and tally; the parent only reads records and merges chunk tallies,
    so it does not compete with the workers for the cores.
    """
    setup = (baseline, candidate, effective_on, pack, backend, parse)
    return in_order(_replay_chunk, chunks(records, CHUNK), workers, _init_worker, setup)



