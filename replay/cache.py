"""Outcomes kept between replays (``simulate.py run --cache DIR``): a side decided once is not decided again.

An outcome is what one side decided for one order, in the shape the tally reads. It is
keyed by the digest of the order (of the line it was read from and the parser that read it,
``record_digest``; else of its id, date and content) and the digest of what decided
it: the pack versions the side runs for the replayed pack and its steps, the outputs compared,
the backend, and the engine's own code, so a change to any of them is a miss, never a stale
hit. Each side's outcomes live in ``DIR/<side digest>/part-<batch>.parquet`` (pyarrow: the
order digest and the outcome as exact JSON), one part per batch of the orders file, written
by the worker that decided the batch, so a replay with a new candidate against the same
baseline reads the baseline's part for each batch and decides only the candidate side.

A cached outcome decodes to exactly what deciding gives (decimals keep their digits and
stay decimals, dates stay dates, key order is kept), so ``summary.json``, ``diff.csv`` and
the reports of a cached run are the bytes of an uncached one; how many outcomes were reused
is said on the console and in ``cache.json`` beside them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import inspect
import os
import re
import sys
import tempfile
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from engine import jsonio
from engine.compiled import CompiledPack, Decision
from engine.demand import Wanted
from replay.decide import admit, decide_both, outcome
from replay.kpis import Kpis
from replay.shared import SharedSteps
from replay.specs import SpecPacks
from rules import temporal
from rules.errors import ArbiterError

ROOT = Path(__file__).resolve().parent.parent
# the temporal values are dataclasses: passed to _tagged, not written field by field and read back as dicts
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


# where an outcome is computed: deciding, sharing and pairing, loading the sides, reading an order
# and keeping an outcome; every first-party module these import is part of it too (``deciding_files``)
DECIDING = ("replay.cache", "replay.orders")
FIRST_PARTY = ("engine", "rules", "replay")


# an import statement, lazy or not: parsing the modules to find them cost 0.2 s of CPU a process, this 5 ms; a
# match in a docstring only adds a file (a needless miss, never a stale hit)
_IMPORT = re.compile(rb"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)|import[ \t]+([^\n#]*))", re.M)


def deciding_files(root: Path = ROOT) -> list[Path]:
    """The source an outcome can depend on: ``DECIDING`` and the first-party modules they import, lazily or not, transitively.

    Reports, the tally, the CLI, the executors and the importers are outside it, so upgrading
    them keeps the cache; the canonical order's schemas (which fields each version drops) are in.
    """
    seen: set[Path] = set()
    todo = [_module_file(root, name) for name in DECIDING]
    while todo:
        path = todo.pop()
        if path is None or path in seen:
            continue
        seen.add(path)
        for module, names, modules in _IMPORT.findall(path.read_bytes()):
            for name in (names or modules).strip(b"()").replace(b"\\", b"").split(b","):
                name = name.split()[0].decode() if name.split() else ""
                todo += [_module_file(root, f"{module.decode()}.{name}" if module else name)]
            todo += [_module_file(root, module.decode())] if module else []
    return sorted(seen) + sorted((root / "schemas").rglob("*.json"))


def _module_file(root: Path, name: str) -> Path | None:
    if name.partition(".")[0] not in FIRST_PARTY:
        return None
    path = root.joinpath(*name.split("."))
    for found in (path.with_suffix(".py"), path / "__init__.py"):
        if found.is_file():
            return found
    return None


@functools.cache
def code_digest() -> str:
    """The digest of ``deciding_files``: an engine, compiler or replay change that can change an outcome is a miss."""
    return source_digest(ROOT)


def source_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in deciding_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def side_digest(side: SpecPacks, pack: str, outputs: Wanted, kpis: Kpis | None, backend: str) -> str:
    """What decides one side's outcomes: its versions of ``pack`` and of each step, what is compared, the code."""
    root = side.get(pack)
    versions = [root.key, root.digest]
    for step in root.ir.steps:
        used = side.get(step.pack, step.version)
        versions += [used.key, used.digest]
    # the layout too: a new layout starts new folders (the old ones are pruned), rather than a miss said in each
    what = [versions, sorted(outputs) if outputs is not None else None, repr(kpis), backend, code_digest(), LAYOUT.decode()]
    return hashlib.sha256(jsonio.dumps(what)).hexdigest()[:32]


