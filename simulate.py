"""What-if replay: historic orders through a baseline and a candidate set of pack versions.

    python simulate.py import {online-retail,northwind} SRC --out ORDERS.{jsonl,jsonl.gz,parquet}
    python simulate.py run --orders ORDERS.jsonl --baseline SPEC --candidate SPEC [--pack order] [--out DIR] [--workers N]
    python simulate.py order ORDER.json --baseline SPEC --candidate SPEC

SPEC is a packs folder or ``git:REF`` (the packs as committed at REF, read with ``git archive``
without touching the work tree), optionally followed by pins: ``policy_packs#credit@1.1.0``.
An unpinned pack runs its newest version effective on ``--effective-on`` (default: today, so
the baseline is what is live; it is recorded in summary.json, and giving it makes reruns on
any day byte-identical); each order is decided as of its own date. Decisions come from the same engine as the API.
Results are written in input order whatever ``--workers`` is, so reruns are byte-identical.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import csv
import datetime as dt
import functools
import gzip
import html
import io
import itertools
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar

from engine import jsonio
from engine.compiled import CompiledPack, Decision
from engine.demand import Wanted
from engine.registry import PackSet, build_pack_set, with_backend
from rules.errors import ArbiterError, MalformedRequest

CENT = Decimal("0.01")
CHUNK = 500
MONEY_SCALE = 6  # Parquet decimal columns: amounts to a millionth
METADATA = ("order_id", "as_of")

# Specs: which pack versions a side of the comparison runs.


@dataclass(frozen=True)
class Spec:
    text: str
    folder: Path
    pins: dict[str, str]


def parse_pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, version = part.partition("@")
        if not name or not version:
            raise SystemExit(f"simulate: pin {part!r} is not pack@version")
        pins[name] = version
    return pins


def resolve_spec(text: str, workdir: Path) -> Spec:
    source, _, pins = text.partition("#")
    if source.startswith("git:"):
        ref, _, sub = source[4:].partition(":")
        sub = sub or "policy_packs"
        target = workdir / f"git-{len(list(workdir.iterdir()))}"
        target.mkdir()
        git = shutil.which("git")
        if git is None or ref.startswith("-"):  # a ref must never be read as an option of git
            raise SystemExit(f"simulate: cannot read packs at {ref!r} (is git installed, is the ref valid?)")
        try:
            archive = subprocess.run([git, "archive", "--format=tar", ref, sub], capture_output=True, check=True).stdout  # noqa: S603
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"simulate: cannot read {sub} at {ref}: {exc.stderr.decode().strip()}") from None
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
        folder = target / sub
    else:
        folder = Path(source)
    if not folder.exists():
        raise SystemExit(f"simulate: no packs folder {folder}")
    return Spec(text, folder, parse_pins(pins))


class SharedSteps:
    """Within one order, a step both sides run with the same pack version on the same input is decided once.

    Evaluation is a pure function of (input, pack version, as_of), so sharing only saves time
    (allocation and routing are usually the same version on both sides). Lists and objects
    are matched by identity, which holds because both sides read one validated order; the
    memo keeps what it matched alive and is cleared before each order, so no id is reused.
    """

    def __init__(self) -> None:
        self.decisions: dict[tuple[str, Wanted], list[tuple[dt.date, dict[str, Any], Decision]]] = {}
        self.reused = 0

    def clear(self) -> None:
        self.decisions.clear()

    def decide(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
               outputs: Wanted = None) -> Decision:
        seen = self.decisions.setdefault((pack.digest, outputs), [])
        for seen_as_of, seen_values, decision in seen:
            if seen_as_of == as_of and _same_input(seen_values, values):
                self.reused += 1
                return decision
        decision = pack.decide_step(values, as_of, trusted, outputs)
        seen.append((as_of, values, decision))
        return decision


def _same_input(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for name, x in a.items():
        y = b[name]
        if x is y:
            continue
        if x.__class__ is not y.__class__ or isinstance(x, (dict, list)) or x != y:
            return False
        if isinstance(x, Decimal) and str(x) != str(y):  # 1.0 and 1.00 are equal but not the same input
            return False
    return True


class SpecPacks:
    """A PackSet seen through a spec: pinned versions, else the newest effective on one date."""

    def __init__(self, packs: PackSet, pins: dict[str, str], effective_on: dt.date,
                 shared: SharedSteps | None = None) -> None:
        self.packs = packs
        self.pins = pins
        self.effective_on = effective_on
        self.shared = shared
        self.steps_decided: list[tuple[str, Decision]] = []  # this order's steps, in the order they ran
        for name, version in pins.items():
            packs.get(name, version)  # unknown pins fail at start, not per order
        for pack in packs:
            pack.pack_set = self

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        if name in self.pins:
            return self.packs.get(name, self.pins[name])
        if version is not None:
            return self.packs.get(name, version)
        return self.packs.get(name, None, self.effective_on)

    def decide_step(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
                    outputs: Wanted = None) -> Decision:
        if self.shared is None:
            decision = pack.decide_step(values, as_of, trusted, outputs)
        else:
            decision = self.shared.decide(pack, values, as_of, trusted, outputs)
        self.steps_decided.append((pack.name, decision))
        return decision

    def all_rows(self, root: str) -> list[str]:
        """Every row that deciding ``root`` could fire, as step.table:row (or table:row)."""
        pack = self.get(root)
        out = []
        if pack.ir.steps:
            for step in pack.ir.steps:
                target = self.get(step.pack, step.version)
                out += [f"{step.id}.{t.id}:{r.id}" for t in target.ir.all_tables for r in t.rows]
        out += [f"{t.id}:{r.id}" for t in pack.ir.all_tables for r in t.rows]
        return out


def load_spec(spec: Spec, effective_on: dt.date, backend: str = "native", shared: SharedSteps | None = None) -> SpecPacks:
    packs, diagnostics = build_pack_set(spec.folder)
    if packs is None:
        for d in diagnostics:
            print(d, file=sys.stderr)
        raise SystemExit(f"simulate: the packs of {spec.text} do not compile")
    packs, notes = with_backend(packs, backend)
    for note in notes:
        print(f"simulate: {note}", file=sys.stderr)
    return SpecPacks(packs, spec.pins, effective_on, shared)


def effective_date(text: str | None) -> dt.date:
    return dt.date.fromisoformat(text) if text else dt.datetime.now(dt.UTC).date()


# Orders in, one decision per side out.


def read_records(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of every non-empty line: workers parse, so the parent only reads."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                yield number, line


def read_parquet_records(path: Path) -> Iterator[tuple[int, bytes]]:
    """Rows of a Parquet file as canonical JSON lines, so workers parse them as they parse JSONL."""
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        for row in batch.to_pylist():
            number += 1
            yield number, jsonio.dumps(_plain_decimals(row))


def _plain_decimals(value: Any) -> Any:
    """A decimal column has one scale, so 2.5 comes back as 2.500000: drop the zeros the column added.

    Parquet keeps every amount's value, not its trailing zeros (14.00 returns as 14); outputs
    are rounded to their declared scale, so replays from either format give the same bytes.
    """
    if isinstance(value, dict):
        return {k: _plain_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_decimals(v) for v in value]
    if isinstance(value, Decimal):
        return value.quantize(1) if value == value.to_integral_value() else value.normalize()
    return value


def arrow_type(node: dict[str, Any]) -> Any:
    """The Arrow type of a canonical-order JSON Schema node: decimals as decimal128(38, 6), never a float."""
    import pyarrow as pa

    if "anyOf" in node:  # "X or null": Arrow columns are nullable anyway
        return arrow_type(next(n for n in node["anyOf"] if n.get("type") != "null"))
    kind = node["type"]
    if kind == "object":
        return pa.struct([pa.field(name, arrow_type(sub)) for name, sub in node["properties"].items()])
    if kind == "array":
        return pa.list_(arrow_type(node["items"]))
    if kind == "number":
        return pa.decimal128(38, MONEY_SCALE)
    return {"string": pa.string(), "integer": pa.int64(), "boolean": pa.bool_()}[kind]


def write_orders(orders: Iterable[dict[str, Any]], out: Path) -> int:
    """Canonical orders to JSONL (optionally .gz) or Parquet, by the file's extension."""
    count = 0
    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        order_schema = jsonio.loads((Path(__file__).resolve().parent / "schemas" / "order.schema.json").read_bytes())
        schema = pa.schema([pa.field("as_of", pa.date32()), *arrow_type(order_schema)])
        with pq.ParquetWriter(out, schema, compression="zstd") as writer:
            for batch in chunks(orders, 5000):
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
        return count
    opener = gzip.open if out.suffix == ".gz" else open
    with opener(out, "wb") as f:
        for order in orders:
            f.write(jsonio.dumps(order) + b"\n")
            count += 1
    return count


