"""The solver takes round() and year(): a gap behind them is proven by z3, not only sampled."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

import pytest
import z3

from engine.checks import PackChecks
from engine.registry import require_pack_set
from rules.solver import _ROUNDINGS

PACK = """\
pack: band
version: 1.0.0
description: bands by a rounded amount and by a year, each leaving one value uncovered
owner: tests
effective_from: 2026-01-01
inputs:
  amount: {type: money, min: 0}
  due: {type: date}
tables:
  - id: by_amount
    hit_policy: unique
    inputs: [{name: rounded, expr: 'round(amount, 0, "half_up")'}]
    outputs: [band]
    rows:
      - {id: A1, when: {rounded: "< 10"}, then: {band: small}, reason: small}
      - {id: A2, when: {rounded: "> 10"}, then: {band: large}, reason: large}
  - id: by_year
    hit_policy: unique
    inputs: [{name: y, expr: year(due)}]
    outputs: [era]
    rows:
      - {id: Y1, when: {y: "< 2026"}, then: {era: old}, reason: old}
      - {id: Y2, when: {y: "> 2026"}, then: {era: new}, reason: new}
outputs:
  band: {type: string}
  era: {type: string}
"""

MODES = {"floor": decimal.ROUND_FLOOR, "ceiling": decimal.ROUND_CEILING, "down": decimal.ROUND_DOWN, "up": decimal.ROUND_UP,
         "half_up": decimal.ROUND_HALF_UP, "half_down": decimal.ROUND_HALF_DOWN, "half_even": decimal.ROUND_HALF_EVEN}
# ties both ways, either sign, just off a tie, and a value needing places
VALUES = ["2.5", "3.5", "-2.5", "-3.5", "2.4", "2.6", "-2.6", "0", "0.125", "-0.125", "1.005", "99999.995"]


def test_a_gap_behind_round_and_year_is_proven_exactly_with_a_confirmed_counterexample(tmp_path: Path) -> None:
    """round(amount, 0, "half_up") leaves 10 uncovered, year(due) leaves 2026: z3 finds both, none sampled."""
    (tmp_path / "band").mkdir()
    (tmp_path / "band" / "1.0.0.yaml").write_text(PACK)
    checks = PackChecks(require_pack_set(tmp_path).get("band", "1.0.0"))
    found = {d.extra["table"]: d for d in checks.run()}
    assert {table: fallback for table, (_, _, fallback) in checks.solver_times.items()} == {"by_amount": "", "by_year": ""}
    assert {table: (d.code, d.extra["method"], d.extra["confirmed"]) for table, d in found.items()} == {
        "by_amount": ("gap", "exact", True), "by_year": ("gap", "exact", True)}
    assert Decimal(found["by_amount"].extra["counterexample"]["amount"]).quantize(Decimal(1), decimal.ROUND_HALF_UP) == 10
    assert found["by_year"].extra["counterexample"]["due"].year == 2026


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("places", [0, 2])
def test_each_rounding_mode_in_z3_is_the_engines_decimal_rounding(mode: str, places: int) -> None:
    """The encoding of each mode gives what Decimal.quantize gives, on ties of either sign and off them."""
    scale = Decimal(10) ** places
    for text in VALUES:
        value = Decimal(text)
        encoded = z3.simplify(_ROUNDINGS[mode](z3.RealVal(text) * z3.RealVal(str(scale))) / z3.RealVal(str(scale)))
        assert isinstance(encoded, z3.RatNumRef)
        got = Decimal(encoded.numerator_as_long()) / Decimal(encoded.denominator_as_long())
        assert got == value.quantize(Decimal(1).scaleb(-places), MODES[mode]), (mode, places, text)
