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

from engine import jsonio
from engine.compiled import CompiledPack, compile_pack
from engine.inputs import compile_validator
from engine.registry import require_pack_set
from rules.errors import ArbiterError, DecisionError, InputError
from rules.ir import FieldDef, FieldShape
from rules.load import load_text
from rules.types import INTEGER
from tests.conftest import PACKS, ROOT, inside_window
from tests.reference import ReferenceError_, evaluate
from tests.strategies import RandomTable, inputs_for, json_values, random_tables, table_inputs

AS_OF = dt.date(2026, 6, 1)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def compile_table(table: RandomTable) -> CompiledPack:
    result = load_text(table.pack_yaml(), "random.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics] + [table.pack_yaml()]
    return compile_pack(result.pack)


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
            first = pack.decide(values, inside_window(pack, AS_OF)).to_json()
        except ArbiterError as exc:
            again = None
            try:
                pack.decide(values, inside_window(pack, AS_OF))
            except ArbiterError as exc2:
                again = exc2.code
            assert again == exc.code
            continue
        assert pack.decide(values, inside_window(pack, AS_OF)).to_json() == first


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
            decision = pack.decide(values, inside_window(pack, AS_OF), trace=True)
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
                decision = pack.decide(candidate, inside_window(pack, AS_OF))
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


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside ``value`` a field or list item sits, nested ones included."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [p for k, v in items for p in [(*path, k), *_paths(v, (*path, k))]]


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


@SETTINGS
@given(data=st.data(), noise=json_values)
def test_fast_and_slow_validation_agree(data: st.DataObject, noise: Any) -> None:
    """The generated fast path accepts only what the full validator accepts, with the same values, at any depth."""
    for pack in bundled():
        valid = data.draw(inputs_for(pack.ir))
        key = data.draw(st.sampled_from(sorted(valid))) if valid else None
        paths = _paths(valid)
        deep = _replaced(valid, data.draw(st.sampled_from(paths)), noise) if paths else valid
        for candidate in (valid, {**valid, key: noise} if key else valid, deep, noise):
            fast = pack.validate.fast(candidate)  # type: ignore[attr-defined]
            try:
                slow = pack.validate(candidate) if fast is None else pack.validate.slow(candidate)  # type: ignore[attr-defined]
            except ArbiterError:
                assert fast is None
                continue
            if fast is not None:
                assert fast == slow
                assert [type(v) for v in fast.values()] == [type(v) for v in slow.values()]


KEYED_SUMS = """
pack: keyed_sums
version: 1.0.0
description: stock per key, the allocation pattern
owner: tests
inputs:
  sku: {type: string, optional: true}
  batch: {type: integer}
  stock:
    type: list
    items:
      sku: {type: string, optional: true}
      batch: {type: integer}
      quantity: {type: integer}
      value: {type: money}
outputs:
  on_hand: {type: integer, value: 'sum(stock as p, if p.sku = sku then p.quantity else 0)'}
  worth: {type: money, value: 'sum(stock as p, if sku = p.sku then p.value else 0)'}
  in_batch: {type: integer, value: 'sum(stock as p, if p.batch = batch then p.quantity else 0)'}
  per_line: {type: list, of: integer, value: 'map(stock as q, sum(stock as p, if p.sku = q.sku then p.quantity else 0))'}
  self_keyed: {type: integer, value: 'sum(stock as p, if p.batch = p.quantity then p.quantity else 0)'}
"""


@SETTINGS
@given(data=st.data())
def test_keyed_sums_equal_the_longhand_sum(data: st.DataObject) -> None:
    """sum(xs as x, if x.key = k then x.amount else 0), compiled to a lookup, adds what a scan adds, null keys included."""
    result = load_text(KEYED_SUMS, "keyed_sums.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    pack = compile_pack(result.pack)
    assert pack.source.count("sum_by(") == 4  # self_keyed's key reads its own item: it must stay a scan
    assert "_ix2 = {}" in pack.source  # on_hand and per_line share one index of sku totals: three, not four
    assert "_ix3" not in pack.source
    skus = st.sampled_from(["A", "B", "C", None])
    stock: list[dict[str, Any]] = data.draw(st.lists(st.fixed_dictionaries({
        "sku": skus, "batch": st.integers(-2, 2), "quantity": st.integers(-10**6, 10**6),
        "value": st.decimals(min_value=-1000, max_value=1000, places=3)}), max_size=12))
    sku, batch = data.draw(skus), data.draw(st.integers(-2, 2))
    out = pack.decide({"sku": sku, "batch": batch, "stock": stock}, AS_OF).output
    assert out["on_hand"] == sum(p["quantity"] for p in stock if p["sku"] == sku)
    assert out["worth"] == sum((p["value"] for p in stock if p["sku"] == sku), Decimal(0)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert out["in_batch"] == sum(p["quantity"] for p in stock if p["batch"] == batch)
    assert out["per_line"] == [sum(p["quantity"] for p in stock if p["sku"] == q["sku"]) for q in stock]
    assert out["self_keyed"] == sum(p["quantity"] for p in stock if p["batch"] == p["quantity"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flow_steps_decide_alike_with_and_without_passing_inputs_through(data: st.DataObject) -> None:
    """A flow passes a step the inputs it validated under covering declarations, filling the step's defaults; decisions do not change."""
    flow = data.draw(st.sampled_from([p for p in bundled() if p.ir.steps]), label="flow")
    values = data.draw(inputs_for(flow.ir))
    outcomes = []
    for trust in (True, False):
        flow._trusted.clear()
        flow._step_plans.clear()
        original = flow.trusted_step_inputs
        if not trust:
            flow.trusted_step_inputs = lambda index, step_pack: frozenset()  # type: ignore[method-assign]
        steps = _StepOutputs(flow.pack_set)
        try:
            outcomes.append([flow.evaluate(values, inside_window(flow, AS_OF), pack_set=steps).to_json(), *steps.seen])
        except ArbiterError as exc:
            outcomes.append([exc.code.encode(), *steps.seen])
        finally:
            flow.trusted_step_inputs = original  # type: ignore[method-assign]
    assert outcomes[0] == outcomes[1]


class _StepOutputs:
    """A flow's pack set that keeps every step's whole output: a step input's default can change what the flow does not show."""

    def __init__(self, packs: Any) -> None:
        self.packs, self.seen = packs, list[bytes]()

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        return self.packs.get(name, version, as_of)  # type: ignore[no-any-return]

    def decide_step(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
                    outputs: Any = None) -> Any:
        decision = pack.decide_step(values, as_of, trusted)
        self.seen.append(jsonio.dumps([decision.output, decision.matched]))
        return decision


def test_step_inputs_the_flow_validated_under_covering_declarations_are_passed_through() -> None:
    """Allocation trusts the order's lines though it adds a default (filled, not re-validated); a computed input is validated."""
    flow = next(p for p in bundled() if p.ir.steps)
    steps = {step.id: (i, flow.pack_set.get(step.pack, step.version, AS_OF)) for i, step in enumerate(flow.ir.steps)}
    index, allocation = steps["allocation"]
    assert flow.trusted_step_inputs(index, allocation) == {"warehouses", "lines", "no_split"}
    index, pricing = steps["pricing"]
    assert "lines" in flow.trusted_step_inputs(index, pricing)
    index, credit = steps["credit"]
    trusted = flow.trusted_step_inputs(index, credit)
    assert {"credit_limit", "prepaid_amount"} <= trusted  # credit gives prepaid_amount a default the order does not
    assert "order_amount" not in trusted  # computed from pricing's output: validated by the step


def test_a_passed_through_input_gets_the_step_defaults_and_nothing_else() -> None:
    """Nulls of a trusted input take the step's defaults at any depth; other values, extra fields included, are left as they are."""
    lines = FieldShape(type="list", items={"sku": FieldShape(type="string"),
                                           "hazmat": FieldShape(type="boolean", optional=True, default=False)})
    flag = FieldShape(type="boolean", optional=True, default=False)
    declared = [FieldDef("count", FieldShape(type="integer"), INTEGER)]
    validate = compile_validator(declared, strict=False, passthrough=[FieldDef("lines", lines, INTEGER), FieldDef("flag", flag, INTEGER)])
    raw: dict[str, Any] = {"count": 2, "flag": None, "lines": [{"sku": "a", "hazmat": None, "note": "kept"}, {"sku": "b", "hazmat": True}, {"sku": "c"}]}
    for sent in (raw, {**raw, "count": Decimal("2.0")}):  # the fast path, then the slow one (a decimal integer)
        assert validate(sent) == {"count": 2, "flag": False, "lines": [
            {"sku": "a", "hazmat": False, "note": "kept"}, {"sku": "b", "hazmat": True}, {"sku": "c", "hazmat": False}]}
    assert raw["lines"][0]["hazmat"] is None  # the flow's own value is not changed
    unchecked = {"count": 1, "flag": True, "lines": [{"sku": 5, "hazmat": True}]}
    assert validate(unchecked)["lines"][0] is unchecked["lines"][0]  # validated by the flow: not checked, not copied
    try:
        validate({"count": "two", "lines": []})
    except InputError as exc:
        assert [p.path for p in exc.problems] == [("count",)]
    else:
        raise AssertionError("a step's own input is still validated")


def test_the_fast_path_refuses_what_the_schema_bounds_at_any_depth() -> None:
    """A nested list over max_items, a string over max_length, an enum outside its values: refused with their paths."""
    flow = next(p for p in bundled() if p.ir.steps)
    order = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    order.pop("as_of", None)
    assert flow.validate.fast(order) is not None  # type: ignore[attr-defined]
    stock = order["warehouses"][0]["stock"]
    cases = [
        (("warehouses", 0, "stock"), stock * (1000 // len(stock) + 1), "max_items"),
        (("lines", 0, "sku"), "X" * 41, "max_length"),
        (("customer", "risk_tier"), "Z", "enum"),
        (("warehouses", 0, "stock", 0, "quantity"), Decimal("1.5"), "type"),
    ]
    for path, bad, code in cases:
        candidate = _replaced(order, path, bad)
        assert flow.validate.fast(candidate) is None, path  # type: ignore[attr-defined]
        try:
            flow.validate(candidate)
        except InputError as exc:
            assert [(p.path, p.code) for p in exc.problems] == [(path, code)]
        else:
            raise AssertionError(f"{path} accepted")


def test_the_fast_path_past_its_inline_depth_checks_each_object_in_a_function_alike(monkeypatch: Any) -> None:
    """With nothing inlined (a schema nested past INLINE_DEPTH), the fast path gives the inlined one's values and refusals."""
    from engine import inputs

    flow = next(p for p in bundled() if p.ir.steps)
    order = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    order.pop("as_of", None)
    spoiled = _replaced(order, ("warehouses", 0, "stock", 0, "quantity"), Decimal("1.5"))
    inlined = inputs.compile_validator(flow.ir.inputs).fast  # type: ignore[attr-defined]
    monkeypatch.setattr(inputs._FastPath, "INLINE_DEPTH", 0)
    called = inputs.compile_validator(flow.ir.inputs).fast  # type: ignore[attr-defined]
    assert called(order) == inlined(order) == flow.validate(order)
    assert called(spoiled) is None
    assert inlined(spoiled) is None


def test_a_declaration_covers_another_only_when_no_value_would_change() -> None:
    """Extra fields, another default (the step fills it), required for optional: fine; a looser bound, a missing field, optional for required, a longer list: not."""
    from engine.compiled import _covers, _shape
    from rules.check import shape_of
    from rules.model import FieldSpec

    def spec(**kw: Any) -> Any:
        return _shape(shape_of(FieldSpec.model_validate(kw)))

    line = {"sku": {"type": "string"}, "quantity": {"type": "integer", "description": "negative for a return"}}
    step = spec(type="list", max_items=10, items=line)
    assert _covers(spec(type="list", max_items=10, items={**line, "note": {"type": "string"}}), step)
    assert not _covers(spec(type="list", max_items=20, items=line), step)
    assert not _covers(spec(type="list", max_items=10, items={"sku": {"type": "string"}}), step)
    assert not _covers(spec(type="money"), spec(type="money", min=0))
    assert _covers(spec(type="boolean", optional=True), spec(type="boolean", optional=True, default=False))
    assert _covers(spec(type="boolean"), spec(type="boolean", optional=True, default=False))
    assert not _covers(spec(type="boolean", optional=True), spec(type="boolean"))
    assert _covers(spec(type="money", min=0, description="a"), spec(type="money", min=0, description="b"))


@given(st.text())
def test_number_of_any_text_is_a_number_or_null(text: str) -> None:
    """number() is total over text: a finite Decimal or null, never an exception."""
    from rules.functions import number

    value = number(text)
    assert value is None or (isinstance(value, Decimal) and value.is_finite())


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**12, min_value=-(10**12)))
def test_number_reads_back_the_text_a_number_writes(value: Decimal) -> None:
    """number(text(n)) is n: the two conversions agree on every decimal they meet."""
    from rules.functions import number, text

    assert number(text(value)) == value
    assert number(f"  {text(value)}\t") == value


@given(st.text(), st.text(max_size=3))
def test_split_is_total_and_joins_back(text: str, separator: str) -> None:
    """split() of any text by any separator is a list of texts that the separator joins back into the text."""
    from rules.functions import split

    parts = split(text, separator)
    assert all(isinstance(p, str) for p in parts)
    assert (separator or "").join(parts) == text
    assert split(None, separator) is None
    assert split(text, None) is None


@given(st.lists(st.integers(), max_size=6), st.integers(min_value=-10, max_value=10))
def test_element_at_counts_from_one_and_back_from_minus_one(items: list[int], n: int) -> None:
    """element_at(list, n) is the n-th element from 1, or from the end for -n, and null where there is none."""
    from rules.functions import element_at

    expected = items[n - 1] if 1 <= n <= len(items) else items[n] if -len(items) <= n <= -1 else None
    assert element_at(items, n) == expected
    assert element_at(items, Decimal(n)) == expected  # a whole number arithmetic made a Decimal
    assert element_at(None, n) is None
    assert element_at(items, None) is None


@given(st.text())
def test_date_functions_of_any_text_are_whole_numbers_or_null(text: str) -> None:
    """timestamp(), day_of_year() and time_of_day() are total over text: an integer in range or null, never an exception."""
    from rules.functions import day_of_year, time_of_day, timestamp

    value = timestamp(text)
    assert value is None or type(value) is int
    day = day_of_year(text)
    assert day is None or 1 <= day <= 366
    clock = time_of_day(text)
    assert clock is None or 0 <= clock < 86400


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_timestamp_reads_back_the_moment_an_iso_text_gives(moment: dt.datetime) -> None:
    """timestamp(iso text) is the moment's whole seconds since 1970, whichever offset writes it."""
    from rules.functions import timestamp

    seconds = (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(seconds=1)
    assert timestamp(moment.isoformat()) == seconds
    shifted = moment.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert timestamp(shifted.isoformat()) == seconds
