"""The checked, lowered form of a pack: what the engine compiles.

Everything here is resolved and typed; nothing refers back to YAML. Positions are kept
only where the engine reports on them (row ids for coverage and traces).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rules.errors import Position
from rules.hit_policy import HitPolicy
from rules.model import FieldSpec
from rules.syntax import Node
from rules.types import Type


@dataclass(eq=False)
class Symbol:
    """A name an expression can read."""

    name: str
    kind: str  # input | derive | carry | table_output | table_result | as_of | item_field | item | enum_literal
    type: Type
    scope: int = 0  # for item_field / item: which aggregation binds it


@dataclass(eq=False)
class FieldDef:
    name: str
    spec: FieldSpec
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


@dataclass(eq=False)
class RowDef:
    id: str
    index: int
    tests: list[Node]  # one unary test per column (AnyTest where the row says nothing)
    outputs: list[Node]  # one expression per output column
    reason: str | None
    rank: tuple[int, ...] = ()  # priority rank (lower wins), for priority/output_order


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
    source: dict[str, Any] = field(default_factory=dict)  # the document as written, for schemas and reports
    test_positions: list[Position] = field(default_factory=list)
    invariants: list[InvariantDef] = field(default_factory=list)
    sections: list[SectionDef] = field(default_factory=list)
    rollups: list[DeriveDef] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)  # "inputs.x", "derive.y", "tables.t.R1", "invariants.0"
    fallbacks: list[Any] = field(default_factory=list)  # rules.model.Fallback, kept as written

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def all_tables(self) -> list[TableDef]:
        """Line-level tables (in section order), then order-level tables: evaluation order."""
        return [t for section in self.sections for t in section.tables] + self.tables