def parse_record(record: tuple[int, bytes]) -> tuple[str, dt.date, Any]:
    """(order id, as_of, pack input) from a canonical order or an API decision log line."""
    number, line = record
    parsed = jsonio.loads(line)
    if not isinstance(parsed, dict):
        raise MalformedRequest(f"line {number} is not a JSON object")
    if "input" in parsed and "request_id" in parsed:  # a decision log line
        value = parsed["input"]
        as_of = dt.date.fromisoformat(parsed["as_of"])
        order_id = str(value.get("order_id") or parsed["request_id"]) if isinstance(value, dict) else parsed["request_id"]
    else:
        value = parsed
        as_of = dt.date.fromisoformat(parsed.pop("as_of")) if "as_of" in parsed else dt.date(2000, 1, 1)
        order_id = str(parsed.get("order_id", f"line-{number}"))
    return order_id, as_of, value


@functools.cache
def _metadata_to_drop(pack: CompiledPack) -> frozenset[str]:
    declared = {f.name for f in pack.ir.inputs}
    return frozenset(k for k in METADATA if k not in declared)


Admitted = dict[str, Any] | ArbiterError


def admit(pack: CompiledPack, value: Any) -> Admitted:
    """The validated input, or why it is refused."""
    if isinstance(value, dict):  # record metadata, unless the pack itself takes it
        dropped = _metadata_to_drop(pack)
        value = {k: v for k, v in value.items() if k not in dropped}
    try:
        return pack.validate(value)
    except ArbiterError as exc:
        return exc


OUTCOME = ("order_total", "margin", "touchless", "hold_reasons", "credit_decision", "hold_code", "fulfilment")
COMPARED = frozenset(("decision", *OUTCOME))  # the outputs a replay tallies and compares for every order


def outcome(pack: CompiledPack, admitted: Admitted, as_of: dt.date, outputs: Wanted = None) -> dict[str, Any]:
    """What a side decided, in a stable, comparable shape."""
    try:
        if isinstance(admitted, ArbiterError):
            raise admitted
        d = pack.evaluate(admitted, as_of, outputs=outputs)
    except ArbiterError as exc:
        return {"decision": "error", "error": exc.code, "detail": exc.message, "matched": {}}
    out = d.output
    # the rows stay per table (a line-level table lists one row per line): they are named,
    # table:row, only where a report needs them, not for every order
    result: dict[str, Any] = {"decision": out.get("decision", "decided"), "matched": d.matched, "steps": d.steps}
    for key in OUTCOME:
        if key in out:
            result[key] = out[key]
    return result


