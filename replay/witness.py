"""Small inputs that two versions of a pack decide differently, found by the table analysis and shown only once the engine agrees.

Each value both versions compute (an output, a single-hit table's output, a derive) is
written as a z3 term over the inputs by ``rules.solver``, once per version over the same
input variables; the solver is asked for an input on which the two terms differ. The
witness is completed into a valid input (the fields it leaves free at their simplest), and
both compiled versions decide it: only an input whose outputs really differ is printed.
What the encoding does not cover (rounding, aggregations over lists, flow steps) gives no
example, and the caller says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import z3

from engine import jsonio
from engine.checks import PackChecks
from engine.compiled import CompiledPack
from replay.decide import differences
from rules import solver
from rules.analysis import name_of
from rules.errors import ArbiterError
from rules.ir import PackIR

MAX_TARGETS = 60  # values compared, each a query of at most solver.QUERY_MS


@dataclass
class Example:
    """An input both versions decided on ``as_of``, and what each answered where they differ."""

    target: str  # the value the solver was asked to tell apart: "table quantity_break.break_pct"
    witness: dict[str, Any]  # the fields the analysis set; the rest of ``value`` is at its simplest
    value: dict[str, Any]
    differs: list[tuple[str, Any, Any]]  # (output path, baseline value, candidate value)


@dataclass
class Examples:
    found: list[Example]
    compared: int  # values encoded on both sides and asked about
    beyond: dict[str, str]  # value -> why the encoding does not cover it


def _targets(encoder: solver.Encoder, pack: PackIR) -> dict[str, Callable[[], solver.Term]]:
    """The values of one version a reader cares about, outputs first, each as a thunk (encoding may raise Unsupported)."""
    out: dict[str, Callable[[], solver.Term]] = {}
    for o in pack.outputs:
        node = o.value if o.value is not None else name_of(o.source) if o.source is not None else None
        if node is not None:
            out[f"output {o.name}"] = lambda node=node: encoder.expr(node)  # type: ignore[misc]
    for table in pack.all_tables:
        if not table.multi_hit:
            for k, column in enumerate(table.output_names):
                out[f"table {table.id}.{column}"] = lambda table=table, k=k: encoder.table_value(table, k)  # type: ignore[misc]
    for d in [*pack.derives, *(d for sec in pack.sections for d in [*sec.derives, *sec.after])]:
        out[f"derive {d.symbol.name}"] = lambda d=d: encoder.expr(d.expr)  # type: ignore[misc]
    return out


def _differ(x: solver.Term, y: solver.Term) -> Any:
    """The two values are not the same: one is null and the other not, or both are set and unequal."""
    both = [z3.And(z3.Not(x.null), z3.Not(y.null), x.value != y.value)] if x.value is not None and y.value is not None else []
    return z3.Or(x.null != y.null, *both)


def _edited_name(target: str) -> str:
    """The table or derive a target belongs to: ``table quantity_break.break_pct`` -> ``quantity_break``."""
    return target.rsplit(maxsplit=1)[-1].split(".", maxsplit=1)[0]


def _witnesses(a: PackIR, b: PackIR, as_of: dt.date, beyond: dict[str, str],
               edited: frozenset[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(value, witness) for each value both versions compute that the solver can tell apart on some input, edited values first."""
    ea, eb = solver.Encoder(a, as_of), solver.Encoder(b, as_of)
    ta, tb = _targets(ea, a), _targets(eb, b)
    queries = solver.Queries(ea)
    # the edited values come first: with a few examples shown, each edit should get its own before knock-on effects do
    shared = sorted((n for n in ta if n in tb), key=lambda n: _edited_name(n) not in edited)
    for name in shared[:MAX_TARGETS]:
        try:
            x, y = ta[name](), tb[name]()
            condition = _differ(x, y)
            for path, var in eb.vars.items():  # one input, both versions: a variable named alike is the same z3 constant
                ea.vars.setdefault(path, var)
            # a reader follows an example with amounts and quantities above zero more easily: asked first, dropped when impossible
            numbers = [v for v in ea.vars.values() if v.kind in ("money", "decimal", "integer")]
            priced = [v.term.value > 0 for v in numbers] + [z3.IsInt(v.raw) for v in numbers if v.kind != "integer"]
            found = queries.witness(*eb.domain, condition, *priced) if priced else None
            if found is None:
                found = queries.witness(*eb.domain, condition)
        except (solver.Unsupported, solver.Unknown, z3.Z3Exception) as exc:
            beyond[name] = str(exc) or type(exc).__name__
            continue
        yield name, found if found is not None else {}


