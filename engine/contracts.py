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
from rules.errors import Diagnostic
from rules.ir import PackIR
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

