"""Pydantic models of a pack as written in YAML.

These models say what a pack may contain and nothing about what it means: names, types
and expressions are checked by ``rules.check`` against the whole pack. ``arbiter schema``
prints the JSON Schema of ``PackDocument`` for editors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.hit_policy import HitPolicy
from rules.input_types import PLAIN_TYPE_NAMES, TYPE_NAMES

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
RowId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64)]
SemVer = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
Scalar = Decimal | int | bool | str | dt.date | None

if TYPE_CHECKING:
    from typing import TypeAlias

    TypeName: TypeAlias = str
    PlainTypeName: TypeAlias = str
    FieldKind: TypeAlias = str
else:  # the registered types (rules.input_types), as literals: the pack format's schema lists them
    TypeName = Literal[TYPE_NAMES]
    PlainTypeName = Literal[PLAIN_TYPE_NAMES]
    FieldKind = Literal[(*TYPE_NAMES, "list", "object")]
Rounding = Literal["half_up", "half_even", "half_down", "down", "up", "floor", "ceiling"]
Aggregation = Literal["list", "sum", "min", "max", "count"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Model):
    """A typed field of a pack's inputs or outputs (or of a list item / object)."""

    type: FieldKind
    description: str | None = None
    optional: bool = Field(False, description="may be absent or null")
    default: Scalar = Field(None, description="value used when an optional input is absent")
    min: Decimal | None = None
    max: Decimal | None = None
    values: list[str] | None = Field(None, description="allowed values of an enum, in priority order")
    max_length: int | None = Field(None, ge=0)
    max_items: int | None = Field(None, ge=0)
    items: dict[str, FieldSpec] | None = Field(None, description="fields of each element of a list of objects")
    of: PlainTypeName | None = Field(
        None, description="element type of a list of plain values"
    )
    fields: dict[str, FieldSpec] | None = Field(None, description="fields of an object")
    scale: int | None = Field(None, ge=0, le=12, description="decimal places of an output")
    rounding: Rounding | None = Field(None, description="how an output is rounded to its scale")
    value: str | None = Field(None, description="output only: expression computing it after all tables")
    vocabulary: Identifier | None = Field(
        None, description="the shared vocabulary (vocabulary.yaml at the packs' root) whose codes this string or enum carries"
    )


class ParamSpec(_Model):
    """A named constant of a pack version (a margin floor, a tolerance): expressions read it by name."""

    type: TypeName
    value: Scalar = Field(description="the constant, of the declared type (a money or decimal within its scale)")
    description: str = Field(min_length=1, description="what the constant means; a diff and an impact report show it")
    scale: int | None = Field(None, ge=0, le=12, description="decimal places of a money or decimal value")
    values: list[str] | None = Field(None, description="allowed values of an enum")


class DataColumn(_Model):
    """A data column with bounds: a value outside them is an error at its row, not a silent miss."""

    type: PlainTypeName
    min: Decimal | None = Field(None, description="the smallest value a row may hold")
    max: Decimal | None = Field(None, description="the largest value a row may hold")
    optional: bool = Field(False, description="a row may leave this column empty (null); otherwise an empty cell is an "
                                              "error at its row, not a null that a lookup silently falls back from")
    description: str | None = None


class DataTable(_Model):
    """A lookup table: inline rows or a CSV file beside the pack."""

    description: str | None = None
    key: list[Identifier] = Field(min_length=1)
    columns: dict[Identifier, PlainTypeName | DataColumn]
    numbered: Identifier | None = Field(
        None, description="a whole-number key column that numbers the rows of each rest of the key 1, 2, ... without gaps "
                          "(a pack reading windows 1, 2, ... until one is absent would never see a row past a gap)")
    rows: list[list[Scalar]] | None = None
    csv: str | None = Field(None, description="path of a CSV file relative to the pack file")


class InputColumn(_Model):
    name: Identifier
    expr: str


CellValue = Scalar | list[Scalar]


class Row(_Model):
    id: RowId
    description: str | None = None
    when: dict[str, CellValue] = Field(default_factory=dict)
    then: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None


