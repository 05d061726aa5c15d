"""One order through both sides: admit, decide, and name the outputs the two decisions differ in."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from engine import jsonio
from engine.compiled import CompiledPack, Decision
from engine.demand import Wanted
from replay.canonical import Stripped, strip
from replay.joint import decide_flow_both
from replay.kpis import Kpis
from replay.orders import Checked
from replay.specs import SpecPacks
from rules.errors import ArbiterError

METADATA = ("order_id", "as_of")


@functools.cache
def _metadata_to_drop(pack: CompiledPack) -> frozenset[str]:
    declared = {f.name for f in pack.ir.inputs}
    return frozenset(k for k in METADATA if k not in declared)


Admitted = dict[str, Any] | ArbiterError


def admit(pack: CompiledPack, value: Any) -> Admitted:
    """The validated input, or why it is refused; an order the worker decoded for this version is validated already."""
    if value.__class__ is Checked and value.digest == pack.digest:
        return value
    if isinstance(value, dict):  # record metadata, unless the pack itself takes it
        dropped = _metadata_to_drop(pack)
        value = {k: v for k, v in value.items() if k not in dropped}
    value, undeclared = strip(pack, value)
    try:
        valid = pack.validate(value)
    except ArbiterError as exc:
        return exc
    return Stripped(valid, undeclared) if undeclared else valid


def compared(kpis: Kpis) -> Wanted:
    """The outputs a replay reads for every order: the declared ones, else all."""
    return frozenset((kpis.decision or "decision", *kpis.outputs)) if kpis.outputs else None


def outcome(side: SpecPacks, pack: CompiledPack, admitted: Admitted, as_of: dt.date, outputs: Wanted = None,
            kpis: Kpis | None = None) -> dict[str, Any]:
    """What a side decided, in a stable, comparable shape: the decision, the declared outputs (else all), the rows."""
    try:
        if isinstance(admitted, ArbiterError):
            raise admitted
        d = pack.evaluate(admitted, as_of, outputs=outputs, pack_set=side)
    except ArbiterError as exc:
        return shaped(pack, admitted, exc, kpis)
    return shaped(pack, admitted, (d.output, d.matched, d.steps), kpis)


def shaped(pack: CompiledPack, admitted: Admitted, ran: tuple[dict[str, Any], dict[str, list[str]], dict[str, str] | None] | ArbiterError,
           kpis: Kpis | None) -> dict[str, Any]:
    """An outcome of what ``pack`` decided (its output, rows and step versions) or the error it raised."""
    if isinstance(ran, ArbiterError):
        return {"decision": "error", "error": ran.code, "detail": ran.message, "matched": {}}
    out, matched, steps = ran
    kept = kpis.outputs if kpis is not None and kpis.outputs else out
    name = (kpis.decision if kpis is not None else None) or "decision"
    # the rows stay per table (a line-level table lists one row per line): they are named,
    # table:row, only where a report needs them, not for every order
    result: dict[str, Any] = {"decision": out.get(name, "decided"), "matched": matched, "steps": steps}
    if admitted.__class__ is Stripped:  # canonical fields this version does not declare, counted per version
        result["dropped"] = [f"{pack.name}@{pack.version} {f}" for f in admitted.dropped]
    for key in kept:
        if key in out and key != name:
            result[key] = out[key]
    return result


def decide_both(base: SpecPacks, cand: SpecPacks, name: str, value: Any, as_of: dt.date,
                outputs: Wanted = None, kpis: Kpis | None = None, base_version: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides' outcomes for one order; the same root version validates the order once.

    With ``outputs=compared(kpis)`` the decisions leave out what the outcome does not read, so the
    steps' outputs are complete only when deciding in full.
    """
    a_pack, b_pack = base.get(name, base_version), cand.get(name)
    for side in (base, cand):
        side.steps_decided.clear()
        if side.shared is not None:
            side.shared.clear()
    a_input = admit(a_pack, value)
    if b_pack.digest != a_pack.digest:
        return outcome(base, a_pack, a_input, as_of, outputs, kpis), outcome(cand, b_pack, admit(b_pack, value), as_of, outputs, kpis)
    if a_pack.ir.steps and base.shared is not None and base.shared is cand.shared and not isinstance(a_input, ArbiterError):
        a, b = decide_flow_both(a_pack, base, cand, a_input, as_of, outputs)  # one flow version: its code run once for both
        return shaped(a_pack, a_input, a, kpis), shaped(a_pack, a_input, b, kpis)
    return outcome(base, a_pack, a_input, as_of, outputs, kpis), outcome(cand, b_pack, a_input, as_of, outputs, kpis)


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


BOOKKEEPING = ("matched", "steps", "dropped")  # how an outcome came about, not what was decided


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



