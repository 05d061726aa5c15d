"""Hypothesis strategies, all in one place: inputs from a pack's schema, random tables, hostile JSON."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from engine.search import inputs_for, object_for, value_for
from importers.jdm_types import BOOLEAN, DATE, NUMBER, STRING, ListOf, ObjectOf
from rules import temporal

__all__ = ["analysable_packs", "decided_values", "declaration_edits", "inputs_for", "jdm_requests", "jdm_spoiled_requests",
           "json_number_texts", "json_values",
           "jsonl_files", "metric_events", "object_for", "one_edit_versions", "outcome_pairs", "pricing_edits", "pricing_inputs",
           "random_tables", "table_inputs", "temporal_values", "value_for", "version_pins"]

# Values a decision input may hold, valid or not: what a careless or hostile client sends.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "2026-02-30", "A", "release", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


# JSON numbers as a file spells them: every form the grammar allows (a sign, leading "0.", exponents of either case and
# sign, trailing zeros, -0) and integers past 64 bits. A decoder must read each from its text, never through a float.
json_number_texts = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.builds(lambda sign, whole, fraction, exponent: f"{sign}{whole}{'.' + fraction if fraction else ''}{exponent}",
              st.sampled_from(["", "-"]), st.integers(min_value=0, max_value=10**20).map(str),
              st.text("0123456789", max_size=12), st.sampled_from(["", "e2", "E-7", "e+3", "e0", "E40", "e-40", "e-2"])),
    st.sampled_from(["-0", "-0.0", "0.10", "1e2", "1E2", "0e0", "2.50", "1.000", "123456789012345678901234567890"]),
)

# What a server's workers count: (worker, event) pairs. Latencies are multiples of 1/1024 s, so
# their sums are exact in any order and a split count renders to the same text.
_packs = st.tuples(st.sampled_from(["credit", "pricing", "unknown"]), st.sampled_from(["1.0.0", "1.1.0", ""]))
metric_events = st.lists(st.tuples(st.integers(min_value=0, max_value=3), st.one_of(
    st.tuples(st.just("observe"), st.sampled_from(["decide", "batch"]), _packs, st.sampled_from([200, 404, 422]),
              st.integers(min_value=0, max_value=4096).map(lambda k: k / 1024)),
    st.tuples(st.just("decision"), _packs, st.sampled_from(["release", "hold", "reject", "decided"])),
    st.tuples(st.just("reload"), st.sampled_from(["ok", "failed"])),
)), max_size=60)


# Random decision tables, with cells kept as structures so a reference can evaluate them
# without the parser or the code generator.


@dataclass(frozen=True)
class Cell:
    op: str  # any, eq, ne, lt, le, gt, ge, between, in, not_in
    args: tuple[Any, ...] = ()

    def text(self) -> str:
        a = self.args
        if self.op == "any":
            return "-"
        if self.op == "eq":
            return _lit(a[0])
        if self.op in ("ne", "lt", "le", "gt", "ge"):
            sym = {"ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[self.op]
            return f"{sym} {_lit(a[0])}"
        if self.op == "between":
            low, high, lc, hc = a
            return f"{'[' if lc else '('}{_lit(low)}..{_lit(high)}{']' if hc else ')'}"
        if self.op == "in":
            return ", ".join(_lit(v) for v in a)
        return "not(" + ", ".join(_lit(v) for v in a) + ")"


def _lit(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


NUMBERS = st.integers(min_value=-3, max_value=12)
LETTERS = ("a", "b", "c")


def number_cells() -> st.SearchStrategy[Cell]:
    return st.one_of(
        st.just(Cell("any")),
        NUMBERS.map(lambda n: Cell("eq", (n,))),
        st.tuples(st.sampled_from(["ne", "lt", "le", "gt", "ge"]), NUMBERS).map(lambda t: Cell(t[0], (t[1],))),
        st.tuples(NUMBERS, NUMBERS, st.booleans(), st.booleans()).map(
            lambda t: Cell("between", (min(t[0], t[1]), max(t[0], t[1]), t[2], t[3]))
        ),
        st.lists(NUMBERS, min_size=1, max_size=3).map(lambda v: Cell("not_in", tuple(v))),
    )


def letter_cells() -> st.SearchStrategy[Cell]:
    return st.one_of(
        st.just(Cell("any")),
        st.sampled_from(LETTERS).map(lambda v: Cell("eq", (v,))),
        st.lists(st.sampled_from(LETTERS), min_size=1, max_size=2, unique=True).map(lambda v: Cell("in", tuple(v))),
        st.lists(st.sampled_from(LETTERS), min_size=1, max_size=2, unique=True).map(lambda v: Cell("not_in", tuple(v))),
    )


PRIORITY = ("high", "mid", "low")  # declared order: high wins


@dataclass(frozen=True)
class RandomTable:
    hit_policy: str
    aggregation: str | None
    rows: tuple[tuple[Cell, Cell, Any], ...]  # (cell on n, cell on s, output)

    def pack_yaml(self) -> str:
        numeric = self.aggregation in ("sum", "min", "max", "count")
        ranked = self.hit_policy in ("priority", "output_order")
        if ranked:
            out_type = "{type: enum, values: [high, mid, low]}"
        elif numeric:
            out_type = "{type: integer}" if self.aggregation == "count" else "{type: decimal}"
        else:
            out_type = "{type: integer}"
        if self.hit_policy in ("collect", "rule_order", "output_order") and self.aggregation in (None, "list"):
            out_spec = "{type: list, of: string}" if ranked else "{type: list, of: integer}"
        else:
            out_spec = out_type.replace("}", ", optional: true}") if self.aggregation not in ("sum", "count") else out_type
        lines = [
            "pack: random", "version: 1.0.0", "description: generated", "owner: tests",
            "inputs:", "  n: {type: integer, optional: true}", "  s: {type: enum, values: [a, b, c], optional: true}",
            "tables:", "  - id: t", f"    hit_policy: {self.hit_policy}",
        ]
        if self.aggregation is not None:
            lines.append(f"    aggregation: {self.aggregation}")
        lines += ["    inputs: [n, s]", "    outputs: [out]"]
        if ranked:
            lines.append("    output_values: {out: [high, mid, low]}")
        lines.append("    rows:")
        for i, (cn, cs, out) in enumerate(self.rows):
            when = ", ".join(f"{k}: '{c.text()}'" for k, c in (("n", cn), ("s", cs)) if c.op != "any")
            lines.append(f"      - {{id: R{i}, when: {{{when}}}, then: {{out: {out}}}}}")
        lines += ["outputs:", f"  out: {out_spec}"]
        return "\n".join(lines) + "\n"


@st.composite
def random_tables(draw: st.DrawFn) -> RandomTable:
    policy = draw(st.sampled_from(["first", "unique", "priority", "any", "collect", "rule_order", "output_order"]))
    aggregation = draw(st.sampled_from([None, "sum", "min", "max", "count"])) if policy == "collect" else None
    ranked = policy in ("priority", "output_order")
    outputs = st.sampled_from(PRIORITY) if ranked else st.integers(min_value=0, max_value=3)
    rows = draw(st.lists(st.tuples(number_cells(), letter_cells(), outputs), min_size=1, max_size=7))
    return RandomTable(policy, aggregation, tuple(rows))


table_inputs = st.fixed_dictionaries({
    "n": st.one_of(st.none(), st.integers(min_value=-4, max_value=13)),
    "s": st.one_of(st.none(), st.sampled_from(LETTERS)),
})


# Requests for converted JDM graphs: drawn from the schema the importer inferred, with the
# graph's own literals and example values weighted in so that rows other than the
# catch-all are reached.


def _graph_literals(graph: dict[str, Any]) -> tuple[list[Decimal], list[str]]:
    numbers: set[Decimal] = set()
    strings: set[str] = set()
    for node in graph.get("nodes", []):
        text = json.dumps(node.get("content") or {})
        for match in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", text):
            value = Decimal(match)
            numbers.update({value, value - 1, value + 1, value - Decimal("0.01"), value + Decimal("0.01")})
        strings.update(re.findall(r"\\?'([^'\\]{1,40})\\?'", text))
        strings.update(re.findall(r'\\"([^"\\]{1,40})\\"', text))
    return sorted(n for n in numbers if abs(n) < 10**9), sorted(strings)


def jdm_requests(converted: Any, graph: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Requests for a converted graph: every field the pack declares, none left out."""
    numbers, strings = _graph_literals(graph)
    examples: dict[str, list[Any]] = {}

    def collect(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                collect(v, f"{path}.{k}" if path else k)
        elif isinstance(value, list):
            for v in value:
                collect(v, path + "[]")
        elif value is not None:
            examples.setdefault(path, []).append(value)

    for case in graph.get("tests") or []:
        collect(case.get("input"), "")

    def build(t: Any, path: str) -> st.SearchStrategy[Any]:
        seen = examples.get(path, [])
        if isinstance(t, ObjectOf):
            return st.fixed_dictionaries({k: build(sub, f"{path}.{k}" if path else k) for k, sub in t.fields})
        if isinstance(t, ListOf):
            return st.lists(build(t.item, path + "[]"), max_size=4)
        if t == NUMBER:
            pool = sorted({Decimal(str(v)) for v in seen} | set(numbers))
            return st.one_of(st.sampled_from(pool), st.decimals(min_value=-1000, max_value=100000, places=2)) if pool \
                else st.decimals(min_value=-1000, max_value=100000, places=2)
        if t == STRING:
            pool_s = sorted({str(v) for v in seen} | set(strings))
            return st.one_of(st.sampled_from(pool_s), st.text(max_size=8)) if pool_s else st.text(max_size=8)
        if t == BOOLEAN:
            return st.booleans()
        if t == DATE:
            return st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2030, 12, 31)).map(dt.date.isoformat)
        return st.none()

    # the examples with exact decimals, copied per draw since a draw changes its copy
    bases = [json.loads(json.dumps(case["input"]), parse_float=Decimal)
             for case in graph.get("tests") or [] if isinstance(case.get("input"), dict)] or [{}]
    some_example = st.sampled_from(bases).map(copy.deepcopy)
    leaves: list[tuple[tuple[str, ...], Any]] = []

    def walk(t: Any, path: tuple[str, ...]) -> None:
        if isinstance(t, ObjectOf):
            for k, sub in t.fields:
                walk(sub, (*path, k))
        else:
            leaves.append((path, t))

    walk(converted.schema, ())
    fresh = build(converted.schema, "")

    @st.composite
    def one_field_changed(draw: st.DrawFn) -> dict[str, Any]:
        request = draw(some_example)
        if not leaves:
            return request
        path, t = draw(st.sampled_from(leaves))
        target = request
        for part in path[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[path[-1]] = draw(build(t, ".".join(path)))
        return request

    @st.composite
    def all_fields_drawn(draw: st.DrawFn) -> Any:
        # the example keeps the fields the graph does not read (zen may require them)
        return _overlay(draw(some_example), draw(fresh))

    return st.one_of(one_field_changed(), all_fields_drawn())


def _overlay(base: Any, drawn: Any) -> Any:
    if isinstance(base, dict) and isinstance(drawn, dict):
        for k, v in drawn.items():
            base[k] = _overlay(base.get(k), v)
        return base
    return drawn


def jdm_spoiled_requests(converted: Any, graph: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Requests for a converted graph, some spoiled: a value of the wrong kind at any depth, an extra field, not an object."""

    def spoil(request: Any, where: int, junk: Any) -> Any:
        containers = [request]
        for c in containers:
            containers.extend(v for v in (c.values() if isinstance(c, dict) else c) if isinstance(v, (dict, list)))
        target = containers[where % len(containers)]
        if isinstance(target, dict) and target:
            target[sorted(target)[where % len(target)]] = junk
        elif isinstance(target, list) and target:
            target[where % len(target)] = junk
        else:
            containers[0]["undeclared"] = junk
        return request

    junk = st.one_of(json_values, st.just(1.5), st.just(Decimal("NaN")), st.just({}), st.just([]))
    spoiled = st.builds(spoil, jdm_requests(converted, graph), st.integers(min_value=0, max_value=50), junk)
    return st.one_of(jdm_requests(converted, graph), spoiled, json_values)


# Whole decision packs for `arbiter check`'s soundness property: tables over declared inputs, a
# derived column, every hit policy, sometimes a line-level table. Bounds are small so that
# gaps, overlaps and dead rows are common, and decimals sit between the whole numbers.

_BOUNDS = st.sampled_from([0, 5, 10, Decimal("10.5"), 20])
_OUTPUT_VALUES = ["p", "q", "r"]


def _number_cell(draw: st.DrawFn) -> str:
    op = draw(st.sampled_from(["-", "<", "<=", ">", ">=", "=", "!=", "[]", "[)"]))
    k = draw(_BOUNDS)
    if op == "-":
        return "-"
    if op == "=":
        return str(k)
    if op in ("[]", "[)"):
        high = draw(_BOUNDS)
        low, high = min(k, high), max(k, high)
        return f"[{low}..{high}{op[1]}"
    return f"{op} {k}"


def _cell(draw: st.DrawFn, kind: str) -> Any:
    if kind == "boolean":
        return draw(st.sampled_from(["-", True, False]))
    if kind == "enum":
        return draw(st.sampled_from(["-", "A", '"A", "B"', 'not("C")', '!= "B"']))
    return _number_cell(draw)


def _table(draw: st.DrawFn, ident: str, columns: dict[str, str], output: str) -> dict[str, Any]:
    policy = draw(st.sampled_from(["first", "unique", "any", "priority", "collect"]))
    used = draw(st.lists(st.sampled_from(sorted(columns)), min_size=1, max_size=3, unique=True))
    rows = []
    for r in range(draw(st.integers(min_value=1, max_value=4))):
        when = {c: _cell(draw, columns[c]) for c in used if draw(st.booleans())}
        rows.append({"id": f"{ident}_{r}", "when": when, "then": {output: draw(st.sampled_from(_OUTPUT_VALUES))}})
    table: dict[str, Any] = {"id": ident, "hit_policy": policy, "inputs": used, "outputs": [output], "rows": rows}
    if policy != "collect" and draw(st.integers(min_value=0, max_value=4)) == 0:
        table["default"] = {output: "p"}
    return table


@st.composite
def analysable_packs(draw: st.DrawFn) -> dict[str, Any]:
    """A pack document (as YAML data) whose tables `arbiter check` should decide exactly."""
    inputs: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for i, kind in enumerate(draw(st.lists(st.sampled_from(["integer", "money", "enum", "boolean"]), min_size=1, max_size=3))):
        spec: dict[str, Any] = {"type": kind}
        if kind in ("integer", "money"):
            spec.update(min=0, max=20)
        if kind == "enum":
            spec["values"] = ["A", "B", "C"]
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            spec["optional"] = True
        inputs[f"x{i}"] = spec
        kinds[f"x{i}"] = "number" if kind in ("integer", "money") else kind
    numeric = [n for n, k in kinds.items() if k == "number" and not inputs[n].get("optional")]
    derive = {}
    if numeric and draw(st.booleans()):
        a, b = draw(st.sampled_from(numeric)), draw(st.sampled_from(numeric))
        derive["d0"] = draw(st.sampled_from([f"{a} + {b}", f"{a} * 2 - {b}", f"if {a} > 10 then {b} else {a} + 1"]))
        kinds["d0"] = "number"
    doc: dict[str, Any] = {"pack": "generated", "version": "1.0.0", "description": "generated", "owner": "tests",
                           "inputs": inputs, "derive": derive, "tables": [], "outputs": {}}
    for t in range(draw(st.integers(min_value=1, max_value=2))):
        table = _table(draw, f"t{t}", kinds, f"o{t}")
        doc["tables"].append(table)
        collect = table["hit_policy"] == "collect"
        doc["outputs"][f"o{t}"] = ({"type": "list", "of": "string"} if collect else
                                   {"type": "enum", "values": _OUTPUT_VALUES, "optional": draw(st.booleans())})
    if draw(st.booleans()):
        _line_level(draw, doc)
    return doc


def _line_level(draw: st.DrawFn, doc: dict[str, Any]) -> None:
    doc["inputs"]["lines"] = {"type": "list", "max_items": 3, "items": {
        "n": {"type": "integer", "min": 0, "max": 20}, "m": {"type": "money", "min": 0, "max": 20}}}
    kinds = {"n": "number", "m": "number", "v": "number"}
    table = _table(draw, "line", kinds, "band")
    if table["hit_policy"] == "collect":
        table["hit_policy"] = "first"
    table["output_values"] = {"band": list(_OUTPUT_VALUES)}  # a per-element value has no declared enum
    table.pop("default", None)  # its type is its rows' values: a default outside them is a type error
    doc["for_each"] = [{"id": "priced", "over": "lines", "derive": {"v": "n + m * 2"}, "tables": [table], "keep": ["band"]}]
    doc["rollup"] = {"banded": "count(priced as l, l.band = null)"}
    doc["outputs"]["banded"] = {"type": "integer"}
# Two versions of a small pack that differ in exactly one thing: a derive, one row, one data value, or one parameter.
TOY_PACK = """pack: toy
version: 1.0.0
description: a score from quantity and tier, banded
owner: tests
effective_from: 2026-01-01
params:
  bonus: {{type: integer, value: {bonus}, description: points every order scores}}
inputs:
  qty: {{type: integer}}
  tier: {{type: enum, values: [A, B, C]}}
data:
  rates:
    key: [tier]
    columns: {{tier: string, rate: decimal}}
    rows: [[A, {rate_a}], [B, {rate_b}], [C, {rate_c}]]
derive:
  rate: coalesce(lookup(rates, "rate", tier), 0)
  score: qty * {weight} + rate + bonus
tables:
  - id: band
    hit_policy: first
    inputs: [score]
    outputs: [decision, band]
    rows:
      - {{id: R1, when: {{score: ">= {high}"}}, then: {{decision: hold, band: high}}}}
      - {{id: R2, when: {{score: ">= {mid}"}}, then: {{decision: release, band: mid}}}}
      - {{id: R3, then: {{decision: release, band: low}}}}
outputs:
  decision: {{type: enum, values: [hold, release]}}
  band: {{type: string}}
  score: {{type: decimal, value: score}}
"""


@st.composite
def one_edit_versions(draw: st.DrawFn) -> tuple[str, str, str, list[dict[str, Any]]]:
    """(baseline text, candidate text, the edit's name as the diff gives it, orders) for the toy pack."""
    params = {"rate_a": draw(st.integers(0, 5)), "rate_b": draw(st.integers(0, 5)), "rate_c": draw(st.integers(0, 5)),
              "weight": draw(st.integers(1, 4)), "mid": draw(st.integers(5, 30))}
    params["high"] = params["mid"] + draw(st.integers(1, 30))
    params["bonus"] = draw(st.integers(0, 5))
    kind = draw(st.sampled_from(["derive", "row", "data", "param"]))
    changed = dict(params)
    if kind == "derive":
        changed["weight"] = params["weight"] + draw(st.integers(1, 3))
        name = "toy: derive score"
    elif kind == "row":
        changed["high"] = params["high"] + draw(st.integers(-params["high"] + params["mid"] + 1, 20).filter(lambda d: d != 0))
        name = "toy: table band"
    elif kind == "param":
        changed["bonus"] = params["bonus"] + draw(st.integers(1, 10))
        name = f"toy: param bonus {params['bonus']} -> {changed['bonus']}"
    else:
        tier = draw(st.sampled_from(["rate_a", "rate_b", "rate_c"]))
        changed[tier] = params[tier] + draw(st.integers(1, 20))
        name = "toy: data rates"
    orders = draw(st.lists(st.fixed_dictionaries({"qty": st.integers(0, 25), "tier": st.sampled_from(["A", "B", "C"])}),
                           min_size=5, max_size=30))
    return TOY_PACK.format(**params), TOY_PACK.format(**changed), name, orders

def _declared_otherwise(text: str, kind: str, n: int) -> str:
    """The toy pack's text with one input declared otherwise: added (and read), given a default, bounded, added unread."""
    if kind == "added":
        return text.replace("inputs:\n", f"inputs:\n  extra: {{type: integer, optional: true, default: {n}}}\n").replace(
            "+ bonus\n", "+ bonus + extra\n")
    if kind == "default":
        return text.replace("values: [A, B, C]}", f"values: [A, B, C], optional: true, default: {'ABC'[n % 3]}}}")
    if kind == "bound":
        return text.replace("qty: {type: integer}", f"qty: {{type: integer, min: {n - 3}}}")
    if kind == "unread":
        return text.replace("inputs:\n", "inputs:\n  note: {type: string, optional: true, max_length: 3}\n")
    return text.replace("inputs:\n", "inputs:\n  extras: {type: list, of: integer, optional: true}\n")  # listed


@st.composite
def declaration_edits(draw: st.DrawFn) -> tuple[str, str, bool, list[dict[str, Any]]]:
    """(baseline text, candidate text, whether the candidate declares a list otherwise, orders): the toy pack, its inputs
    declared otherwise on either side (a default at another scale on both), and orders that give, omit, null or spoil each input."""
    params = {"rate_a": draw(st.integers(0, 5)), "rate_b": draw(st.integers(0, 5)), "rate_c": draw(st.integers(0, 5)),
              "weight": draw(st.integers(1, 4)), "mid": draw(st.integers(5, 30)), "bonus": draw(st.integers(0, 5))}
    params["high"] = params["mid"] + draw(st.integers(1, 30))
    texts = [TOY_PACK.format(**params)] * 2
    listed = False
    for kind in draw(st.lists(st.sampled_from(["added", "default", "bound", "unread", "listed"]), min_size=1, max_size=3, unique=True)):
        side = draw(st.integers(0, 1))
        texts[side] = _declared_otherwise(texts[side], kind, draw(st.integers(0, 3)))
        listed |= kind == "listed" and side == 1
    if draw(st.booleans()):  # one default, spelled at another scale or type on each side: equal by ==, not once validated
        defaults = draw(st.sampled_from([("1.0", "1.00"), ("1", "1.0"), ("0.5", "0.50"), ("2.50", "2.5")]))
        texts = [text.replace("inputs:\n", f"inputs:\n  scale: {{type: decimal, optional: true, default: {default}}}\n", 1)
                 .replace("+ bonus", "+ bonus + scale", 1) for text, default in zip(texts, defaults, strict=True)]
    orders = draw(st.lists(st.fixed_dictionaries({"qty": st.integers(-5, 25)}, optional={
        "tier": st.sampled_from(["A", "B", "C", None, "Z"]), "extra": st.one_of(st.none(), st.integers(-2, 5), st.just("x")),
        "scale": st.sampled_from([None, Decimal("0.10"), 3]),
        "note": st.sampled_from(["", "ab", "abcd"]), "extras": st.lists(st.integers(0, 3), max_size=2)}), min_size=5, max_size=20))
    return texts[0], texts[1], listed, orders


# One value of pricing 1.0.0 each (its text, then what it may become): a candidate that differs from it in that alone.
PRICING_EDITS = {
    "ceiling": ("discount_pct: min(requested_pct, 30)", "discount_pct: min(requested_pct, {n})"),
    "break": ('quantity: ">= 1000"', 'quantity: ">= {n}0"'),
    "promotion": ("[GADGET-02, 10, 2026-01-01, 2026-12-31]", "[GADGET-02, {n}, 2026-0{m}-01, 2026-12-31]"),
    "group": ("[wholesale, 10]", "[wholesale, {n}]"),
    "floor": ("unit_cost * 110 / 100", "unit_cost * 1{n} / 100"),
    "freight": ("then: {freight: 12.50,", "then: {freight: {n}.50,"),
    "reason": ('reason: "The price list\'s price."', 'reason: "The list price ({n})."'),
}


@st.composite
def pricing_edits(draw: st.DrawFn) -> tuple[str, str]:
    """(the edit's name, pricing 1.0.0's text with that one value changed) for a candidate beside pricing 1.0.0."""
    from tests.conftest import PACKS

    name = draw(st.sampled_from(sorted(PRICING_EDITS)))
    old, new = PRICING_EDITS[name]
    text = (PACKS / "pricing" / "1.0.0.yaml").read_text()
    assert text.count(old) == 1, old
    value = new.replace("{n}", str(draw(st.integers(10, 40)))).replace("{m}", str(draw(st.integers(2, 9))))
    return name, text.replace(old, value).replace("version: 1.0.0", "version: 1.0.1")


_PRICING_LINES = st.fixed_dictionaries({
    "line_no": st.integers(1, 9), "sku": st.sampled_from(["WIDGET-01", "GADGET-02", "BOLT-03", "NUT-04", "PIN-05"]),
    "quantity": st.one_of(st.integers(-5, 30), st.sampled_from([24, 99, 100, 499, 500, 999, 1000, 1200])),
    "list_price": st.decimals(0, 500, places=2), "unit_cost": st.decimals(0, 300, places=2),
}, optional={"description": st.just("a line the pricing step does not read")})
pricing_inputs = st.fixed_dictionaries({
    "customer_id": st.sampled_from(["C100", "C200", "C999"]), "price_group": st.sampled_from(["list", "wholesale", "distributor"]),
    "currency": st.sampled_from(["GBP", "EUR", "USD", "JPY"]), "ship_zone": st.sampled_from(["domestic", "eu", "international"]),
    "lines": st.lists(_PRICING_LINES, max_size=6),
})

# What a decision's outputs hold: exact decimals (any exponent), whole numbers, dates, text, and lists and
# objects of them, keyed by the names a pack gives its outputs.
decided_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
              st.decimals(allow_nan=False, allow_infinity=False), st.dates(), st.text(max_size=10)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True), children, max_size=4),
    max_leaves=15,
)


