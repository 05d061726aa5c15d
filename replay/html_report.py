"""report.html: report.md as a page, with charts (inline SVG, no scripts) showing both sides, or the delta where that is the story."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from replay.formatting import fmt
from replay.markdown import report_md

COLOURS = {"baseline": "#8a9bb0", "candidate": "#d9822b", "changed orders": "#4f7d5c"}
LABEL = 420  # room for a cause's name left of its bar


def bars(title: str, data: dict[str, dict[str, Any]]) -> str:
    """A grouped horizontal bar chart, one bar per series present (a series is a side, or the change)."""
    series = [s for s in data if data[s]]
    keys = list(dict.fromkeys(k for s in series for k in data[s]))
    if not keys:
        return ""
    peak = max([abs(Decimal(str(v))) for s in series for v in data[s].values()] + [Decimal(1)])
    step = 12 * len(series) + 8
    height = step * len(keys) + 40
    parts = [f'<svg viewBox="0 0 960 {height}" width="960" height="{height}" role="img"><title>{html.escape(title)}</title>']
    for i, key in enumerate(keys):
        y = 24 + i * step
        parts.append(f'<text x="{LABEL - 10}" y="{y + 10}" text-anchor="end" font-size="12">{html.escape(str(key))}</text>')
        for j, s in enumerate(series):
            value = Decimal(str(data[s].get(key, 0)))
            width = float(440 * abs(value) / peak)
            parts.append(f'<rect x="{LABEL}" y="{y + j * 12}" width="{width:.1f}" height="10" fill="{COLOURS.get(s, "#888")}"/>')
            parts.append(f'<text x="{LABEL + 5 + width:.1f}" y="{y + j * 12 + 9}" font-size="10">{html.escape(fmt(data[s].get(key, 0)))}</text>')
    legend = "".join(f'<text x="{LABEL + 110 * n}" y="14" font-size="11" fill="{COLOURS.get(s, "#888")}">■ {html.escape(s)}</text>'
                     for n, s in enumerate(series))
    parts.append(legend + "</svg>")
    return "".join(parts)


def charts(s: dict[str, Any]) -> dict[str, str]:
    """Charts placed after the Markdown heading they illustrate."""
    out = {"What changed in the policy": "",
           "Causes": bars("Changed orders by cause", {"changed orders": {c["cause"]: c["orders"] for c in s["causes"][:12]}}),
           "Decisions": bars("Decision mix", s["decision_mix"])}
    money = "".join(bars(f"Value by decision ({cur})", m["totals"]) for cur, m in s["money"].items())
    out["Money, per currency"] = money
    if s["queues"]:
        out["Exception queues"] = bars("Items per day by queue", {side: {q: r[side]["per_day_mean"] for q, r in s["queues"].items()}
                                                                  for side in ("baseline", "candidate")})
    return out


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def markdown_to_html(md: str, after: dict[str, str]) -> str:
    """The subset of Markdown report.md uses: headings, tables, lists, fenced blocks, paragraphs."""
    out: list[str] = []
    lines = md.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = lines.index("```", i + 1)
            out.append("<pre>" + html.escape("\n".join(lines[i + 1:end])) + "</pre>")
            i = end + 1
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            title = line.lstrip("#").strip()
            out.append(f"<h{level}>{_inline(title)}</h{level}>")
            out.append(next((chart for heading, chart in after.items() if title.startswith(heading)), ""))
        elif line.startswith("| "):
            rows = []
            while i < len(lines) and lines[i].startswith("| "):
                rows.append([c.strip() for c in re.split(r"(?<!\\) \| ", lines[i][2:-2])])
                i += 1
            head, body = rows[0], rows[2:]
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c.replace(chr(92) + '|', '|'))}</td>" for c in r) + "</tr>" for r in body)
                       + "</table>")
            continue
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
        i += 1
    return "\n".join(out)


def report_html(s: dict[str, Any]) -> str:
    body = markdown_to_html(report_md(s), charts(s))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Arbiter policy impact</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}
h3{{margin-top:1.6em}}pre{{background:#f5f6f8;padding:.6em;overflow-x:auto}}code{{background:#f5f6f8}}</style></head><body>
{body}
</body></html>
"""