def decide_both(base: SpecPacks, cand: SpecPacks, name: str, value: Any, as_of: dt.date,
                outputs: Wanted = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides' outcomes for one order; the same root version validates the order once.

    With ``outputs=COMPARED`` the decisions leave out what the outcome does not read, so the
    steps' outputs are complete only when deciding in full.
    """
    a_pack, b_pack = base.get(name), cand.get(name)
    for side in (base, cand):
        side.steps_decided.clear()
        if side.shared is not None:
            side.shared.clear()
    a_input = admit(a_pack, value)
    b_input = a_input if b_pack.digest == a_pack.digest else admit(b_pack, value)
    return outcome(a_pack, a_input, as_of, outputs), outcome(b_pack, b_input, as_of, outputs)


def what_changed(a: dict[str, Any], b: dict[str, Any], base: SpecPacks, cand: SpecPacks) -> list[str]:
    """The outputs one order's two decisions differ in: the root's, then each step's as step.field.

    A change in a computed value (a discount ceiling in a derived expression) fires the same
    rows on both sides; these paths name where it shows (``pricing.lines[].discount_pct``).
    Lists of objects of equal length are compared element by element under ``[]``.
    """
    paths = differences(decided(a), decided(b), "")
    ours, theirs = _by_pack(base.steps_decided), _by_pack(cand.steps_decided)
    for name in dict.fromkeys([*ours, *theirs]):
        # the n-th run of a pack on one side against its n-th run on the other
        for x, y in itertools.zip_longest(ours.get(name, []), theirs.get(name, [])):
            if x is None or y is None:
                paths.append(name)
            elif x is not y:  # a step both sides shared is the same decision
                paths += differences(x.output, y.output, name)
    return list(dict.fromkeys(paths))


def _by_pack(steps: list[tuple[str, Decision]]) -> dict[str, list[Decision]]:
    grouped: dict[str, list[Decision]] = defaultdict(list)
    for name, decision in steps:
        grouped[name].append(decision)
    return grouped


def differences(x: Any, y: Any, path: str) -> list[str]:
    """The paths under ``path`` where ``x`` and ``y`` differ; ``path`` "" names the fields of two objects bare."""
    if isinstance(x, dict) and isinstance(y, dict):
        return [p for k in dict.fromkeys([*x, *y]) for p in differences(x.get(k), y.get(k), f"{path}.{k}" if path else k)]
    if (isinstance(x, list) and isinstance(y, list) and len(x) == len(y)
            and all(isinstance(e, dict) for e in x) and all(isinstance(e, dict) for e in y)):
        return list(dict.fromkeys(p for ex, ey in zip(x, y, strict=True) for p in differences(ex, ey, f"{path}[]")))
    return [] if _same(x, y) else [path]


def _same(x: Any, y: Any) -> bool:
    """Equal and written alike: 1.0 and 1.00 are equal numbers but different outputs."""
    if x.__class__ is not y.__class__:
        return False
    if isinstance(x, (dict, list)):
        return bool(jsonio.dumps(x) == jsonio.dumps(y))
    return bool(x == y) and (not isinstance(x, Decimal) or str(x) == str(y))


_WORKER: dict[str, Any] = {}


def _init_worker(baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str, backend: str,
                 parse: Callable[[Any], tuple[str, dt.date, Any]]) -> None:
    shared = SharedSteps()
    _WORKER["baseline"] = load_spec(baseline, effective_on, backend, shared)
    _WORKER["candidate"] = load_spec(candidate, effective_on, backend, shared)
    _WORKER["pack"] = pack
    _WORKER["parse"] = parse


@dataclass
class Chunk:
    """What a worker sends back for a run of orders: its tally and the diff rows of the orders that changed."""

    tally: Tally
    diff: list[list[str]]
    peak_rss_mb: float = 0.0  # of the process that decided it: memory must stay flat as input grows


def _replay_chunk(records: list[Any]) -> Chunk:
    base, cand, name, parse = _WORKER["baseline"], _WORKER["candidate"], _WORKER["pack"], _WORKER["parse"]
    tally = Tally()
    diff = []
    for record in records:
        try:
            order_id, as_of, value = parse(record)
        except (ArbiterError, ValueError, KeyError) as exc:  # a line that is not an order: counted, not fatal
            refused: dict[str, Any] = {"decision": "error", "error": getattr(exc, "code", "malformed"), "detail": str(exc), "matched": {}}
            tally.add(refused, refused)
            continue
        a, b = decide_both(base, cand, name, value, as_of, COMPARED)
        if tally.add(a, b):
            # the changed orders, a few in a thousand, are decided again in full: every step's output is compared
            changed = what_changed(*decide_both(base, cand, name, value, as_of), base, cand)
            tally.changed_outputs.update(changed)
            diff.append(diff_row(order_id, as_of, a, b, changed))
    return Chunk(tally, diff, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


DIFF_HEADER = ["order_id", "as_of", "baseline_decision", "candidate_decision", "changed", "baseline_output",
               "candidate_output", "baseline_rows", "candidate_rows"]


def diff_row(order_id: str, as_of: dt.date, a: dict[str, Any], b: dict[str, Any], changed: list[str]) -> list[str]:
    return [order_id, as_of.isoformat(), a["decision"], b["decision"], " ".join(changed),
            jsonio.dumps(decided(a)).decode(), jsonio.dumps(decided(b)).decode(), rows_text(a["matched"]), rows_text(b["matched"])]


BOOKKEEPING = ("matched", "steps")  # how an outcome came about, not what was decided


def decided(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in BOOKKEEPING}


def fired(matched: dict[str, list[str]]) -> Counter[str]:
    """How often each row fired, as table:row; a row of a line-level table fires once per line."""
    counts: Counter[str] = Counter()
    for table, ids in matched.items():
        if len(ids) == 1:
            counts[f"{table}:{ids[0]}"] += 1
        else:
            for row, n in Counter(ids).items():
                counts[f"{table}:{row}"] += n
    return counts


def rows_text(matched: dict[str, list[str]]) -> str:
    """Rows in the order they first fired, a row that fired on several lines once with its count: ``pricing.quantity_break:QB5×23``."""
    return " ".join(row if n == 1 else f"{row}×{n}" for row, n in fired(matched).items())


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def replay(records: Iterable[Any], baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str, workers: int,
           backend: str = "native", parse: Callable[[Any], tuple[str, dt.date, Any]] = parse_record) -> Iterator[Chunk]:
    """Chunks of results in input order, whatever ``workers``.

    Workers parse, decide and tally; the parent only reads records and merges chunk tallies,
    so it does not compete with the workers for the cores.
    """
    setup = (baseline, candidate, effective_on, pack, backend, parse)
    return in_order(_replay_chunk, chunks(records, CHUNK), workers, _init_worker, setup)


T = TypeVar("T")


def in_order(work: Callable[[list[Any]], T], batches: Iterable[list[Any]], workers: int,
             initializer: Callable[..., None] | None = None, setup: tuple[Any, ...] = ()) -> Iterator[T]:
    """``work`` of each batch, in input order, on ``workers`` processes (in this one for 1).

    At most two batches per worker are in flight, so memory stays flat however long the input.
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*setup)
        for batch in batches:
            yield work(batch)
        return
    with cf.ProcessPoolExecutor(workers, initializer=initializer, initargs=setup) as pool:
        window: deque[cf.Future[T]] = deque()
        for batch in batches:
            window.append(pool.submit(work, batch))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


