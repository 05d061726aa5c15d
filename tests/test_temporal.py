"""FEEL's times, dates and times and durations (rules/temporal.py): texts, order and JSON, beyond the spec's rows."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from engine.compiled import compile_pack
from engine.jsonio import dumps, loads
from rules import temporal
from rules.errors import DecisionError, InputError
from rules.input_types import INPUT_TYPES
from rules.load import load_text
from tests.strategies import temporal_values

KIND_OF_CLASS = {cls: kind for kind, cls in temporal.CLASS_OF_KIND.items()}


@settings(max_examples=300, deadline=None)
@given(temporal_values)
def test_a_value_is_read_back_from_its_text_the_same(value: Any) -> None:
    """The text a value is written as (JSON out) reads back as the same value, and the type's schema pattern admits it."""
    kind = KIND_OF_CLASS[type(value)]
    text = str(value)
    parsed = INPUT_TYPES[kind].parse(text)  # type: ignore[misc]
    assert temporal.identical(parsed, value), (text, parsed)
    assert re.search(INPUT_TYPES[kind].schema["pattern"], text), text
    assert loads(dumps({"v": value})) == {"v": text}


@settings(max_examples=300, deadline=None)
@given(temporal_values, temporal_values)
def test_order_agrees_with_the_difference(a: Any, b: Any) -> None:
    """Of two values of one kind both zoned or both local, a < b exactly when b - a is positive, = when it is under a second."""
    if type(a) is not type(b) or isinstance(a, (temporal.DaysTimeDuration, temporal.YearsMonthsDuration)):
        return
    if (a.key()[0]) != (b.key()[0]):
        with pytest.raises(DecisionError):
            _ = a < b
        assert b - a is None  # DMN 1.5: both or neither have an offset, else null
        return
    difference = (b - a).seconds
    if abs(difference) < 1 and a.key()[1].to_integral_value(rounding="ROUND_FLOOR") == b.key()[1].to_integral_value(rounding="ROUND_FLOOR"):
        assert a == b
        return
    assert (a < b) == (difference > 0)
    assert (a == b) == (difference == 0)


@settings(max_examples=200, deadline=None)
@given(temporal_values)
def test_a_days_and_time_shift_is_undone(value: Any) -> None:
    """Moving a date and time by a duration and back gives the same value; a time of day too, wrapped at midnight."""
    if not isinstance(value, (temporal.Time, temporal.DateTime)) or (
            isinstance(value, temporal.DateTime) and not dt.date(2, 1, 1) < value.date < dt.date(9998, 1, 1)):
        return
    step = temporal.DaysTimeDuration(Decimal("90061.5"))  # a day, an hour, a minute and a half second
    assert temporal.identical((value + step) - step, value)


PACK = """pack: shifts
version: 1.0.0
description: shifts by clock time
owner: tests
inputs:
  shifts:
    type: list
    items:
      start: {type: date_time}
      length: {type: days_time_duration}
      break: {type: time, optional: true}
outputs:
  ends: {type: list, of: date_time}
derive:
  finish: map(shifts as s, add_duration(s.start, s.length))
tables:
  - {id: t, hit_policy: first, outputs: [ends], rows: [{id: R1, then: {ends: '=finish'}, reason: ends}]}
"""

# a bad value at a JSON path: the problem names the path and what a value of the type looks like
BAD_INPUTS = [
    ({"start": "2026-01-01T25:00:00", "length": "PT1H"}, ("shifts", 0, "start"), "expected a date_time as ISO 8601 text"),
    ({"start": "2026-01-01T10:00:00", "length": "P1M"}, ("shifts", 0, "length"), "expected a days_time_duration"),
    ({"start": "2026-01-01T10:00:00", "length": 3600}, ("shifts", 0, "length"), "expected a days_time_duration"),
    ({"start": "2026-01-01T10:00:00", "length": "PT1H", "break": "12:00"}, ("shifts", 0, "break"), "like '10:30:00'"),
    ({"start": "10000-01-01T10:00:00", "length": "PT1H"}, ("shifts", 0, "start"), "only years 1 to 9999"),
    ({"start": "2026-03-29T02:30:00@Europe/Paris", "length": "PT1H"}, ("shifts", 0, "start"), "a clock change skips it"),
]


@pytest.mark.parametrize(("shift", "path", "message"), BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_a_bad_temporal_input_is_refused_at_its_path(shift: dict[str, Any], path: tuple[Any, ...], message: str) -> None:
    """An input that is no such value is an input error at its JSON path, with what was expected."""
    loaded = load_text(PACK, "shifts.yaml")
    assert loaded.pack is not None, [str(d) for d in loaded.diagnostics]
    pack = compile_pack(loaded.pack)
    with pytest.raises(InputError) as refused:
        pack.decide({"shifts": [shift]}, dt.date(2026, 1, 1))
    problem = refused.value.problems[0]
    assert problem.path == path
    assert message in problem.message


def test_outputs_are_written_as_feel_writes_them() -> None:
    """A decision's temporal outputs are their FEEL text in JSON, zones and offsets as given."""
    loaded = load_text(PACK, "shifts.yaml")
    assert loaded.pack is not None
    shifts = [{"start": "2026-03-28T23:30:00@Europe/Paris", "length": "PT3H"},
              {"start": "2026-01-31T22:00:00-05:00", "length": "P1DT2H30M"}]
    decided = compile_pack(loaded.pack).decide_as_dict({"shifts": shifts}, dt.date(2026, 1, 1))
    assert loads(dumps(decided))["output"]["ends"] == ["2026-03-29T03:30:00@Europe/Paris", "2026-02-02T00:30:00-05:00"]
