"""What a for_each loop can do once or as it goes: its invariant values, its rollups, whether it needs its list.

``subtotal: sum(priced_lines as l, l.line_total)`` read back from the list of line records
costs a pass and a dict read per line; the loop already holds each line's total in a local.
A rollup is fused when it aggregates a section's result (sum, min, max, count, any, all) with
a body that reads the element's fields and values known before the loop, and cannot fail:
the generated code then collects the body's values in the loop and applies the same
aggregation to them, so the values, their order and the result are the same, and no error
moves. A section whose result nothing else reads builds no list of records (its tables still run).

A per-element derived value that reads nothing of the element (a price group's discount)
and cannot fail is computed once before the loop; one only a first-hit table's later rows
read is computed when the first of them is tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.demand import cannot_fail, evaluated
from rules import syntax as s
from rules.functions import FUNCTIONS
from rules.ir import FieldDef, PackIR, SectionDef

_OUTER_KINDS = frozenset({"input", "as_of", "enum_literal", "step"})


@dataclass(frozen=True)
class Fused:
    rollup: int  # index into pack.rollups
    function: str
    body: s.Node | None  # None: count(section)
    scope: int  # the scope the body reads the element by


@dataclass(frozen=True)
class SectionPlan:
    fused: tuple[Fused, ...]
    builds_list: bool


def plan(pack: PackIR, outputs: list[FieldDef]) -> dict[int, SectionPlan]:
    """Per section index, the rollups its loop computes and whether it still builds its list.

    ``outputs`` are the outputs the evaluation computes (engine.demand.kept_outputs).
    """
    by_result = {id(section.result): k for k, section in enumerate(pack.sections)}
    before_loops = {id(d.symbol) for d in pack.derives}
    fused: dict[int, list[Fused]] = {}
    for i, rollup in enumerate(pack.rollups):
        found = _fusable(rollup.expr, by_result, before_loops)
        if found is not None:
            k, function, body, scope = found
            fused.setdefault(k, []).append(Fused(i, function, body, scope))
    fused_rollups = frozenset(f.rollup for group in fused.values() for f in group)
    read = {id(n.symbol) for n in evaluated(pack, outputs, fused_rollups) if isinstance(n, s.Name)}
    read |= {id(f.source) for f in outputs if f.source is not None}
    return {k: SectionPlan(tuple(fused.get(k, ())), id(section.result) in read) for k, section in enumerate(pack.sections)}


def _fusable(node: s.Node, by_result: dict[int, int], before_loops: set[int]) -> tuple[int, str, s.Node | None, int] | None:
    if not (isinstance(node, s.Call) and isinstance(node.resolved, s.Projection) and FUNCTIONS[node.function].aggregates):
        return None
    function, scope = node.resolved.function, node.resolved.scope
    source = node.args[0]
    if not (isinstance(source, s.Name) and source.symbol is not None and id(source.symbol) in by_result):
        return None
    k = by_result[id(source.symbol)]
    if len(node.args) == 1:
        return (k, function, None, scope) if function == "count" else None
    body = node.args[1]
    if function == "sum" and isinstance(body, s.Conditional):
        return None  # sum(xs as x, if c then v else 0) adds only where c holds; keep that path
    if not cannot_fail(body):
        return None
    nodes = s.walk(body)
    targets = {id(n.target) for n in nodes if isinstance(n, s.Member)}
    for n in nodes:
        if not isinstance(n, s.Name) or n.symbol is None:
            continue
        kind = n.symbol.kind
        if kind == "item":
            if n.symbol.scope != scope or id(n) not in targets:
                return None  # the whole element, or another list's: it needs the records
        elif kind == "item_field":
            if n.symbol.scope != scope:
                return None
        elif kind == "derive":
            if id(n.symbol) not in before_loops:
                return None  # another rollup, or a value computed after the loops
        elif kind not in _OUTER_KINDS:
            return None
    return k, function, body, scope


def loop_invariant(pack: PackIR, section: SectionDef) -> list[int]:
    """The section's derived values that read nothing of the element and cannot fail, by index."""
    hoisted: list[int] = []
    known = {id(d.symbol) for d in pack.derives}
    for i, derive in enumerate(section.derives):
        if cannot_fail(derive.expr) and all(_outside(n, section.scope, known) for n in s.walk(derive.expr)):
            hoisted.append(i)
            known.add(id(derive.symbol))
    return hoisted


