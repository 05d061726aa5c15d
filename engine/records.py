"""Which fields of a list of records an evaluation reads, so the records are built with those alone.

The order flow reads a few fields of its steps' priced lines and allocation plan, yet the
steps built fifteen and ten fields a line, after copying each line's own fields in. A field
is left out only when every reader of the records is known and none reads it:

- a field read (``l.net_price``, ``first(...).queue``);
- a projection over the list whose element is read by field alone (``filter``, ``first`` and
  ``sort_by`` give records of the same list: their readers are followed in turn);
- ``count`` of the list;
- an output that lists its declared fields (the generated code picks them);
- a derived value holding the records, whose readers are followed in turn.

Anything else (a step input, a record compared, kept or passed whole, a table cell, a
loop's list, a trace) reads the records whole, and nothing is left out.

A flow asks a step for fewer fields by naming them in the outputs it asks for, as
``lines.`` (the records of ``lines`` are trimmed) and ``lines.net_price`` (this field is kept).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rules import syntax as s
from rules.ir import FieldDef, PackIR, Symbol

Fields = frozenset[str] | None  # None: the records are read whole
Picked = Callable[[FieldDef], "list[str] | None"]

SAME_RECORDS = frozenset({"first", "filter", "sort_by"})  # projections whose result holds the list's own records


@dataclass
class Readers:
    """Every node an evaluation computes, with its parent, what each root feeds and who reads each symbol."""

    parents: dict[int, s.Node]
    sinks: dict[int, FieldDef | Symbol | None]  # id(root) -> the output or derived value it computes, else None
    uses: dict[int, list[s.Node]]  # id(symbol) -> the names reading it
    picked: Picked  # an output's fields as the generated code picks them, None if it writes its records whole


def readers(pack: PackIR, outputs: list[FieldDef], skipped_rollups: frozenset[int], picked: Picked) -> Readers:
    """The readers of an evaluation computing ``outputs``, the fused rollups (by index) skipped."""
    kept = {id(symbol) for section in pack.sections for symbol in section.keep}
    sinks: dict[int, FieldDef | Symbol | None] = {}
    for f in outputs:
        if f.value is not None:
            sinks[id(f.value)] = f
    derives = [*pack.derives, *(r for i, r in enumerate(pack.rollups) if i not in skipped_rollups)]
    derives += [d for section in pack.sections for d in [*section.derives, *section.after]]
    for d in derives:
        sinks[id(d.expr)] = None if id(d.symbol) in kept else d.symbol
    for root in _other_roots(pack):
        sinks[id(root)] = None
    found = Readers({}, {}, {}, picked)
    found.sinks = sinks
    roots = [f.value for f in outputs if f.value is not None] + [d.expr for d in derives] + _other_roots(pack)
    for root in roots:
        for node in s.walk(root):
            for child in s.children(node):
                found.parents[id(child)] = node
            if isinstance(node, s.Name) and node.symbol is not None:
                found.uses.setdefault(id(node.symbol), []).append(node)
    return found


def _other_roots(pack: PackIR) -> list[s.Node]:
    """What reads records whole when it reads them at all: step inputs, loops' lists and carried values, table cells."""
    roots: list[s.Node] = []
    for step in pack.steps:
        roots += [*step.inputs.values(), *([step.when] if step.when is not None else [])]
    for section in pack.sections:
        roots += [section.over, *(n for c in section.carries for n in (c.init, c.next))]
    for table in pack.all_tables:
        roots += [c.expr for c in table.columns] + [n for row in table.rows for n in [*row.tests, *row.outputs, *row.reason_values]]
        roots += table.default or []
    return roots


def fields_read(found: Readers, starts: Iterable[s.Node]) -> Fields:
    """The fields read of the records of the lists ``starts`` compute; None if something reads them whole."""
    fields: set[str] = set()
    work, seen = list(starts), set()
    while work:
        node = work.pop()
        parent = found.parents.get(id(node))
        if parent is None:
            sink = found.sinks.get(id(node))
            if isinstance(sink, FieldDef):
                picked = found.picked(sink)
                if picked is None:
                    return None
                fields.update(picked)
            elif isinstance(sink, Symbol):
                if id(sink) not in seen:
                    seen.add(id(sink))
                    work += found.uses.get(id(sink), [])
            else:
                return None
        elif isinstance(parent, s.Member):
            fields.add(parent.name)
        elif isinstance(parent, s.Call) and isinstance(parent.resolved, s.Projection) and parent.args[0] is node:
            element = _element_fields(found, parent, parent.resolved.scope)
            if element is None:
                return None
            fields |= element
            if parent.resolved.function in SAME_RECORDS:
                work.append(parent)
        elif not (isinstance(parent, s.Call) and parent.function == "count" and len(parent.args) == 1):
            return None
    return frozenset(fields)


def _element_fields(found: Readers, call: s.Call, scope: int) -> Fields:
    """The fields a projection's expressions read of its element; None if one reads the element whole."""
    fields: set[str] = set()
    for arg in call.args[1:]:
        for n in s.walk(arg):
            symbol = n.symbol if isinstance(n, s.Name) else None
            if symbol is None or symbol.scope != scope:
                continue
            if symbol.kind == "item_field":
                fields.add(symbol.name)
            elif symbol.kind == "item":
                parent = found.parents.get(id(n))
                if not isinstance(parent, s.Member):
                    return None
                fields.add(parent.name)
    return frozenset(fields)


def asked_fields(outputs: frozenset[str] | None) -> dict[str, frozenset[str]]:
    """Per output whose records the caller trims (``lines.``), the fields it reads of them (``lines.net_price``)."""
    if not outputs:
        return {}
    trimmed = {name[:-1] for name in outputs if name.endswith(".")}
    asked: dict[str, set[str]] = {name: set() for name in trimmed}
    for name in outputs:
        output, dot, field = name.partition(".")
        if dot and field and output in asked:
            asked[output].add(field)
    return {name: frozenset(fields) for name, fields in asked.items()}


def asking(output: str, fields: frozenset[str]) -> set[str]:
    """The names that ask for ``output`` with its records trimmed to ``fields``."""
    return {output, f"{output}.", *(f"{output}.{field}" for field in fields)}


def step_fields(pack: PackIR, outputs: list[FieldDef], picked: Picked) -> list[dict[str, frozenset[str]]]:
    """For each step of a flow, the fields read of the records of each step output read as a list, where all are known."""
    found = readers(pack, outputs, frozenset(), picked)
    out: list[dict[str, frozenset[str]]] = []
    for step in pack.steps:
        by_output: dict[str, list[s.Node]] = {}
        for name in found.uses.get(id(step.symbol), []):
            parent = found.parents.get(id(name))
            if not isinstance(parent, s.Member):
                by_output = {}  # the step's outputs read whole
                break
            by_output.setdefault(parent.name, []).append(parent)
        trimmed = {output: fields for output, nodes in by_output.items() if (fields := fields_read(found, nodes)) is not None}
        out.append(trimmed)
    return out
