"""durable_rules as a second backend: the same compiled pack, its rows matched by a Rete network.

Only row matching moves into durable_rules; derived values, column values, hit policies and
outputs stay in the generated code, so both backends share every semantic except which rows
match, and the suite holds the two equal. The recipe follows ``../shared/research/durable_rules.md``:

- the C API (``durable_rules_engine``), never ``durable.lang`` or its ``Host`` (whose timer
  threads race ``post`` and crash under threads);
- one ruleset per table of a pack version, named by pack, version and digest;
- a fixed pool of session ids with pairwise-distinct 32-bit FNV-1a hashes (sessions are
  looked up by that hash alone), a catch-all sentinel rule at the lowest priority so that
  every message fires (``delete_state`` after a message that fired nothing frees
  uninitialised memory), ``delete_state`` in ``finally``, quarantine of an id whose
  evaluation failed;
- values in a form the C core compares exactly: a number as ``floor(x * 10**s)`` plus a flag
  for a remaining fraction, a date as its ordinal, null as an explicit flag; never a string
  where a number is compared;
- every fired row is collected (facts, not events) and the hit policy is applied by Arbiter.

Tables it cannot run are refused when the backend is built, with the table and the reason.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import functools
import json
import math
import queue
import threading
from decimal import Decimal
from typing import Any

from engine.backend import NATIVE, Backend, BackendRefused, Evaluator, load
from engine.codegen import generate
from engine.compiled import CompiledPack, compile_pack
from engine.demand import Wanted
from engine.extras import require
from rules import syntax as s
from rules.errors import DecisionError
from rules.ir import PackIR, TableDef
from rules.types import Type

__all__ = ["DURABLE", "BackendRefused", "DurableBackend", "durable"]

MAX_ROWS = 63  # error 303 beyond 64 conditions true at once; the sentinel takes one
CLAMP = 2**62  # beyond int64 the C core saturates; clamping keeps every comparison exact
SENTINEL = "__no_match__"
SENTINEL_FIELD = "__dr__"
_LOCK = threading.Lock()  # C calls hold the GIL anyway; one decision's calls must not interleave


@functools.cache
def _tune_malloc() -> None:
    """Fresh durable sessions are ~8x cheaper with these glibc thresholds (measured in the study); once per process."""
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(name)
            libc.mallopt(-3, 4 << 20)  # M_MMAP_THRESHOLD
            libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD


def fnv1a32(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


class SidPool:
    """Session ids with distinct hashes, well under the 1,024 live sessions a ruleset allows."""

    MAX_QUARANTINED = 64

    def __init__(self, size: int = 64) -> None:
        self._hashes: set[int] = set()
        self._next = 0
        self._free: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.quarantined: list[str] = []
        for _ in range(size):
            self._free.put(self._new())

    def _new(self) -> str:
        while True:
            sid = f"s{self._next}"
            self._next += 1
            h = fnv1a32(sid)
            if h not in self._hashes:
                self._hashes.add(h)
                return sid

    def acquire(self) -> str:
        return self._free.get()

    def release(self, sid: str) -> None:
        self._free.put(sid)

    def quarantine(self, sid: str) -> None:
        self.quarantined.append(sid)
        if len(self.quarantined) > self.MAX_QUARANTINED:
            raise DecisionError("backend-failed", "too many durable_rules failures; restart this worker")
        self._free.put(self._new())


class _Unsupported(Exception):
    pass


def _literal(node: s.Node) -> Any:
    if isinstance(node, s.Literal):
        return node.value
    if isinstance(node, s.Name) and node.symbol is not None and node.symbol.kind == "enum_literal":
        return node.symbol.name
    raise _Unsupported("a cell compares with an expression, which durable_rules cannot compute")


class ColumnCodec:
    """How one column's value crosses into durable_rules, and its tests as conditions."""

    def __init__(self, index: int, t: Type, tests: list[s.Node]) -> None:
        self.k = index
        self.kind = t.kind
        if t.kind not in ("number", "date", "string", "boolean"):
            raise _Unsupported(f"column {index + 1} holds {t.describe()}")
        self.scale = 0
        if t.kind == "number":
            for test in tests:
                for node in s.walk(test):
                    if isinstance(node, s.Literal) and isinstance(node.value, Decimal):
                        self.scale = max(self.scale, -node.value.as_tuple().exponent)  # type: ignore[operator]
        self.i, self.f, self.n = f"c{index}_i", f"c{index}_f", f"c{index}_n"

    def encode(self, value: Any, out: dict[str, Any]) -> None:
        if value is None:
            out[self.n] = 1
            out[self.i] = 0
            out[self.f] = 0
            return
        out[self.n] = 0
        if self.kind == "number":
            scaled = Decimal(value).scaleb(self.scale)
            whole = math.floor(scaled)
            out[self.i] = max(-CLAMP, min(CLAMP, whole))
            out[self.f] = 0 if scaled == whole and abs(whole) < CLAMP else 1
        elif self.kind == "date":
            out[self.i] = value.toordinal()
            out[self.f] = 0
        else:
            out[self.i] = value  # strings are compared for equality only, booleans as booleans

    def _key(self, value: Any) -> Any:
        if self.kind == "number":
            scaled = Decimal(value).scaleb(self.scale)
            if scaled != scaled.to_integral_value():
                raise _Unsupported("a literal with more decimals than the column's scale")
            return int(scaled)
        if self.kind == "date":
            return value.toordinal() if isinstance(value, dt.date) else value
        return value

    def atom(self, op: str, value: Any) -> dict[str, Any]:
        """One comparison of this column with a literal, null semantics included."""
        if value is None:
            return {self.n: 1} if op == "=" else {self.n: 0}
        if self.kind in ("string", "boolean") and op not in ("=", "!="):
            raise _Unsupported("an ordering test on a string or boolean")
        key = self._key(value)
        present = {self.n: 0}
        ordered = self.kind in ("number", "date")
        if op == "=":
            return {"$and": [present, {self.i: key}, {self.f: 0}]} if ordered else {"$and": [present, {self.i: key}]}
        if op == "!=":
            parts: list[dict[str, Any]] = [{self.n: 1}, {"$neq": {self.i: key}}]
            if ordered:
                parts.append({self.f: 1})
            return {"$or": parts}
        strict_above = {"$or": [{"$gt": {self.i: key}}, {"$and": [{self.i: key}, {self.f: 1}]}]}
        at_or_below = {"$or": [{"$lt": {self.i: key}}, {"$and": [{self.i: key}, {self.f: 0}]}]}
        table = {">": strict_above, ">=": {"$gte": {self.i: key}}, "<": {"$lt": {self.i: key}}, "<=": at_or_below}
        return {"$and": [present, table[op]]}

    def test(self, node: s.Node, negate: bool = False) -> dict[str, Any] | None:
        """A condition for a cell; None for '-' (no condition). Negation is pushed down to atoms."""
        flip = {"=": "!=", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
        if isinstance(node, s.AnyTest):
            if negate:
                raise _Unsupported("not(-) matches nothing")
            return None
        if isinstance(node, s.NotTest):
            return self.test(s.AnyOfTests(node.start, node.end, node.tests), not negate)
        if isinstance(node, s.AnyOfTests):
            parts = [self.test(t, negate) for t in node.tests]
            if any(p is None for p in parts):
                raise _Unsupported("'-' inside a list of tests")
            return {"$and" if negate else "$or": parts}
        if isinstance(node, s.EqualsTest) and isinstance(node.operand, s.ListOf):
            return self.test(s.AnyOfTests(0, 0, [s.EqualsTest(0, 0, item) for item in node.operand.items]), negate)
        if isinstance(node, s.EqualsTest):
            return self._negatable("=", _literal(node.operand), negate, flip)
        if isinstance(node, s.CompareTest):
            return self._negatable(node.op, _literal(node.operand), negate, flip)
        if isinstance(node, s.IntervalTest):
            iv = node.interval
            low = s.CompareTest(0, 0, ">=" if iv.low_closed else ">", iv.low)
            high = s.CompareTest(0, 0, "<=" if iv.high_closed else "<", iv.high)
            a, b = self.test(low, negate), self.test(high, negate)
            return {"$or" if negate else "$and": [a, b]}
        raise _Unsupported("a cell with '?' is an expression, which durable_rules cannot compute")

    def _negatable(self, op: str, value: Any, negate: bool, flip: dict[str, str]) -> dict[str, Any]:
        if not negate:
            return self.atom(op, value)
        if op in ("=", "!="):
            return self.atom(flip[op], value)
        # not (x > v) holds for x <= v and for null
        return {"$or": [{self.n: 1}, self.atom(flip[op], value)]}


class TableRules:
    """One decision table as a durable_rules ruleset: which rows match, in table order."""

    def __init__(self, name: str, table: TableDef) -> None:
        dre = require("durable_rules_engine", "the durable backend")
        if len(table.rows) > MAX_ROWS:
            raise _Unsupported(f"it has {len(table.rows)} rows; durable_rules fails beyond {MAX_ROWS} matching at once")
        self.dre = dre
        self.codecs = [ColumnCodec(k, c.expr.type, [r.tests[k] for r in table.rows]) for k, c in enumerate(table.columns)]
        definition: dict[str, Any] = {}
        for index, row in enumerate(table.rows):
            conditions = [c.test(t) for c, t in zip(self.codecs, row.tests, strict=True)]
            parts = [p for p in conditions if p is not None] or [{"$ex": {SENTINEL_FIELD: 1}}]
            definition[f"r{index}"] = {"all": [{"m": parts[0] if len(parts) == 1 else {"$and": parts}}], "pri": index}
        definition[SENTINEL] = {"all": [{"m": {"$ex": {SENTINEL_FIELD: 1}}}], "pri": 65535}
        self.handle = dre.create_ruleset(name, json.dumps(definition, ensure_ascii=True))
        self.pool = SidPool()

    def match(self, values: tuple[Any, ...]) -> list[int]:
        body: dict[str, Any] = {SENTINEL_FIELD: 1}
        for codec, value in zip(self.codecs, values, strict=True):
            codec.encode(value, body)
        dre = self.dre
        with _LOCK:
            sid = self.pool.acquire()
            body["sid"] = sid
            try:
                text = json.dumps(body, ensure_ascii=True)
                _, state = dre.assert_fact(self.handle, text)
            except BaseException:
                self.pool.quarantine(sid)
                raise
            fired: set[int] = set()  # a row true through two branches of an $or fires once per branch
            try:
                result = dre.start_action_for_state(self.handle, state)
                while result:
                    messages = result[1] if isinstance(result, tuple) else result
                    name = messages[2:messages.index('"', 2)]
                    if name != SENTINEL:
                        fired.add(int(name[1:]))
                    result = dre.complete_and_start_action(self.handle, state)
            finally:
                dre.delete_state(self.handle, sid)
                self.pool.release(sid)
        return sorted(fired)


_RULESETS: dict[str, TableRules] = {}  # a ruleset name cannot be registered twice in a process


class DurableBackend(Backend):
    """Rows matched by durable_rules; everything else by the same generated code as the native backend."""

    name = "durable"

    def evaluator(self, ir: PackIR, *, outputs: Wanted = None, traced: bool = False) -> Evaluator:
        """Every output, whatever ``outputs`` asks (its tables are matched by durable_rules, not generated).

        A trace comes from the native backend: it decides the same rows, as the suite holds.
        """
        if traced:
            return NATIVE.evaluator(ir, traced=True)
        rules = _rulesets(ir)
        source, constants = generate(ir, delegate=True)
        delegated = load(source, constants, ir.key)

        def match(index: int, values: tuple[Any, ...]) -> list[int]:
            return rules[index].match(values)

        def evaluate(values: dict[str, Any], as_of: dt.date) -> tuple[dict[str, Any], dict[str, list[str]], list[str]]:
            return delegated(values, as_of, match)

        return Evaluator(evaluate, source)


def _rulesets(ir: PackIR) -> list[TableRules]:
    """One ruleset per table, built once per process; BackendRefused names every table it cannot run."""
    reasons = []
    if ir.steps:
        reasons.append("it is a flow; run its steps on the durable backend one by one")
    if any(sec.carries for sec in ir.sections):
        reasons.append("it carries values from one element to the next (for_each carry); the native backend runs it")
    if ir.sections:
        reasons += [f"table {t.id!r} is a line-level (for_each) table" for sec in ir.sections for t in sec.tables]
    rules: list[TableRules] = []
    for table in ir.tables:
        name = f"{ir.name}@{ir.version}@{ir.digest[:16]}@{table.id}"
        try:
            if name not in _RULESETS:
                _tune_malloc()
                _RULESETS[name] = TableRules(name, table)
            rules.append(_RULESETS[name])
        except _Unsupported as exc:
            reasons.append(f"table {table.id!r}: {exc}")
    if reasons:
        raise BackendRefused(ir.key, reasons, DurableBackend.name)
    return rules


DURABLE = DurableBackend()


def durable(pack: CompiledPack) -> CompiledPack:
    """``pack`` compiled on the durable_rules backend, or BackendRefused naming each table it cannot run."""
    return compile_pack(pack.ir, DURABLE)
