"""The check stage: from a pack as written to its typed IR, collecting every diagnostic.

Stages, in order: data tables, inputs, derived values, decision tables, outputs, embedded
tests. Each stage reports what it finds and goes on; a stage that depends on a broken
name sees that name as missing and stays quiet about it, so one mistake gives one error.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rules import syntax as s
from rules.decimals import CTX
from rules.errors import Diagnostic, Position
from rules.expressions import ExpressionChecker, Scope, did_you_mean, inline_params, literal_type
from rules.input_types import INPUT_TYPES, Held, InputType, field_type, held
from rules.ir import (
    CarryDef,
    Column,
    DataDef,
    DeriveDef,
    FieldDef,
    FieldShape,
    InvariantDef,
    PackIR,
    ParamDef,
    ReasonValue,
    RowDef,
    SectionDef,
    StepDef,
    Symbol,
    SymbolKind,
    TableDef,
)
from rules.model import DataColumn, DataTable, FieldSpec, PackDocument, ParamSpec, Section, Table
from rules.parser import ExpressionError, parse_expression, parse_unary_tests
from rules.reasons import is_template, split_template
from rules.source import PathKey, SourceDoc
from rules.types import DATE, ORDERED, Type, join

RESERVED_NAMES = {"as_of", "item", "null", "true", "false", "and", "or", "not", "in", "if", "then", "else"}


class BrokenPack(Exception):
    """Raised by a resolver for a pack that exists but failed to load (its file has the errors)."""


class FlowPack(Exception):
    """Raised by a resolver for a pack that is itself a flow: a step runs a decision pack."""


class _Skip(Exception):
    """An element is broken and has been reported; leave it out of the IR."""


def spec_type(spec: FieldSpec) -> Type:
    nullable = spec.optional and spec.default is None
    if spec.type == "list":
        if spec.items is not None:
            item = Type("object", fields=tuple((n, spec_type(f)) for n, f in spec.items.items()))
        else:
            item = field_type(spec.of or "string")
        return Type("list", item=item, nullable=nullable)
    if spec.type == "object":
        return Type("object", fields=tuple((n, spec_type(f)) for n, f in (spec.fields or {}).items()), nullable=nullable)
    return INPUT_TYPES[spec.type].checked(spec.values).with_null(nullable)


def shape_of(spec: FieldSpec) -> FieldShape:
    """The declared field as the IR carries it."""
    return FieldShape(
        type=spec.type, optional=spec.optional, default=spec.default, min=spec.min, max=spec.max,
        values=tuple(spec.values) if spec.values is not None else None, max_length=spec.max_length,
        max_items=spec.max_items, of=spec.of, scale=spec.scale, rounding=spec.rounding, description=spec.description,
        vocabulary=spec.vocabulary,
        items={n: shape_of(f) for n, f in spec.items.items()} if spec.items is not None else None,
        fields={n: shape_of(f) for n, f in spec.fields.items()} if spec.fields is not None else None,
    )


def _fraction_into_whole(target: Type, node: s.Node) -> bool:
    """A money or decimal value set into a whole-number output: 1.0833 would be answered as an integer.

    A value rounded to whole units at its top (round(x, 0, ...), floor, ceiling) is whole.
    """
    t = node.type
    if target.kind != "number" or target.numeric != "integer" or t is None or t.kind != "number" or t.numeric in (None, "integer"):
        return False
    if isinstance(node, s.Call) and node.function in ("floor", "ceiling"):
        return False
    return not (isinstance(node, s.Call) and node.function == "round" and len(node.args) >= 2
                and isinstance(node.args[1], s.Literal) and node.args[1].value == 0)


_WHOLE_HINT = ": round it to whole units (round(x, 0, \"floor\"), floor, ceiling) or declare the output decimal"


def assignable(target: Type, value: Type) -> bool:
    if value.kind == "null":
        return True
    if target.kind != value.kind:
        return False
    if target.kind == "string" and target.values is not None:
        return value.values is not None and set(value.values) <= set(target.values)
    if target.kind == "list":
        return target.item is None or value.item is None or assignable(target.item, value.item)
    if target.kind == "object":
        # every field the target needs is there; fields it may go without (nullable) may be missing
        return all((value.field(n) is not None and assignable(t, value.field(n) or t)) or (value.field(n) is None and t.nullable)
                   for n, t in target.fields or ())
    return True


@dataclass(frozen=True)
class Checked:
    """What the check stage gives the lower stage: every definition, checked."""

    inputs: list[FieldDef]
    outputs: list[FieldDef]
    derives: list[DeriveDef]
    tables: list[TableDef]
    steps: list[StepDef]
    invariants: list[InvariantDef]
    sections: list[SectionDef]
    rollups: list[DeriveDef]
    params: list[ParamDef]


Resolve = Callable[[str, "str | None"], "PackIR | None"]


class PackChecker:
    def __init__(self, doc: SourceDoc, model: PackDocument, pack_dir: Path, resolve: Resolve | None = None,
                 data_files: dict[str, bytes | OSError] | None = None) -> None:
        self.doc = doc
        self.model = model
        self.pack_dir = pack_dir
        self.resolve = resolve
        self.data_files = data_files if data_files is not None else {}  # CSV bytes by relative path (the data stage's)
        self.checked: Checked | None = None
        self.diagnostics: list[Diagnostic] = []
        self.data: dict[str, DataDef] = {}
        self.scope = Scope({"as_of": Symbol("as_of", SymbolKind.AS_OF, DATE)})
        self.scope_counter = [0]
        self.used: set[int] = set()
        self.row_ids: dict[str, PathKey] = {}
        self.table_ids: set[str] = set()
        self.poisoned: set[str] = set()  # names whose definition failed: their uses stay quiet
        self.derived: dict[int, s.Node] = {}  # each derived value's expression, by its symbol's id
        self.broken_step = False  # a step's pack failed to load: no IR for this flow, and no second error
        self.param_symbols: list[Symbol] = []

    # Reporting.

    def report(self, path: PathKey, code: str, message: str, *, key: bool = False, severity: str = "") -> None:
        self.diagnostics.append(Diagnostic(self.doc.path, self.doc.position(path, key=key), code, message, severity))

    def report_at(self, position: Position, code: str, message: str, path: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(path or self.doc.path, position, code, message))

    def _problem(self, path: PathKey, text: str, exc: ExpressionError) -> None:
        if exc.code == "unknown-name" and _word_at(text, exc.offset) in self.poisoned:
            return  # the name's own definition failed and was reported there: one mistake, one error
        self.report_at(self.doc.text_position(path, exc.offset, text), exc.code, exc.message)

    def expression(self, path: PathKey, text: Any, scope: Scope | None = None, input_type: Type | None = None) -> s.Node:
        if not isinstance(text, str):
            text = _literal_text(text)
        try:
            node = parse_expression(text)
            self._checker(scope, input_type).check(node)
        except ExpressionError as exc:
            self._problem(path, text, exc)
            raise _Skip from None
        return inline_params(node)

    def _checker(self, scope: Scope | None, input_type: Type | None = None) -> ExpressionChecker:
        checker = ExpressionChecker(scope or self.scope, self.data, input_type=input_type, scope_counter=self.scope_counter)
        checker.used = self.used
        return checker

    def define(self, path: PathKey, symbol: Symbol) -> None:
        if symbol.name in RESERVED_NAMES:
            self.report(path, "reserved-name", f"{symbol.name!r} is reserved", key=True)
            raise _Skip
        existing = self.scope.lookup(symbol.name)
        if existing is not None:
            self.report(path, "duplicate-name", f"{symbol.name!r} is already defined as {existing.kind.replace('_', ' ')}", key=True)
            raise _Skip
        self.scope.symbols[symbol.name] = symbol

    # Stages.

    def check(self) -> Checked | None:
        """Every definition checked, each mistake reported; None when any is an error."""
        m = self.model
        for name, table in m.data.items():
            try:
                self.data[name] = self.data_table(name, table)
            except _Skip:
                self.poisoned.add(name)  # its lookups are not reported again as an unknown table
        params = self.params()
        inputs = self.inputs()
        derives = self.derives()
        steps = self.steps() if m.kind == "flow" else []
        sections = self.sections()
        rollups = self.derives("rollup")
        tables = self.tables(self.model.tables, ("tables",))
        if m.kind == "flow" and not m.steps:
            self.report(("kind",), "flow-without-steps", "a flow pack needs 'steps'")
        if m.kind == "decision" and m.steps:
            self.report(("steps",), "steps-in-decision", "only a flow pack has 'steps'; set kind: flow")
        outputs = self.outputs()
        if not self.broken_step and not any(d.severity == "error" for d in self.diagnostics):  # else cascades
            self.unused(inputs, derives)
        invariants = self.invariants(inputs, outputs)
        self.tests(tables + [t for sec in sections for t in sec.tables])
        if m.effective_from and m.effective_to and m.effective_to <= m.effective_from:
            self.report(("effective_to",), "empty-window", "effective_to must be after effective_from")
        if self.broken_step or any(d.severity == "error" for d in self.diagnostics):
            return None
        return Checked(inputs, outputs, derives, tables, steps, invariants, sections, rollups, params)

    def lower(self, checked: Checked, digest: str) -> PackIR:
        """The checked definitions as the IR a backend compiles."""
        m, c = self.model, checked
        return PackIR(
            name=m.pack, version=m.version, kind=m.kind, description=m.description, owner=m.owner,
            effective_from=m.effective_from, effective_to=m.effective_to, inputs=c.inputs, outputs=c.outputs,
            data=self.data, derives=c.derives, tables=c.tables, steps=c.steps, tests=list(m.tests), fallbacks=list(m.fallbacks), digest=digest,
            path=self.doc.path, test_positions=[self.doc.position(("tests", i)) for i in range(len(m.tests))],
            invariants=c.invariants, positions=self.positions(), sections=c.sections, rollups=c.rollups, params=c.params,
        )

    def data_table(self, name: str, table: DataTable) -> DataDef:
        base: PathKey = ("data", name)
        columns = {c: spec if isinstance(spec, str) else spec.type for c, spec in table.columns.items()}
        bounded = {c: spec for c, spec in table.columns.items() if not isinstance(spec, str)}
        for k in table.key:
            if k not in columns:
                self.report((*base, "key"), "unknown-column", f"key column {k!r} is not among the columns")
                raise _Skip
        if (table.rows is None) == (table.csv is None):
            self.report(base, "data-source", "a data table has either 'rows' or 'csv', not both or neither", key=True)
            raise _Skip
        names = list(columns)
        rows: list[dict[str, Any]] = []
        lines: list[int] = []  # each CSV row's line
        display = ""
        if table.rows is not None:
            for i, raw in enumerate(table.rows):
                if len(raw) != len(names):
                    self.report((*base, "rows", i), "data-row", f"row has {len(raw)} values for {len(names)} columns")
                    continue
                try:
                    rows.append({c: _bounded(bounded.get(c), _data_value(columns[c], v), c) for c, v in zip(names, raw, strict=True)})
                except ValueError as exc:
                    self.report((*base, "rows", i), "data-value", str(exc))
        else:
            assert table.csv is not None
            rows, lines, display = self._csv_rows((*base, "csv"), table.csv, columns, bounded)
        seen: dict[Any, int] = {}
        for i, row in enumerate(rows):
            key_values = tuple(row[c] for c in table.key)
            if key_values in seen and table.csv is not None:  # at the CSV line, where the analyst fixes it
                self.report_at(Position(lines[i], 1), "duplicate-key", f"key {key_values!r} appears twice in data "
                               f"table {name!r}, first on line {lines[seen[key_values]]}", display)
            elif key_values in seen:
                self.report((*base, "rows", i), "duplicate-key", f"key {key_values!r} appears twice in data table {name!r}")
            seen[key_values] = i
        if table.numbered is not None:
            self._numbering(base, name, table, columns, rows)
        return DataDef(name, list(table.key), columns, rows)

    def _numbering(self, base: PathKey, name: str, table: DataTable, columns: dict[str, str], rows: list[dict[str, Any]]) -> None:
        """Each rest of the key numbers its rows 1, 2, ... without gaps: a reader stopping at the first absent number sees them all."""
        numbered = table.numbered
        if numbered not in table.key or held(columns[numbered]) is not Held.INTEGER:
            self.report((*base, "numbered"), "data-numbering", f"{numbered!r} must be a whole-number column of the key")
            return
        numbers: dict[tuple[Any, ...], list[int]] = {}
        for row in rows:
            if row[numbered] is not None:
                numbers.setdefault(tuple(row[c] for c in table.key if c != numbered), []).append(row[numbered])
        where: PathKey = (*base, "rows") if table.rows is not None else (*base, "csv")
        for rest, found in numbers.items():
            if sorted(found) != list(range(1, len(found) + 1)):
                self.report(where, "data-numbering", f"in data table {name!r} the {numbered} numbers of {rest!r} are "
                            f"{sorted(found)}; they must run 1 to {len(found)}, or a row past a gap is never read")

    def _csv_rows(self, path: PathKey, relative: str, columns: dict[str, Any],
                  bounded: dict[str, DataColumn]) -> tuple[list[dict[str, Any]], list[int], str]:
        """The rows that read, each one's line, and the file as diagnostics name it."""
        file = (self.pack_dir / relative).resolve()
        if self.pack_dir.resolve() not in file.parents:
            self.report(path, "data-source", f"CSV file {relative!r} must be inside the pack folder")
            raise _Skip
        found = self.data_files.get(relative)
        if found is None:  # not read by the data stage (a checker used on its own)
            try:
                found = file.read_bytes()
            except OSError as exc:
                found = exc
        if isinstance(found, OSError):
            self.report(path, "data-source", f"cannot read {relative!r}: {found.strerror}")
            raise _Skip
        try:
            text = found.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark
        except UnicodeDecodeError as exc:
            self.report(path, "data-source", f"{relative!r} is not UTF-8: {exc.reason}")
            raise _Skip from None
        reader = csv.reader(text.splitlines())
        header = next(reader, [])
        display = str(file)
        if [h.strip() for h in header] != list(columns):
            self.report_at(Position(1, 1), "data-columns",
                           f"header must be {','.join(columns)}, not {','.join(header)}", display)
            raise _Skip
        rows: list[dict[str, Any]] = []
        lines: list[int] = []
        for line_no, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != len(columns):
                self.report_at(Position(line_no, 1), "data-row", f"{len(values)} values for {len(columns)} columns", display)
                continue
            row: dict[str, Any] = {}
            col = 1
            for (column, kind), value in zip(columns.items(), values, strict=True):
                try:
                    row[column] = _bounded(bounded.get(column), _data_value(kind, value.strip() if value.strip() != "" else None, from_text=True),
                                           column)
                except ValueError as exc:
                    self.report_at(Position(line_no, col), "data-value", str(exc), display)
                col += len(value) + 1
            if len(row) == len(columns):
                rows.append(row)
                lines.append(line_no)
        return rows, lines, display

    def params(self) -> list[ParamDef]:
        """Named constants, in scope everywhere; each value checked against its declared type and scale."""
        out = []
        for name, spec in self.model.params.items():
            path: PathKey = ("params", name)
            try:
                value, t = self._param_value(path, spec)
                symbol = Symbol(name, SymbolKind.PARAM, t, value=value)
                self.define(path, symbol)
            except _Skip:
                self.poisoned.add(name)
                continue
            self.param_symbols.append(symbol)
            out.append(ParamDef(name, spec.type, t, value, spec.description, spec.scale))
        return out

    def _param_value(self, path: PathKey, spec: ParamSpec) -> tuple[Any, Type]:
        declared = INPUT_TYPES[spec.type]
        if declared.enumerated != (spec.values is not None):
            self.report(path, "invalid-field", f"'values' belong to {_names(lambda t: t.enumerated)}, which need them", key=True)
            raise _Skip
        if spec.scale is not None and not declared.scaled:
            self.report((*path, "scale"), "invalid-field", f"scale belongs to {_names(lambda t: t.scaled)}", key=True)
            raise _Skip
        value, problem = param_value(spec)
        if problem:
            self.report((*path, "value"), "param-value", problem)
            raise _Skip
        return value, declared.checked(spec.values)

    def inputs(self) -> list[FieldDef]:
        out = []
        for name, spec in self.model.inputs.items():
            path: PathKey = ("inputs", name)
            if not self._spec_ok(path, spec, output=False):
                self.poisoned.add(name)
                continue
            t = spec_type(spec)
            symbol = Symbol(name, SymbolKind.INPUT, t)
            try:
                self.define(path, symbol)
            except _Skip:
                continue
            out.append(FieldDef(name, shape_of(spec), t, default=spec.default, source=symbol))
        return out

    def _spec_ok(self, path: PathKey, spec: FieldSpec, *, output: bool) -> bool:
        ok = True
        declared = INPUT_TYPES.get(spec.type)  # None: a list or an object
        enumerated = declared is not None and declared.enumerated
        if enumerated and not spec.values:
            self.report(path, "invalid-field", f"an {spec.type} needs 'values'", key=True)
            ok = False
        if spec.values is not None and not enumerated:
            self.report((*path, "values"), "invalid-field", f"'values' belongs to {_names(lambda t: t.enumerated)}", key=True)
            ok = False
        if (spec.min is not None or spec.max is not None) and not (declared is not None and declared.numeric):
            self.report((*path, "min" if spec.min is not None else "max"), "invalid-field", "bounds belong to numbers", key=True)
            ok = False
        elif spec.min is not None and spec.max is not None and spec.min > spec.max:
            self.report((*path, "max"), "invalid-field", f"max {spec.max} is below min {spec.min}: no value fits", key=True)
            ok = False
        if problem := _default_problem(spec):
            self.report((*path, "default"), "invalid-field", problem)
            ok = False
        if spec.type == "list" and (spec.items is None) == (spec.of is None):
            self.report(path, "invalid-field", "a list needs either 'items' (fields of each object) or 'of' (a plain type)", key=True)
            ok = False
        if (spec.scale is not None or spec.rounding is not None) and not (declared is not None and declared.scaled):
            self.report(path, "invalid-field", f"scale and rounding belong to {_names(lambda t: t.scaled)}", key=True)
            ok = False
        elif (spec.scale is not None or spec.rounding is not None) and not output:
            # validation takes an input as sent: a scale here would be silently ignored
            self.report(path, "invalid-field", "scale and rounding round an output; an input is used as given "
                        "(round it with round() where it is read)", key=True)
            ok = False
        if spec.value is not None and not output:
            self.report((*path, "value"), "invalid-field", "'value' belongs to outputs", key=True)
            ok = False
        if spec.vocabulary is not None and spec.type not in ("string", "enum"):
            self.report((*path, "vocabulary"), "invalid-field", "a vocabulary's codes are text: it belongs to a string or an enum", key=True)
            ok = False
        for sub_name, sub in {**(spec.items or {}), **(spec.fields or {})}.items():
            sub_path = (*path, "items" if spec.items else "fields", sub_name)
            ok = self._spec_ok(sub_path, sub, output=output) and ok
        return ok

    def derives(self, block: str = "derive", items: dict[str, str] | None = None, base: PathKey = ()) -> list[DeriveDef]:
        out = []
        source = items if items is not None else (self.model.rollup if block == "rollup" else self.model.derive)
        for name, text in source.items():
            path: PathKey = (*base, block, name)
            try:
                expr = self.expression(path, text)
            except _Skip:
                self.poisoned.add(name)
                continue
            symbol = Symbol(name, SymbolKind.DERIVE, expr.type)
            try:
                self.define(path, symbol)
            except _Skip:
                continue
            self.derived[id(symbol)] = expr
            out.append(DeriveDef(symbol, expr))
        return out

    # Flow steps.

    def steps(self) -> list[StepDef]:
        out = []
        ids = [step.id for step in self.model.steps]
        for i, step in enumerate(self.model.steps):
            base: PathKey = ("steps", i)
            try:
                target = self.resolve(step.pack, step.version) if self.resolve is not None else None
            except BrokenPack:  # reported in its own file; this flow is broken with it, without a second error
                self.poisoned.add(step.id)
                self.broken_step = True
                continue
            except FlowPack:
                self.poisoned.add(step.id)
                self.report((*base, "pack"), "nested-flow", f"{step.pack!r} is a flow; a flow step runs a decision pack, not another flow")
                continue
            if target is None:
                self.report((*base, "pack"), "unknown-pack",
                            f"no decision pack {step.pack!r}" + (f" version {step.version}" if step.version else ""))
                continue
            if target.kind == "flow":
                self.report((*base, "pack"), "nested-flow", "a flow step runs a decision pack, not another flow")
                continue
            later = {name: Symbol(name, SymbolKind.LATER_STEP, Type("object", fields=())) for name in ids[i + 1:]}
            scope = Scope(later, self.scope)
            when = None
            if step.when is not None:
                with contextlib.suppress(_Skip):
                    when = self.expression((*base, "when"), step.when, scope)
            targets = {f.name: f for f in target.inputs}
            mapped: dict[str, s.Node] = {}
            for name, text in step.inputs.items():
                ipath: PathKey = (*base, "inputs", name)
                if name not in targets:
                    self.report(ipath, "unknown-step-input",
                                f"pack {step.pack!r} has no input {name!r}{did_you_mean(name, list(targets))}", key=True)
                    continue
                try:
                    node = self.expression(ipath, text, scope)
                except _Skip:
                    continue
                if not assignable(targets[name].type, node.type):
                    self.report(ipath, "type-mismatch",
                                f"step input {name!r} is {targets[name].type.describe()}, this is {node.type.describe()}")
                    continue
                mapped[name] = node
            missing = [n for n, f in targets.items() if not f.spec.optional and n not in step.inputs]
            if missing:
                self.report((*base, "inputs") if step.inputs else base, "missing-step-input",
                            f"step {step.id!r} does not give {step.pack!r} its required input(s) {', '.join(missing)}", key=True)
            fields = tuple((f.name, f.type) for f in target.outputs)
            symbol = Symbol(step.id, SymbolKind.STEP, Type("object", fields=fields, nullable=when is not None))
            try:
                self.define((*base, "id"), symbol)
            except _Skip:
                continue
            out.append(StepDef(step.id, step.pack, step.version, mapped, when, symbol))
        return out

    # Line-level sections.

    def sections(self) -> list[SectionDef]:
        out = []
        for i, section in enumerate(self.model.for_each):
            base: PathKey = ("for_each", i)
            try:
                over = self.expression((*base, "over"), section.over)
            except _Skip:
                self.poisoned.add(section.id)
                continue
            item = over.type.item
            if over.type.kind != "list" or item is None or item.kind != "object":
                self.report((*base, "over"), "type-mismatch", f"for_each goes over a list of objects, not {over.type.describe()}")
                continue
            self.scope_counter[0] += 1
            scope_id = self.scope_counter[0]
            element = {"item": Symbol("item", SymbolKind.ITEM, item, scope_id)}
            element.update({name: Symbol(name, SymbolKind.ITEM_FIELD, t, scope_id) for name, t in item.fields or ()})
            starts = self.carry_starts(section, base)
            outer = self.scope
            self.scope = Scope(element, outer)
            try:
                for name, (carried, _) in starts.items():
                    with contextlib.suppress(_Skip):
                        self.define((*base, "carry", name), carried)
                derives = self.derives("derive", section.derive, base)
                tables = self.tables(section.tables, (*base, "tables"))
                after = self.derives("after", section.after, base)
                carries = self.carry_steps(section, base, starts)
                keep: list[Symbol] = []
                for k, name in enumerate(section.keep):
                    symbol = self.scope.lookup(name)
                    if symbol is None or symbol.kind in ("input", "as_of"):
                        if name not in self.poisoned:
                            self.report((*base, "keep", k), "unknown-name", f"no per-element value {name!r} to keep")
                        continue
                    self.used.add(id(symbol))
                    keep.append(symbol)
            finally:
                self.scope = outer
            if len(keep) != len(section.keep) or len(carries) != len(section.carry):
                self.poisoned.add(section.id)
                continue
            fields = dict(item.fields or ())
            fields.update({s.name: s.type for s in keep})
            result = Symbol(section.id, SymbolKind.SECTION_RESULT, Type("list", item=Type("object", fields=tuple(fields.items()))))
            try:
                self.define((*base, "id"), result)
            except _Skip:
                continue
            out.append(SectionDef(section.id, over, scope_id, derives, tables, after, keep, result, carries))
        return out

    def carry_starts(self, section: Section, base: PathKey) -> dict[str, tuple[Symbol, s.Node]]:
        """Each carried value's symbol and ``init``, checked outside the element (it has none yet)."""
        out = {}
        for name, carry in section.carry.items():
            path: PathKey = (*base, "carry", name)
            self.poisoned.add(name)  # until it checks: its readers stay quiet
            if not self._spec_ok(path, carry, output=False):
                continue
            declared = spec_type(carry)
            with contextlib.suppress(_Skip):
                init = self.expression((*path, "init"), carry.init)
                if self._carry_fits(path, "init", name, declared, init):
                    out[name] = (Symbol(name, SymbolKind.CARRY, declared), init)
                    self.poisoned.discard(name)
        return out

    def carry_steps(self, section: Section, base: PathKey, starts: dict[str, tuple[Symbol, s.Node]]) -> list[CarryDef]:
        """Each carried value's ``next``, checked with the element and its decided values in scope."""
        out = []
        for name, (symbol, init) in starts.items():
            path: PathKey = (*base, "carry", name)
            with contextlib.suppress(_Skip):
                step = self.expression((*path, "next"), section.carry[name].next)
                if self._carry_fits(path, "next", name, symbol.type, step):
                    out.append(CarryDef(symbol, init, step))
        return out

    def _carry_fits(self, path: PathKey, part: str, name: str, declared: Type, node: s.Node) -> bool:
        if not assignable(declared, node.type):
            self.report((*path, part), "type-mismatch", f"carried value {name!r} is {declared.describe()}, its {part} is {node.type.describe()}")
            return False
        if node.type.nullable and not declared.nullable:
            self.report((*path, part), "type-mismatch",
                        f"carried value {name!r} is never null, but its {part} can be; declare it optional or use coalesce()")
            return False
        return True

    # Tables.

    def tables(self, items: list[Table], base: PathKey) -> list[TableDef]:
        out = []
        for i, table in enumerate(items):
            path: PathKey = (*base, i)
            if table.id in self.table_ids:
                self.report((*path, "id"), "duplicate-table-id", f"table id {table.id!r} is used twice")
                continue
            self.table_ids.add(table.id)
            for j, row in enumerate(table.rows):
                if row.id in self.row_ids:
                    first = self.doc.position((*self.row_ids[row.id], "id"))
                    self.report((*path, "rows", j, "id"), "duplicate-row-id",
                                f"row id {row.id!r} is already used at line {first.line}")
                else:
                    self.row_ids[row.id] = (*path, "rows", j)
            try:
                out.append(self.table(path, table))
            except _Skip:
                self.poisoned.update(table.outputs)
                if table.result is not None:
                    self.poisoned.add(table.result)
                continue
        return out

    def table(self, path: PathKey, table: Table) -> TableDef:
        columns, labels, broken = self._columns(path, table)
        policy = table.hit_policy
        if table.aggregation is not None and not policy.aggregates:
            self.report((*path, "aggregation"), "invalid-aggregation", "aggregation belongs to the collect hit policy")
            raise _Skip
        if table.default is not None and policy.multi_hit:
            self.report((*path, "default"), "multi-hit-default",
                        f"a {policy} table lists every matching row, [] when none does; a default belongs to a single-hit table",
                        key=True)
            raise _Skip
        if table.aggregation not in (None, "list") and len(table.outputs) != 1:
            self.report((*path, "aggregation"), "invalid-aggregation", f"{table.aggregation} aggregates one output column")
            raise _Skip
        declared = {f: self._cell_type(table, spec_type(spec)) for f, spec in self.model.outputs.items()}
        rows: list[RowDef] = []
        cell_types: list[list[Type]] = [[] for _ in table.outputs]
        for j in range(len(table.rows)):
            row_def, broken = self._row((*path, "rows", j), table, j, columns, labels, declared, cell_types, broken)
            rows.append(row_def)
        if broken:
            raise _Skip
        output_types = self._output_types(path, table, declared, cell_types)
        self._aggregated_type(path, table, output_types)
        default = self._default(path, table, output_types)
        if policy.ranked:
            self._rank_rows(path, table, rows, output_types)
        catch_all = any(all(isinstance(t, s.AnyTest) for t in r.tests) for r in rows)
        always = default is not None or catch_all or policy.multi_hit
        return self._bind_table(path, table, columns, rows, output_types, default, always)

    def _columns(self, path: PathKey, table: Table) -> tuple[list[Column], list[str], bool]:
        """The input columns that check, their labels, and whether any did not."""
        columns: list[Column] = []
        labels: list[str] = []
        broken = False
        for k, spec in enumerate(table.inputs):
            label, text, cpath = (spec.strip(), spec, (*path, "inputs", k)) if isinstance(spec, str) else (spec.name, spec.expr, (*path, "inputs", k, "expr"))
            try:
                node = self.expression(cpath, text)
                named = label.isidentifier() and label not in RESERVED_NAMES
                columns.append(Column(label, node, Symbol(label, SymbolKind.COLUMN, node.type) if named else None))
                labels.append(label)
            except _Skip:
                broken = True
        return columns, labels, broken

    def _row(self, rpath: PathKey, table: Table, j: int, columns: list[Column], labels: list[str],
             declared: dict[str, Type | None], cell_types: list[list[Type]], broken: bool) -> tuple[RowDef, bool]:
        """One row's tests and outputs (each output cell's type added to ``cell_types``); broken once anything was."""
        row = table.rows[j]
        tests: list[s.Node] = []
        for key in row.when:
            if key not in labels and not broken:
                self.report((*rpath, "when", key), "unknown-column",
                            f"table {table.id!r} has no input column {key!r}{did_you_mean(key, labels)}", key=True)
        for column in columns:
            cell = row.when.get(column.label, "-")
            try:
                tests.append(self.cell((*rpath, "when", column.label), cell, column.expr.type))
            except _Skip:
                broken = True
        outputs: list[s.Node] = []
        for key in row.then:
            if key not in table.outputs:
                self.report((*rpath, "then", key), "unknown-column",
                            f"table {table.id!r} has no output column {key!r}{did_you_mean(key, table.outputs)}", key=True)
                broken = True
        for k, name in enumerate(table.outputs):
            if name not in row.then:
                self.report(rpath, "missing-output", f"row {row.id!r} does not set output {name!r}")
                broken = True
                continue
            try:
                node = self.output_cell((*rpath, "then", name), row.then[name], declared.get(name))
                outputs.append(node)
                cell_types[k].append(node.type)
            except _Skip:
                broken = True
        template = None
        if row.reason is not None and is_template(row.reason):
            try:
                template = self.reason_template((*rpath, "reason"), row.reason, columns)
            except _Skip:
                broken = True
        return RowDef(row.id, j, tests, outputs, row.reason, template=template), broken

    def reason_template(self, path: PathKey, reason: str, columns: list[Column]) -> list[str | ReasonValue]:
        """A reason's text and values, each value checked where it stands; the table's columns readable by label."""
        try:
            parts = split_template(reason)
        except ExpressionError as exc:
            self._problem(path, reason, exc)
            raise _Skip from None
        # a column named like a value in scope is that value (``inputs: [exposure]``): it keeps its declaration
        scope = Scope({c.symbol.name: c.symbol for c in columns if c.symbol is not None and self.scope.lookup(c.label) is None}, self.scope)
        out: list[str | ReasonValue] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            offset, text = part
            try:
                node = parse_expression(text)
                t = self._checker(scope).check(node)
            except ExpressionError as exc:
                exc.offset += offset
                self._problem(path, reason, exc)
                raise _Skip from None
            if t.kind in ("list", "object"):
                self.report_at(self.doc.text_position(path, offset, reason), "type-mismatch",
                               f"a reason shows a number, text, date or boolean, not {t.describe()}")
                raise _Skip
            out.append(ReasonValue(inline_params(node), self._shown_places(node, t)))
        return out

    def _shown_places(self, node: s.Node, t: Type) -> int | None:
        """The places a reason shows a number at: the scale declared for it, else 2 for money, else as it holds them."""
        shown = INPUT_TYPES.get(t.numeric or "")  # the type a number is checked as: money, decimal or integer
        if shown is None or not shown.scaled:
            return None
        declared = self._declared(node)
        if declared is not None and declared.scale is not None:
            return declared.scale
        return shown.default_scale

    def _declared(self, node: s.Node) -> FieldSpec | ParamSpec | None:
        """The declaration of the scale ``node`` shows at: a parameter's, or the output's a value sets.

        An input has none: it is used as sent, and a scale on it is refused (``invalid-field``).
        """
        if not isinstance(node, s.Name) or node.symbol is None:
            return None
        kind, name = node.symbol.kind, node.symbol.name
        if kind == SymbolKind.PARAM:
            return self.model.params.get(name)
        if kind in (SymbolKind.DERIVE, SymbolKind.TABLE_OUTPUT, SymbolKind.TABLE_RESULT):
            return self.model.outputs.get(name)
        return None

    def _output_types(self, path: PathKey, table: Table, declared: dict[str, Type | None],
                      cell_types: list[list[Type]]) -> list[Type]:
        """Each output column's type: the pack output's it sets, else the join of what its cells give."""
        output_types: list[Type] = []
        for k, name in enumerate(table.outputs):
            t = declared.get(name)
            if t is None:
                t = cell_types[k][0]
                for other in cell_types[k][1:]:
                    joined = join(t, other)
                    if joined is None:
                        self.report((*path, "outputs", k), "type-mismatch", f"the rows give output {name!r} different types")
                        raise _Skip
                    t = joined
            output_types.append(t)
        return output_types

    def _aggregated_type(self, path: PathKey, table: Table, output_types: list[Type]) -> None:
        """sum adds numbers and min/max order values: on anything else the fold would fail at every decision."""
        agg, t = table.aggregation, output_types[0] if output_types else None
        if t is None or t.kind == "null" or agg not in ("sum", "min", "max"):
            return
        if (t.kind != "number") if agg == "sum" else (t.kind not in ORDERED):
            what = "numbers" if agg == "sum" else "numbers, texts, dates or times"
            self.report((*path, "aggregation"), "invalid-aggregation",
                        f"{agg} folds {what}, but output {table.outputs[0]!r} is {t.describe()}")
            raise _Skip

    def _default(self, path: PathKey, table: Table, output_types: list[Type]) -> list[s.Node] | None:
        if table.default is None:
            return None
        default = []
        for k, name in enumerate(table.outputs):
            if name not in table.default:
                self.report((*path, "default"), "missing-output", f"default does not set output {name!r}")
                raise _Skip
            default.append(self.output_cell((*path, "default", name), table.default[name], output_types[k]))
        return default

    @staticmethod
    def _cell_type(table: Table, output: Type) -> Type | None:
        """What one cell must give, for a pack output of type ``output`` set by ``table``."""
        if table.hit_policy.multi_hit:
            if table.aggregation == "count":
                return None
            if table.aggregation in (None, "list"):
                return output.item if output.kind == "list" else None
        return output

    def _bind_table(self, path: PathKey, table: Table, columns: list[Column], rows: list[RowDef],
                    output_types: list[Type], default: list[s.Node] | None, always: bool) -> TableDef:
        multi = table.hit_policy.multi_hit
        agg = table.aggregation
        symbols: list[Symbol] = []
        for k, name in enumerate(table.outputs):
            t = output_types[k]
            if multi and agg in (None, "list"):
                value_type = Type("list", item=t)
            elif agg == "count":
                value_type = Type("number", "integer")
            elif agg in ("sum",):
                value_type = t.with_null(False)
            elif agg in ("min", "max"):
                value_type = t.with_null()
            else:
                value_type = t.with_null(t.nullable or not always)
            symbols.append(Symbol(name, SymbolKind.TABLE_OUTPUT, value_type))
        result: Symbol | None = None
        if table.result is not None:
            if len(table.outputs) == 1:
                result_type = symbols[0].type
            else:
                obj = Type("object", fields=tuple(zip(table.outputs, output_types, strict=True)))
                result_type = Type("list", item=obj) if multi else obj.with_null(not always)
            result = Symbol(table.result, SymbolKind.TABLE_RESULT, result_type)
        for k, symbol in enumerate(symbols):
            if table.result is not None and len(table.outputs) > 1 and symbol.name == table.result:
                continue
            self.define((*path, "outputs", k), symbol)
        if result is not None and result.name not in table.outputs:
            self.define((*path, "result"), result)
        return TableDef(
            id=table.id, hit_policy=table.hit_policy, aggregation=agg, columns=columns,
            output_names=list(table.outputs), output_types=output_types, rows=rows, output_symbols=symbols,
            result=result, default=default, always_matches=always,
        )

    def _rank_rows(self, path: PathKey, table: Table, rows: list[RowDef], output_types: list[Type]) -> None:
        orders: list[list[Any] | None] = []
        for k, name in enumerate(table.outputs):
            given = (table.output_values or {}).get(name)
            values = output_types[k].values
            orders.append(list(given) if given is not None else (list(values) if values is not None else None))
        if all(o is None for o in orders):
            self.report((*path, "hit_policy"), "missing-priority",
                        f"{table.hit_policy} needs an order of output values: declare the output as an enum or set output_values")
            raise _Skip
        for row in rows:
            rank = []
            for k, order in enumerate(orders):
                if order is None:
                    continue
                cell = row.outputs[k]
                if not isinstance(cell, s.Literal) or cell.value not in order:
                    self.report((*path, "rows", row.index, "then", table.outputs[k]), "missing-priority",
                                f"{cell.value if isinstance(cell, s.Literal) else 'an expression'!r} is not in the priority list of {table.outputs[k]!r}")
                    raise _Skip
                rank.append(order.index(cell.value))
            row.rank = tuple(rank)

    def cell(self, path: PathKey, value: Any, column_type: Type) -> s.Node:
        checker = self._checker(None, input_type=column_type)
        if value is None:
            self.report(path, "empty-cell", "empty cell: write '-' to match anything or 'null' to match a missing value")
            raise _Skip
        if isinstance(value, list):
            items = [s.Literal(0, 0, v) for v in value]
            node: s.Node = s.AnyOfTests(0, 0, [s.EqualsTest(0, 0, item) for item in items])
            try:
                checker.check_test(node)
            except ExpressionError as exc:
                self.report(path, exc.code, exc.message)
                raise _Skip from None
            return node
        if not isinstance(value, str):
            node = s.EqualsTest(0, 0, s.Literal(0, 0, value))
            try:
                checker.check_test(node)
            except ExpressionError as exc:
                message = exc.message
                if isinstance(value, bool) and column_type.kind == "string":  # Norway: country NO is false in YAML 1.1
                    message = (f"this cell is the boolean {str(value).lower()}, not {column_type.describe()}: YAML reads "
                               "an unquoted NO, no, off or on as a boolean; quote it, as in 'NO'")
                self.report(path, exc.code, message)
                raise _Skip from None
            return node
        try:
            node = parse_unary_tests(value)
            checker.check_test(node)
        except ExpressionError as exc:
            self._problem(path, value, exc)
            raise _Skip from None
        return inline_params(node)

    def output_cell(self, path: PathKey, value: Any, declared: Type | None) -> s.Node:
        """An output cell: a literal of the output's type, or an expression after '='."""
        if isinstance(value, str) and value.startswith("="):
            text = value[1:]
            try:
                node = parse_expression(text)
                self._checker(None).check(node)
            except ExpressionError as exc:
                exc.offset += 1
                self._problem(path, value, exc)
                raise _Skip from None
            node = inline_params(node)
        elif isinstance(value, (list, dict)):
            self.report(path, "invalid-value", "an output cell is a single value or an expression after '='")
            raise _Skip
        else:
            node = s.Literal(0, len(str(value)), value)
            node.type = literal_type(value)
        if declared is not None and not assignable(declared, node.type):
            if isinstance(node, s.Literal) and isinstance(value, str) and declared.values is not None:
                self.report(path, "unknown-enum-value",
                            f"{value!r} is not one of {', '.join(declared.values)}{did_you_mean(value, list(declared.values))}")
            else:
                self.report(path, "type-mismatch", f"output is {declared.describe()}, this is {node.type.describe()}")
            raise _Skip
        if declared is not None and _fraction_into_whole(declared, self._defining(node)):
            self.report(path, "type-mismatch", f"output is {declared.describe()}, this is {node.type.describe()}{_WHOLE_HINT}")
            raise _Skip
        return node

    def _defining(self, node: s.Node) -> s.Node:
        """A derived value's name read as the expression that computes it (is it rounded to whole units?)."""
        symbol = node.symbol if isinstance(node, s.Name) else None
        return self.derived.get(id(symbol), node) if symbol is not None else node

    # Outputs and tests.

    def outputs(self) -> list[FieldDef]:
        out = []
        for name, spec in self.model.outputs.items():
            path: PathKey = ("outputs", name)
            if not self._spec_ok(path, spec, output=True):
                continue
            declared = spec_type(spec)
            if spec.value is not None:
                try:
                    node = self.expression((*path, "value"), spec.value)
                except _Skip:
                    continue
                whole = _fraction_into_whole(declared, self._defining(node))
                if not assignable(declared, node.type) or whole:
                    self.report((*path, "value"), "type-mismatch", f"output {name!r} is {declared.describe()}, its value is "
                                f"{node.type.describe()}{_WHOLE_HINT if whole else ''}")
                    continue
                out.append(FieldDef(name, shape_of(spec), declared, value=node))
                continue
            symbol = self.scope.lookup(name)
            if symbol is None:
                if not self._declares(name) and name not in self.poisoned:  # a broken input of that name was reported
                    self.report(path, "output-not-set", f"no table, derived value or input sets output {name!r}; add 'value:'", key=True)
                continue
            defined = self.derived.get(id(symbol))
            whole = defined is not None and _fraction_into_whole(declared, defined)
            if not assignable(declared, symbol.type) or whole:
                self.report(path, "type-mismatch", f"output {name!r} is {declared.describe()}, but {symbol.kind.replace('_', ' ')} "
                            f"{name!r} is {symbol.type.describe()}{_WHOLE_HINT if whole else ''}", key=True)
                continue
            self.used.add(id(symbol))
            out.append(FieldDef(name, shape_of(spec), declared, source=symbol))
        return out

    def unused(self, inputs: list[FieldDef], derives: list[DeriveDef]) -> None:
        """Parameters, inputs and derived values that no table, derived value or output reads."""
        for symbol in self.param_symbols:
            if id(symbol) not in self.used:
                self.report(("params", symbol.name), "unused-param",
                            f"parameter {symbol.name!r} is declared but nothing reads it", key=True)
        for f in inputs:
            if f.source is not None and id(f.source) not in self.used:
                self.report(("inputs", f.name), "unused-input",
                            f"input {f.name!r} is declared but nothing reads it", key=True)
        for d in derives:
            if id(d.symbol) not in self.used:
                self.report(("derive", d.symbol.name), "unused-derived",
                            f"derived value {d.symbol.name!r} is computed but nothing reads it", key=True)

    def invariants(self, inputs: list[FieldDef], outputs: list[FieldDef]) -> list[InvariantDef]:
        """Conditions over parameters, inputs and outputs (outputs shadow inputs of the same name)."""
        base = Scope({"as_of": Symbol("as_of", SymbolKind.AS_OF, DATE)})
        base.symbols.update({s.name: s for s in self.param_symbols})
        for f in inputs:
            if f.source is not None:
                base.symbols[f.name] = f.source
        scope = Scope({f.name: Symbol(f.name, SymbolKind.OUTPUT, f.type) for f in outputs}, base)
        out = []
        saved = set(self.used)
        for i, inv in enumerate(self.model.invariants):
            try:
                node = self.expression(("invariants", i, "expr"), inv.expr, scope)
            except _Skip:
                continue
            if node.type.kind not in ("boolean", "null"):
                self.report(("invariants", i, "expr"), "type-mismatch", f"an invariant is a condition, not {node.type.describe()}")
                continue
            out.append(InvariantDef(inv.name, node, i))
        self.used = saved  # an invariant reading an input does not make the decision use it
        return out

    def positions(self) -> dict[str, Position]:
        out = {f"params.{name}": self.doc.position(("params", name), key=True) for name in self.model.params}
        for name in self.model.inputs:
            out[f"inputs.{name}"] = self.doc.position(("inputs", name), key=True)
        places: list[tuple[PathKey, Table]] = [(("tables", i), t) for i, t in enumerate(self.model.tables)]
        places += [(("for_each", k, "tables", i), t) for k, sec in enumerate(self.model.for_each) for i, t in enumerate(sec.tables)]
        for path, table in places:
            out[f"tables.{table.id}"] = self.doc.position((*path, "id"))
            for j, row in enumerate(table.rows):
                out[f"tables.{table.id}.{row.id}"] = self.doc.position((*path, "rows", j, "id"))
                for part, cells in (("when", row.when), ("then", row.then)):  # where a code is tested or set
                    for name in cells:
                        out[f"tables.{table.id}.{row.id}.{part}.{name}"] = self.doc.position((*path, "rows", j, part, name))
            for name in table.default or {}:
                out[f"tables.{table.id}.default.{name}"] = self.doc.position((*path, "default", name))
        for i, step in enumerate(self.model.steps):
            if step.version is not None:
                out[f"steps.{step.id}.version"] = self.doc.position(("steps", i, "version"))
            for name in step.inputs:
                out[f"steps.{step.id}.inputs.{name}"] = self.doc.position(("steps", i, "inputs", name))
        for section in ("inputs", "outputs"):
            for name, spec in getattr(self.model, section).items():
                self._vocabulary_positions(out, (section, name), spec)
        for i in range(len(self.model.invariants)):
            out[f"invariants.{i}"] = self.doc.position(("invariants", i, "expr"))
        out.update({f"derive.{name}": self.doc.position(("derive", name)) for name in self.model.derive})
        out.update({f"rollup.{name}": self.doc.position(("rollup", name)) for name in self.model.rollup})
        return out

    def _vocabulary_positions(self, out: dict[str, Position], path: tuple[str, ...], spec: FieldSpec) -> None:
        """``inputs.NAME.vocabulary`` (and ``outputs.NAME.items.FIELD.vocabulary``): where a field names its vocabulary."""
        if spec.vocabulary is not None:
            out[".".join((*path, "vocabulary"))] = self.doc.position((*path, "vocabulary"))
        for kind, subs in (("items", spec.items), ("fields", spec.fields)):
            for sub_name, sub in (subs or {}).items():
                self._vocabulary_positions(out, (*path, kind, sub_name), sub)

    def _declares(self, name: str) -> bool:
        """Whether a table that failed to check would have set ``name`` (to avoid a second error)."""
        tables = [*self.model.tables, *(t for sec in self.model.for_each for t in sec.tables)]
        return (any(name in t.outputs or name == t.result for t in tables) or name in self.model.derive
                or name in self.model.rollup or any(sec.id == name for sec in self.model.for_each))

    def fallbacks(self) -> None:
        outputs = set(self.model.outputs)
        for i, fallback in enumerate(self.model.fallbacks):
            for key in fallback.output:
                if key not in outputs:
                    self.report(("fallbacks", i, "output", key), "unknown-output",
                                f"pack has no output {key!r}{did_you_mean(key, sorted(outputs))}", key=True)

    def tests(self, tables: list[TableDef]) -> None:
        self.fallbacks()
        outputs = set(self.model.outputs)
        row_ids = {t.id: {r.id for r in t.rows} for t in tables}
        all_tables = {t.id for t in self.model.tables} | {t.id for sec in self.model.for_each for t in sec.tables}
        inputs = set(self.model.inputs)
        names: set[str] = set()
        for i, test in enumerate(self.model.tests):
            path: PathKey = ("tests", i)
            if test.name in names:
                self.report((*path, "name"), "duplicate-test", f"test name {test.name!r} is used twice")
            names.add(test.name)
            for key in test.input:
                if key not in inputs:
                    self.report((*path, "input", key), "unknown-input",
                                f"pack has no input {key!r}{did_you_mean(key, sorted(inputs))}", key=True)
            for key in test.expect or {}:
                if key not in outputs:
                    self.report((*path, "expect", key), "unknown-output",
                                f"pack has no output {key!r}{did_you_mean(key, sorted(outputs))}", key=True)
            for table_id, ids in (test.matched or {}).items():
                if table_id not in all_tables:
                    self.report((*path, "matched", table_id), "unknown-table", f"pack has no table {table_id!r}", key=True)
                    continue
                for k, row_id in enumerate(ids):
                    if table_id in row_ids and row_id not in row_ids[table_id]:
                        self.report((*path, "matched", table_id, k), "unknown-row",
                                    f"table {table_id!r} has no row {row_id!r}{did_you_mean(row_id, sorted(row_ids[table_id]))}")
            if test.expect is None and test.matched is None and test.error is None:
                self.report(path, "empty-test", "a test needs 'expect', 'matched' or 'error'")
            self._test_date(path, test.as_of)

    def _test_date(self, path: PathKey, as_of: dt.date | None) -> None:
        """A test dated outside the version's window shows a decision this version never makes on that date."""
        start, end = self.model.effective_from, self.model.effective_to
        if as_of is not None and ((start is not None and as_of < start) or (end is not None and as_of >= end)):
            window = f"from {start or 'the beginning'}" + (f" until {end}" if end is not None else "")
            self.report((*path, "as_of"), "test-outside-window", f"the test decides on {as_of}, but this version runs "
                        f"{window}: on that date another version, or none, decides", severity="warning")


