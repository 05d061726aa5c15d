"""Which versions the two sides compare: the date that makes the candidate's new versions live, and a refusal when nothing differs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.registry import PackSet
from replay.attribution import changed_packs, flow_packs
from replay.errors import BadInput
from replay.specs import SpecPacks, effective_date
from rules.errors import ArbiterError


def new_versions(base: PackSet, cand: PackSet) -> list[Any]:
    """The candidate's versions the baseline lacks, or has with other content."""
    known = {(p.name, p.version): p.digest for p in base}
    return [p for p in cand if known.get((p.name, p.version)) != p.digest]


def choose_date(base: PackSet, cand: PackSet, pins: dict[str, str], given: str | None) -> tuple[dt.date, str]:
    """``--effective-on``, else the latest effective_from among the candidate's new versions (pinned ones run anyway)."""
    if given:
        return effective_date(given), "given (--effective-on)"
    dated = [p for p in new_versions(base, cand) if p.ir.effective_from is not None and pins.get(p.name) != p.version]
    if not dated:
        return dt.datetime.now(dt.UTC).date(), "today: the candidate adds or changes no dated version"
    latest = max(dated, key=lambda p: (p.ir.effective_from, p.key))
    names = ", ".join(sorted(p.key for p in dated))
    return latest.ir.effective_from, f"the date {latest.key} takes effect: the latest effective_from among the candidate's new versions ({names})"


def resolved(side: SpecPacks, root: str) -> dict[str, str]:
    """pack -> the version this side runs (a step pinned in the flow may run another)."""
    out = {}
    for name in flow_packs(side, root):
        try:
            out[name] = side.get(name).version
        except ArbiterError as exc:
            out[name] = f"none ({exc.message})"
    return out


def check_sides(base: SpecPacks, cand: SpecPacks, root: str, allow_same: bool) -> None:
    """Refuse to run two sides that resolve to the same versions of every pack."""
    for side, label in ((base, "baseline"), (cand, "candidate")):
        try:
            side.get(root)
        except ArbiterError as exc:
            raise BadInput(f"the {label} has no pack to run: {exc.message}") from None
    if not allow_same and not changed_packs(base, cand, root):
        versions = ", ".join(f"{k}@{v}" for k, v in resolved(base, root).items())
        raise BadInput(f"nothing to compare: both sides run {versions} on {base.effective_on.isoformat()} "
                       "(give --effective-on, pins or --allow-same)")


def unused(t_versions: dict[str, int], roots: dict[str, int], base: SpecPacks, cand: SpecPacks, root: str) -> list[str]:
    """Warnings: a version the candidate changes that decided no order (as the pack replayed, or as a step of it)."""
    warnings = []
    flow = cand.get(root)
    for _, b in changed_packs(base, cand, root):
        steps = [s.id for s in flow.ir.steps if s.pack == b.name]
        ran = roots.get(b.key, 0) + sum(t_versions.get(f"{s}@{b.version}", 0) for s in steps)
        if ran == 0:
            warnings.append(f"candidate version {b.key} ran on no order")
    return warnings
