"""summary.json: what a replay found, in the order a reviewer reads it.

Versions first (per side, which pack versions ran and on how many orders), then the semantic
diff, the headline by kind of change, the causes, money per currency, breakdowns, and the
row coverage. Only plain JSON values: the reports render it, never Python reprs.
"""

from __future__ import annotations

import shlex
from decimal import Decimal
from typing import Any

from replay.tally import KINDS, SIDES, Tally, rate

TOP = 10


def _sorted(counter: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _money(amounts: dict[str, Decimal]) -> dict[str, Decimal]:
    return dict(sorted(amounts.items()))


def causes(t: Tally, command: str) -> list[dict[str, Any]]:
    out = []
    for name, c in sorted(t.causes.items(), key=lambda kv: (-kv[1].orders, kv[0])):
        out.append({"cause": name, "orders": c.orders, "kinds": {k: c.kinds[k] for k in KINDS if c.kinds[k]},
                    "transitions": _sorted(c.transitions), "rows": _sorted(c.rows),
                    "price_effect": _money(c.price),
                    "decision_effect": {t_: _money(v) for t_, v in sorted(c.moved.items())},
                    "examples": c.examples,
                    "command": f"{command} --order-id {shlex.quote(c.examples[0])}" if c.examples else ""})
    return out


def money(t: Tally) -> dict[str, Any]:
    currencies = sorted({c for side in SIDES for c in t.totals[side]} | set(t.price_effect)
                        | {c for v in t.decision_effect.values() for c in v})
    out: dict[str, Any] = {}
    for cur in currencies:
        totals = {side: dict(sorted(t.totals[side].get(cur, {}).items())) for side in SIDES}
        out[cur] = {"totals": totals,
                    "total": {side: sum(totals[side].values(), Decimal(0)) for side in SIDES},
                    "price_effect": t.price_effect.get(cur, Decimal(0)),
                    "decision_effect": {tr: v[cur] for tr, v in sorted(t.decision_effect.items()) if cur in v}}
    return out


def queues(t: Tally) -> dict[str, Any]:
    days = max(len(t.days), 1)
    out: dict[str, Any] = {}
    for queue in sorted({q for side in SIDES for q in t.queue_days[side]}):
        row: dict[str, Any] = {}
        for side in SIDES:
            per_day: dict[str, int] = t.queue_days[side].get(queue, {})
            items = sum(per_day.values())
            row[side] = {"items": items, "per_day_mean": (Decimal(items) / days).quantize(Decimal("0.01")),
                         "per_day_peak": max(per_day.values(), default=0), "sla_hours": t.sla[side][queue]}
        row["items_added"] = row["candidate"]["items"] - row["baseline"]["items"]
        row["sla_hours_added"] = row["candidate"]["sla_hours"] - row["baseline"]["sla_hours"]
        out[queue] = row
    return out


def breakdowns(t: Tally) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dim, values in sorted(t.dimensions.items()):
        ranked = sorted(values.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        out[dim] = {"values": len(ranked), "shown": min(len(ranked), TOP),
                    "top": [{"value": v, "orders": sum(k.values()), **{kind: k[kind] for kind in KINDS}} for v, k in ranked[:TOP]]}
    return out


def never_fired(t: Tally, all_rows: dict[str, list[str]]) -> list[dict[str, str]]:
    """Rows no order fired, one list, each marked with the sides it exists on and did not fire."""
    t.settle()  # a tally never merged still holds the rows both sides fired alike apart
    fired_rows = {side: {f"{table}:{row}" for table, rows in t.fired[side].items() for row in rows} for side in SIDES}
    never = {side: set(all_rows[side]) - fired_rows[side] for side in SIDES}
    rows = sorted(never["baseline"] | never["candidate"])
    return [{"row": r, "side": "both" if r in never["baseline"] and r in never["candidate"]
             else "baseline" if r in never["baseline"] else "candidate"} for r in rows]


def build(t: Tally, compared: dict[str, Any], diff: list[str], all_rows: dict[str, list[str]], command: str) -> dict[str, Any]:
    headline = {kind: {"orders": t.kinds[kind], "pct": rate(t.kinds[kind], t.orders)} for kind in KINDS}
    return {
        "pack": compared["pack"],
        "orders": t.orders,
        **{side: {"spec": compared[side], "packs": dict(sorted(t.roots[side].items())), "versions": t.versions(side),
                  "dropped": dict(sorted(t.dropped[side].items()))} for side in SIDES},
        "effective_on": compared["effective_on"],
        "effective_on_reason": compared["reason"],
        "warnings": compared["warnings"],
        "logged": {"records": t.logged, "reproduced": t.reproduced, "mismatches": t.mismatches, "refused": _sorted(t.refused)},
        "diff": diff,
        "changed": t.changed,
        "changed_pct": rate(t.changed, t.orders),
        "headline": headline,
        "causes": causes(t, command),
        "decision_mix": {side: dict(sorted(t.mix[side].items())) for side in SIDES},
        "transitions": {f"{a}->{b}": n for (a, b), n in sorted(t.transitions.items())},
        "money": money(t),
        "hold_code_transitions": _sorted(t.hold_codes),
        "queues": queues(t),
        "approvals": {level: {side: t.approvals[side][level] for side in SIDES}
                      for level in sorted(t.approvals["baseline"].keys() | t.approvals["candidate"].keys())},
        "breakdowns": breakdowns(t),
        "errors": {side: dict(sorted(t.errors[side].items())) for side in SIDES},
        "invalid_orders": t.invalid,
        "rows_causing_changes": [{"row": r, "fired_only_on": side, "orders": n}
                                 for (side, r), n in sorted(t.change_rows.items(), key=lambda kv: (-kv[1], kv[0]))],
        "outputs_changed": [{"output": f, "orders": n} for f, n in sorted(t.changed_outputs.items(), key=lambda kv: (-kv[1], kv[0]))],
        "rows_never_fired": never_fired(t, all_rows),
    }
