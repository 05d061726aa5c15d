"""Reason templates (tests/data/reason_templates.yaml), row by row, on every backend and on both hit-policy paths."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from engine.backends import BACKENDS
from engine.compiled import compile_pack
from rules.errors import ArbiterError
from rules.load import load_text
from rules.source import read_yaml
from tests.language_spec import _flow

CASES = read_yaml((Path(__file__).parent / "data" / "reason_templates.yaml").read_text(encoding="utf-8"), "reasons").data


def _declared(spec: Any) -> dict[str, Any]:
    return {"type": spec} if isinstance(spec, str) else spec


def pack_text(case: dict[str, Any], policy: str) -> str:
    """The case as a pack: one table whose first row always matches and gives the reason under test."""
    inputs = {"go": {"type": "boolean"}, **{k: _declared(v) for k, v in case.get("inputs", {}).items()}}
    params = {k: {"description": k, **v} for k, v in case.get("params", {}).items()}
    column = case.get("column")
    columns = ["go", column] if column else ["go"]
    row = {"id": "R1", "when": {"go": True}, "then": {"answer": "yes"}, "reason": case["reason"]}
    table = {"id": "t", "hit_policy": policy, "inputs": columns, "outputs": ["answer"],
             "rows": [row, {"id": "R2", "when": {"go": False}, "then": {"answer": "no"}, "reason": "Not this one {go}."}]}
    outputs = {"answer": {"type": "string", "optional": True} if policy == "first" else {"type": "list", "of": "string"}}
    outputs.update(case.get("outputs", {}))
    doc = {"pack": "reasons", "version": "1.0.0", "description": "a reason template", "owner": "tests",
           "params": params, "inputs": inputs, "derive": case.get("derive", {}), "outputs": outputs, "tables": [table]}
    return "\n".join(f"{k}: {_flow(v) if isinstance(v, dict | list) else json.dumps(v)}" for k, v in doc.items()) + "\n"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("policy", ["first", "collect"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c["reason"])
def test_a_reason_template_shows_its_values_as_declared(case: dict[str, Any], policy: str, backend: str) -> None:
    """The matching row's reason is the template with each value formatted to its declared scale; the other row gives none."""
    loaded = load_text(pack_text(case, policy), "reasons.yaml")
    assert loaded.pack is not None, loaded.diagnostics
    try:
        pack = compile_pack(loaded.pack, BACKENDS[backend])
    except ArbiterError as exc:
        pytest.skip(f"{backend} cannot run this pack: {exc.message}")  # only durable_rules, on computed columns
    decision = pack.decide({"go": True, **case.get("given", {})}, dt.date(2026, 6, 1))
    assert decision.reasons == [case["expect"]], case.get("note")


LINES = """\
pack: lines
version: 1.0.0
description: a line-level reason reading a value computed only for the rows from the one that reads it
owner: tests
inputs:
  lines: {type: list, items: {line_no: {type: integer}, qty: {type: integer}}}
outputs:
  per_line: {type: list, items: {line_no: {type: integer}, ok: {type: boolean}}}
for_each:
  - id: per_line
    over: lines
    derive: {doubled: qty * 2}
    tables:
      - id: line_check
        hit_policy: first
        inputs: [qty]
        outputs: [ok]
        rows:
          - {id: L0, when: {qty: "< 0"}, then: {ok: false}, reason: "Line {line_no} is a return."}
          - {id: L1, when: {qty: "> 1000"}, then: {ok: false}, reason: "Line {line_no}: {qty} units, {doubled} doubled."}
          - {id: L2, then: {ok: true}}
    keep: [ok]
"""


def test_a_line_level_reason_names_its_line_and_reads_values_computed_for_its_row() -> None:
    """Each line's reason shows that line's values; a derived value only a later row's reason reads is computed for it."""
    loaded = load_text(LINES, "lines.yaml")
    assert loaded.pack is not None, loaded.diagnostics
    pack = compile_pack(loaded.pack)
    lines = [{"line_no": 1, "qty": 5}, {"line_no": 2, "qty": 2000}, {"line_no": 3, "qty": -1}]
    decision = pack.decide({"lines": lines}, dt.date(2026, 6, 1))
    assert decision.reasons == ["Line 2: 2,000 units, 4,000 doubled.", "Line 3 is a return."]