def _names(has: Callable[[InputType], bool]) -> str:
    """The types that have a property, as a sentence names them: ``money and decimal``."""
    names = [name for name, t in INPUT_TYPES.items() if has(t)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# what a parameter's value may be, as YAML reads it, by how its type is held
_PARAM_CLASSES: dict[Held, tuple[type, ...]] = {
    Held.DECIMAL: (Decimal, int), Held.INTEGER: (int,), Held.BOOLEAN: (bool,), Held.STRING: (str,), Held.DATE: (dt.date,),
    Held.TEMPORAL: (str,),
}
assert set(_PARAM_CLASSES) == set(Held)


def param_value(spec: ParamSpec) -> tuple[Any, str]:
    """A parameter's value as the compiled code holds it (a Decimal at its scale), or what is wrong with it."""
    value, kind = spec.value, spec.type
    declared = INPUT_TYPES[kind]
    if not isinstance(value, _PARAM_CLASSES[declared.held]) or (isinstance(value, bool) and declared.held is not Held.BOOLEAN):
        shown = repr(value) if isinstance(value, str) else _literal_text(value)
        return None, f"{shown} is not a valid {kind}"
    if declared.enumerated and value not in (spec.values or ()):
        return None, f"{value!r} is not one of {', '.join(spec.values or ())}"
    if declared.held is Held.DECIMAL and spec.scale is not None:
        assert isinstance(value, (Decimal, int))
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > spec.scale:
            return None, f"{number} has more than {spec.scale} decimal places (its scale)"
        try:
            return CTX.quantize(number, Decimal(1).scaleb(-spec.scale)), ""
        except InvalidOperation:
            return None, f"{number} has more than 34 digits at {spec.scale} decimal places"
    if declared.held is Held.DECIMAL:
        assert isinstance(value, (Decimal, int))
        return Decimal(value), ""
    if declared.held is Held.TEMPORAL:
        try:
            return _data_value(kind, value), ""
        except ValueError as exc:
            return None, str(exc)
    return value, ""


def _default_problem(spec: FieldSpec) -> str:
    """What is wrong with a field's default: input validation never sees it, so it would reach the rules unchecked."""
    if spec.default is None or spec.type not in INPUT_TYPES:
        return ""
    value, problem = param_value(ParamSpec.model_construct(type=spec.type, value=spec.default, values=spec.values, description="default"))
    if problem:
        return f"default {problem}"
    if spec.min is not None and value < spec.min:
        return f"default {value} is below min {spec.min}"
    if spec.max is not None and value > spec.max:
        return f"default {value} is above max {spec.max}"
    if spec.max_length is not None and isinstance(value, str) and len(value) > spec.max_length:
        return f"default is longer than max_length {spec.max_length}"
    return ""


def _word_at(text: str, offset: int) -> str:
    match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[offset:])
    return match.group(0) if match else ""


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return f'date("{value.isoformat()}")'
    return str(value)