# A replayed order's two outcomes (replay.decide.outcome): mostly alike, as on a real replay, else apart by
# one edit a byte-level comparison must see (a decimal's scale, 1 for Decimal(1), a row, a key) or one it must not.
_amounts = st.one_of(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
                     st.integers(-5, 5), st.none(), st.booleans())
_queue_items = st.lists(st.fixed_dictionaries({"queue": st.sampled_from(["credit", "stock"]),
                                               "sla_hours": st.one_of(st.none(), st.integers(0, 48))}), max_size=2)


@st.composite
def _outcomes(draw: st.DrawFn) -> dict[str, Any]:
    decision = draw(st.sampled_from(["release", "hold", "error"]))
    tables = st.dictionaries(st.sampled_from(["pricing.freight", "pricing.break", "credit.decision"]),
                             st.lists(st.sampled_from(["R1", "R2", "R3"]), max_size=3), max_size=3)
    out: dict[str, Any] = {"decision": decision, "matched": draw(tables)}
    if decision == "error":
        return {**out, "error": draw(st.sampled_from(["invalid_input", "no_version"])), "detail": draw(st.text(max_size=5))}
    if draw(st.booleans()):
        out["steps"] = draw(st.dictionaries(st.sampled_from(["pricing", "credit"]), st.sampled_from(["1.0.0", "2.0.0"]), min_size=1))
    if draw(st.integers(0, 4)) == 0:
        out["dropped"] = draw(st.lists(st.sampled_from(["pricing@1.0.0 channel", "credit@1.1.0 note"]), min_size=1, max_size=2))
    out["order_total"] = draw(_amounts)
    out["hold_reasons"] = draw(st.lists(st.sampled_from(["margin", "credit"]), max_size=2))
    out["exceptions"] = draw(_queue_items)
    out["approver_level"] = draw(st.sampled_from(["none", "manager", None]))
    out["other"] = draw(decided_values)
    return out