def order_digest(order_id: str, as_of: dt.date, value: Any) -> str:
    return hashlib.blake2b(jsonio.dumps([order_id, as_of, value]), digest_size=16).hexdigest()


@functools.cache
def parser_digest(parse: Callable[..., Any]) -> bytes | None:
    """What turns a record into an order: the parser's name and its module's source; None for anything but a plain function.

    The replay's own parsers and the decoding they call are in ``code_digest`` already; a parser
    elsewhere (the benchmark's) is covered by its own module's text only: editing that module is
    a miss, but a helper it calls in another module outside ``code_digest`` is not seen, so such
    a parser must keep its reading in its own module. A closure or a callable object may hold
    state no source shows: its orders are keyed by their content (``order_digest``).
    """
    if not isinstance(parse, types.FunctionType) or parse.__closure__:
        return None
    try:
        source = Path(inspect.getsourcefile(parse) or "").read_bytes()
    except (OSError, TypeError):
        return None
    return hashlib.blake2b(b"\0".join([parse.__module__.encode(), parse.__qualname__.encode(), source]), digest_size=16).digest()


def record_digest(parser: bytes, record: Any) -> str | None:
    """An order's key from the line it was read from (its number and bytes), or None when the record is not a line.

    The parser is a pure function of the record, so its order (id, date and content) is too:
    hashing the line costs 4 us an order where writing the decoded order as JSON to hash it
    cost 28 (the dearest key of a cold ``--cache`` run). An order moved to another line
    is a miss, as an order moved to another batch always was.
    """
    if record.__class__ is not tuple or len(record) != 2 or record[0].__class__ is not int or record[1].__class__ is not bytes:
        return None
    digest = hashlib.sha256(parser)  # OpenSSL's: about 1.7 times blake2b's speed on a 5 KB line
    digest.update(b"%d\0" % record[0])
    digest.update(record[1])
    return digest.hexdigest()[:32]


def _tagged(value: Any) -> Any:
    if isinstance(value, Decimal):
        text = str(value)  # an exponent keeps 15 a decimal: read back, "15" would be an integer
        return orjson.Fragment(text if "." in text or "E" in text else text + "E0")
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return list(value)
    if (tag := _TEMPORAL_TAGS.get(type(value))) is not None:  # FEEL text, read back by the same class's parser
        return {tag: str(value)}
    raise TypeError(f"cannot keep {type(value).__name__} in the outcome cache")


def encode(result: dict[str, Any]) -> bytes:
    """An outcome as JSON that decodes to the same values, types and key order."""
    try:
        return orjson.dumps(result, default=_tagged, option=_OPTIONS)
    except TypeError:  # a whole number beyond 64 bits, which orjson does not write: tagged as text
        return orjson.dumps(_big_ints(result), default=_tagged, option=_OPTIONS)