def _value(checks: PackChecks, witness: dict[str, Any]) -> dict[str, Any]:
    return checks.counterexample({k: v for k, v in witness.items() if k in {f.name for f in checks.ir.inputs}})


def _decide(pack: CompiledPack, value: dict[str, Any], as_of: dt.date) -> Any:
    declared = {f.name for f in pack.ir.inputs}
    try:
        return pack.decide({k: v for k, v in value.items() if k in declared}, as_of).output
    except ArbiterError as exc:
        return {"refused": exc.code}


def _at(value: Any, path: str) -> Any:
    """An output's value at a path of ``differences`` (``lines[].net_price``: one value per element)."""
    if "[]" in path:
        head, _, rest = path.partition("[]")
        items, rest = _at(value, head), rest.lstrip(".")
        return [_at(i, rest) if rest else i for i in items] if isinstance(items, list) else items
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def examples(a: CompiledPack, b: CompiledPack, as_of: dt.date, limit: int = 3, edited: frozenset[str] = frozenset()) -> Examples:
    """Up to ``limit`` inputs ``a`` and ``b`` decide differently on ``as_of``, each confirmed by deciding it on both."""
    beyond: dict[str, str] = {}
    found: list[Example] = []
    seen: set[frozenset[str]] = set()
    compared = 0
    checks = (PackChecks(a), PackChecks(b))
    for name, witness in _witnesses(a.ir, b.ir, as_of, beyond, edited):
        compared += 1
        if not witness or len(found) >= limit:
            continue
        value = {**_value(checks[0], witness), **_value(checks[1], witness)}
        x, y = _decide(a, value, as_of), _decide(b, value, as_of)
        both = x.keys() & y.keys()  # an output one version adds differs on every input: the diff names it already
        paths = differences({k: v for k, v in x.items() if k in both}, {k: v for k, v in y.items() if k in both}, "")
        if paths and frozenset(paths) not in seen:  # one example for each way the outputs differ
            seen.add(frozenset(paths))
            found.append(Example(name, witness, value, [(p, _at(x, p), _at(y, p)) for p in paths]))
    return Examples(found, compared, beyond)


def _flat(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _flat(v, f"{path}[{i}]")
    else:
        yield path, value


def _text(value: Any) -> str:
    return jsonio.dumps(value).decode()


def render_examples(found: Examples, a: CompiledPack, b: CompiledPack, as_of: dt.date, edited: set[str]) -> list[str]:
    """The examples as lines under a diff; when there are none, why; and the edited values the analysis could not compare."""
    unsearched = [f"{name} ({why})" for name, why in found.beyond.items() if _edited_name(name) in edited]
    beyond = [f"  beyond the table analysis, so no example can show them: {', '.join(unsearched)}"] if unsearched else []
    if not found.found:
        why = (f"none of the {found.compared} value(s) the table analysis could compare differs on an input the engine confirms"
               if found.compared else "the table analysis cannot encode what these versions compute")
        return [f"  no example input: {why}", *beyond]
    lines = [f"  inputs {a.key} and {b.key} decide differently (from the table analysis; each decided by both on {as_of.isoformat()},"
             " fields not shown at their simplest valid value):"]
    for n, ex in enumerate(found.found, start=1):
        fields = ", ".join(f"{path}={_text(v)}" for path, v in _flat(ex.witness))
        lines.append(f"    {n}. {fields}  [{ex.target}]")
        lines += [f"       {path}: {_text(x)} -> {_text(y)}" for path, x, y in ex.differs]
        lines.append(f"       input: {_text(ex.value)}")
    return lines + beyond