def _twin(draw: st.DrawFn, a: dict[str, Any]) -> dict[str, Any]:
    """``a`` again with at most one edit, the values shared or copied."""
    b = copy.deepcopy(a) if draw(st.booleans()) else dict(a)
    edit = draw(st.sampled_from(["none", "scale", "int", "value", "drop", "move", "steps"]))
    numbers = sorted(k for k, v in b.items() if isinstance(v, Decimal | int) and not isinstance(v, bool))
    key = draw(st.sampled_from(numbers if numbers and edit in ("scale", "int") else sorted(b)))
    x = b[key]
    if edit == "scale" and isinstance(x, Decimal):
        b[key] = x.quantize(Decimal("0.001"))  # equal, written with another digit
    elif edit == "int" and isinstance(x, Decimal | int) and not isinstance(x, bool) and x == int(x):
        b[key] = int(x) if isinstance(x, Decimal) else Decimal(x)  # equal, written alike or not
    elif edit == "value" and key in ("order_total", "hold_reasons", "other"):
        b[key] = draw(decided_values)
    elif edit == "value" and key == "decision":
        b[key] = draw(st.sampled_from(["release", "hold"]))
    elif edit == "drop" and key in ("order_total", "hold_reasons", "other", "steps", "dropped"):
        del b[key]
    elif edit == "move":
        b[key] = b.pop(key)  # the same keys in another order: written differently unless it is bookkeeping
    elif edit == "steps":
        b["steps"] = {"pricing": "9.9.9"}
    return b


