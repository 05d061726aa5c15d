"""A literal keeps its own scale in generated code, whatever other literals of equal value the pack holds."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from engine.compiled import compile_pack
from rules.load import load_text

DAY = dt.date(2026, 6, 1)
# (a derive that registers a constant, the derive whose value must not change beside it)
PAIRS = [
    ("min(x, 5)", "x * 5.0"),
    ("max(x, 5)", "x * 5.00"),
    ("x * 0.010", "round(x, 2)"),
    ("x + 1.0", "x * 1"),
    ("x * 2", "x * 2.0"),
    ("x * 0.50", "x * 0.5"),
]


def _decide(derive: dict[str, str], x: str) -> dict[str, object]:
    text = "\n".join(["pack: k", "version: 1.0.0", "description: d", "owner: o", "effective_from: 2026-01-01",
                      "inputs: {x: {type: decimal}}", "derive: " + json.dumps(derive),
                      "outputs: " + json.dumps({k: {"type": "decimal", "value": k} for k in derive})]) + "\n"
    loaded = load_text(text, "k.yaml")
    assert loaded.pack is not None, [d.message for d in loaded.diagnostics]
    return compile_pack(loaded.pack).decide({"x": x}, DAY).output


@pytest.mark.parametrize(("other", "expr"), PAIRS)
@pytest.mark.parametrize("x", ["2.345", "7", "0.5"])
def test_a_derive_decides_alike_beside_an_equal_literal_of_another_scale(other: str, expr: str, x: str) -> None:
    """``expr`` gives the same value, digits included, alone and beside ``other`` (equal Decimals once shared a constant)."""
    alone = _decide({"r": expr}, x)["r"]
    beside = _decide({"o": other, "r": expr}, x)["r"]
    assert repr(beside) == repr(alone)
