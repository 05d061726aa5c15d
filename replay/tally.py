"""Counts of a replay, merged chunk by chunk, and the summary they add up to."""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine import jsonio
from replay.decide import decided, fired
from replay.specs import SpecPacks


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



