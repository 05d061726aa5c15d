"""report.md: the impact summary to paste into a pull request."""

from __future__ import annotations

from typing import Any

from replay.formatting import fmt


def report_md(s: dict[str, Any]) -> str:
    decisions = sorted(set(s["decision_mix"]["baseline"]) | set(s["decision_mix"]["candidate"]))
    lines = [
        f"## Policy impact: `{s['candidate']['spec']}` against `{s['baseline']['spec']}`",
        "",
        f"{s['orders']:,} orders replayed through `{s['pack']}`; **{s['changed']:,} ({s['changed_pct']}%) decided differently**.",
        "",
        "| | baseline | candidate | change |",
        "| --- | ---: | ---: | ---: |",
    ]
    for d in decisions:
        a, b = s["decision_mix"]["baseline"].get(d, 0), s["decision_mix"]["candidate"].get(d, 0)
        lines.append(f"| {d} | {a:,} | {b:,} | {b - a:+,} |")
    m = s["money"]
    lines += [
        f"| touchless orders (%) | {s['touchless_pct']['baseline']} | {s['touchless_pct']['candidate']} | |",
        f"| orders with an exception (%) | {s['exception_pct']['baseline']} | {s['exception_pct']['candidate']} | |",
        f"| value of held orders | {fmt(m['held_value']['baseline'])} | {fmt(m['held_value']['candidate'])} | {m['held_value_change']:+,.2f} |",
        f"| released revenue | {fmt(m['released_revenue']['baseline'])} | {fmt(m['released_revenue']['candidate'])} | {m['revenue_change']:+,.2f} |",
        f"| released margin | {fmt(m['released_margin']['baseline'])} | {fmt(m['released_margin']['candidate'])} | {m['margin_change']:+,.2f} |",
        "",
        "### Transitions (baseline → candidate)",
        "",
        "| transition | orders |",
        "| --- | ---: |",
    ]
    lines += [f"| {k.replace('->', ' → ')} | {v:,} |" for k, v in s["transitions"].items()]
    codes = sorted(set(s["exceptions_by_code"]["baseline"]) | set(s["exceptions_by_code"]["candidate"]))
    lines += ["", "### Exceptions routed", "", "| exception | baseline | candidate |", "| --- | ---: | ---: |"]
    lines += [f"| {c} | {s['exceptions_by_code']['baseline'].get(c, 0):,} | {s['exceptions_by_code']['candidate'].get(c, 0):,} |" for c in codes]
    lines += ["", "### Rows behind the changes", ""]
    if s["rows_causing_changes"]:
        lines += ["| row | orders |", "| --- | ---: |"]
        lines += [f"| `{r['row']}` | {r['orders']:,} |" for r in s["rows_causing_changes"][:10]]
    elif s["changed"]:
        lines.append("The same rows fired on both sides: the changes come from computed amounts (prices, totals), not from different rows.")
    else:
        lines.append("No order changed.")
    if s["outputs_changed"]:
        lines += ["", "### Outputs behind the changes", "",
                  "Where the changed orders differ: the flow's outputs, then each step's (`step.output`, `[]` for each line).", "",
                  "| output | orders |", "| --- | ---: |"]
        lines += [f"| `{o['output']}` | {o['orders']:,} |" for o in s["outputs_changed"][:15]]
    if any(s["errors"].values()):
        lines += ["", f"Orders the packs refused as invalid input: baseline {s['errors']['baseline']}, candidate {s['errors']['candidate']}."]
    for side in ("baseline", "candidate"):
        never = s["rows_never_fired"][side]
        lines += ["", f"Rows of the {side} that no order fired ({len(never)}): " + (", ".join(f"`{r}`" for r in never[:30]) or "none")]
    lines += ["", f"Versions: baseline {s['baseline']['versions']}; candidate {s['candidate']['versions']}."]
    return "\n".join(lines) + "\n"