def _outside(node: s.Node, scope: int, known: set[int]) -> bool:
    """Whether ``node`` reads nothing the loop over ``scope`` binds (an aggregation's own items are its own)."""
    if not isinstance(node, s.Name) or node.symbol is None:
        return True  # not a name, or the data table a lookup names
    kind = node.symbol.kind
    if kind in ("item", "item_field"):
        return bool(node.symbol.scope != scope)
    return kind in _OUTER_KINDS or (kind == "derive" and id(node.symbol) in known)


def deferred(section: SectionDef, hoisted: list[int]) -> tuple[dict[int, dict[int, list[int]]], set[int]]:
    """Per-element values a first-hit table alone reads, by table and the row whose test first needs them.

    ``nearest: first(ranked as w, ...)`` searches the depots for every line, but only the
    table's fourth row reads it, after the rows that usually match. Such a value, if it
    cannot fail, is computed just before that row's test (or never, if no row reads it):
    the result is the same, since nothing else sees it. Returns {table index: {row: derive
    indices}} and every derive moved, the never computed included.
    """
    derives = section.derives
    readers = _readers(section)
    lazy = {i for i, d in enumerate(derives) if i not in hoisted and cannot_fail(d.expr)}
    placed: dict[int, tuple[int, int | None]] = {}  # derive -> (table, first row), in derive order
    for i in sorted(lazy, reverse=True):  # readers of a derive come after it
        where = _where(section, readers[i], placed)
        if where is not None:
            placed[i] = where
    plan: dict[int, dict[int, list[int]]] = {}
    for i in sorted(placed):
        table, first = placed[i]
        if first is not None:
            plan.setdefault(table, {}).setdefault(first, []).append(i)
    return plan, set(placed)


Reader = tuple[Any, ...]  # ("derive", j) | ("column", table, column) | ("row", table, row) | ("other",)


def _readers(section: SectionDef) -> dict[int, set[Reader]]:
    """For each per-element derived value (by index), what reads it."""
    derives = section.derives
    index = {id(d.symbol): i for i, d in enumerate(derives)}
    readers: dict[int, set[Reader]] = {i: set() for i in range(len(derives))}

    def note(node: s.Node, reader: Reader) -> None:
        for n in s.walk(node):
            if isinstance(n, s.Name) and n.symbol is not None and id(n.symbol) in index:
                readers[index[id(n.symbol)]].add(reader)

    for j, d in enumerate(derives):
        note(d.expr, ("derive", j))
    for t, table in enumerate(section.tables):
        first = table.hit_policy == "first"
        for c, column in enumerate(table.columns):
            note(column.expr, ("column", t, c) if isinstance(column.expr, s.Name) and first else ("other",))
        for r, row in enumerate(table.rows):
            for node in [*row.tests, *row.outputs, *row.reason_values]:
                note(node, ("row", t, r) if first else ("other",))
        for node in table.default or []:
            note(node, ("other",))
    for d in section.after:
        note(d.expr, ("other",))
    for carry in section.carries:
        note(carry.next, ("other",))
    for symbol in section.keep:
        if id(symbol) in index:
            readers[index[id(symbol)]].add(("other",))
    return readers


def _where(section: SectionDef, readers: set[Reader], placed: dict[int, tuple[int, int | None]]) -> tuple[int, int | None] | None:
    """The one first-hit table all ``readers`` are in, and the first of its rows that reads; None if read elsewhere too."""
    tables: set[int] = set()
    rows: list[int] = []
    for reader in readers:
        if reader[0] == "derive" and reader[1] in placed:
            where, first = placed[reader[1]]
            tables.add(where)
            rows += [first] if first is not None else []
        elif reader[0] == "column":
            _, where, c = reader
            tables.add(where)
            rows += [r for r, row_def in enumerate(section.tables[where].rows) if not isinstance(row_def.tests[c], s.AnyTest)][:1]
        elif reader[0] == "row":
            tables.add(reader[1])
            rows.append(reader[2])
        else:
            tables.add(-1)  # read where it cannot wait
    if len(tables) == 1 and -1 not in tables:
        return tables.pop(), min(rows) if rows else None
    return None
