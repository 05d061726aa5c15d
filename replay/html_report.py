"""report.html: report.md as a page, with charts (inline SVG, no scripts) showing both sides, or the delta where that is the story."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from replay.formatting import fmt
from replay.markdown import report_md
from replay.text import KIND_WORDS

COLOURS = {"baseline": "#8a9bb0", "candidate": "#d9822b", "decision changed": "#b8433a", "same decision, money moved": "#4f7d5c",
           "only rows or other outputs": "#9a8fc0", "change": "#4f7d5c"}
LABEL = 420  # room for a cause's name left of its bar
WIDTH = 440  # the longest bar
LONGEST = 62  # characters of a row's name that fit left of the bars


def _bar(x0: float, y: float, value: Decimal, peak: Decimal, span: float, colour: str, shown: str) -> str:
    """One bar from the zero line (to the left when negative) and its value beside its end; a zero is its value alone."""
    width = span * float(abs(value) / peak)
    left = x0 - width if value < 0 else x0
    end = x0 + 5 if value < 0 else x0 + width + 5  # a negative's value right of the zero line, clear of the row's name
    rect = f'<rect x="{left:.1f}" y="{y}" width="{width:.1f}" height="10" fill="{colour}"/>' if width else ""
    return rect + f'<text x="{end:.1f}" y="{y + 9}" font-size="10">{html.escape(shown)}</text>'


def bars(title: str, data: dict[str, dict[str, Any]], signed: bool = False) -> str:
    """A grouped horizontal bar chart: one bar per series that has the key (a side, or a change), none for a side without it.

    ``signed``: the values are changes, drawn left (down) and right (up) of a zero line with their signs.
    """
    series = [s for s in data if data[s]]
    keys = list(dict.fromkeys(k for s in series for k in data[s]))
    if not keys:
        return ""
    values = {s: {k: Decimal(str(v)) for k, v in data[s].items()} for s in series}
    peak = max([abs(v) for s in series for v in values[s].values()] + [Decimal(1)])
    negative = any(v < 0 for s in series for v in values[s].values())
    x0, span = (LABEL + WIDTH / 2, WIDTH / 2 - 40) if negative else (LABEL, WIDTH)
    step = 12 * len(series) + 8
    height = step * len(keys) + 40
    parts = [f'<svg viewBox="0 0 960 {height}" width="960" height="{height}" role="img"><title>{html.escape(title)}</title>']
    if negative:
        parts.append(f'<line x1="{x0}" y1="20" x2="{x0}" y2="{height - 10}" stroke="#999" stroke-width="1"/>')
    for i, key in enumerate(keys):
        y = 24 + i * step
        name = str(key) if len(str(key)) <= LONGEST else str(key)[:LONGEST - 1] + "…"  # in full in the table below and on hover
        parts.append(f'<text x="{LABEL - 10}" y="{y + 10}" text-anchor="end" font-size="12"><title>{html.escape(str(key))}</title>'
                     f'{html.escape(name)}</text>')
        for j, s in enumerate(series):
            if key in values[s]:
                raw = data[s][key]
                parts.append(_bar(x0, y + j * 12, values[s][key], peak, span, COLOURS.get(s, "#888"), fmt(raw, "+") if signed else fmt(raw)))
    starts = [LABEL + sum(7 * len(x) + 30 for x in series[:n]) for n in range(len(series))]
    legend = "".join(f'<text x="{x}" y="14" font-size="11" fill="{COLOURS.get(s, "#888")}">■ {html.escape(s)}</text>'
                     for x, s in zip(starts, series, strict=True))
    parts.append(f'<text x="{LABEL - 10}" y="14" font-size="11" text-anchor="end" font-weight="bold">{html.escape(title)}</text>'
                 + legend + "</svg>")
    return "".join(parts)


def _sides(rows: dict[str, dict[str, Any]], field: str) -> dict[str, dict[str, Any]]:
    """Both sides of a breakdown, each side only where it has the key (a queue the candidate adds has no baseline bar)."""
    return {side: {k: r[side][field] for k, r in rows.items() if r[side].get("items", 1)} for side in ("baseline", "candidate")}


def _money_charts(s: dict[str, Any]) -> str:
    out = []
    for cur, m in s["money"].items():
        totals = m["totals"]
        out.append(bars(f"Value by decision ({cur})", totals))
        moved = {d: totals["candidate"].get(d, 0) - totals["baseline"].get(d, 0) for d in dict.fromkeys([*totals["baseline"], *totals["candidate"]])}
        out.append(bars(f"Change in value by decision ({cur})", {"change": {d: v for d, v in moved.items() if v}}, signed=True))
        prices = {c["cause"]: c["price_effect"][cur] for c in s["causes"][:12] if c["price_effect"].get(cur)}
        out.append(bars(f"Price effect by cause ({cur}, same decision)", {"change": prices}, signed=True))
    return "".join(out)


def charts(s: dict[str, Any]) -> dict[str, str]:
    """Charts placed after the Markdown heading they illustrate: both sides where both exist, the change where it is the story."""
    kinds = {words: {c["cause"]: c["kinds"][k] for c in s["causes"][:12] if c["kinds"].get(k)} for k, words in KIND_WORDS.items()}
    moves = {k.replace("->", " -> "): n for k, n in s["transitions"].items() if k.split("->")[0] != k.split("->")[1]}
    out = {"What changed in the policy": "",
           "Causes": bars("Changed orders by cause", kinds),
           "Money, per currency": _money_charts(s),
           "Decisions": bars("Decision mix", s["decision_mix"]) + bars("Orders whose decision changed", {"change": moves}),
           "Hold codes": bars("Hold-code transitions", {"change": s["hold_code_transitions"]})}
    if s["queues"]:
        added = {q: r["sla_hours_added"] for q, r in s["queues"].items() if r["sla_hours_added"]}
        out["Exception queues"] = (bars("Items per day by queue", _sides(s["queues"], "per_day_mean"))
                                   + bars("SLA-hours added by queue", {"change": added}, signed=True))
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
