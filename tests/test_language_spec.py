"""The language specification table (tests/data/language_spec.yaml), row by row, on every backend."""

from __future__ import annotations

import re

import pytest

from engine.backends import BACKENDS
from rules.functions import FUNCTIONS
from tests.language_spec import MISSING, Case, cases, run, same

CASES = cases()


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_row_of_the_language_specification(case: Case, backend: str) -> None:
    """The row's expression or cell gives its expected value or error; a known deviation is still there."""
    outcome, value = run(case, BACKENDS[backend])
    if outcome == "refused":
        assert backend in case.refused_by, f"{backend} refused a row it should run: {value}"
        return
    assert backend not in case.refused_by, f"{backend} now runs a row marked refused_by: drop the mark"
    if case.error is not None:
        matches = outcome == "error" and value == case.error
    else:
        matches = outcome == "value" and same(value, case.expect)
    if case.deviation is not None:
        assert not matches, f"the known deviation is fixed ({case.deviation}): remove its note from the row"
    else:
        assert matches, f"expected {case.error or case.expect!r}, got {outcome} {value!r} ({case.note})"


def test_every_row_states_an_outcome_and_every_function_has_a_row() -> None:
    """Each row expects a value or an error; each function of the language appears in some row."""
    assert all((c.expect is MISSING) != (c.error is None) for c in CASES), [c.id for c in CASES if (c.expect is MISSING) == (c.error is None)]
    called = {name for c in CASES for name in re.findall(r"([a-z_]+)\(", c.expr or c.cell or "")}
    assert set(FUNCTIONS) - called == set()