# Aggregation and reports.


def _money(value: Any) -> Decimal:
    return Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(0)


@dataclass
class Tally:
    orders: int = 0
    changed: int = 0
    mix: dict[str, Counter[str]] = field(default_factory=lambda: {"baseline": Counter(), "candidate": Counter()})
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    held_value: dict[str, Decimal] = field(default_factory=lambda: {"baseline": Decimal(0), "candidate": Decimal(0)})
    revenue: dict[str, Decimal] = field(default_factory=lambda: {"baseline": Decimal(0), "candidate": Decimal(0)})
    margin: dict[str, Decimal] = field(default_factory=lambda: {"baseline": Decimal(0), "candidate": Decimal(0)})
    touchless: dict[str, int] = field(default_factory=lambda: {"baseline": 0, "candidate": 0})
    exceptions: dict[str, int] = field(default_factory=lambda: {"baseline": 0, "candidate": 0})
    reasons: dict[str, Counter[str]] = field(default_factory=lambda: {"baseline": Counter(), "candidate": Counter()})
    errors: dict[str, Counter[str]] = field(default_factory=lambda: {"baseline": Counter(), "candidate": Counter()})
    # side -> table -> row -> how often it fired; rows are named table:row only for the report
    fired: dict[str, dict[str, Counter[str]]] = field(default_factory=lambda: {"baseline": {}, "candidate": {}})
    change_rows: Counter[str] = field(default_factory=Counter)
    changed_outputs: Counter[str] = field(default_factory=Counter)  # output paths, root and step.field (what_changed)
    # side -> the step versions an order ran (one tuple of (step, version) an order) -> orders
    steps: dict[str, Counter[tuple[tuple[str, str], ...]]] = field(default_factory=lambda: {"baseline": Counter(), "candidate": Counter()})

    def merge(self, other: Tally) -> None:
        """Add another run's counts: merged in input order, chunk by chunk, the result equals one tally of all."""
        self.orders += other.orders
        self.changed += other.changed
        self.transitions.update(other.transitions)
        self.change_rows.update(other.change_rows)
        self.changed_outputs.update(other.changed_outputs)
        for side in ("baseline", "candidate"):
            for name in ("mix", "reasons", "errors", "steps"):
                getattr(self, name)[side].update(getattr(other, name)[side])
            for table, rows in other.fired[side].items():
                self.fired[side].setdefault(table, Counter()).update(rows)
            for name in ("held_value", "revenue", "margin", "touchless", "exceptions"):
                getattr(self, name)[side] += getattr(other, name)[side]

    def versions(self, side: str) -> dict[str, int]:
        """How many orders ran each step@version on ``side``."""
        counts: Counter[str] = Counter()
        for steps, n in self.steps[side].items():
            for step, version in steps:
                counts[f"{step}@{version}"] += n
        return dict(sorted(counts.items()))

    def add(self, a: dict[str, Any], b: dict[str, Any]) -> bool:
        self.orders += 1
        for side, r in (("baseline", a), ("candidate", b)):
            decision = r["decision"]
            self.mix[side][decision] += 1
            total = _money(r.get("order_total"))
            if decision == "hold":
                self.held_value[side] += total
            if decision == "release":
                self.revenue[side] += total
                self.margin[side] += _money(r.get("margin"))
            if r.get("touchless"):
                self.touchless[side] += 1
            if r.get("hold_reasons"):
                self.exceptions[side] += 1
                reasons = self.reasons[side]
                for reason in r["hold_reasons"]:
                    reasons[reason] += 1
            if decision == "error":
                self.errors[side][r["error"]] += 1
            counts = self.fired[side]
            for table, ids in r["matched"].items():
                rows = counts.get(table)
                if rows is None:
                    rows = counts[table] = Counter()
                if len(ids) == 1:  # most tables fire one row an order; Counter.update costs several times more
                    rows[ids[0]] += 1
                else:
                    rows.update(ids)
            steps = r.get("steps")
            if steps:  # counted as the whole set of versions: one count an order, named at the end
                self.steps[side][tuple(steps.items())] += 1
        self.transitions[(a["decision"], b["decision"])] += 1
        changed = a["matched"] != b["matched"] or jsonio.dumps(decided(a)) != jsonio.dumps(decided(b))
        if changed:
            self.changed += 1
            self.change_rows.update(fired(a["matched"]).keys() ^ fired(b["matched"]).keys())
        return changed


def summary(t: Tally, baseline: SpecPacks, candidate: SpecPacks, args: argparse.Namespace) -> dict[str, Any]:
    def rate(n: int) -> Decimal:
        return (Decimal(n) / t.orders * 100).quantize(Decimal("0.01"), ROUND_HALF_UP) if t.orders else Decimal(0)

    never = {side: sorted(set(sp.all_rows(args.pack)) - {f"{table}:{row}" for table, rows in t.fired[side].items() for row in rows})
             for side, sp in (("baseline", baseline), ("candidate", candidate))}
    return {
        "orders": t.orders,
        "changed": t.changed,
        "changed_pct": rate(t.changed),
        "pack": args.pack,
        "baseline": {"spec": args.baseline, "versions": t.versions("baseline")},
        "candidate": {"spec": args.candidate, "versions": t.versions("candidate")},
        "effective_on": baseline.effective_on,
        "decision_mix": {side: dict(sorted(t.mix[side].items())) for side in ("baseline", "candidate")},
        "transitions": {f"{a}->{b}": n for (a, b), n in sorted(t.transitions.items())},
        "money": {
            "held_value": t.held_value,
            "released_revenue": t.revenue,
            "released_margin": t.margin,
            "held_value_change": t.held_value["candidate"] - t.held_value["baseline"],
            "revenue_change": t.revenue["candidate"] - t.revenue["baseline"],
            "margin_change": t.margin["candidate"] - t.margin["baseline"],
        },
        "touchless_pct": {side: rate(t.touchless[side]) for side in ("baseline", "candidate")},
        "exception_pct": {side: rate(t.exceptions[side]) for side in ("baseline", "candidate")},
        "exceptions_by_code": {side: dict(sorted(t.reasons[side].items())) for side in ("baseline", "candidate")},
        "errors": {side: dict(sorted(t.errors[side].items())) for side in ("baseline", "candidate")},
        "rows_causing_changes": [{"row": r, "orders": n} for r, n in sorted(t.change_rows.items(), key=lambda kv: (-kv[1], kv[0]))[:20]],
        "outputs_changed": [{"output": f, "orders": n} for f, n in sorted(t.changed_outputs.items(), key=lambda kv: (-kv[1], kv[0]))[:40]],
        "rows_never_fired": never,
    }


