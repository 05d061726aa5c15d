"""Properties: hit-policy laws against a naive reference, determinism, totality, no binary float."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiled import CompiledPack
from engine.registry import require_pack_set
from rules.errors import ArbiterError, DecisionError
from rules.load import load_text
from tests.conftest import PACKS, ROOT
from tests.reference import ReferenceError_, evaluate
from tests.strategies import RandomTable, inputs_for, json_values, random_tables, table_inputs

AS_OF = dt.date(2026, 6, 1)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def compile_table(table: RandomTable) -> CompiledPack:
    result = load_text(table.pack_yaml(), "random.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics] + [table.pack_yaml()]
    return CompiledPack(result.pack)


@cache
def bundled() -> list[CompiledPack]:
    return list(require_pack_set(PACKS))


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return value.normalize() if value == value.to_integral_value() else value
    return value


@SETTINGS
@given(table=random_tables(), inputs=st.lists(table_inputs, min_size=1, max_size=8))
def test_hit_policies_equal_the_reference(table: RandomTable, inputs: list[dict[str, Any]]) -> None:
    """On random tables and inputs, every hit policy gives what the naive reference gives."""
    pack = compile_table(table)
    for values in inputs:
        try:
            expected = evaluate(table, values["n"], values["s"])
        except ReferenceError_ as exc:
            try:
                pack.decide(values, AS_OF)
            except DecisionError as err:
                assert err.code == exc.code
                continue
            raise AssertionError(f"expected {exc.code} for {values}\n{table.pack_yaml()}") from None
        decision = pack.decide(values, AS_OF)
        output, rows = expected
        assert decision.matched["t"] == rows, (values, table.pack_yaml())
        assert _plain(decision.output["out"]) == _plain(output), (values, table.pack_yaml())


@SETTINGS
@given(data=st.data())
def test_same_input_same_bytes(data: st.DataObject) -> None:
    """A decision is a pure function: evaluating twice gives identical bytes."""
    for pack in bundled():
        values = data.draw(inputs_for(pack.ir))
        try:
            first = pack.decide(values, AS_OF).to_json()
        except ArbiterError as exc:
            again = None
            try:
                pack.decide(values, AS_OF)
            except ArbiterError as exc2:
                again = exc2.code
            assert again == exc.code
            continue
        assert pack.decide(values, AS_OF).to_json() == first


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return [value]


@SETTINGS
@given(data=st.data())
def test_no_binary_float_in_any_output(data: st.DataObject) -> None:
    """Outputs hold Decimal, int, str, bool, date or null; never float."""
    for pack in bundled():
        values = data.draw(inputs_for(pack.ir))
        try:
            decision = pack.decide(values, AS_OF, trace=True)
        except DecisionError:
            continue
        leaves = _walk(decision.output) + _walk(decision.trace)
        assert not any(isinstance(v, float) for v in leaves)


@SETTINGS
@given(body=json_values, extra=st.dictionaries(st.text(max_size=10), json_values, max_size=4), data=st.data())
def test_any_input_gives_a_decision_or_a_typed_error(body: Any, extra: dict[str, Any], data: st.DataObject) -> None:
    """Totality: whatever arrives, the engine returns a Decision or raises an ArbiterError."""
    for pack in bundled():
        valid = data.draw(inputs_for(pack.ir))
        mixed = {**valid, **extra}
        for candidate in (body, mixed, dict.fromkeys(valid, body)):
            try:
                decision = pack.decide(candidate, AS_OF)
            except ArbiterError:
                continue
            assert decision.output


def test_decision_bytes_do_not_depend_on_hash_seed() -> None:
    """`arbiter decide` prints the same bytes under different PYTHONHASHSEED values."""
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-m", "api.cli", "decide", "credit", str(ROOT / "examples" / "credit.json"),
             "--packs", str(PACKS), "--as-of", "2026-06-01"],
            capture_output=True, env=env, cwd=ROOT, check=True,
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1


@SETTINGS
@given(data=st.data(), noise=json_values)
def test_fast_and_slow_validation_agree(data: st.DataObject, noise: Any) -> None:
    """The generated fast path accepts only what the full validator accepts, with the same values."""
    for pack in bundled():
        valid = data.draw(inputs_for(pack.ir))
        key = data.draw(st.sampled_from(sorted(valid))) if valid else None
        for candidate in (valid, {**valid, key: noise} if key else valid, noise):
            fast = pack.validate.fast(candidate)  # type: ignore[attr-defined]
            try:
                slow = pack.validate(candidate) if fast is None else pack.validate.slow(candidate)  # type: ignore[attr-defined]
            except ArbiterError:
                assert fast is None
                continue
            if fast is not None:
                assert fast == slow
                assert [type(v) for v in fast.values()] == [type(v) for v in slow.values()]