def _bounded(column: DataColumn | None, value: Any, name: str) -> Any:
    """The value, if within its column's declared min and max, and present unless the column is optional.

    A blank price in a CSV would read as null, and a lookup would fall back to the list price
    without a word; so a missing value is an error unless the column says a row may omit it.
    """
    if value is None and (column is None or not column.optional):
        raise ValueError(f"column {name!r} is empty; give a value, or declare the column {{type: ..., optional: true}} "
                         "if a row may omit it")
    if column is not None and value is not None and (column.min is not None or column.max is not None):
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise ValueError(f"min and max apply to number columns, not to {column.type}")
        if column.min is not None and value < column.min:
            raise ValueError(f"{value} is below the column's min {column.min}")
        if column.max is not None and value > column.max:
            raise ValueError(f"{value} is above the column's max {column.max}")
    return value


def _data_value(kind: str, value: Any, *, from_text: bool = False) -> Any:
    if value is None:
        return None
    how = INPUT_TYPES[kind].held
    try:
        if how is Held.DECIMAL:
            if isinstance(value, bool):
                raise ValueError
            d = Decimal(str(value).strip()) if from_text or isinstance(value, str) else Decimal(value)
            if not d.is_finite():
                raise ValueError
            return d
        if how is Held.INTEGER:
            if isinstance(value, bool) or (isinstance(value, Decimal) and value != value.to_integral_value()):
                raise ValueError
            return int(value)
        if how is Held.BOOLEAN:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError
        if how is Held.DATE:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        parse = INPUT_TYPES[kind].parse
        if parse is not None:
            found = parse(str(value))
            if found is None:
                raise ValueError
            return found
        return str(value)
    except (ValueError, InvalidOperation, TypeError):
        raise ValueError(f"{value!r} is not a valid {kind}") from None

