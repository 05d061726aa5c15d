"""The value types a pack declares, each once: what the rest of Arbiter needs of it.

A field (input, output, list element, object field), a data column and a parameter are
declared with one of these names (``list`` and ``object`` are structure, not types). One
``InputType`` record per type gives its checked type (``rules.check``), how a value of it is
held (``held``: the validator, the generated code, the search and the solver work on that),
its JSON Schema (``rules.schema``, so ``arbiter schema`` and the OpenAPI document), the places
an output of it is rounded to when it declares none, and its line in ``docs/packs.md``.

Adding a type is one record below and its documentation line. A new way of holding a value
is a new ``Held`` member: each module's table by ``Held`` then fails its import-time check
until it covers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from rules import temporal
from rules.records import by_name
from rules.types import BOOLEAN, DATE, DATE_TIME, DAYS_TIME, DECIMAL, INTEGER, STRING, TIME, YEARS_MONTHS, Type


class Held(StrEnum):
    """How a value is held at run time: the Python class every backend, the validator and the solver see."""

    DECIMAL = "decimal"  # decimal.Decimal, exact; never a binary float
    INTEGER = "integer"  # int
    BOOLEAN = "boolean"  # bool
    STRING = "string"  # str
    DATE = "date"  # datetime.date
    TEMPORAL = "temporal"  # a rules.temporal value, read from its ISO 8601 text by its type's ``parse``


@dataclass(frozen=True)
class InputType:
    name: str
    type: Type  # as the checker sees a value of it
    held: Held
    schema: Mapping[str, Any]  # its JSON Schema, before the field's own constraints (bounds, length, values)
    doc: str
    default_scale: int | None = None  # places an output of it is rounded to when it declares no scale
    enumerated: bool = False  # declares `values`, in priority order
    parse: Callable[[str], Any] | None = None  # Held.TEMPORAL: its value from a text, None for a text that is none

    @property
    def numeric(self) -> bool:
        """Whether it takes `min` and `max`."""
        return self.held in (Held.DECIMAL, Held.INTEGER)

    @property
    def scaled(self) -> bool:
        """Whether it takes `scale` and `rounding`."""
        return self.held is Held.DECIMAL

    def checked(self, values: Iterable[str] | None = None) -> Type:
        """Its checked type; an enumerated type's carries the declared values."""
        return replace(self.type, values=tuple(values or ())) if self.enumerated else self.type


_EXACT = {"type": "number", "format": "decimal"}  # a client generator types it Decimal, not float
# FEEL's texts, as patterns: JSON Schema's "time", "date-time" and "duration" formats are RFC 3339's and ISO 8601's,
# which need an offset where FEEL's may have none or a zone name, and allow weeks and mixed durations FEEL's do not
_CLOCK = r"\d{2}:\d{2}:\d{2}(\.\d+)?"
_OFFSET = r"(Z|[+-]\d{2}:\d{2}(:\d{2})?)"
_TEMPORAL_SCHEMAS = {
    "time": {"type": "string", "pattern": f"^{_CLOCK}{_OFFSET}?$"},
    "date_time": {"type": "string", "pattern": rf"^-?\d{{4,9}}-\d{{2}}-\d{{2}}(T{_CLOCK}({_OFFSET}|@[A-Za-z][\w/+-]*)?)?$"},
    "days_time_duration": {"type": "string", "pattern": r"^-?P(?=[\dT])(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d*)?S)?)?$"},
    "years_months_duration": {"type": "string", "pattern": r"^-?P(?=\d)(\d+Y)?(\d+M)?$"},
}

INPUT_TYPES: dict[str, InputType] = by_name(
    InputType("money", Type("number", "money"), Held.DECIMAL, _EXACT,
              "an amount, an exact decimal; an output is rounded to its scale (2 unless declared)", default_scale=2),
    InputType("decimal", DECIMAL, Held.DECIMAL, _EXACT, "an exact decimal number, never a binary float"),
    InputType("integer", INTEGER, Held.INTEGER, {"type": "integer"}, "a whole number"),
    InputType("boolean", BOOLEAN, Held.BOOLEAN, {"type": "boolean"}, "true or false"),
    InputType("string", STRING, Held.STRING, {"type": "string"}, "a text of at most max_length characters (10,000 unless declared)"),
    InputType("enum", STRING, Held.STRING, {"type": "string"}, "one of its values, listed in priority order", enumerated=True),
    InputType("date", DATE, Held.DATE, {"type": "string", "format": "date"}, "a calendar date, YYYY-MM-DD"),
    InputType("time", TIME, Held.TEMPORAL, _TEMPORAL_SCHEMAS["time"],
              "a time of day, HH:MM:SS with optional fraction and offset (`10:30:00`, `10:30:00.5+01:00`, `10:30:00Z`)",
              parse=temporal.parse_time),
    InputType("date_time", DATE_TIME, Held.TEMPORAL, _TEMPORAL_SCHEMAS["date_time"],
              "a date and time, with an offset, a zone (`2026-03-29T02:30:00@Europe/Paris`) or neither (local)",
              parse=temporal.parse_date_time),
    InputType("days_time_duration", DAYS_TIME, Held.TEMPORAL, _TEMPORAL_SCHEMAS["days_time_duration"],
              "an exact span of days and time, ISO 8601 (`P1DT2H`, `-PT0.5S`)", parse=temporal.parse_days_time),
    InputType("years_months_duration", YEARS_MONTHS, Held.TEMPORAL, _TEMPORAL_SCHEMAS["years_months_duration"],
              "a span of whole years and months, ISO 8601 (`P1Y2M`)", parse=temporal.parse_years_months),
)
TYPE_NAMES = tuple(INPUT_TYPES)
PLAIN_TYPE_NAMES = tuple(name for name, t in INPUT_TYPES.items() if not t.enumerated)  # a list's `of`, a data column


def field_type(kind: str) -> Type:
    """The checked type of a plain declared type (a data column, a list's ``of``)."""
    return INPUT_TYPES[kind].type


def held(kind: str) -> Held | None:
    """How a value of a declared type is held; None for ``list`` and ``object``."""
    found = INPUT_TYPES.get(kind)
    return None if found is None else found.held
