"""Why an order changed, in the policy's words: which single edit of the candidate, replayed alone, changes it so.

The semantic diff (``replay.packdiff``) splits each pack the two sides run differently into
edits: a derive, a table, a data set, an output, a flow step. For each edit the baseline is
compiled once more with only that edit taken from the candidate. A changed order is replayed
through those variants (only changed orders: a few in a thousand on a typical change), and
its change is credited to the edits that reproduce it alone: a change of decision to the
edits that change the decision, a change of money to those that move money, the rest to
those that change any output or row. When no edit alone reproduces it, the edits interact
and the order is credited to all of them together. A table edit also says which row fired
before and after, per line, with direction (``QB5 -> QB6``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.compiled import CompiledPack, compile_pack
from replay.decide import admit, decided, outcome
from replay.kpis import Kpis
from replay.packdiff import Edit, apply_edit, diff_packs, dump
from replay.specs import SpecPacks
from rules.errors import ArbiterError
from rules.ir import PackIR
from rules.load import load_text


class Overlay(SpecPacks):
    """One side's packs with one pack swapped for a variant (no compiled pack is changed)."""

    def __init__(self, side: SpecPacks, name: str, pack: CompiledPack) -> None:
        super().__init__(side.packs, side.pins, side.effective_on, None)
        self.name = name
        self.variant = pack

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        if name == self.name:
            return self.variant
        return super().get(name, version, as_of)


@dataclass
class Variant:
    edit: Edit
    side: Overlay


def flow_packs(side: SpecPacks, root: str) -> list[str]:
    """The root pack and the packs its steps run, in evaluation order."""
    pack = side.get(root)
    return list(dict.fromkeys([*(s.pack for s in pack.ir.steps), root]))


def changed_packs(base: SpecPacks, cand: SpecPacks, root: str) -> list[tuple[PackIR, PackIR]]:
    """(baseline, candidate) IR of every pack the two sides run differently."""
    out = []
    for name in dict.fromkeys([*flow_packs(base, root), *flow_packs(cand, root)]):
        try:
            a, b = base.get(name), cand.get(name)
        except ArbiterError:
            continue
        if a.digest != b.digest:
            out.append((a.ir, b.ir))
    return out


def variants(base: SpecPacks, cand: SpecPacks, root: str, cannot: Collection[Edit] = ()) -> tuple[list[Variant], list[Edit]]:
    """The baseline with each separable edit alone; and the edits that cannot be replayed alone.

    ``cannot``: edits already known not to load alone (``replay.handover``), not tried again.
    """
    found = built(base, cand, root, cannot)
    return [Variant(edit, side) for edit, side in found if side is not None], [edit for edit, side in found if side is None]


def built(base: SpecPacks, cand: SpecPacks, root: str, cannot: Collection[Edit] = ()) -> list[tuple[Edit, Overlay | None]]:
    """Each separable edit, in order, with the baseline that takes it alone (None: it does not load alone)."""
    out: list[tuple[Edit, Overlay | None]] = []
    for a, b in changed_packs(base, cand, root):
        for edit in diff_packs(a, b):
            if edit.separable:
                pack = None if edit in cannot else _compile(a, b, edit, base)
                out.append((edit, None if pack is None else Overlay(base, a.name, pack)))
    return out


def _compile(a: PackIR, b: PackIR, edit: Edit, base: SpecPacks) -> CompiledPack | None:
    def resolve(name: str, version: str | None) -> PackIR | None:
        try:
            return base.get(name, version).ir
        except ArbiterError:
            return None

    result = load_text(dump(apply_edit(a, b, edit)), f"{a.path} with {edit.name}", Path(a.path).parent, resolve)
    return None if result.pack is None else compile_pack(result.pack)


ASPECTS = ("decision", "money", "other")


def kind_of(a: dict[str, Any], b: dict[str, Any], kpis: Kpis) -> str:
    """decision (it changed), money (same decision, an amount moved) or other (rows or other outputs only)."""
    return next((aspect for aspect in ASPECTS if _differs(aspect, a, b, kpis)), "other")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _differs(aspect: str, a: dict[str, Any], o: dict[str, Any], kpis: Kpis) -> bool:
    """Whether two outcomes differ in the decision, in a money output, or in anything else (rows, other outputs)."""
    if aspect == "decision":
        return bool(a["decision"] != o["decision"])
    if aspect == "money":
        return any(_text(a.get(m)) != _text(o.get(m)) for m in kpis.money)
    rest = set(kpis.money)
    return a["matched"] != o["matched"] or str({k: v for k, v in decided(a).items() if k not in rest and k != "decision"}) != str(
        {k: v for k, v in decided(o).items() if k not in rest and k != "decision"})


def row_moves(edit: Edit, side: SpecPacks, root: str, a: dict[str, Any], o: dict[str, Any]) -> Counter[str]:
    """For a table edit: which row fired on the baseline and which with the edit, element by element."""
    moves: Counter[str] = Counter()
    if edit.kind != "table":
        return moves
    table = edit.path[-1]
    flow = side.get(root)
    keys = [f"{s.id}.{table}" for s in flow.ir.steps if s.pack == edit.pack] or [table]
    for key in keys:
        before, after = a["matched"].get(key, []), o["matched"].get(key, [])
        if len(before) == len(after):
            moves.update(f"{x} -> {y}" for x, y in zip(before, after, strict=True) if x != y)
        elif before != after:
            moves[f"{' '.join(before) or '(none)'} -> {' '.join(after) or '(none)'}"] += 1
    return moves


@dataclass
class Credit:
    """What one cause did to one order: the aspects of its change it reproduces alone."""

    cause: str
    aspects: tuple[str, ...]
    moves: Counter[str]
    price: Any  # the order's first money output, the edit alone minus the baseline (None when not an amount)

    @property
    def text(self) -> str:
        return f"{self.cause} ({', '.join(self.aspects)})"


def attribute(variants_: list[Variant], alone: list[Edit], root: str, value: Any, as_of: dt.date,
              a: dict[str, Any], b: dict[str, Any], kpis: Kpis) -> list[Credit]:
    """The causes of one changed order, aspect by aspect (``a``, ``b``: the two sides' full outcomes)."""
    present = [aspect for aspect in ASPECTS if _differs(aspect, a, b, kpis)]
    credits = []
    for v in variants_:
        pack = v.side.get(root)
        v.side.steps_decided.clear()  # this order's steps only: a variant lives as long as the worker (it held every one)
        o = outcome(v.side, pack, admit(pack, value), as_of, None, kpis)
        aspects = tuple(aspect for aspect in present if _differs(aspect, a, o, kpis))
        if aspects:
            credits.append(Credit(v.edit.name, aspects, row_moves(v.edit, v.side, root, a, o), _delta(a, o, kpis)))
    unexplained = tuple(aspect for aspect in present if not any(aspect in c.aspects for c in credits))
    if unexplained:
        names = [v.edit.name for v in variants_] + [e.name for e in alone]
        credits.append(Credit(" + ".join(names) + " (together)" if names else "(no separable edit)", unexplained, Counter(), None))
    return credits


def _delta(a: dict[str, Any], o: dict[str, Any], kpis: Kpis) -> Any:
    if not kpis.money:
        return None
    x, y = a.get(kpis.money[0]), o.get(kpis.money[0])
    if x is None or y is None or isinstance(x, bool) or isinstance(y, bool):
        return None
    return y - x
