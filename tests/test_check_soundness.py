"""`arbiter check` is sound against the engine on generated packs: what fails at run time was reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.checks import check_pack_set
from engine.registry import build_pack_set
from engine.search import inputs_for
from engine.testing import DEFAULT_TEST_DATE
from rules.errors import DecisionError, Diagnostic
from tests.strategies import analysable_packs

EXAMPLES = 120
INPUTS_PER_PACK = 12
TABLE_FINDINGS = ("gap", "overlap", "dead-row", "unreachable-row")


def _check(doc: dict[str, Any], folder: Path) -> tuple[Any, list[Diagnostic]]:
    path = folder / "generated" / "1.0.0.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    pack_set, diagnostics = build_pack_set(folder, partial=True)
    if pack_set is not None:
        diagnostics = diagnostics + check_pack_set(pack_set)
    return pack_set, diagnostics


def _decide(pack: Any, values: dict[str, Any], as_of: dt.date) -> tuple[dict[str, list[str]], DecisionError | None]:
    try:
        return pack.decide(values, as_of).matched, None
    except DecisionError as exc:
        return {}, exc


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(doc=analysable_packs(), data=st.data())
def test_check_reports_every_table_that_fails_at_run_time(tmp_path_factory: Any, doc: dict[str, Any], data: st.DataObject) -> None:
    """Generated packs: no crash; every finding's counterexample confirmed; every run-time failure and no fired row contradicts check."""
    pack_set, diagnostics = _check(doc, tmp_path_factory.mktemp("pack"))
    assert not [d for d in diagnostics if d.severity == "error" and d.code not in TABLE_FINDINGS], diagnostics
    assert pack_set is not None
    pack = next(iter(pack_set))
    as_of = pack.ir.effective_from or DEFAULT_TEST_DATE
    findings = [d for d in diagnostics if d.code in TABLE_FINDINGS]
    errors = {(d.code, d.extra["table"]) for d in findings if d.severity == "error"}
    failing = {table for _, table in errors}
    for d in [d for d in findings if d.code != "unreachable-row"]:  # shown by evaluation, or stopped first by a failing table
        assert d.extra.get("confirmed") is True or d.extra.get("blocked_by") in failing, (d, yaml.safe_dump(doc))
    dead = {(d.extra["table"], d.extra["rows"][0]) for d in findings if d.code in ("dead-row", "unreachable-row")}
    examples = [d.extra["counterexample"] for d in findings if "counterexample" in d.extra]
    examples += [data.draw(inputs_for(pack.ir)) for _ in range(INPUTS_PER_PACK)]
    for values in examples:
        matched, error = _decide(pack, values, as_of)
        if error is not None and error.code in ("unique-violated", "any-conflict"):
            assert ("overlap", error.table) in errors, (values, error, diagnostics, yaml.safe_dump(doc))
        elif error is not None:
            assert error.code == "output-missing", error
            assert any(code == "gap" for code, _ in errors), (values, error, diagnostics, yaml.safe_dump(doc))
        for table, rows in matched.items():
            fired_dead = [r for r in rows if (table, r) in dead]
            assert not fired_dead, (values, table, fired_dead, diagnostics, yaml.safe_dump(doc))
