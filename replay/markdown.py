"""report.md: the impact summary to paste into a pull request (plain Markdown, no Python reprs)."""

from __future__ import annotations

from typing import Any

from replay.formatting import fmt, signed
from replay.text import (
    KIND_WORDS,
    dropped_line,
    enrichment_line,
    production_line,
    refused_line,
    uncompared_words,
    versions_line,
)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"] + ["| " + " | ".join(r) + " |" for r in rows]


def _amounts(amounts: dict[str, Any]) -> str:
    return ", ".join(f"{cur} {signed(v)}" for cur, v in amounts.items()) or "-"


def head(s: dict[str, Any]) -> list[str]:
    lines = [f"## Policy impact: `{s['candidate']['spec']}` against `{s['baseline']['spec']}`", "",
             f"- {versions_line(s, 'baseline')}", f"- {versions_line(s, 'candidate')}",
             f"- effective on {s['effective_on']}: {s['effective_on_reason']}"]
    lines += [f"- **warning:** {w}" for w in s["warnings"]]
    lines += [f"- **{line}**" for side in ("baseline", "candidate") if (line := dropped_line(s, side))]
    if enrichment_line(s):
        lines.append(f"- **{enrichment_line(s)}**")
    if s["logged"]["records"]:
        lines.append(f"- {production_line(s)}")
    if s["logged"]["refused"]:
        lines.append(f"- {refused_line(s)}")
    if s["logged"]["mismatches"]:
        lines += ["", *_table(["order", "logged version", "outputs that differ", "detail"],
                              [[m["order_id"], m["version"], " ".join(m["differs"]), m["detail"]] for m in s["logged"]["mismatches"]])]
    lines += ["", "### What changed in the policy", "", "```", *s["diff"], "```", ""]
    lines.append(f"{fmt(s['orders'])} orders replayed through `{s['pack']}`; {fmt(s['changed'])} ({s['changed_pct']} %) changed"
                 + (f" {uncompared_words(s)}" if s.get("not_compared") else "") + ".")
    lines += ["", *_table(["kind of change", "orders", "share"],
                          [[KIND_WORDS[k], fmt(h["orders"]), f"{h['pct']} %"] for k, h in s["headline"].items()])]
    return lines


def causes(s: dict[str, Any]) -> list[str]:
    lines = ["", "### Causes", "", "Each changed order is credited to the edits that, replayed alone, change it the same way."]
    for c in s["causes"]:
        lines += ["", f"**{c['cause']}**: {fmt(c['orders'])} orders; what it changes alone: " + ", ".join(f"{KIND_WORDS[k]} {fmt(n)}" for k, n in c["kinds"].items())]
        if c["transitions"]:
            lines.append("- decisions: " + ", ".join(f"{t} {fmt(n)}" for t, n in c["transitions"].items()))
        if c["decision_effect"]:
            lines.append("- value of the orders it moved: " + "; ".join(
                f"{t} " + ", ".join(f"{cur} {fmt(v)}" for cur, v in a.items()) for t, a in c["decision_effect"].items()))
        if c["price_effect"]:
            lines.append(f"- price effect (same decision): {_amounts(c['price_effect'])}")
        if c["rows"]:
            lines.append("- rows (baseline -> candidate): " + ", ".join(f"`{r}` {fmt(n)}" for r, n in c["rows"].items()))
        lines.append(f"- examples: {', '.join(c['examples'])}; `{c['command']}`")
    return lines


def money(s: dict[str, Any]) -> list[str]:
    lines = ["", "### Money, per currency", ""]
    for cur, m in s["money"].items():
        decisions = sorted(set(m["totals"]["baseline"]) | set(m["totals"]["candidate"]))
        rows = [[d, fmt(m["totals"]["baseline"].get(d, 0)), fmt(m["totals"]["candidate"].get(d, 0))] for d in decisions]
        rows.append(["all", fmt(m["total"]["baseline"]), fmt(m["total"]["candidate"])])
        lines += [f"**{cur}**: price effect (same decision, amounts moved) {signed(m['price_effect'])}; decision effect (value of the orders "
                  "that moved): " + (", ".join(f"{t} {fmt(v)}" for t, v in m["decision_effect"].items()) or "none"), "",
                  *_table([f"value by decision ({cur})", "baseline", "candidate"], rows), ""]
    return lines


def owners(s: dict[str, Any]) -> list[str]:
    lines = ["### Decisions", "", *_table(["baseline -> candidate", "orders"], [[k.replace("->", " -> "), fmt(v)] for k, v in s["transitions"].items()])]
    if s["hold_code_transitions"]:
        lines += ["", "### Hold codes", "", *_table(["hold code", "orders"], [[k, fmt(v)] for k, v in s["hold_code_transitions"].items()])]
    if s["queues"]:
        rows = [[q, fmt(r["baseline"]["per_day_mean"]), fmt(r["candidate"]["per_day_mean"]), fmt(r["baseline"]["per_day_peak"]),
                 fmt(r["candidate"]["per_day_peak"]), signed(r["items_added"]), signed(r["sla_hours_added"])] for q, r in s["queues"].items()]
        lines += ["", "### Exception queues", "", *_table(["queue", "items/day baseline", "candidate", "peak baseline", "candidate",
                                                            "items added", "SLA-hours added"], rows)]
    if s["approvals"]:
        lines += ["", "### Approvals by approver level", "",
                  *_table(["level", "baseline", "candidate"], [[k, fmt(v["baseline"]), fmt(v["candidate"])] for k, v in s["approvals"].items()])]
    for dim, b in s["breakdowns"].items():
        shown = f" (top {b['shown']} of {fmt(b['values'])})" if b["shown"] < b["values"] else ""
        lines += ["", f"### Changed orders by {dim}{shown}", "",
                  *_table([dim, "orders", "decision", "money", "other"],
                          [[r["value"], fmt(r["orders"]), fmt(r["decision"]), fmt(r["money"]), fmt(r["other"])] for r in b["top"]])]
    return lines


def coverage(s: dict[str, Any]) -> list[str]:
    lines = ["", "### Outputs behind the changes", ""]
    lines += _table(["output", "orders"], [[f"`{o['output']}`", fmt(o["orders"])] for o in s["outputs_changed"]]) if s["outputs_changed"] else ["none"]
    if s["invalid_orders"]:
        lines += ["", f"### Invalid orders ({fmt(len(s['invalid_orders']))})", "",
                  *_table(["order", "side", "error", "where and why"],
                          [[i["order_id"], i["side"], i["error"], i["detail"].replace("|", "\\|")] for i in s["invalid_orders"]])]
    never = s["rows_never_fired"]
    lines += ["", f"### Rows no order fired ({fmt(len(never))})", ""]
    lines += _table(["row", "not fired on"], [[f"`{r['row']}`", r["side"]] for r in never]) if never else ["none"]
    return lines


def report_md(s: dict[str, Any]) -> str:
    return "\n".join([*head(s), *causes(s), *money(s), *owners(s), *coverage(s)]) + "\n"
