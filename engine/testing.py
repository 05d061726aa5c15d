"""Running the tests embedded in packs, and measuring which rows they reach."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.compiled import CompiledPack
from rules.errors import ArbiterError, InputError
from rules.temporal import TEMPORAL_CLASSES

DEFAULT_TEST_DATE = dt.date(2000, 1, 1)


@dataclass
class TestOutcome:
    pack: CompiledPack
    name: str
    index: int
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class PackReport:
    pack: CompiledPack
    outcomes: list[TestOutcome] = field(default_factory=list)
    hit_rows: dict[str, set[str]] = field(default_factory=dict)

    def coverage(self) -> tuple[int, int, list[str]]:
        total, hit, missed = 0, 0, []
        for table in self.pack.ir.all_tables:
            rows = self.hit_rows.get(table.id, set())
            for row in table.rows:
                total += 1
                if row.id in rows:
                    hit += 1
                else:
                    missed.append(f"{table.id}.{row.id}")
        return hit, total, missed


def same(expected: Any, actual: Any) -> bool:
    """Equality as a policy owner means it: 12.5 equals 12.50; dates equal their ISO text."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(same(a, b) for a, b in zip(expected, actual, strict=True))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, Decimal)) and isinstance(actual, (int, Decimal)):
        return Decimal(expected) == Decimal(actual)
    if isinstance(expected, dt.date) and isinstance(actual, str):
        return expected.isoformat() == actual
    if isinstance(expected, str) and isinstance(actual, dt.date):
        return expected == actual.isoformat()
    if isinstance(actual, TEMPORAL_CLASSES):  # the same value as written, offset and form included
        return str(expected) == str(actual) and isinstance(expected, (str, type(actual)))
    return bool(expected == actual)


def show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, TEMPORAL_CLASSES):
        return f"{type(value).__name__}({value})"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run_pack_tests(pack: CompiledPack) -> PackReport:
    report = PackReport(pack)
    for index, test in enumerate(pack.ir.tests):
        failures: list[str] = []
        as_of = test.as_of or pack.ir.effective_from or DEFAULT_TEST_DATE
        try:
            decision = pack.decide(test.input, as_of)
        except ArbiterError as exc:
            if test.error is None:
                detail = exc.message
                if isinstance(exc, InputError):
                    detail = "; ".join(f"{p.pointer}: {p.message}" for p in exc.problems)
                failures.append(f"raised {exc.code}: {detail}")
            elif test.error != exc.code:
                failures.append(f"expected error {test.error}, got {exc.code}: {exc.message}")
            report.outcomes.append(TestOutcome(pack, test.name, index, failures))
            continue
        if test.error is not None:
            failures.append(f"expected error {test.error}, got a decision")
        for table_id, rows in decision.matched.items():
            report.hit_rows.setdefault(table_id, set()).update(rows)
        for key, expected in (test.expect or {}).items():
            actual = decision.output.get(key)
            if not same(expected, actual):
                failures.append(f"output {key}: expected {show(expected)}, got {show(actual)}")
        for table_id, rows in (test.matched or {}).items():
            actual_rows = decision.matched.get(table_id, [])
            if list(rows) != actual_rows:
                failures.append(f"table {table_id}: expected rows {rows}, matched {actual_rows}")
        report.outcomes.append(TestOutcome(pack, test.name, index, failures))
    return report