class Table(_Model):
    id: Identifier
    description: str | None = None
    hit_policy: HitPolicy = HitPolicy.UNIQUE
    aggregation: Aggregation | None = None
    inputs: list[str | InputColumn] = Field(default_factory=list)
    outputs: list[Identifier] = Field(min_length=1)
    output_values: dict[Identifier, list[Scalar]] | None = Field(
        None, description="priority order of output values (priority and output_order)"
    )
    result: Identifier | None = Field(None, description="name bound to the whole result")
    default: dict[Identifier, Any] | None = Field(None, description="outputs when no row matches")
    rows: list[Row] = Field(min_length=1)


class Carry(FieldSpec):
    """A value carried from one element of a for_each to the next (stock consumed line by line)."""

    init: str = Field(description="expression giving the value before the first element; it cannot read an element")
    next: str = Field(description="expression giving the value the next element sees; it reads this element's values")


class Section(_Model):
    """Decisions per element of a list (order lines): derived values and tables evaluated once per element."""

    id: Identifier = Field(description="name of the resulting list: each element plus the kept values")
    over: str = Field(description="expression giving the list, e.g. lines")
    description: str | None = None
    carry: dict[Identifier, Carry] = Field(
        default_factory=dict, description="values each element reads as the previous element left them, in list order")
    derive: dict[Identifier, str] = Field(default_factory=dict)
    tables: list[Table] = Field(default_factory=list)
    after: dict[Identifier, str] = Field(default_factory=dict, description="per-element values computed after the tables")
    keep: list[Identifier] = Field(min_length=1, description="per-element values added to each element of the result")


class PackTest(_Model):
    name: str
    as_of: dt.date | None = None
    input: dict[str, Any]
    expect: dict[str, Any] | None = None
    matched: dict[str, list[str]] | None = None
    error: str | None = Field(None, description="expected error code instead of a decision")


class Invariant(_Model):
    name: str
    expr: str = Field(description="a condition over inputs and outputs that every decision must satisfy")
    description: str | None = None


class Fallback(_Model):
    """A safe answer the service gives, instead of refusing, when a named failure happens."""

    on: list[Literal["invalid_input", "missing_input", "evaluation_error"]] = Field(
        min_length=1, description="invalid_input: any input problem; missing_input: only missing inputs; "
                                  "evaluation_error: the pack could not decide")
    output: dict[Identifier, Any] = Field(min_length=1, description="the outputs answered, e.g. {decision: hold}")
    reason: str | None = Field(None, description="the reason given with the answer")


class FlowStep(_Model):
    id: Identifier
    pack: Identifier
    version: SemVer | None = None
    inputs: dict[str, str] = Field(default_factory=dict, description="step input -> expression over the flow")
    when: str | None = Field(None, description="run the step only when this holds")


class PackDocument(_Model):
    """One version of one pack."""

    pack: Identifier
    version: SemVer
    kind: Literal["decision", "flow"] = "decision"
    description: str
    owner: str
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    params: dict[Identifier, ParamSpec] = Field(
        default_factory=dict, description="named constants: expressions read them by name, compiled in as constants")
    inputs: dict[Identifier, FieldSpec] = Field(default_factory=dict)
    outputs: dict[Identifier, FieldSpec] = Field(min_length=1)
    data: dict[Identifier, DataTable] = Field(default_factory=dict)
    derive: dict[Identifier, str] = Field(default_factory=dict)
    for_each: list[Section] = Field(default_factory=list, description="line-level decisions, after derive")
    rollup: dict[Identifier, str] = Field(default_factory=dict, description="order-level values after for_each, before tables")
    tables: list[Table] = Field(default_factory=list)
    steps: list[FlowStep] = Field(default_factory=list)
    invariants: list[Invariant] = Field(default_factory=list)
    tests: list[PackTest] = Field(default_factory=list)
    fallbacks: list[Fallback] = Field(default_factory=list, description="safe answers for named failures (the API "
                                      "answers 200 with the fallback and its cause); the first that names the failure applies")


def pack_format_schema() -> dict[str, Any]:
    schema = PackDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Arbiter policy pack"
    return schema
