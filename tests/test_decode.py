"""engine.decode: JSON straight to a pack's validated input gives what parsing then validating gives, or steps aside."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import jsonio, order_contract
from engine.decode import compile_decoder
from engine.registry import require_pack_set
from replay import decide, run, specs
from replay import orders as order_io
from replay import tally as tallying
from rules.errors import ArbiterError
from rules.load import load_text
from tests.conftest import PACKS, ROOT
from tests.strategies import inputs_for, json_number_texts, json_values

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PACK_SET = require_pack_set(PACKS)
ORDER = (ROOT / "examples" / "order.json").read_bytes()  # without as_of: a record's date is the replay's business


def _typed(value: Any) -> Any:
    """A value with the class of every leaf: 1 and Decimal(1), 1.0 and 1.00 tell apart."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}, list(value)
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return type(value).__name__, str(value)


def _parsed_then_validated(pack: Any, raw: bytes) -> Any:
    try:
        return pack.validate(jsonio.loads(raw))
    except ArbiterError:
        return None


def _spoiled(value: Any, path: list[Any], noise: Any) -> Any:
    if not path or not isinstance(value, dict | list) or not value:
        return noise
    key = sorted(value)[path[0] % len(value)] if isinstance(value, dict) else path[0] % len(value)
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _spoiled(value[key], path[1:], noise)
    return copy


def _json(value: Any, decimals_as_text: bool) -> bytes | None:
    """``value`` as a client might send it; None for what JSON cannot carry (NaN, Infinity)."""
    try:
        text = jsonio.dumps(value)
    except (TypeError, ValueError):
        return None
    if decimals_as_text:  # OData v2 sends Edm.Decimal as a string: the validator reads plain digits, the decoder steps aside
        text = json.dumps(json.loads(text, parse_float=str)).encode()
    return text


@SETTINGS
@given(data=st.data(), noise=json_values, path=st.lists(st.integers(min_value=0, max_value=50), max_size=5),
       decimals_as_text=st.booleans())
def test_decoding_gives_what_parsing_then_validating_gives_or_nothing(data: st.DataObject, noise: Any, path: list[int],
                                                                      decimals_as_text: bool) -> None:
    """Valid inputs and inputs spoiled at any depth: the decoder's values and classes are the validator's, or it returns None."""
    for pack in PACK_SET:
        decode = compile_decoder(pack.ir.inputs)
        assert decode is not None, pack.key  # every bundled pack's inputs can be decoded in one pass
        valid = data.draw(inputs_for(pack.ir))
        for candidate in (valid, _spoiled(valid, path, noise)):
            raw = _json(candidate, decimals_as_text)
            if raw is None:
                continue
            decoded = decode(raw)
            expected = _parsed_then_validated(pack, raw)
            if decoded is not None:
                assert expected is not None, raw
                assert _typed(decoded) == _typed(expected)
            elif not decimals_as_text and candidate is valid:
                raise AssertionError(f"{pack.key} stepped aside on a valid input sent as numbers: {raw!r}")


@pytest.mark.parametrize(("path", "value"), [
    (("customer", "credit_limit"), "2500.50"),  # a decimal as text: valid, the validator's path reads it
    (("lines", 0, "quantity"), 5.0),  # a whole number written with a fraction: valid too
    (("lines", 0, "list_price"), -1),  # below min
    (("customer", "risk_tier"), "Z"),  # not one of the values
    (("lines", 0, "sku"), "X" * 41),  # over max_length
    (("lines", 0, "sku"), None),  # null where a value is required
    (("lines", 0, "colour"), "red"),  # a field the pack does not declare
    (("customer", "open_orders"), True),  # a boolean for an amount
])
def test_the_decoder_steps_aside_where_the_validator_decides(path: tuple[Any, ...], value: Any) -> None:
    """A valid but unusual input and an invalid one both return None: the validator takes them and words the errors."""
    flow = PACK_SET.get("order", "1.0.0")
    order = jsonio.loads(ORDER)
    decode = compile_decoder(flow.ir.inputs)
    assert decode is not None
    assert _typed(decode(jsonio.dumps(order))) == _typed(flow.validate(order))
    target = order
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert decode(json.dumps(order, default=str).encode()) is None


NUMBER_FIELDS = [("lines", 0, "list_price"), ("lines", 0, "unit_cost"), ("customer", "credit_limit"),
                 ("customer", "open_receivables"), ("lines", 0, "quantity"), ("customer", "days_past_due")]