def _big_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _big_ints(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_big_ints(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return {"$int": str(value)}
    return value


_TEMPORAL_TAGS: dict[type, str] = {temporal.Time: "$time", temporal.DateTime: "$date_time",
                                    temporal.DaysTimeDuration: "$days_time", temporal.YearsMonthsDuration: "$years_months"}
_TAGS: dict[str, Callable[[str], Any]] = {"$date": dt.date.fromisoformat, "$datetime": dt.datetime.fromisoformat, "$int": int,
                                          "$time": temporal.parse_time, "$date_time": temporal.parse_date_time,
                                          "$days_time": temporal.parse_days_time, "$years_months": temporal.parse_years_months}


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and (tag := next(iter(value))) in _TAGS:
            return _TAGS[tag](value[tag])
        return {k: _untagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value


def decode(blob: bytes) -> dict[str, Any]:
    result: dict[str, Any] = jsonio.loads(blob)
    return _untagged(result) if b'"$' in blob else result


OUTCOME_KEYS = ("decision", "matched")  # what every outcome holds (decide.outcome)
STEP_KEYS = ("output", "matched", "reasons")


def readable(blob: bytes, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """A kept blob decoded, or None where it is not an object holding ``keys`` (damaged, or of another layout)."""
    try:
        result = decode(blob)
    except (ArbiterError, ValueError, TypeError, KeyError):
        return None
    return result if isinstance(result, dict) and all(k in result for k in keys) else None


BOOK = ("steps", "dropped")  # how a side came to its outcome (its step versions, the fields it dropped), not what it decided


def split(result: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An outcome's decided part with its rows, and its bookkeeping (which ``outcome`` writes right after the rows)."""
    body = {k: v for k, v in result.items() if k not in BOOK}
    if len(body) == len(result):
        return body, {}
    book = {k: v for k, v in result.items() if k in BOOK}
    keys = list(result)
    at = keys.index("matched") + 1 if "matched" in result else -1
    # elsewhere, ``joined`` would not put it back in its place: kept whole, with no bookkeeping apart
    return (body, book) if keys[at:at + len(book)] == list(book) else (result, {})


def joined(body: dict[str, Any], book: dict[str, Any]) -> dict[str, Any]:
    """The outcome ``split`` took apart, in its key order."""
    if not book:
        return body
    result: dict[str, Any] = {}
    for k, v in body.items():
        result[k] = v
        if k == "matched":
            result.update(book)
    return result


def encode_outcome(result: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """A side's outcome kept as its decided part and rows, a newline, its bookkeeping; and that decided part.

    Two candidates that decide an order alike differ only in bookkeeping (the step versions
    they ran), so a warm run compares the bytes before the newline and decodes a kept outcome
    only for the few orders whose bytes differ. JSON written by ``encode`` holds no newline.
    """
    body, book = split(result)
    return encode(body) + b"\n" + encode(book), body


# written into every part's schema: a part without it, or with another, was written by another
# layout of the cache (or by something else) and is a miss, said, never read as outcomes
LAYOUT = b"outcomes 3: order digest, exact JSON of the decided part and rows, a newline, exact JSON of the bookkeeping"
STEP_LAYOUT = b"outcomes 2: order digest, exact JSON"  # a step's outcome (KeptSteps), unchanged since


_SAID: set[Path] = set()  # folders a part of which was said unreadable in this run (``forget_said`` starts a run)


def unreadable(path: Path, why: str) -> None:
    """Said once a folder a run: after a layout change, every part of a folder (thousands at 1M orders) is a miss alike."""
    if path.parent in _SAID:
        return
    _SAID.add(path.parent)
    print(f"simulate: cache part {path} {why}; its orders are decided again (said once for {path.parent})", file=sys.stderr)


def forget_said() -> None:
    _SAID.clear()


class SideCache:
    """One side's outcomes under ``DIR/<side digest>``, read and written a batch's part at a time."""

    def __init__(self, folder: Path, digest: str, layout: bytes = LAYOUT) -> None:
        self.folder = folder / digest
        self.layout = layout

    def part(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.parquet"

    def read(self, index: int) -> dict[str, bytes]:
        path = self.part(index)
        if not path.exists():
            return {}
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:  # one thread: the replay's workers already fill the cores, and a part is small
            found = pq.ParquetFile(path, memory_map=True)
            if (found.schema_arrow.metadata or {}).get(b"arbiter.cache") != self.layout:
                unreadable(path, "was written by another layout of the cache")
                return {}
            table = found.read(use_threads=False)
            with contextlib.suppress(OSError):  # used now: ``simulate.py cache prune`` removes what no run used lately
                os.utime(path)
            return dict(zip(table.column("order").to_pylist(), table.column("outcome").to_pylist(), strict=True))
        except (OSError, KeyError, ValueError, pa.ArrowException) as exc:  # a damaged part is decided again and rewritten
            unreadable(path, f"is unreadable ({exc})")
            return {}

    def write(self, index: int, outcomes: dict[str, bytes]) -> None:
        """The batch's part, replaced whole and at once: a reader sees the old part or the new, never half."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        table = pa.table({"order": pa.array(list(outcomes), pa.string()), "outcome": pa.array(list(outcomes.values()), pa.binary())},
                         metadata={b"arbiter.cache": self.layout})
        handle, staging = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        os.close(handle)
        # no dictionary and no statistics: every outcome is unique and none is searched by value; with
        # them, writing and reading a part took 65 and 128 us an order, without 16 and 7 (500 orders, 1.1 KB each)
        pq.write_table(table, staging, compression="zstd", use_dictionary=False, write_statistics=False)
        os.replace(staging, self.part(index))


def _alone(side: SpecPacks, name: str, value: Any, as_of: dt.date, outputs: Wanted, kpis: Kpis | None) -> dict[str, Any]:
    side.steps_decided.clear()
    if side.shared is not None:
        side.shared.clear()
    pack = side.get(name)
    return outcome(side, pack, admit(pack, value), as_of, outputs, kpis)


# repr writes these exactly and apart from each other (1, True, Decimal('1'), Decimal('1.0'), '1'), a few times faster than JSON
_EXACT_REPR = frozenset({str, int, bool, Decimal, dt.date, type(None)})
STEPS_KEPT_PER_ORDER = 4  # a step version's part keeps this many of its outcomes an order: this run's, then the latest others


@dataclass
class _StepPart:
    """One step version's outcomes for one batch: those kept, and those this run read or decided, in order."""

    cache: SideCache
    kept: dict[str, bytes]
    used: dict[str, bytes] = field(default_factory=dict)
    decided: int = 0


class KeptSteps(SharedSteps):
    """Step outcomes kept between replays: a step an earlier replay decided on the same order is read, not decided.

    A step's outcome is a pure function of (its input, its pack version, as_of). Kept are the
    steps that take part of the order itself (a flow binding ``lines: lines`` hands the step the
    very object of the order being decided): pricing and allocation, the costly ones. Their
    outcome is keyed by the order's digest (which covers that part), the fields the step takes
    that way, its other inputs written exactly, as_of, the outputs the flow reads of it, the
    fields it trusts, the backend and the engine's code; so a new candidate that changes only
    pricing reads allocation's outcome from the replay before it. A step fed by earlier steps'
    outputs (credit, routing) costs about what keying, reading and keeping its outcome would
    (15 us against 10-25), so it is decided. Each step version's outcomes live in
    ``DIR/steps/<pack>-<version>-<digest>/part-<batch>.parquet``, read the first time the batch
    needs that version and rewritten only when the batch decided one of its outcomes.
    Outside ``begin``/``end`` it only shares steps within an order, as ``SharedSteps`` does.
    """

    def __init__(self, folder: Path, backend: str) -> None:
        super().__init__()
        self.folder = folder / "steps"
        self.salt = [code_digest(), backend]
        self.index = -1
        self.parts: dict[str, _StepPart] = {}  # step pack digest -> its part for this batch
        self.orders = self.steps_reused = 0
        self.order: str | None = None
        self.fields: dict[int, str] = {}  # id of a list or object of the order being decided -> its field
        self.heads: dict[tuple[str, Wanted, frozenset[str]], bytes] = {}  # what keys a step's outcomes besides its input
        self.pairing = True  # whether both sides are being decided (replay.shared pairs their step versions)

    def load(self, index: int) -> None:
        """Start a batch: each step version's part is read when the batch first needs it."""
        self.index, self.parts = index, {}
        self.orders = self.steps_reused = 0

    def begin(self, key: str, value: Any) -> None:
        """The order (digest ``key``) whose steps are decided next."""
        self.order, self.orders = key, self.orders + 1
        self.fields = {id(v): k for k, v in value.items() if isinstance(v, (list, dict))} if isinstance(value, dict) else {}

    def end(self) -> None:
        self.order, self.fields, self.pairing = None, {}, True

    def partner(self, pack: CompiledPack) -> CompiledPack | None:
        """Steps are paired only while both sides are decided: beside a side read from the cache, the partner is waste."""
        return super().partner(pack) if self.pairing else None

    def fresh(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
              outputs: Wanted) -> Decision:
        keys = self._keys((pack,), values, as_of, trusted, outputs)
        if keys is None:  # not an order's step, or not fed by the order: decided
            return super().fresh(pack, values, as_of, trusted, outputs)
        part = self._part(pack)
        return self._read(pack, part, keys[0], as_of) or self._keep(part, keys[0], super().fresh(pack, values, as_of, trusted, outputs))

    def fresh_pair(self, pack: CompiledPack, partner: CompiledPack, values: dict[str, Any], as_of: dt.date,
                   trusted: frozenset[str], outputs: Wanted) -> tuple[Decision, Decision] | None:
        """Both versions decided together and both kept where neither is kept; else None: each side reads or decides its own.

        Each alone, not the missing one here: a version decided for the other side could raise
        into this one's decision (the paired function gives None on any error instead).
        """
        keys = self._keys((pack, partner), values, as_of, trusted, outputs)
        if keys is None:
            return super().fresh_pair(pack, partner, values, as_of, trusted, outputs)
        parts = (self._part(pack), self._part(partner))
        if keys[0] in parts[0].kept or keys[1] in parts[1].kept:
            return None
        both = super().fresh_pair(pack, partner, values, as_of, trusted, outputs)
        if both is not None:
            self._keep(parts[0], keys[0], both[0])
            self._keep(parts[1], keys[1], both[1])
        return both

    def _read(self, pack: CompiledPack, part: _StepPart, key: str, as_of: dt.date) -> Decision | None:
        blob = part.kept.get(key)
        kept = None if blob is None else readable(blob, STEP_KEYS)
        if kept is None or blob is None:
            if blob is not None:  # decided again and kept anew
                del part.kept[key]
                unreadable(part.cache.part(self.index), "holds a step outcome that does not read back")
            return None
        part.used[key] = blob
        self.steps_reused += 1
        return Decision(pack.name, pack.version, pack.digest, as_of, kept["output"], kept["matched"], kept["reasons"])

    @staticmethod
    def _keep(part: _StepPart, key: str, decision: Decision) -> Decision:
        with contextlib.suppress(TypeError):  # an output the cache cannot write exactly is not kept
            part.used[key] = encode({"output": decision.output, "matched": decision.matched, "reasons": decision.reasons})
            part.decided += 1
        return decision

    def _part(self, pack: CompiledPack) -> _StepPart:
        part = self.parts.get(pack.digest)
        if part is None:
            cache = SideCache(self.folder, f"{pack.name}-{pack.version}-{pack.digest[:16]}", STEP_LAYOUT)
            part = self.parts[pack.digest] = _StepPart(cache, cache.read(self.index))
        return part

    def _keys(self, packs: tuple[CompiledPack, ...], values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
              outputs: Wanted) -> tuple[str, ...] | None:
        """Each pack's key for one step input, the input hashed once; None for a step not of an order or not fed by it."""
        fields = self.fields
        # both live, so an id of the order's is that very object, whose content the order's digest covers
        if self.order is None or fields.keys().isdisjoint(map(id, values.values())):  # all in C: most steps take nothing of the order
            return None
        texts = [self.order, repr(as_of)]
        for name, v in values.items():
            found = fields.get(id(v))
            if found is not None:
                texts += [name, "o", found]
            elif v.__class__ in _EXACT_REPR:
                texts += [name, "r", repr(v)]
            else:
                try:
                    texts += [name, "j", encode(v).decode()]
                except TypeError:  # a value the cache cannot write exactly: decided every time, never kept
                    return None
        given = hashlib.blake2b("\0".join(texts).encode(), digest_size=16)
        keys = []
        for pack in packs:
            if pack.ir.steps:  # a flow's outcome is its steps'
                return None
            key = given.copy()
            key.update(self._head(pack, outputs, trusted))
            keys.append(key.hexdigest())
        return tuple(keys)

    def _head(self, pack: CompiledPack, outputs: Wanted, trusted: frozenset[str]) -> bytes:
        """What keys a step version's outcomes besides its input: the version, what is read of it, what it trusts, the code."""
        head = self.heads.get((pack.digest, outputs, trusted))
        if head is None:
            what = [self.salt, pack.key, pack.digest, sorted(outputs) if outputs is not None else None, sorted(trusted)]
            head = self.heads[(pack.digest, outputs, trusted)] = b"\0" + encode({"step": what})
        return head

    def flush(self) -> None:
        """Each step version's part that decided something, rewritten: this run's outcomes first, then the latest others, bounded."""
        for part in self.parts.values():
            if not part.decided:
                continue
            keep = dict(part.used)
            for key, blob in part.kept.items():
                if len(keep) >= STEPS_KEPT_PER_ORDER * max(1, self.orders):
                    break
                keep.setdefault(key, blob)
            part.cache.write(self.index, keep)


def _body(blob: bytes) -> bytes:
    """A kept outcome's decided part and rows (``encode_outcome``)."""
    return blob.partition(b"\n")[0]


class CachedSides:
    """Both sides' outcomes for the orders of one batch: read from the cache where kept, else decided and kept."""

    def __init__(self, caches: tuple[SideCache, SideCache], index: int, steps: KeptSteps | None = None) -> None:
        self.caches = caches
        self.index = index
        self.kept = (caches[0].read(index), caches[1].read(index))
        self.fresh: tuple[dict[str, bytes], dict[str, bytes]] = ({}, {})
        self.reused = 0
        self.books: dict[bytes, dict[str, Any] | None] = {}  # a batch's orders mostly share one bookkeeping: decoded once
        self.damaged = [False, False]
        self.steps = steps
        if steps is not None:
            steps.load(index)

    def decide(self, sides: tuple[SpecPacks, SpecPacks], name: str, key: str, value: Any, as_of: dt.date,
               outputs: Wanted, kpis: Kpis | None) -> tuple[dict[str, Any], dict[str, Any]]:
        blobs = (self.kept[0].get(key), self.kept[1].get(key))
        if self.steps is not None:
            self.steps.begin(key, value)
            self.steps.pairing = blobs[0] is None and blobs[1] is None
        try:
            if blobs[0] is None and blobs[1] is None:  # both decided together, sharing what they share
                a, b = decide_both(sides[0], sides[1], name, value, as_of, outputs, kpis)
                results, written = [a, b], [encode_outcome(a)[0], encode_outcome(b)[0]]
            else:
                results, written = self._read(sides, blobs, name, value, as_of, outputs, kpis)
        finally:
            if self.steps is not None:
                self.steps.end()
        self.fresh[0][key], self.fresh[1][key] = written
        return results[0], results[1]

    def _read(self, sides: tuple[SpecPacks, SpecPacks], blobs: tuple[bytes | None, bytes | None], name: str, value: Any,
              as_of: dt.date, outputs: Wanted, kpis: Kpis | None) -> tuple[list[Any], list[bytes]]:
        """Each kept side read, the other decided alone; a kept side whose decided part is written as the other's is not decoded.

        ``encode`` is exact (types, digits, key order), so equal bytes are equal values: of an
        order both sides decide alike (most orders), the kept side's decided part is the other's.
        """
        results: list[Any] = [None, None]
        bodies: list[Any] = [None, None]
        written: list[Any] = list(blobs)
        for side, blob in enumerate(blobs):
            if blob is None:
                results[side] = _alone(sides[side], name, value, as_of, outputs, kpis)
                written[side], bodies[side] = encode_outcome(results[side])
        if blobs[0] is not None and blobs[1] is not None and _body(blobs[0]) == _body(blobs[1]):
            bodies[0] = bodies[1] = self._body(blobs[0])  # read both warm: the decided part decoded once
        for side, blob in enumerate(blobs):
            if blob is None:
                continue
            other = bodies[1 - side]
            kept = self._outcome(side, blob, other if other is not None and _body(written[1 - side]) == _body(blob) else None)
            results[side] = kept if kept is not None else _alone(sides[side], name, value, as_of, outputs, kpis)
            if kept is None:  # decided again, and kept anew
                written[side] = encode_outcome(results[side])[0]
                continue
            self.reused += 1
        return results, written

    def _body(self, blob: bytes) -> dict[str, Any] | None:
        return readable(_body(blob), OUTCOME_KEYS)

    def _outcome(self, side: int, blob: bytes, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """A kept outcome (of decided part ``body``, where known), or None (decided again, said) where it does not read back."""
        body = body if body is not None else self._body(blob)
        tail = blob.partition(b"\n")[2]
        if tail not in self.books:
            self.books[tail] = readable(tail, ())
        book = self.books[tail]
        result = None if body is None or book is None else joined(body, book)
        if result is None:
            self.damaged[side] = True  # decided again: the part is rewritten with it, or every later run decides it again
            unreadable(self.caches[side].part(self.index), "holds an outcome that does not read back")
        return result

    def flush(self) -> None:
        """Each side's part, rewritten where this batch decided something the part did not hold or held unreadable; then the steps' part."""
        for cache, kept, fresh, damaged in zip(self.caches, self.kept, self.fresh, self.damaged, strict=True):
            if damaged or fresh.keys() != kept.keys():
                cache.write(self.index, fresh)
        if self.steps is not None:
            self.steps.flush()
