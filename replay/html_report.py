"""report.html: the impact summary with charts (inline SVG, no scripts)."""

from __future__ import annotations

import html
from typing import Any

from replay.formatting import fmt


def _bars(title: str, data: dict[str, dict[str, Any]], unit: str = "") -> str:
    """A grouped horizontal bar chart (baseline / candidate) as inline SVG."""
    keys = sorted({k for side in data.values() for k in side})
    peak = max([abs(float(v)) for side in data.values() for v in side.values()] + [1.0])
    height = 26 * len(keys) + 40
    parts = [f'<svg viewBox="0 0 860 {height}" width="860" height="{height}" role="img"><title>{title}</title>']
    colours = {"baseline": "#8a9bb0", "candidate": "#d9822b"}
    for i, key in enumerate(keys):
        y = 20 + i * 26
        parts.append(f'<text x="290" y="{y + 14}" text-anchor="end" font-size="12">{html.escape(str(key))}</text>')
        for j, side in enumerate(("baseline", "candidate")):
            value = data.get(side, {}).get(key, 0)
            width = 440 * abs(float(value)) / peak
            parts.append(f'<rect x="300" y="{y + j * 11}" width="{width:.1f}" height="10" fill="{colours[side]}"/>')
            parts.append(f'<text x="{305 + width:.1f}" y="{y + j * 11 + 9}" font-size="10">{fmt(value)}{unit}</text>')
    parts.append('<text x="300" y="14" font-size="11" fill="#8a9bb0">■ baseline</text>'
                 '<text x="380" y="14" font-size="11" fill="#d9822b">■ candidate</text></svg>')
    return "".join(parts)


def report_html(s: dict[str, Any]) -> str:
    decisions = sorted(set(s["decision_mix"]["baseline"]) | set(s["decision_mix"]["candidate"]))
    matrix = ["<table><tr><th>baseline \\ candidate</th>" + "".join(f"<th>{html.escape(d)}</th>" for d in decisions) + "</tr>"]
    for a in decisions:
        cells = []
        for b in decisions:
            n = s["transitions"].get(f"{a}->{b}", 0)
            if a == b:  # unchanged: grey, however many
                style = "background-color:#eef0f3"
            else:  # a change: the more orders it moves, the deeper the orange
                share = n / max(s["changed"], 1)
                style = f"background-color:rgba(217,130,43,{0.15 + 0.7 * share if n else 0:.2f})"
            cells.append(f'<td style="{style}">{n:,}</td>')
        matrix.append(f"<tr><th>{html.escape(a)}</th>{''.join(cells)}</tr>")
    matrix.append("</table>")
    m = s["money"]
    money = {side: {"held value": m["held_value"][side], "released revenue": m["released_revenue"][side],
                    "released margin": m["released_margin"][side]} for side in ("baseline", "candidate")}
    rates = {side: {"touchless %": s["touchless_pct"][side], "with exception %": s["exception_pct"][side]}
             for side in ("baseline", "candidate")}
    top = {"candidate": {r["row"]: r["orders"] for r in s["rows_causing_changes"][:12]}}
    outputs = {"candidate": {o["output"]: o["orders"] for o in s["outputs_changed"][:12]}}
    never = "".join(f"<h3>{side}: {len(rows)} rows never fired</h3><p>{html.escape(', '.join(rows)) or 'none'}</p>"
                    for side, rows in s["rows_never_fired"].items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Arbiter policy impact</title>
<style>body{{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}h2{{margin-top:1.6em}}</style></head><body>
<h1>Policy impact</h1>
<p><b>{html.escape(s['candidate']['spec'])}</b> against <b>{html.escape(s['baseline']['spec'])}</b>: {s['orders']:,} orders,
<b>{s['changed']:,} ({s['changed_pct']}%)</b> decided differently.</p>
<h2>Decision mix</h2>{_bars("Decision mix", s["decision_mix"])}
<h2>Baseline → candidate</h2>{''.join(matrix)}
<h2>Money</h2>{_bars("Money moved", money)}
<p>Change in held value {m['held_value_change']:+,.2f}; in released revenue {m['revenue_change']:+,.2f}; in released margin {m['margin_change']:+,.2f}.</p>
<h2>Touchless and exception rates</h2>{_bars("Rates", rates, "%")}
<h2>Rows that cause most changes</h2>{_bars("Rows behind the changes", top) if top["candidate"] else "<p>none</p>"}
<h2>Outputs the changed orders differ in</h2>{_bars("Outputs behind the changes", outputs) if outputs["candidate"] else "<p>none</p>"}
<h2>Row coverage on this history</h2>{never}
<p>Decisions: {html.escape(', '.join(decisions))}.</p></body></html>
"""