@SETTINGS
@given(text=json_number_texts, path=st.sampled_from(NUMBER_FIELDS))
def test_a_number_decodes_from_its_text_as_parsing_then_validating_reads_it(text: str, path: tuple[Any, ...]) -> None:
    """1e2, -0.0, 0.10, integers past 64 bits: the decoder's value and class are the validator's, spelling kept, or it steps aside."""
    flow = PACK_SET.get("order", "1.0.0")
    decode = compile_decoder(flow.ir.inputs)
    assert decode is not None
    order = jsonio.loads(ORDER)
    target = order
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "NUMBER"
    raw = jsonio.dumps(order).replace(b'"NUMBER"', text.encode())
    decoded = decode(raw)
    if decoded is not None and not order_contract.kept(decoded):  # a zero quantity: the replay's decoder defers it too
        decoded = None
    expected = _parsed_then_validated(flow, raw)
    if decoded is None:
        # only a whole-number field spelled with a fraction or an exponent (5.0, 1e2) goes to the validator, which reads it
        assert expected is None or (path[-1] in ("quantity", "days_past_due") and ("." in text or "e" in text.lower())), raw
    else:
        assert expected is not None, raw
        assert _typed(decoded) == _typed(expected)

def _broken(order: dict[str, Any], rule: str, i: int) -> dict[str, Any]:
    """``order`` breaking one of the canonical order's rules at its ``i``-th line or warehouse (``rule`` "none": as drawn)."""
    order = json.loads(jsonio.dumps(order).decode(), parse_float=Decimal)
    lines, warehouses = order["lines"], order["warehouses"]
    if rule == "no lines":
        order["lines"] = []
    elif rule == "zero quantity" and lines:
        lines[i % len(lines)]["quantity"] = 0
    elif rule == "line_no below 1" and lines:
        lines[i % len(lines)]["line_no"] = 1 - i
    elif rule == "repeated line_no" and len(lines) > 1:
        lines[i % len(lines)]["line_no"] = lines[(i + 1) % len(lines)]["line_no"]
    elif rule == "repeated warehouse" and len(warehouses) > 1:
        warehouses[i % len(warehouses)]["code"] = warehouses[(i + 1) % len(warehouses)]["code"]
    return order


@SETTINGS
@given(data=st.data(), rule=st.sampled_from(["none", "no lines", "zero quantity", "line_no below 1", "repeated line_no",
                                             "repeated warehouse"]), i=st.integers(min_value=0, max_value=40))
def test_the_replay_decoder_keeps_the_canonical_orders_rules_as_the_validator_does(data: st.DataObject, rule: str, i: int) -> None:
    """Each order flow version, orders breaking each rule in its one pass: decoded exactly when the guarded validator takes them, to its values."""
    for flow in (pack for pack in PACK_SET if order_contract.holds(pack.ir)):
        decode = compile_decoder(flow.ir.inputs, rules=order_contract.ITEM_RULES)
        assert decode is not None, flow.key
        raw = jsonio.dumps(_broken(data.draw(inputs_for(flow.ir)), rule, i))
        decoded, expected = decode(raw), _parsed_then_validated(flow, raw)
        assert (decoded is None) == (expected is None), (flow.key, rule, raw)
        assert _typed(decoded) == _typed(expected)


def test_a_declared_default_fills_an_absent_or_null_field_as_the_validator_does() -> None:
    """credit's prepaid_amount (default 0) and allocation's hazmat (default false): absent and null give the default."""
    credit = PACK_SET.get("credit", "1.0.0")
    example = jsonio.loads((ROOT / "examples" / "credit.json").read_bytes())
    decode = compile_decoder(credit.ir.inputs)
    assert decode is not None
    for sent in ({k: v for k, v in example.items() if k != "prepaid_amount"}, {**example, "prepaid_amount": None}):
        raw = jsonio.dumps(sent)
        assert _typed(decode(raw)) == _typed(credit.validate(jsonio.loads(raw)))


def test_a_type_the_decoder_does_not_mirror_leaves_the_pack_to_the_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    """A declaration with a type it does not know compiles to no decoder, not to a decoder that guesses."""
    from engine import decode as decoding

    monkeypatch.setattr(decoding, "held", lambda kind: None if kind in ("list", "object") else "new-kind")
    assert compile_decoder(PACK_SET.get("credit", "1.0.0").ir.inputs) is None


DEEP = """
pack: deep
version: 1.0.0
description: objects nested past the inline depth
owner: tests
inputs:
  a: {type: object, fields: {b: {type: list, items: {c: {type: object, fields: {d: {type: list, items: {e: {type: object, fields: {
     f: {type: list, items: {amount: {type: money, min: 0}, flag: {type: boolean, optional: true, default: true}}}}}}}}}}}}}
outputs:
  total: {type: money, value: 'sum(a.b as x, sum(x.c.d as y, sum(y.e.f as z, z.amount)))'}
"""


