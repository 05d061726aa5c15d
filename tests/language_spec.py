"""The executable language specification: each row of tests/data/language_spec.yaml as a pack, decided on a backend.

A row is an expression (``expr``) computed as a derived value, or a unary test (``cell``)
on a table column; ``given`` the inputs, ``types`` their declarations (``"decimal"``,
``"integer?"`` for optional, or a field mapping as a pack writes it), ``params`` the pack's
parameters (as a pack declares them, the description optional), then ``expect`` (the
value) or ``error`` (the code, from the checker or the decision). ``deviation`` marks a
known difference from ``expect``: the row then holds that the difference is still there,
so fixing it fails the run until the note goes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.backend import Backend
from engine.compiled import compile_pack
from rules.errors import ArbiterError
from rules.load import load_text
from rules.source import read_yaml
from rules.temporal import TEMPORAL_CLASSES

SPEC = Path(__file__).parent / "data" / "language_spec.yaml"
AS_OF = dt.date(2026, 6, 1)
MISSING = object()


@dataclass(frozen=True)
class Case:
    line: int
    expr: str | None
    cell: str | None
    given: dict[str, Any]
    types: dict[str, Any]
    expect: Any
    error: str | None
    type: str | None
    note: str
    deviation: str | None
    refused_by: tuple[str, ...]
    params: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.line}:{self.expr if self.expr is not None else self.cell}"


def cases() -> list[Case]:
    doc = read_yaml(SPEC.read_text(encoding="utf-8"), str(SPEC))
    assert not doc.diagnostics, doc.diagnostics
    out = []
    for i, row in enumerate(doc.data):
        out.append(Case(
            line=doc.position((i,)).line, expr=row.get("expr"), cell=row.get("cell"), given=row.get("given", {}),
            types=row.get("types", {}), expect=row.get("expect", MISSING), error=row.get("error"), type=row.get("type"),
            note=row.get("note", ""), deviation=row.get("deviation"), refused_by=tuple(row.get("refused_by", ())),
            params=row.get("params"),
        ))
    return out


def _declaration(spec: Any) -> dict[str, Any]:
    if isinstance(spec, dict):
        return spec
    optional = spec.endswith("?")
    kind = spec.rstrip("?")
    out: dict[str, Any] = {"type": kind}
    if kind.startswith("list of "):
        out = {"type": "list", "of": kind.removeprefix("list of ")}
    if optional:
        out["optional"] = True
    return out


def _result_type(case: Case) -> dict[str, Any]:
    """The output's declaration: the row's ``type``, else the type of the expected value."""
    if case.type is not None:
        return _declaration(case.type)
    value = case.expect
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, Decimal):
        return {"type": "decimal"}
    if isinstance(value, dt.date):
        return {"type": "date"}
    if isinstance(value, list):
        kinds = {_result_type(Case(0, None, None, {}, {}, v, None, None, "", None, ()))["type"] for v in value}
        return {"type": "list", "of": kinds.pop() if len(kinds) == 1 else "string"}
    return {"type": "string", "optional": True}


def pack_text(case: Case) -> str:
    """The row as a pack: its inputs, the expression as a derived value (or the cell in a table), one output."""
    inputs = {name: _declaration(spec) for name, spec in case.types.items()}
    result = {**_result_type(case), "optional": True}
    params = {name: {"description": name, **spec} for name, spec in (case.params or {}).items()}
    lines = ["pack: spec", "version: 1.0.0", "description: one row of the language specification", "owner: arch",
             f"params: {_flow(params)}",
             f"inputs: {json.dumps(inputs)}", f"outputs: {json.dumps({'result': result})}"]
    if case.expr is not None:
        lines += [f"derive: {json.dumps({'r': case.expr})}", "tables:", "  - {id: t, hit_policy: first, outputs: [result],"
                  " rows: [{id: R1, then: {result: '=r'}}]}"]
    else:
        column = next(iter(case.types))
        lines += ["tables:", f"  - {{id: t, hit_policy: first, inputs: [{column}], outputs: [result], rows: ["
                  f"{{id: R1, when: {{{column}: {json.dumps(case.cell)}}}, then: {{result: true}}}}, "
                  "{id: R2, then: {result: false}}]}"]
    return "\n".join(lines) + "\n"


def _flow(value: Any) -> str:
    """YAML flow text of a row's values, numbers and dates unquoted (JSON would make a Decimal a float or a string)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, (Decimal, int, dt.date)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def run(case: Case, backend: Backend) -> tuple[str, Any]:
    """``("value", v)``, ``("error", code)`` or ``("refused", reason)`` for one row on one backend."""
    loaded = load_text(pack_text(case), f"spec-{case.line}.yaml")
    if loaded.pack is None:
        codes = [d.code for d in loaded.diagnostics if d.severity == "error"]
        return "error", codes[0] if codes else "no-pack"
    try:
        pack = compile_pack(loaded.pack, backend)
    except ArbiterError as exc:
        return "refused", exc.message
    try:
        return "value", pack.decide(case.given, AS_OF).output["result"]
    except ArbiterError as exc:
        return "error", exc.code


def same(actual: Any, expected: Any) -> bool:
    """Equal values of the same kind: 1 is not true, an integer is not a decimal."""
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(actual, TEMPORAL_CLASSES):  # as the output's JSON writes it: the text pins the offset and the form
        return isinstance(expected, str) and str(actual) == expected
    kind = {bool: "boolean", int: "integer", Decimal: "decimal"}
    return bool(kind.get(type(actual), type(actual)) == kind.get(type(expected), type(expected)) and actual == expected)
