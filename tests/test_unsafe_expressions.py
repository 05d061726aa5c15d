"""Sandbox escapes never compile: each classic one is a compile-time error with a position."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.load import load_text

CORPUS = Path(__file__).parent / "data" / "unsafe_expressions.txt"
EXPRESSIONS = [line for line in CORPUS.read_text().splitlines() if line and not line.startswith("#")]

PACK = """pack: probe
version: 1.0.0
description: one derived value under test
owner: tests
inputs:
  amount: {{type: money}}
  tier: {{type: string}}
derive:
  probe: {expr}
outputs:
  amount: {{type: money}}
"""


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 30 distinct escapes."""
    assert len(set(EXPRESSIONS)) >= 30


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_unsafe_expression_is_a_compile_error(expr: str) -> None:
    """The expression is refused when the pack is loaded, pointing into the derive line."""
    quoted = "'" + expr.replace("'", "''") + "'"
    result = load_text(PACK.format(expr=quoted), "probe.yaml")
    assert result.pack is None
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert errors
    assert all(d.position.line == 9 for d in errors), [str(d) for d in errors]
    assert {d.code for d in errors} <= {"unsafe-expression", "syntax", "unknown-name", "unknown-function", "type-mismatch"}
