"""Contracts between a flow and its steps' packs, on every date the flow can run.

A flow is compiled against the newest version of each step's pack, but on a given date a
step runs the newest version effective *then*. So each flow version is checked again
against every step version chosen on some date of the flow's window: a mapping that breaks
(an input the older version lacks, an output the flow reads that it does not set) is a
``step-contract`` error naming the dates on which it breaks. Where the flow runs an older
version than the one it was written against, without breaking, the dates are named as a
``step-version-unused`` warning: the new contract is not what runs then.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from engine.compiled import CompiledPack
from engine.dates import Window, describe, field_position, window
from engine.registry import PackSet
from rules import syntax as s
from rules.analysis import Opaque, ValueSet, cell_set
from rules.errors import ArbiterError, Diagnostic
from rules.ir import PackIR, StepDef, TableDef
from rules.load import load_pack


def schedule(versions: tuple[CompiledPack, ...], span: Window) -> list[tuple[CompiledPack, Window]]:
    """Which version runs on which dates of ``span`` (newest effective wins), merged into intervals."""
    cuts = sorted({span[0], span[1], *(d for p in versions for d in window(p) if span[0] < d < span[1])})
    out: list[tuple[CompiledPack, Window]] = []
    for start, end in itertools.pairwise(cuts):
        chosen = next((p for p in reversed(versions) if window(p)[0] <= start < window(p)[1]), None)
        if chosen is None:
            continue
        if out and out[-1][0] is chosen and out[-1][1][1] == start:
            out[-1] = (chosen, (out[-1][1][0], end))
        else:
            out.append((chosen, (start, end)))
    return out


def flow_contracts(pack_set: PackSet) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for flow in pack_set:
        if flow.ir.kind != "flow":
            continue
        for step in flow.ir.steps:
            if step.version is not None or step.pack not in pack_set.packs:
                continue  # a pinned step runs the version it names, the one the flow was checked against
            versions = pack_set.versions(step.pack)
            runs = schedule(versions, window(flow))
            if not runs:
                continue
            written_for = max((p for p, _ in runs), key=versions.index)  # what the flow was compiled against
            for chosen, span in runs:
                if chosen is written_for:
                    continue
                out.extend(_against(pack_set, flow, step.pack, chosen, span, written_for))
    return out


def _against(pack_set: PackSet, flow: CompiledPack, step_pack: str, chosen: CompiledPack, span: Window,
             written_for: CompiledPack) -> list[Diagnostic]:
    def resolve(name: str, version: str | None) -> PackIR | None:
        versions = pack_set.packs.get(name, ())
        if version is not None:
            return next((p.ir for p in versions if p.version == version), None)
        if name == step_pack:
            return chosen.ir
        return versions[-1].ir if versions else None

    when = describe(span)
    result = load_pack(Path(flow.ir.path), resolve)
    broken = [d for d in result.diagnostics if d.severity == "error"]
    if broken:
        return [Diagnostic(d.path, d.position, "step-contract",
                           f"{when}, {flow.key} runs {chosen.key} (it was checked against {written_for.key}): {d.message}")
                for d in broken]
    # A flow's first version running older step versions until newer ones start is the normal course; a newer
    # flow version that starts while the step still runs the old contract was likely written too early.
    first = pack_set.versions(flow.name)[0] is flow
    if first or span[0] != window(flow)[0] or _contract(chosen.ir) == _contract(written_for.ir):
        return []
    return [Diagnostic(flow.ir.path, field_position(flow.ir.path, "steps"), "step-version-unused",
                       f"{when}, {flow.key} runs {chosen.key}, not {written_for.key} whose inputs or outputs it was "
                       f"written against; align the windows if {written_for.key} is meant", "warning")]


def _contract(ir: PackIR) -> tuple[frozenset[str], frozenset[str]]:
    return (frozenset(f"{f.name}:{f.type.describe()}" for f in ir.inputs),
            frozenset(f"{f.name}:{f.type.describe()}" for f in ir.outputs))



# Codes passed from one step to the next: hold codes, exception codes, queues.


def code_contracts(pack_set: PackSet) -> list[Diagnostic]:
    """Text codes a flow hands from one step's output to a later step's input, checked at both ends.

    A code the later step's table tests but the earlier step never sets (a renamed hold code)
    is an error at the testing row; a code the earlier step sets that no row of the later
    step's table accepts is an error at the setting row. Each message names the other end.
    """
    out: list[Diagnostic] = []
    for flow in pack_set:
        if flow.ir.kind != "flow":
            continue
        steps = {step.id: step for step in flow.ir.steps}
        for step in flow.ir.steps:
            consumer = _step_pack(pack_set, step.pack, step.version)
            for name, node in step.inputs.items():
                source = _step_output(node, steps)
                if consumer is None or source is None:
                    continue
                producer = _step_pack(pack_set, steps[source[0]].pack, steps[source[0]].version)
                if producer is not None:
                    out.extend(_codes(flow, producer, source[1], consumer, name))
    return out


def _step_pack(pack_set: PackSet, name: str, version: str | None) -> CompiledPack | None:
    try:
        return pack_set.get(name, version)
    except ArbiterError:
        return None


def _step_output(node: s.Node, steps: dict[str, StepDef]) -> tuple[str, str] | None:
    """(step id, output) when a step input is an earlier step's output, as it is."""
    if isinstance(node, s.Member) and isinstance(node.target, s.Name) and node.target.name in steps:
        return node.target.name, node.name
    return None


