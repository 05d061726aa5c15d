"""The terminal summary: versions compared first, then the headline, causes and money."""

from __future__ import annotations

from typing import Any

from replay.formatting import fmt, signed

KIND_WORDS = {"decision": "decision changed", "money": "same decision, money moved", "other": "only rows or other outputs"}


def versions_line(s: dict[str, Any], side: str) -> str:
    """Which versions a side ran and on how many orders: each pack@version that decided orders, then each flow step@version."""
    packs = s[side]["packs"] or {f"{s['pack']}@{s['resolved'][side].get(s['pack'], '?')}": 0}
    runs = [f"{k} ({fmt(n)} orders)" for k, n in packs.items()]
    steps = [f"{k} ({fmt(n)} orders)" for k, n in s[side]["versions"].items()]
    return f"{side:<9} {s[side]['spec']}: {', '.join(runs)}" + (f"; steps {', '.join(steps)}" if steps else "")


def enrichment_line(s: dict[str, Any]) -> str | None:
    """The facts joined into the orders that the history does not record, or None when none were."""
    e = s.get("enrichment")
    if not e:
        return None
    applied = e["applied"]
    return (f"enrichment applied: {e['name']} ({e['file']}, sha256 {e['sha256'][:12]}) changed {fmt(applied['orders'])} orders: "
            f"{fmt(applied['account_on_stop'])} on an account on stop, {fmt(applied['order_block'])} blocked, "
            f"{fmt(applied['override_price'])} lines with a typed price, {fmt(applied['product_group'])} lines with a product group "
            "(stated facts, not history)")


def dropped_line(s: dict[str, Any], side: str) -> str | None:
    """The canonical fields a side's versions do not declare, decided without: per version, each field and its orders."""
    dropped = s[side].get("dropped")
    if not dropped:
        return None
    return (f"{side} decided without canonical fields its versions do not declare: "
            + ", ".join(f"{k} ({fmt(n)} orders)" for k, n in dropped.items()))


def production_line(s: dict[str, Any]) -> str:
    """The decision log's check: does each record's own version still answer what production answered?"""
    logged = s["logged"]
    return (f"production check: {fmt(logged['reproduced'])} of {fmt(logged['records'])} logged outputs reproduced byte for byte"
            + (f"; {fmt(len(logged['mismatches']))} differ" if logged["mismatches"] else ""))


def refused_line(s: dict[str, Any]) -> str:
    """The log's refusals: the service decided nothing, so they are counted, not replayed."""
    refused = s["logged"]["refused"]
    return (f"{fmt(sum(refused.values()))} refused requests in the log, not replayed ("
            + ", ".join(f"{status}: {fmt(n)}" for status, n in refused.items()) + ")")


def uncompared_words(s: dict[str, Any]) -> str:
    """What "changed" counts: the outputs replay.yml compares and rows, not the root's other outputs (named)."""
    return f"in the outputs compared and rows fired (not compared: {', '.join(s['not_compared'])})"


def invalid_line(invalid: list[dict[str, Any]]) -> str:
    """Orders a side could not decide, said on the console too: a file of lines that are not orders is no quiet success."""
    first = invalid[0]
    orders = len({i["order_id"] for i in invalid})
    return (f"warning: {fmt(orders)} order(s) not decided on a side, their input refused (first: {first['order_id']}, "
            f"{first['side']}: {first['error']}: {first['detail']}); report.md lists each")


def summary_lines(s: dict[str, Any]) -> list[str]:
    lines = [versions_line(s, "baseline"), versions_line(s, "candidate"),
             f"effective on {s['effective_on']}: {s['effective_on_reason']}"]
    lines += [f"warning: {w}" for w in s["warnings"]]
    lines += [line for side in ("baseline", "candidate") if (line := dropped_line(s, side))]
    if enrichment_line(s):
        lines.append(f"{enrichment_line(s)}")
    if s["logged"]["records"]:
        lines.append(production_line(s))
    if s["logged"]["refused"]:
        lines.append(refused_line(s))
    if s["invalid_orders"]:
        lines.append(invalid_line(s["invalid_orders"]))
    lines.append(f"{fmt(s['orders'])} orders; {fmt(s['changed'])} ({s['changed_pct']} %) changed"
                 + (f" {uncompared_words(s)}" if s.get("not_compared") else "") + ":")
    for kind, words in KIND_WORDS.items():
        h = s["headline"][kind]
        lines.append(f"  {words:<30}{fmt(h['orders']):>10}  ({h['pct']} %)")
    for c in s["causes"][:5]:
        transitions = ", ".join(f"{t} {fmt(n)}" for t, n in c["transitions"].items())
        price = ", ".join(f"{cur} {signed(v)}" for cur, v in c["price_effect"].items())
        lines.append(f"  cause {c['cause']}: {fmt(c['orders'])} orders" + (f"; {transitions}" if transitions else "")
                     + (f"; price effect {price}" if price else ""))
    for cur, m in s["money"].items():
        lines.append(f"  {cur}: total {fmt(m['total']['baseline'])} -> {fmt(m['total']['candidate'])}; price effect {signed(m['price_effect'])}")
    return lines