def _fmt(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def report_md(s: dict[str, Any]) -> str:
    decisions = sorted(set(s["decision_mix"]["baseline"]) | set(s["decision_mix"]["candidate"]))
    lines = [
        f"## Policy impact: `{s['candidate']['spec']}` against `{s['baseline']['spec']}`",
        "",
        f"{s['orders']:,} orders replayed through `{s['pack']}`; **{s['changed']:,} ({s['changed_pct']}%) decided differently**.",
        "",
        "| | baseline | candidate | change |",
        "| --- | ---: | ---: | ---: |",
    ]
    for d in decisions:
        a, b = s["decision_mix"]["baseline"].get(d, 0), s["decision_mix"]["candidate"].get(d, 0)
        lines.append(f"| {d} | {a:,} | {b:,} | {b - a:+,} |")
    m = s["money"]
    lines += [
        f"| touchless orders (%) | {s['touchless_pct']['baseline']} | {s['touchless_pct']['candidate']} | |",
        f"| orders with an exception (%) | {s['exception_pct']['baseline']} | {s['exception_pct']['candidate']} | |",
        f"| value of held orders | {_fmt(m['held_value']['baseline'])} | {_fmt(m['held_value']['candidate'])} | {m['held_value_change']:+,.2f} |",
        f"| released revenue | {_fmt(m['released_revenue']['baseline'])} | {_fmt(m['released_revenue']['candidate'])} | {m['revenue_change']:+,.2f} |",
        f"| released margin | {_fmt(m['released_margin']['baseline'])} | {_fmt(m['released_margin']['candidate'])} | {m['margin_change']:+,.2f} |",
        "",
        "### Transitions (baseline → candidate)",
        "",
        "| transition | orders |",
        "| --- | ---: |",
    ]
    lines += [f"| {k.replace('->', ' → ')} | {v:,} |" for k, v in s["transitions"].items()]
    codes = sorted(set(s["exceptions_by_code"]["baseline"]) | set(s["exceptions_by_code"]["candidate"]))
    lines += ["", "### Exceptions routed", "", "| exception | baseline | candidate |", "| --- | ---: | ---: |"]
    lines += [f"| {c} | {s['exceptions_by_code']['baseline'].get(c, 0):,} | {s['exceptions_by_code']['candidate'].get(c, 0):,} |" for c in codes]
    lines += ["", "### Rows behind the changes", ""]
    if s["rows_causing_changes"]:
        lines += ["| row | orders |", "| --- | ---: |"]
        lines += [f"| `{r['row']}` | {r['orders']:,} |" for r in s["rows_causing_changes"][:10]]
    elif s["changed"]:
        lines.append("The same rows fired on both sides: the changes come from computed amounts (prices, totals), not from different rows.")
    else:
        lines.append("No order changed.")
    if s["outputs_changed"]:
        lines += ["", "### Outputs behind the changes", "",
                  "Where the changed orders differ: the flow's outputs, then each step's (`step.output`, `[]` for each line).", "",
                  "| output | orders |", "| --- | ---: |"]
        lines += [f"| `{o['output']}` | {o['orders']:,} |" for o in s["outputs_changed"][:15]]
    if any(s["errors"].values()):
        lines += ["", f"Orders the packs refused as invalid input: baseline {s['errors']['baseline']}, candidate {s['errors']['candidate']}."]
    for side in ("baseline", "candidate"):
        never = s["rows_never_fired"][side]
        lines += ["", f"Rows of the {side} that no order fired ({len(never)}): " + (", ".join(f"`{r}`" for r in never[:30]) or "none")]
    lines += ["", f"Versions: baseline {s['baseline']['versions']}; candidate {s['candidate']['versions']}."]
    return "\n".join(lines) + "\n"


def _bars(title: str, data: dict[str, dict[str, Any]], unit: str = "") -> str:
    """A grouped horizontal bar chart (baseline / candidate) as inline SVG."""
    keys = sorted({k for side in data.values() for k in side})
    peak = max([abs(float(v)) for side in data.values() for v in side.values()] + [1.0])
    height = 26 * len(keys) + 40
    parts = [f'<svg viewBox="0 0 860 {height}" width="860" height="{height}" role="img"><title>{title}</title>']
    colours = {"baseline": "#8a9bb0", "candidate": "#d9822b"}
    for i, key in enumerate(keys):
        y = 20 + i * 26
        parts.append(f'<text x="290" y="{y + 14}" text-anchor="end" font-size="12">{html.escape(str(key))}</text>')
        for j, side in enumerate(("baseline", "candidate")):
            value = data.get(side, {}).get(key, 0)
            width = 440 * abs(float(value)) / peak
            parts.append(f'<rect x="300" y="{y + j * 11}" width="{width:.1f}" height="10" fill="{colours[side]}"/>')
            parts.append(f'<text x="{305 + width:.1f}" y="{y + j * 11 + 9}" font-size="10">{_fmt(value)}{unit}</text>')
    parts.append('<text x="300" y="14" font-size="11" fill="#8a9bb0">■ baseline</text>'
                 '<text x="380" y="14" font-size="11" fill="#d9822b">■ candidate</text></svg>')
    return "".join(parts)


def report_html(s: dict[str, Any]) -> str:
    decisions = sorted(set(s["decision_mix"]["baseline"]) | set(s["decision_mix"]["candidate"]))
    matrix = ["<table><tr><th>baseline \\ candidate</th>" + "".join(f"<th>{html.escape(d)}</th>" for d in decisions) + "</tr>"]
    for a in decisions:
        cells = []
        for b in decisions:
            n = s["transitions"].get(f"{a}->{b}", 0)
            if a == b:  # unchanged: grey, however many
                style = "background-color:#eef0f3"
            else:  # a change: the more orders it moves, the deeper the orange
                share = n / max(s["changed"], 1)
                style = f"background-color:rgba(217,130,43,{0.15 + 0.7 * share if n else 0:.2f})"
            cells.append(f'<td style="{style}">{n:,}</td>')
        matrix.append(f"<tr><th>{html.escape(a)}</th>{''.join(cells)}</tr>")
    matrix.append("</table>")
    m = s["money"]
    money = {side: {"held value": m["held_value"][side], "released revenue": m["released_revenue"][side],
                    "released margin": m["released_margin"][side]} for side in ("baseline", "candidate")}
    rates = {side: {"touchless %": s["touchless_pct"][side], "with exception %": s["exception_pct"][side]}
             for side in ("baseline", "candidate")}
    top = {"candidate": {r["row"]: r["orders"] for r in s["rows_causing_changes"][:12]}}
    outputs = {"candidate": {o["output"]: o["orders"] for o in s["outputs_changed"][:12]}}
    never = "".join(f"<h3>{side}: {len(rows)} rows never fired</h3><p>{html.escape(', '.join(rows)) or 'none'}</p>"
                    for side, rows in s["rows_never_fired"].items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Arbiter policy impact</title>
<style>body{{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}h2{{margin-top:1.6em}}</style></head><body>
<h1>Policy impact</h1>
<p><b>{html.escape(s['candidate']['spec'])}</b> against <b>{html.escape(s['baseline']['spec'])}</b>: {s['orders']:,} orders,
<b>{s['changed']:,} ({s['changed_pct']}%)</b> decided differently.</p>
<h2>Decision mix</h2>{_bars("Decision mix", s["decision_mix"])}
<h2>Baseline → candidate</h2>{''.join(matrix)}
<h2>Money</h2>{_bars("Money moved", money)}
<p>Change in held value {m['held_value_change']:+,.2f}; in released revenue {m['revenue_change']:+,.2f}; in released margin {m['margin_change']:+,.2f}.</p>
<h2>Touchless and exception rates</h2>{_bars("Rates", rates, "%")}
<h2>Rows that cause most changes</h2>{_bars("Rows behind the changes", top) if top["candidate"] else "<p>none</p>"}
<h2>Outputs the changed orders differ in</h2>{_bars("Outputs behind the changes", outputs) if outputs["candidate"] else "<p>none</p>"}
<h2>Row coverage on this history</h2>{never}
<p>Decisions: {html.escape(', '.join(decisions))}.</p></body></html>
"""


class Progress:
    def __init__(self, total: int | None) -> None:
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.5 if self.tty else 10):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        if self.total:
            share = done / self.total
            bar = "#" * int(share * 30)
            eta = (self.total - done) / rate if rate else 0
            text = f"[{bar:<30}] {done:,}/{self.total:,} orders  {rate:,.0f}/s  ETA {eta:,.0f}s"
        else:
            text = f"{done:,} orders  {rate:,.0f}/s"
        print(("\r" if self.tty else "") + text, end="\n" if (final or not self.tty) else "", file=sys.stderr, flush=True)


def _count_orders(path: Path) -> int | None:
    if path.suffix == ".gz":
        return None
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def cmd_run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="arbiter-sim-"))
    try:
        baseline_spec = resolve_spec(args.baseline, workdir)
        candidate_spec = resolve_spec(args.candidate, workdir)
        effective_on = effective_date(args.effective_on)
        baseline = load_spec(baseline_spec, effective_on, args.backend)
        candidate = load_spec(candidate_spec, effective_on, args.backend)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        tally = Tally()
        orders = Path(args.orders)
        progress = Progress(_count_orders(orders))
        records = read_parquet_records(orders) if orders.suffix == ".parquet" else read_records(orders)
        with (out / "diff.csv").open("w", newline="", encoding="utf-8") as diff_file:
            writer = csv.writer(diff_file, lineterminator="\n")
            writer.writerow(DIFF_HEADER)
            for chunk in replay(records, baseline_spec, candidate_spec,
                                effective_on, args.pack, args.workers, args.backend):
                tally.merge(chunk.tally)
                writer.writerows(chunk.diff)
                progress.update(tally.orders)
        progress.update(tally.orders, final=True)
        result = summary(tally, baseline, candidate, args)
        (out / "summary.json").write_bytes(jsonio.dumps(result, pretty=True) + b"\n")
        (out / "report.md").write_text(report_md(result), encoding="utf-8")
        (out / "report.html").write_text(report_html(result), encoding="utf-8")
        print_summary(result)
        print(f"wrote {out}/summary.json, diff.csv, report.md, report.html", file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_summary(s: dict[str, Any]) -> None:
    decisions = sorted(set(s["decision_mix"]["baseline"]) | set(s["decision_mix"]["candidate"]))
    print(f"{'':<22}{'baseline':>14}{'candidate':>14}")
    for d in decisions:
        print(f"{d:<22}{s['decision_mix']['baseline'].get(d, 0):>14,}{s['decision_mix']['candidate'].get(d, 0):>14,}")
    print(f"{'touchless %':<22}{s['touchless_pct']['baseline']:>14}{s['touchless_pct']['candidate']:>14}")
    m = s["money"]
    print(f"{'held value':<22}{m['held_value']['baseline']:>14,.2f}{m['held_value']['candidate']:>14,.2f}")
    print(f"{'released margin':<22}{m['released_margin']['baseline']:>14,.2f}{m['released_margin']['candidate']:>14,.2f}")
    print(f"changed: {s['changed']:,} of {s['orders']:,} orders ({s['changed_pct']}%)")


def cmd_order(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="arbiter-sim-"))
    try:
        effective_on = effective_date(args.effective_on)
        base = load_spec(resolve_spec(args.baseline, workdir), effective_on)
        cand = load_spec(resolve_spec(args.candidate, workdir), effective_on)
        value = jsonio.loads(Path(args.order).read_bytes())
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else effective_on
        a, b = decide_both(base, cand, args.pack, value, as_of)
        keys = [k for k in dict.fromkeys([*a, *b]) if k not in BOOKKEEPING]
        print(f"{'':<18}{'baseline':<34}{'candidate':<34}")
        for k in keys:
            va, vb = jsonio.dumps(a.get(k)).decode(), jsonio.dumps(b.get(k)).decode()
            print(f"{k:<18}{va:<34}{vb:<34}{'' if va == vb else '  <- changed'}")
        rows_a, rows_b = fired(a["matched"]).keys(), fired(b["matched"]).keys()
        only_a, only_b = sorted(rows_a - rows_b), sorted(rows_b - rows_a)
        print(f"rows only in the baseline:  {', '.join(only_a) or '-'}")
        print(f"rows only in the candidate: {', '.join(only_b) or '-'}")
        print(f"outputs that differ:        {', '.join(what_changed(a, b, base, cand)) or '-'}")
        print(f"versions: baseline {a.get('steps')}; candidate {b.get('steps')}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# Import: real history into canonical orders. The derivations are in docs/simulation.md.

EU = {"Austria", "Belgium", "Denmark", "Finland", "France", "Germany", "Ireland", "EIRE", "Italy", "Poland", "Portugal",
      "Spain", "Sweden", "Netherlands", "Greece", "Cyprus", "Lithuania", "Malta", "Czech Republic", "Channel Islands",
      "European Community"}
DEPOTS = (("UK-SOUTH", 14), ("UK-NORTH", 7), ("EU-HUB", 3))  # (code, days of average demand held)
DISTANCES = {"domestic": (40, 250, 900), "eu": (700, 900, 120), "international": (5000, 5200, 4800)}


def _zone(country: str, home: str) -> str:
    if country == home:
        return "domestic"
    return "eu" if country in EU else "international"


@dataclass
class CustomerHistory:
    first: dt.date
    invoices: deque[tuple[dt.date, Decimal]] = field(default_factory=deque)  # trailing 365 days of (date, value)
    count: int = 0
    cancelled: int = 0
    last_total: tuple[dt.date, Decimal] | None = None


def _risk_tier(h: CustomerHistory) -> str:
    # In this wholesale history one invoice in seven is a cancellation, mostly small
    # corrections; only customers who cancel far more than that are risky.
    if h.count < 3:
        return "B"
    share = h.cancelled / h.count
    return "A" if share < 0.05 else "B" if share < 0.20 else "C" if share < 0.40 else "D"


def _credit_facts(h: CustomerHistory | None, day: dt.date) -> dict[str, Any]:
    if h is None:  # a first order: the opening limit of a new account
        return {"credit_limit": Decimal(1000), "open_receivables": Decimal(0), "account_age_days": 0, "risk_tier": "B",
                "segment": "smb", "price_group": "list", "trailing": Decimal(0)}
    while h.invoices and (day - h.invoices[0][0]).days > 365:
        h.invoices.popleft()
    spend_90 = sum((v for d, v in h.invoices if (day - d).days <= 90 and v > 0), Decimal(0))
    spend_365 = sum((v for _, v in h.invoices if v > 0), Decimal(0))
    receivables = sum((v for d, v in h.invoices if (day - d).days <= 30 and v > 0), Decimal(0))
    limit = max(Decimal(1000), (spend_90 * 2 / 100).quantize(Decimal(1), ROUND_HALF_UP) * 100)
    segment = "enterprise" if spend_365 > 50000 else "midmarket" if spend_365 > 10000 else "smb"
    return {"credit_limit": limit, "open_receivables": receivables.quantize(CENT), "account_age_days": (day - h.first).days,
            "risk_tier": _risk_tier(h), "segment": segment,
            "price_group": "distributor" if spend_365 > 50000 else "wholesale" if h.count >= 10 else "list",
            "trailing": spend_365}


def _order(order_id: str, day: dt.date, customer_id: str | None, country: str, home: str, currency: str, channel: str,
           items: list[dict[str, Any]], history: dict[str, CustomerHistory], min_price: dict[str, Decimal],
           daily_demand: dict[str, Decimal]) -> dict[str, Any]:
    h = history.get(customer_id) if customer_id else None
    facts = _credit_facts(h, day)
    total = sum((i["quantity"] * i["list_price"] for i in items), Decimal(0))
    guest = customer_id is None
    zone = _zone(country, home)
    duplicate = h is not None and h.last_total == (day, total) and total != 0
    customer = {
        "customer_id": customer_id or "GUEST",
        "price_group": facts["price_group"],
        "risk_tier": facts["risk_tier"],
        "segment": "consumer" if guest else facts["segment"],
        "payment_terms": "cash_in_advance" if guest else "net30",
        "credit_limit": facts["credit_limit"],
        "open_receivables": facts["open_receivables"],
        "open_orders": Decimal(0),
        "days_past_due": 0,
        "account_age_days": facts["account_age_days"],
    }
    if guest:  # a web checkout charged the goods plus the most freight and surcharge could be
        customer["prepaid_amount"] = (max(total, Decimal(0)) + 90).quantize(CENT)
    lines = [{"line_no": n, "sku": i["sku"], "description": i["description"][:200], "quantity": i["quantity"],
              "list_price": i["list_price"], "unit_cost": (min_price.get(i["sku"], i["list_price"]) * Decimal("0.8")).quantize(CENT)}
             for n, i in enumerate(items, start=1)]
    skus = sorted({i["sku"] for i in items})
    warehouses = []
    for (code, days), distance in zip(DEPOTS, DISTANCES[zone], strict=True):
        stock = [{"sku": s, "quantity": int((daily_demand.get(s, Decimal(0)) * days).to_integral_value())} for s in skus]
        warehouses.append({"code": code, "distance_km": distance, "hazmat_certified": code != "UK-NORTH", "stock": stock})
    return {
        "order_id": order_id, "as_of": day, "channel": channel, "currency": currency, "customer": customer,
        "ship_to": {"zone": zone, "country": country, "address_valid": True, "tax_valid": country != "Unspecified"},
        "lines": lines, "warehouses": warehouses, "duplicate_suspected": duplicate,
    }


def _remember(history: dict[str, CustomerHistory], customer_id: str | None, day: dt.date, total: Decimal, cancelled: bool) -> None:
    if customer_id is None:
        return
    h = history.setdefault(customer_id, CustomerHistory(first=day))
    h.invoices.append((day, total))
    h.count += 1
    h.cancelled += int(cancelled)
    h.last_total = (day, total)


def import_online_retail(src: Path) -> Iterator[dict[str, Any]]:
    path = src / "online_retail.csv.gz" if src.is_dir() else src
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    min_price: dict[str, Decimal] = {}
    demand: Counter[str] = Counter()
    days: set[dt.date] = set()
    for r in rows:
        price = Decimal(r["UnitPrice"])
        if price > 0:
            min_price[r["StockCode"]] = min(price, min_price.get(r["StockCode"], price))
        if int(r["Quantity"]) > 0:
            demand[r["StockCode"]] += int(r["Quantity"])
        days.add(dt.date.fromisoformat(r["InvoiceDate"][:10]))
    daily = {sku: Decimal(q) / len(days) for sku, q in demand.items()}
    invoices: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        invoices[r["InvoiceNo"]].append(r)
    ordered = sorted(invoices.items(), key=lambda kv: (kv[1][0]["InvoiceDate"], kv[0]))
    history: dict[str, CustomerHistory] = {}
    for invoice, items in ordered:
        first = items[0]
        day = dt.date.fromisoformat(first["InvoiceDate"][:10])
        customer = first["CustomerID"] or None
        lines: list[dict[str, Any]] = [{"sku": r["StockCode"], "description": r["Description"], "quantity": int(r["Quantity"]),
                                        "list_price": Decimal(r["UnitPrice"])} for r in items]
        yield _order(invoice, day, customer, first["Country"], "United Kingdom", "GBP", "web", lines, history, min_price, daily)
        total = sum((i["quantity"] * i["list_price"] for i in lines), Decimal(0))
        _remember(history, customer, day, total, invoice.startswith("C"))


def import_northwind(src: Path) -> Iterator[dict[str, Any]]:
    folder = src / "csv" if (src / "csv").is_dir() else src

    def table(name: str) -> list[dict[str, str]]:
        with (folder / f"{name}.csv").open(encoding="utf-8") as f:
            return list(csv.DictReader(f))

    products = {p["product_id"]: p for p in table("products")}
    details: dict[str, list[dict[str, str]]] = defaultdict(list)
    for d in table("order_details"):
        details[d["order_id"]].append(d)
    orders = sorted(table("orders"), key=lambda o: (o["order_date"], int(o["order_id"])))
    days = {o["order_date"] for o in orders}
    demand: Counter[str] = Counter()
    min_price: dict[str, Decimal] = {}
    for d in (d for ds in details.values() for d in ds):
        demand[f"NW-{d['product_id']}"] += int(d["quantity"])
        price = Decimal(d["unit_price"]).quantize(CENT, ROUND_HALF_UP)
        min_price[f"NW-{d['product_id']}"] = min(price, min_price.get(f"NW-{d['product_id']}", price))
    daily = {sku: Decimal(q) / len(days) for sku, q in demand.items()}
    history: dict[str, CustomerHistory] = {}
    for o in orders:
        day = dt.date.fromisoformat(o["order_date"])
        lines: list[dict[str, Any]] = [{"sku": f"NW-{d['product_id']}", "description": products[d["product_id"]]["product_name"],
                  "quantity": int(d["quantity"]), "list_price": Decimal(d["unit_price"]).quantize(CENT, ROUND_HALF_UP)}
                 for d in details[o["order_id"]]]
        yield _order(o["order_id"], day, o["customer_id"] or None, o["ship_country"], "USA", "USD", "sales_rep", lines,
                     history, min_price, daily)
        _remember(history, o["customer_id"] or None, day, sum((i["quantity"] * i["list_price"] for i in lines), Decimal(0)), False)


def cmd_import(args: argparse.Namespace) -> int:
    source = import_online_retail(Path(args.src)) if args.source == "online-retail" else import_northwind(Path(args.src))
    out = Path(args.out)
    count = write_orders(source, out)
    print(f"wrote {count:,} canonical orders to {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simulate.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="real history into canonical orders (JSONL, .jsonl.gz or .parquet, by --out extension)")
    imp.add_argument("source", choices=["online-retail", "northwind"])
    imp.add_argument("src")
    imp.add_argument("--out", required=True)
    imp.set_defaults(func=cmd_import)
    run = sub.add_parser("run", help="replay orders against a baseline and a candidate")
    run.add_argument("--orders", required=True, help="canonical orders (JSONL, .gz or .parquet) or an API decision log")
    run.add_argument("--baseline", required=True)
    run.add_argument("--candidate", required=True)
    run.add_argument("--pack", default="order")
    run.add_argument("--out", default="simulation")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    run.add_argument("--effective-on", help="which unpinned versions run: those effective on this date (default: today)")
    run.add_argument("--backend", choices=["native", "durable"], default="native",
                     help="who matches the rows; packs durable_rules cannot run stay native (listed)")
    run.set_defaults(func=cmd_run)
    one = sub.add_parser("order", help="one order, both decisions side by side")
    one.add_argument("order")
    one.add_argument("--baseline", required=True)
    one.add_argument("--candidate", required=True)
    one.add_argument("--pack", default="order")
    one.add_argument("--as-of")
    one.add_argument("--effective-on")
    one.set_defaults(func=cmd_order)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