@st.composite
def outcome_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(baseline, candidate) outcomes of one order, alike but for at most one edit, or drawn apart."""
    a = draw(_outcomes())
    return a, draw(_outcomes()) if draw(st.integers(0, 5)) == 0 else _twin(draw, a)


HOSTILE_PACK = """pack: hostile
version: 1.0.0
description: {description}
owner: faults
inputs:
  a: {{type: integer, min: 0, max: {bound}}}
outputs:
  r: {{type: integer}}
derive:
  s: {expression}
tables:
  - id: t
    hit_policy: first
    inputs: [a]
    outputs: [r]
    rows:
      - id: r1
        when: {{a: ">= 0"}}
        then: {{r: "= s"}}
{extra}"""


@st.composite
def hostile_packs(draw: st.DrawFn) -> str:
    """A pack text with one hostile part: a huge literal, deep nesting, a long chain, or an exponent trick."""
    digits = draw(st.integers(1, 6000))
    exponent = draw(st.integers(-(10**12), 10**12))
    parts = {"description": "x", "bound": "10", "expression": "a", "extra": ""}
    kind = draw(st.sampled_from(["literal", "bound-exponent", "nesting", "chain", "expression-literal", "squaring",
                                 "description"]))
    if kind == "literal":
        parts["bound"] = "9" * digits
    elif kind == "bound-exponent":
        parts["bound"] = f"1.0e{exponent:+d}"
    elif kind == "nesting":
        depth = draw(st.integers(1, 2000))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        parts["extra"] = "extra: " + opener * depth + closer * depth + "\n"
    elif kind == "chain":
        op = draw(st.sampled_from([" + ", " * ", " - ", " and ", " = "]))
        parts["expression"] = op.join(["a"] * draw(st.integers(2, 1500)))
    elif kind == "expression-literal":
        parts["expression"] = "a + " + "9" * digits + draw(st.sampled_from(["", f"e{exponent}", ".5"]))
    elif kind == "squaring":
        parts["expression"] = "(" * draw(st.integers(1, 300)) + "a" + ")" * draw(st.integers(1, 300))
    else:
        parts["description"] = draw(st.sampled_from(['"   "', '""', "|\n  \n", '"\\t"']))
    return HOSTILE_PACK.format(**parts)


# JSON values with integers on both sides of orjson's 64-bit range and exact decimals (issue 22's big integers)
JSON_LEAVES = (st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.integers(min_value=-(10 ** 40), max_value=10 ** 40)
               | st.decimals(allow_nan=False, allow_infinity=False, places=4) | st.booleans() | st.none() | st.text(max_size=5))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=4), inner, max_size=4), max_leaves=20)


# FEEL's times, dates and times and durations (rules/temporal.py), over the whole range Arbiter holds
_seconds = st.decimals(min_value=0, max_value=Decimal("59.999999999"), places=9)
_offsets = st.one_of(st.none(), st.integers(min_value=-14 * 3600, max_value=14 * 3600).map(lambda s: s - s % 60))
times = st.builds(temporal.Time, st.integers(0, 23), st.integers(0, 59), _seconds, _offsets)


def _zoned(day: dt.date, time: temporal.Time, zone: str) -> temporal.DateTime | None:
    try:
        return temporal.with_zone(temporal.DateTime(day, temporal.Time(time.hour, time.minute, time.second)), zone)
    except temporal.TemporalUnsupported:  # a wall-clock time the zone skips
        return None


date_times = st.one_of(
    st.builds(temporal.DateTime, st.dates(), times),
    st.builds(_zoned, st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)), times,
              st.sampled_from(["Europe/Paris", "Asia/Dhaka", "America/New_York", "Etc/UTC", "Australia/Melbourne"]),
              ).filter(lambda value: value is not None),
)
days_time_durations = st.builds(temporal.DaysTimeDuration,
                                st.decimals(min_value=-(10**12), max_value=10**12, places=9, allow_nan=False))
years_months_durations = st.builds(temporal.YearsMonthsDuration, st.integers(-(10**9), 10**9))
temporal_values = st.one_of(times, date_times, days_time_durations, years_months_durations)


# An orders file as it may come: blank and whitespace-only lines, CRLF, no newline at the end.
jsonl_files = st.builds(
    lambda lines, end: b"\n".join(lines) + end,
    st.lists(st.sampled_from([b'{"order_id":"A"}', b"", b"  ", b"\r", b'{"order_id":\r"C"}', b'{"order_id":"B"}\r', b"[1]", b"not json"]), max_size=30),
    st.sampled_from([b"", b"\n", b"\n\n"]),
)


@st.composite
def version_pins(draw: st.DrawFn, versions: dict[str, list[str]]) -> dict[str, str]:
    """Pins of some of ``versions``' packs, each to one of its versions (a pack left out runs its newest effective one)."""
    return {name: draw(st.sampled_from(found)) for name, found in versions.items() if draw(st.booleans())}