def test_objects_nested_past_the_inline_depth_are_checked_alike() -> None:
    """Six levels deep: an integer amount becomes a Decimal, a null flag its default, a negative amount steps aside."""
    result = load_text(DEEP, "deep.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    from engine.compiled import compile_pack

    pack = compile_pack(result.pack)
    decode = compile_decoder(pack.ir.inputs)
    assert decode is not None
    raw = b'{"a": {"b": [{"c": {"d": [{"e": {"f": [{"amount": 5, "flag": null}, {"amount": 2.50}]}}]}}]}}'
    decoded = decode(raw)
    assert decoded is not None
    assert _typed(decoded) == _typed(pack.validate(jsonio.loads(raw)))
    assert decoded["a"]["b"][0]["c"]["d"][0]["e"]["f"][0] == {"amount": Decimal(5), "flag": True}
    assert decode(raw.replace(b"2.50", b"-2.50")) is None


def test_a_record_decoded_for_its_pack_reads_as_the_parsed_one() -> None:
    """parse_record with the decoder: the same id and date, the validated input, taken by admit as it is.

    The order flow declares order_id; credit does not, so its record's id and date are metadata, left out of the input.
    """
    order = json.loads(ORDER)
    credit = json.loads((ROOT / "examples" / "credit.json").read_bytes())
    cases = [("order", {**order, "as_of": "2026-06-01"}, ("SO-1001", dt.date(2026, 6, 1))),
             ("credit", {"as_of": "2026-06-03", **credit}, (order_io.unnamed(2), dt.date(2026, 6, 3))),
             ("credit", {"order_id": "C-7", "as_of": "2026-06-02", **credit}, ("C-7", dt.date(2026, 6, 2)))]
    for number, (name, record, expected) in enumerate(cases, start=1):
        pack = PACK_SET.get(name, "1.0.0")
        line = json.dumps(record).encode()
        slow_id, slow_day, raw = order_io.parse_record((number, line))
        order_io.decode_for(pack)
        try:
            fast_id, fast_day, checked = order_io.parse_record((number, line))
        finally:
            order_io.decode_for(None)
        assert (fast_id, fast_day) == (slow_id, slow_day) == expected
        assert isinstance(checked, order_io.Checked)
        assert decide.admit(pack, checked) is checked
        assert _typed(dict(checked)) == _typed(decide.admit(pack, raw))
        assert decide.admit(PACK_SET.get(name, "1.1.0"), checked) is not checked  # another version validates it itself


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize(("as_of", "error"), [(None, "line 4: no as_of"), ("20260601", "line 4: as_of '20260601' is not a date"),
                                             ("2026-W23-1", "line 4: as_of '2026-W23-1' is not"), (20260601, "line 4: as_of 20260601 is not")])
def test_a_record_without_a_calendar_as_of_is_refused_at_its_line(fast: bool, as_of: Any, error: str) -> None:
    """A replayed order with no date, or one the API would refuse, is not decided: both parse paths refuse it at its line."""
    order = json.loads((ROOT / "examples" / "credit.json").read_bytes())
    record = json.dumps({"order_id": "C-8", **order, **({} if as_of is None else {"as_of": as_of})}).encode()
    order_io.decode_for(PACK_SET.get("credit", "1.0.0") if fast else None)
    try:
        with pytest.raises(ArbiterError, match=error):
            order_io.parse_record((4, record))
    finally:
        order_io.decode_for(None)


def _replayed(lines: list[bytes]) -> bytes:
    baseline = specs.Spec(str(PACKS), PACKS, {})
    candidate = specs.Spec(f"{PACKS}#credit@1.1.0,pricing@2.0.0", PACKS, {"credit": "1.1.0", "pricing": "2.0.0"})
    tally, rows = tallying.Tally(), []
    for chunk in run.replay(enumerate(lines, start=1), baseline, candidate, dt.date(2026, 11, 24), "order", 1):
        tally.merge(chunk.tally)
        rows += chunk.diff
    return repr([tally.orders, tally.changed, tally.mix, tally.errors, tally.invalid, tally.fired, tally.totals,
                 tally.transitions, tally.steps, tally.dimensions, rows]).encode()


def test_a_replay_decodes_in_one_pass_with_the_outcomes_of_parsing_then_validating(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid orders, unusual ones and invalid ones: every count, error and diff row is the same with the decoder and without."""
    order = {**json.loads(ORDER), "as_of": "2026-06-01"}
    variants = [order, json.loads(ORDER)]
    for path, value in ((("customer", "credit_limit"), "2500.50"), (("lines", 0, "quantity"), 500), (("lines", 0, "list_price"), -1),
                        (("channel",), "fax"), (("customer", "risk_tier"), "C")):
        changed = json.loads(json.dumps(order))
        target = changed
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        variants.append({**changed, "order_id": f"SO-{len(variants)}"})
    lines = [json.dumps(v).encode() for v in variants] + [b"{not json", b"[1]"]
    with_decoder = _replayed(lines)
    assert order_io._DECODER  # the worker (this process, with one worker) decoded for order@1.0.0
    monkeypatch.setattr(run, "decode_for", lambda pack: order_io.decode_for(None))
    assert _replayed(lines) == with_decoder
    order_io.decode_for(None)