def _produced(pack: CompiledPack, output: str) -> dict[str, str] | None:
    """Each text an output can be set to, with the row (table.row) that sets it; None when not only literals."""
    field = next((f for f in pack.ir.outputs if f.name == output), None)
    if field is None or field.source is None or field.value is not None:
        return None
    for table in pack.ir.all_tables:
        if field.source in table.output_symbols:
            k = table.output_symbols.index(field.source)
            cells = [(f"{table.id}.{row.id}", row.outputs[k]) for row in table.rows]
            cells += [(table.id, table.default[k])] if table.default is not None else []
            if not all(isinstance(c, s.Literal) for _, c in cells):
                return None
            return {c.value: where for where, c in cells if isinstance(c, s.Literal) and isinstance(c.value, str)}
    return None


def _tested(pack: CompiledPack, name: str) -> list[tuple[TableDef, str, s.Node]]:
    """The cells (table, row, test) of tables whose column is input ``name`` as it is."""
    out: list[tuple[TableDef, str, s.Node]] = []
    for table in pack.ir.all_tables:
        for k, column in enumerate(table.columns):
            if isinstance(column.expr, s.Name) and column.expr.name == name and column.expr.symbol.kind == "input":
                out.extend((table, row.id, row.tests[k]) for row in table.rows)
    return out


def _codes(flow: CompiledPack, producer: CompiledPack, output: str, consumer: CompiledPack, name: str) -> list[Diagnostic]:
    produced = _produced(producer, output)
    cells = _tested(consumer, name)
    if not produced or not cells:
        return []
    everything = ValueSet(frozenset(), True, True)
    accepted: dict[str, list[str]] = {code: [] for code in produced}
    out: list[Diagnostic] = []
    for table, row, test in cells:
        try:
            values = cell_set(test, everything)
        except Opaque:
            return []  # a cell that computes: which codes it takes is not read off the text
        assert isinstance(values, ValueSet)
        for code in produced:
            if not values.intersect(ValueSet(frozenset({code}), False, False)).empty:
                accepted[code].append(row)
        if not values.complement:
            for code in sorted(values.values - set(produced)):
                if isinstance(code, str):
                    out.append(_at(consumer, f"tables.{table.id}.{row}", "code-not-produced",
                                   f"{consumer.key} routes {name} {code!r}, which {producer.key} never sets as {output} "
                                   f"(it sets {', '.join(sorted(produced))} at {_where(producer, produced)}); "
                                   f"through {flow.key}"))
    for code, rows in sorted(accepted.items()):
        if not rows:
            out.append(_at(producer, f"tables.{produced[code]}", "code-not-routed",
                           f"{producer.key} sets {output} {code!r}, which no row of {consumer.key} accepts as {name} "
                           f"({consumer.ir.path}:{consumer.ir.positions.get('tables.' + cells[0][0].id)}); through {flow.key}"))
    return out


def _where(pack: CompiledPack, produced: dict[str, str]) -> str:
    first = sorted(produced.values())[0]
    return f"{pack.ir.path}:{pack.ir.positions.get('tables.' + first)}"


def _at(pack: CompiledPack, key: str, code: str, message: str) -> Diagnostic:
    return Diagnostic(pack.ir.path, pack.ir.positions.get(key, field_position(pack.ir.path, "tables")), code, message)
