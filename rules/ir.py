"""The checked, lowered form of a pack: what the engine compiles.

Everything here is resolved and typed; nothing refers back to YAML. Positions are kept
only where the engine reports on them (row ids for coverage and traces).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rules.errors import Position
from rules.hit_policy import HitPolicy
from rules.syntax import Node, ParamRef, walk
from rules.types import Type

__all__ = ["HitPolicy"]


class SymbolKind(StrEnum):
    INPUT = "input"
    DERIVE = "derive"  # derive, rollup, and a section's per-element derive and after
    CARRY = "carry"  # a value a for_each section carries from one element to the next
    TABLE_OUTPUT = "table_output"
    TABLE_RESULT = "table_result"  # a table's `result:` name, its whole result
    AS_OF = "as_of"
    ITEM = "item"  # the element a projection or a section goes over
    ITEM_FIELD = "item_field"  # a field of that element, in scope by name
    ENUM_LITERAL = "enum_literal"  # a bare enum value in a cell
    STEP = "step"  # a flow step's outputs
    LATER_STEP = "later_step"  # a step that runs later: reading it is an error
    SECTION_RESULT = "section_result"  # a for_each section's list of element records
    OUTPUT = "output"  # an output, as invariants read it
    COLUMN = "column"  # a table's input column by its label, as its rows' reason templates read it
    PARAM = "param"  # a pack parameter: a named constant, inlined once checked (syntax.ParamRef)


@dataclass(eq=False)
class Symbol:
    """A name an expression can read."""

    name: str
    kind: SymbolKind
    type: Type
    scope: int = 0  # for item_field / item: which aggregation binds it
    value: Any = None  # for param: its constant


@dataclass(frozen=True)
class FieldShape:
    """A declared field as the engine needs it: its input constraints and output format, nothing of YAML.

    The attribute names are the pack format's, so a constraint reads the same in both.
    """

    type: str  # money | decimal | integer | boolean | string | enum | date | list | object
    optional: bool = False
    default: Any = None
    min: Decimal | None = None
    max: Decimal | None = None
    values: tuple[str, ...] | None = None  # an enum's, in priority order
    max_length: int | None = None
    max_items: int | None = None
    items: dict[str, FieldShape] | None = None  # fields of each element of a list of objects
    of: str | None = None  # element type of a list of plain values
    fields: dict[str, FieldShape] | None = None  # fields of an object
    scale: int | None = None  # output: decimal places
    rounding: str | None = None  # output: how it is rounded to its scale
    description: str | None = None
    vocabulary: str | None = None  # the shared vocabulary whose codes it carries (engine.codes checks both ends)


@dataclass(frozen=True)
class ParamDef:
    """A pack parameter: a named constant with its declared type and meaning.

    Expressions that read it hold a ``syntax.ParamRef`` (a literal): the generated code has the
    value inlined. The definition stays in the IR so a diff or an attribution can name it.
    """

    name: str
    kind: str  # as declared: money | decimal | integer | boolean | string | enum | date
    type: Type
    value: Any
    description: str
    scale: int | None = None


@dataclass(eq=False)
class FieldDef:
    name: str
    spec: FieldShape
    type: Type
    default: Any = None
    value: Node | None = None  # outputs: computed after the tables
    source: Symbol | None = None  # inputs: their own symbol; outputs: the symbol that sets them


@dataclass(eq=False)
class DataDef:
    name: str
    key: list[str]
    columns: dict[str, str]
    rows: list[dict[str, Any]]

    def index(self, column: str) -> dict[Any, Any]:
        """``{key: value}`` for one column; a one-column key is not wrapped in a tuple."""
        out: dict[Any, Any] = {}
        for row in self.rows:
            k = tuple(row[c] for c in self.key)
            out[k[0] if len(k) == 1 else k] = row[column]
        return out


@dataclass(eq=False)
class DeriveDef:
    symbol: Symbol
    expr: Node


@dataclass(eq=False)
class Column:
    label: str
    expr: Node
    symbol: Symbol | None = None  # the column's value by its label, for the rows' reason templates


@dataclass(eq=False)
class ReasonValue:
    """A ``{value}`` of a reason template, with the decimal places it is shown at (None: as it holds them)."""

    expr: Node
    places: int | None


@dataclass(eq=False)
class RowDef:
    id: str
    index: int
    tests: list[Node]  # one unary test per column (AnyTest where the row says nothing)
    outputs: list[Node]  # one expression per output column
    reason: str | None  # as written
    rank: tuple[int, ...] = ()  # priority rank (lower wins), for priority/output_order
    template: list[str | ReasonValue] | None = None  # the reason as text and values, when it has values

    @property
    def reason_values(self) -> list[Node]:
        """The expressions the reason shows: evaluated when the row is the reason given."""
        return [p.expr for p in self.template or () if isinstance(p, ReasonValue)]


@dataclass(eq=False)
class TableDef:
    id: str
    hit_policy: HitPolicy
    aggregation: str | None
    columns: list[Column]
    output_names: list[str]
    output_types: list[Type]
    rows: list[RowDef]
    output_symbols: list[Symbol]
    result: Symbol | None
    default: list[Node] | None
    always_matches: bool

    @property
    def multi_hit(self) -> bool:
        return self.hit_policy.multi_hit


@dataclass(eq=False)
class CarryDef:
    """A value threaded through a for_each: ``init`` before the first element, ``next`` after each."""

    symbol: Symbol
    init: Node
    next: Node


@dataclass(eq=False)
class SectionDef:
    id: str
    over: Node
    scope: int  # the element is read as _it<scope> in generated code
    derives: list[DeriveDef]
    tables: list[TableDef]
    after: list[DeriveDef]
    keep: list[Symbol]
    result: Symbol
    carries: list[CarryDef] = field(default_factory=list)


@dataclass(eq=False)
class InvariantDef:
    name: str
    expr: Node
    index: int


@dataclass(eq=False)
class StepDef:
    id: str
    pack: str
    version: str | None
    inputs: dict[str, Node]
    when: Node | None
    symbol: Symbol


@dataclass(eq=False)
class PackIR:
    name: str
    version: str
    kind: str
    description: str
    owner: str
    effective_from: dt.date | None
    effective_to: dt.date | None
    inputs: list[FieldDef]
    outputs: list[FieldDef]
    data: dict[str, DataDef]
    derives: list[DeriveDef]
    tables: list[TableDef]
    steps: list[StepDef]
    tests: list[Any]  # rules.model.PackTest, kept as written
    digest: str
    path: str
    source: dict[str, Any] = field(default_factory=dict)  # the document as written: a replay rebuilds edited packs from it
    test_positions: list[Position] = field(default_factory=list)
    invariants: list[InvariantDef] = field(default_factory=list)
    sections: list[SectionDef] = field(default_factory=list)
    rollups: list[DeriveDef] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)  # "inputs.x", "derive.y", "tables.t.R1", "invariants.0"
    fallbacks: list[Any] = field(default_factory=list)  # rules.model.Fallback, kept as written
    params: list[ParamDef] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def all_tables(self) -> list[TableDef]:
        """Line-level tables (in section order), then order-level tables: evaluation order."""
        return [t for section in self.sections for t in section.tables] + self.tables

    def expressions(self) -> list[tuple[str, Node]]:
        """Every expression tree of the pack with its place, named as ``positions`` names places."""
        out: list[tuple[str, Node]] = [(f"derive.{d.symbol.name}", d.expr) for d in self.derives]
        out += [(f"rollup.{d.symbol.name}", d.expr) for d in self.rollups]
        for sec in self.sections:
            out.append((f"for_each.{sec.id}.over", sec.over))
            out += [(f"for_each.{sec.id}.derive.{d.symbol.name}", d.expr) for d in sec.derives]
            out += [(f"for_each.{sec.id}.after.{d.symbol.name}", d.expr) for d in sec.after]
            out += [(f"for_each.{sec.id}.carry.{c.symbol.name}", n) for c in sec.carries for n in (c.init, c.next)]
        for table in self.all_tables:
            out += [(f"tables.{table.id}", c.expr) for c in table.columns]
            out += [(f"tables.{table.id}.{r.id}", n) for r in table.rows for n in (*r.tests, *r.outputs, *r.reason_values)]
            out += [(f"tables.{table.id}.default", n) for n in table.default or ()]
        out += [(f"outputs.{f.name}", f.value) for f in self.outputs if f.value is not None]
        for step in self.steps:
            out += [(f"steps.{step.id}.inputs.{k}", n) for k, n in step.inputs.items()]
            out += [(f"steps.{step.id}.when", step.when)] if step.when is not None else []
        out += [(f"invariants.{i.index}", i.expr) for i in self.invariants]
        return out

    def param_reads(self) -> dict[str, list[str]]:
        """For each parameter, the places that read it (in pack order, once each): what its change can move."""
        reads: dict[str, dict[str, None]] = {p.name: {} for p in self.params}
        for place, tree in self.expressions():
            for node in walk(tree):
                if isinstance(node, ParamRef):
                    reads.setdefault(node.name, {})[place] = None
        return {name: list(places) for name, places in reads.items()}
