"""A deliberately naive interpreter of random tables: the semantics written out longhand.

It shares nothing with the compiler: cells are structures, not parsed text, and each hit
policy is the plainest loop that states it. Documented null semantics: a test on a null
value is false, except '-'; not(...) negates the test.
"""

from __future__ import annotations

from typing import Any

from tests.strategies import PRIORITY, Cell, RandomTable


class ReferenceError_(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def cell_matches(cell: Cell, value: Any) -> bool:
    if cell.op == "any":
        return True
    if cell.op == "not_in":
        return not any(value == v for v in cell.args)
    if value is None:
        return cell.op == "ne"  # null != k holds: null equals only null
    a = cell.args
    if cell.op == "eq":
        return bool(value == a[0])
    if cell.op == "ne":
        return bool(value != a[0])
    if cell.op == "lt":
        return bool(value < a[0])
    if cell.op == "le":
        return bool(value <= a[0])
    if cell.op == "gt":
        return bool(value > a[0])
    if cell.op == "ge":
        return bool(value >= a[0])
    if cell.op == "between":
        low, high, lc, hc = a
        above = value >= low if lc else value > low
        below = value <= high if hc else value < high
        return bool(above and below)
    if cell.op == "in":
        return value in a
    raise ValueError(cell.op)


def evaluate(table: RandomTable, n: Any, s: Any) -> tuple[Any, list[str]]:
    """(output value, matched row ids), or raises ReferenceError_ with the expected code."""
    hits = [i for i, (cn, cs, _) in enumerate(table.rows) if cell_matches(cn, n) and cell_matches(cs, s)]
    outs = [table.rows[i][2] for i in hits]
    ids = [f"R{i}" for i in hits]
    policy = table.hit_policy
    if policy == "first":
        return (outs[0], ids[:1]) if hits else (None, [])
    if policy == "unique":
        if len(hits) > 1:
            raise ReferenceError_("unique-violated")
        return (outs[0], ids) if hits else (None, [])
    if policy == "any":
        if len(set(outs)) > 1:
            raise ReferenceError_("any-conflict")
        return (outs[0], ids) if hits else (None, [])
    if policy == "priority":
        if not hits:
            return None, []
        best = hits[0]
        for i in hits:
            if PRIORITY.index(table.rows[i][2]) < PRIORITY.index(table.rows[best][2]):
                best = i
        return table.rows[best][2], [f"R{best}"]
    if policy == "output_order":
        ordered = sorted(hits, key=lambda i: PRIORITY.index(table.rows[i][2]))
        return [table.rows[i][2] for i in ordered], [f"R{i}" for i in ordered]
    # collect and rule_order: table order
    agg = table.aggregation
    if agg == "sum":
        return sum(outs), ids
    if agg == "min":
        return (min(outs) if outs else None), ids
    if agg == "max":
        return (max(outs) if outs else None), ids
    if agg == "count":
        return len(outs), ids
    return outs, ids
