"""Generate one Python function per pack version from its IR.

The function reads validated inputs, computes derived values, evaluates the tables in
order and returns ``(outputs, matched, reasons)``. A first-hit table becomes an
``if/elif`` chain (the shape that runs at hand-written speed); the other hit policies
collect the matching row indices and apply the policy to that list. Null checks are
emitted only where the checker says a value can be null.

Nothing a pack author writes reaches the generated source as code: names become
positional variables (``v3``, ``t1_0``), literals become constants in the namespace, and
strings are emitted with ``repr``.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from engine.demand import Wanted, cannot_fail, evaluated, kept_outputs
from engine.fusion import Fused, SectionPlan, deferred, loop_invariant
from engine.fusion import plan as plan_loops
from engine.records import asked_fields, fields_read, readers
from engine.runtime import CTX, INT_LIMIT, QUANTIZE
from rules import syntax as s
from rules.functions import FUNCTIONS
from rules.hit_policy import HitPolicy
from rules.input_types import INPUT_TYPES, Held
from rules.ir import DeriveDef, FieldDef, PackIR, ReasonValue, RowDef, SectionDef, Symbol, TableDef
from rules.types import Type

_ORDER_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_ARITHMETIC = {"+": "_ADD", "-": "_SUB", "*": "_MUL"}
_CONTEXT_METHODS = {**_ARITHMETIC, "/": "_DIV"}
# Below this many operators written as Python's, switching the thread's context to CTX and
# back (about 0.2 µs) costs more than calling CTX's methods saves (about 40 ns an operator).
MIN_OPERATORS = 6
# a local or an element's field: reading it twice costs less than a call and cannot fail
_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\['\w+'\])*")


@dataclass(frozen=True)
class Returning:
    """What a generated evaluation returns instead of (outputs, matched, reasons), for a caller reading outputs only.

    ``lines`` are its last lines given each output's local, reading ``params`` as well; no
    matched rows and no fixed reasons are recorded, since nothing returns them.
    """

    lines: Callable[[dict[str, str]], list[str]]
    params: tuple[str, ...] = ()


class Generator:
    @property
    def recording(self) -> bool:
        """Whether the matched rows and fixed reasons are recorded."""
        return self.returning is None

    @property
    def fixed_reasons(self) -> bool:
        """Whether a row's fixed reason is recorded (a template's is formatted anyway: its values may fail)."""
        return self.recording and self.reasons

    def __init__(self, pack: PackIR, *, traced: bool, delegate: bool = False, outputs: Wanted = None, fuse: bool = True) -> None:
        self.pack = pack
        self.outputs = kept_outputs(pack, outputs)
        self.fuse = fuse
        self.loops = plan_loops(pack, self.outputs) if fuse else {k: SectionPlan((), True) for k in range(len(pack.sections))}
        self.element_fields: dict[int, tuple[str, dict[str, str]]] = {}  # scope -> (element, kept value vars): fused rollups
        self.row_lists: dict[int, str] = {}  # a line-level table -> the local list of the rows it matched
        self.deferred_rows: dict[int, dict[int, list[tuple[str, DeriveDef]]]] = {}  # table -> row -> values computed there
        self.traced = traced
        self.delegate = delegate  # rows are matched by match(table, columns), e.g. in durable_rules
        self.lines: list[str] = []
        self.indent = 1
        self.constants: dict[str, Any] = {}
        self._constant_ids: dict[tuple[type, Any, str], str] = {}
        self.names: dict[int, str] = {}
        self.column_var: str | None = None
        self.table_count = 0
        self.per_element = False  # inside a for_each loop: tables append their matches
        self.index_caches = 0  # keyed sums: each has a per-evaluation cache ``_ix<n>`` of totals by list
        self.index_names: dict[tuple[str, str, bool], str] = {}  # sums by the same key and amount share one
        self.unguarded: dict[str, tuple[str, tuple[str, ...]]] = {}  # null_guarded: its text -> (body, references)
        self.lifted: dict[str, tuple[str, tuple[str, ...]]] = {}  # lift: its text -> (inner, references)
        self._read: set[int] | None = None
        self.inline_nulls = True
        self.operators = True  # decimal arithmetic as Python operators where an operand is surely a Decimal
        self.decimals: set[str] = set()  # generated texts whose value is always a Decimal
        self.operator_count = 0
        self.returning: Returning | None = None  # what the function returns instead of (outputs, matched, reasons)
        self.reasons = True  # False: for a caller that never reads reasons (a replay), only templated ones are kept
        self.asked = asked_fields(outputs)  # per list output, the fields its caller reads of its records (engine.records)
        self.record_keys: dict[int, list[str]] = {}  # a section -> the fields its records are built with, when not all

    # Plumbing.

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def constant(self, value: Any) -> str:
        # equal is not enough: Decimal("0.010") == Decimal("0.01") == 0, yet each keeps its own scale
        key = (type(value), value, repr(value))
        if key not in self._constant_ids:
            name = f"K{len(self._constant_ids)}"
            self._constant_ids[key] = name
            self.constants[name] = value
            if isinstance(value, Decimal):
                self.decimals.add(name)
        return self._constant_ids[key]

    def bind(self, symbol: Symbol, name: str) -> None:
        self.names[id(symbol)] = name

    # Expressions.

    def expr(self, node: s.Node) -> str:
        if isinstance(node, s.Literal):
            return self.literal(node.value)
        if isinstance(node, s.Name):
            return self.name(node.symbol)
        if isinstance(node, s.InputValue):
            assert self.column_var is not None
            return self.column_var
        if isinstance(node, s.Member):
            return self.member(node)
        if isinstance(node, s.Unary):
            operand = self.expr(node.operand)
            nullable = node.operand.type.nullable
            if node.op == "-":
                # Python's unary minus rounds a Decimal to the thread's context (28 digits by default), CTX's to 34
                integral = node.operand.type.numeric == "integer"
                return f"n_neg({operand})" if nullable else f"(-{operand})" if integral else f"_NEG({operand})"
            return f"not3({operand})" if nullable else f"(not {operand})"
        if isinstance(node, s.Binary):
            return self.binary(node)
        if isinstance(node, s.Conditional):
            return self.conditional(node, self.expr(node.then), self.expr(node.otherwise))
        if isinstance(node, s.In):
            return self.membership(node)
        if isinstance(node, s.Call):
            return self.call(node)
        if isinstance(node, s.ListOf):
            return "[" + ", ".join(self.expr(i) for i in node.items) + "]"
        if isinstance(node, s.Record):
            return "{" + "".join(f"{k!r}: {self.expr(v)}, " for k, v in zip(node.keys, node.values, strict=True)) + "}"
        raise TypeError(f"cannot generate {type(node).__name__}")

    def member(self, node: s.Member) -> str:
        if isinstance(node.target, s.Name) and node.target.symbol.kind == "item":
            fused = self.field(node.target.symbol.scope, node.name)
            if fused is not None:
                return fused
        if not node.target.type.nullable:
            return f"{self.expr(node.target)}[{node.name!r}]"
        found = self.first_field(node.target, node.name) if self.inline_nulls else None
        if found is not None:
            return found
        target = self.expr(node.target)
        if self.inline_nulls and _REFERENCE.fullmatch(target):  # a read twice costs less than a call
            return f"(None if {target} is None else {target}.get({node.name!r}))"
        return f"member({target}, {node.name!r})"

    def literal(self, value: Any) -> str:
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, int):
            return repr(value)
        if isinstance(value, str):
            return repr(value)
        if isinstance(value, (Decimal, dt.date)):
            return self.constant(value)
        raise TypeError(f"unexpected literal {value!r}")

    def name(self, symbol: Symbol) -> str:
        if symbol.kind == "as_of":
            return "as_of"
        if symbol.kind == "enum_literal":
            return repr(symbol.name)
        if symbol.kind == "item":
            return f"_it{symbol.scope}"
        if symbol.kind == "item_field":
            return self.field(symbol.scope, symbol.name) or f"_it{symbol.scope}[{symbol.name!r}]"
        return self.names[id(symbol)]

    def field(self, scope: int, name: str) -> str | None:
        """Inside a loop computing a rollup, a field of the record it would have built: its local, or the element's."""
        found = self.element_fields.get(scope)
        if found is None:
            return None
        element, kept = found
        return kept.get(name) or f"{element}[{name!r}]"

    def binary(self, node: s.Binary) -> str:
        if self.inline_nulls and (value := _folded(node)) is not None:
            return self.literal(value)  # 1 + margin_floor_pct / 100: computed once, here, as the function would
        lt, rt = node.left.type, node.right.type
        a, b = self.operand(node.left, rt), self.operand(node.right, lt)
        nullable = lt.nullable or rt.nullable
        op = node.op
        if op == "implies":
            return f"or3(not3({a}), {b})" if nullable else f"((not {a}) or {b})"
        if op in ("and", "or"):
            if nullable:
                return f"{op}3({a}, {b})"
            return f"({a} {op} {b})"
        if op in ("=", "!="):
            return _equality(a, op, b)
        if op in _ORDER_OPS:
            if nullable:
                guarded = self.null_guarded(node, a, b)
                return guarded if guarded is not None else f"{_ORDER_OPS[op]}({a}, {b})"
            return f"({a} {op} {b})"
        if op == "/":
            if not node.type.nullable:
                return self.arithmetic(op, a, b)
            if a in self.unguarded and not node.right.type.nullable:
                return self.lift(f"n_div({self.unguarded[a][0]}, {b})", self.unguarded[a][1])
            return f"n_div({a}, {b})"
        integral = lt.numeric == "integer" and rt.numeric == "integer"
        fn = {"+": "add", "-": "sub", "*": "mul"}[op]
        if nullable:
            guarded = self.null_guarded(node, a, b)
            return guarded if guarded is not None else f"{'i' if integral else 'n'}_{fn}({a}, {b})"
        if integral:
            return f"_IMUL({a}, {b})" if op == "*" else f"({a} {op} {b})"
        return self.arithmetic(op, a, b)

    def arithmetic(self, op: str, a: str, b: str) -> str:
        """Decimal ``a op b`` under CTX: Python's operator where either side is surely a Decimal, else CTX's method.

        Both give the same Decimal once the function runs under CTX (``generate`` wraps it so
        when it has operators), and the operator skips a method call. Where both sides could
        be ints at run time (a ``coalesce(x, 0)``), only CTX's method gives a Decimal.
        """
        if self.operators and (a in self.decimals or b in self.decimals):
            self.operator_count += 1
            text = f"({a} {op} {b})"
        else:
            text = f"{_CONTEXT_METHODS[op]}({a}, {b})"
        self.decimals.add(text)
        return text

    def null_guarded(self, node: s.Binary, a: str, b: str) -> str | None:
        """Nullable arithmetic (or an ordering of it) over plain references: null checked once, inline.

        Null in gives null out anywhere in such a tree, so ``a * 2.5 + 15`` with a nullable
        ``a`` is ``(None if a is None else _ADD(_MUL(a, K1), K2))``: one test instead of a
        helper call per operator (an imported zen graph's cost table is ten of these).
        ``a`` and ``b`` are the operands as rendered; one that was guarded this way is known
        by its text, so a tree is rendered once. None where an operand is anything else
        nullable (a call, a division): the helpers stay.
        """
        if not self.inline_nulls:
            return None
        parts = []
        for side, text in ((node.left, a), (node.right, b)):
            found = self.unguarded.get(text)
            if found is not None:
                parts.append(found)
            elif not side.type.nullable:
                parts.append((text, ()))
            elif _REFERENCE.fullmatch(text):
                parts.append((text, (text,)))
            else:
                return None
        (left, x), (right, y) = parts
        references = tuple(dict.fromkeys(x + y))
        integral = node.left.type.numeric == "integer" and node.right.type.numeric == "integer"
        if node.op == "*" and integral:
            body = f"_IMUL({left}, {right})"
        elif node.op in _ORDER_OPS or integral:
            body = f"({left} {node.op} {right})"
        else:
            body = self.arithmetic(node.op, left, right)
        guarded = f"(None if {' or '.join(f'{r} is None' for r in references)} else {body})"
        if node.op in _ARITHMETIC:
            self.unguarded[guarded] = (body, references)
        return guarded

    def lift(self, inner: str, references: tuple[str, ...]) -> str:
        """``inner`` (which may still give null) under the null check of the references it propagates null from.

        ``round((floor - override) * 100 / floor, 2)`` with ``override`` null is null: one test,
        not a division helper and a rounding helper called with null on every line without an override.
        """
        text = f"(None if {' or '.join(f'{r} is None' for r in references)} else {inner})"
        self.lifted[text] = (inner, references)
        return text

    def conditional(self, node: s.Conditional, then: str, otherwise: str) -> str:
        cond = self.expr(node.condition)
        if node.condition.type.nullable:
            cond = f"({cond}) is True"
        text = f"({then} if {cond} else {otherwise})"
        if then in self.decimals and otherwise in self.decimals:
            self.decimals.add(text)
        return text

    def operand(self, node: s.Node, other: Type) -> str:
        """A whole-number literal meeting a decimal, or either branch of it, is a Decimal constant: no int conversion per evaluation."""
        if (isinstance(node, s.Literal) and isinstance(node.value, int) and not isinstance(node.value, bool)
                and other.kind == "number" and other.numeric != "integer"):
            return self.constant(Decimal(node.value))
        if isinstance(node, s.Conditional) and other.kind == "number" and other.numeric != "integer":
            return self.conditional(node, self.operand(node.then, other), self.operand(node.otherwise, other))
        return self.expr(node)

    def membership(self, node: s.In) -> str:
        needle = self.expr(node.needle)
        hay = node.haystack
        if isinstance(hay, s.Interval):
            return self.interval(needle, node.needle.type, hay)
        if isinstance(hay, s.ListOf):
            if all(isinstance(i, s.Literal) for i in hay.items):
                return f"({needle} in {self.constant(tuple(i.value for i in hay.items))})"  # type: ignore[attr-defined]
            return f"({needle} in ({', '.join(self.expr(i) for i in hay.items)},))"
        return f"({needle} in {self.expr(hay)})"

    def interval(self, value: str, value_type: Type, iv: s.Interval) -> str:
        low, high = self.expr(iv.low), self.expr(iv.high)
        if value_type.nullable or iv.low.type.nullable or iv.high.type.nullable:
            return f"in_interval({value}, {low}, {high}, {iv.low_closed}, {iv.high_closed})"
        return f"({low} {'<=' if iv.low_closed else '<'} {value} {'<=' if iv.high_closed else '<'} {high})"

    def call(self, node: s.Call) -> str:
        resolved = node.resolved
        if isinstance(resolved, s.Lookup):
            index = self.constant(_Index(self.pack.data[resolved.table].index(resolved.column)))
            keys = [self.expr(k) for k in node.args[2:]]
            key = keys[0] if len(keys) == 1 else "(" + ", ".join(keys) + ",)"
            return f"{index}.get({key})"
        if isinstance(resolved, s.Projection):
            return self.projection(node, resolved.function, resolved.scope)
        lists = node.args[0] if node.function == "flatten" and self.inline_nulls else None
        if isinstance(lists, s.ListOf) and not any(i.type.nullable for i in lists.items):
            return "[" + ", ".join(map(self.spliced, lists.items)) + "]"  # a list written out: no call, no loop
        return self.builtin(node)

    def first_field(self, node: s.Node, name: str) -> str | None:
        """``first(xs as x, c).f`` over records never null: the field taken in the search, not by a call on its result."""
        if not (isinstance(node, s.Call) and isinstance(node.resolved, s.Projection) and node.resolved.function == "first"):
            return None
        item = node.args[0].type.item
        if item is None or item.nullable or item.kind != "object":
            return None
        found = self.projection(node, "first", node.resolved.scope)
        var = f"_it{node.resolved.scope}"
        prefix = f"next(({var} for {var} in "
        assert found.startswith(prefix)
        return f"next(({var}.get({name!r}) for {var} in " + found[len(prefix):]

    def projection(self, node: s.Call, fn: str, scope: int) -> str:
        """An aggregation or projection whose later arguments are evaluated per list element (``_it<scope>``)."""
        args = node.args
        source = self.expr(args[0])
        if args[0].type.nullable:
            source = f"({source} or ())"
        var = f"_it{scope}"
        if fn in ("first", "filter"):
            cond = self.expr(args[1])
            if args[1].type.nullable:
                cond = f"({cond}) is True"
            if fn == "first":
                return f"next(({var} for {var} in {source} if {cond}), None)"
            return f"[{var} for {var} in {source} if {cond}]"
        if fn == "map":
            return f"[{self.expr(args[1])} {self.loop(var, args[0], source)}]"
        if fn == "sort_by":
            fields = [_item_field(k, scope) for k in args[1:]]
            if self.inline_nulls and all(fields):
                # itemgetter orders as the tuple of the same fields does (one field: as the 1-tuple), in C
                return f"sorted({source}, key={self.constant(itemgetter(*fields))})"
            sort_keys = "".join(f"{self.expr(k)}, " for k in args[1:])
            return f"sorted({source}, key=lambda {var}: ({sort_keys}))"
        if len(args) == 1:
            return self.aggregate(fn, f"{var} for {var} in {source}", None)
        body = args[1]
        if fn == "sum" and _zero_else(body):
            return self.filtered_sum(args[0], source, scope, body)
        if fn == "any" and (needle := _compared_with_item(body, scope)) is not None:
            return f"({self.expr(needle)} in {source})"  # = is never null: any(x = k) is membership
        value, loop = self.expr(body), f"for {var} in {source}"
        if fn in ("count", "any", "all"):
            condition = f"({value}) is True" if body.type.nullable or not self.inline_nulls else value
            if fn == "count":  # one comprehension, not a generator feeding another
                return f"len([1 {loop} if {condition}])"
            return f"{fn}({condition} {loop})"
        return self.aggregate(fn, f"{value} {loop}", body.type)

    def loop(self, var: str, listed: s.Node, source: str) -> str:
        """A map's loop; over a filter whose test cannot fail, the filter's own loop and test: no list between."""
        if not (isinstance(listed, s.Call) and isinstance(listed.resolved, s.Projection) and listed.function == "filter"
                and not listed.type.nullable and cannot_fail(listed.args[1])):
            return f"for {var} in {source}"
        inner = f"_it{listed.resolved.scope}"
        if not source.startswith(f"[{inner} for {inner} in "):
            return f"for {var} in {source}"
        # the filter's comprehension without its brackets; a one-element loop is an assignment since Python 3.9
        return f"{source[len(inner) + 2:-1]} for {var} in [{inner}]"

    def filtered_sum(self, listed: s.Node, source: str, scope: int, body: s.Node) -> str:
        """sum(xs as x, if c then v else 0) adds v where c holds: filter, do not add zeros."""
        assert isinstance(body, s.Conditional)
        # a list read by name can be looked up by its id before any call; anything else is built anew
        named = isinstance(listed, (s.Name, s.Member)) and not listed.type.nullable
        keyed = self.keyed_sum(source, scope, body, named)
        if keyed is not None:
            return keyed
        cond = self.expr(body.condition)
        if body.condition.type.nullable:
            cond = f"({cond}) is True"
        return self.aggregate("sum", f"{self.expr(body.then)} for _it{scope} in {source} if {cond}", body.then.type)

    def builtin(self, node: s.Call) -> str:
        """A function applied to its arguments: inline where Python's own operation is exact, else its implementation."""
        fn, args = node.function, node.args
        rendered = [self.expr(a) for a in args]
        function = FUNCTIONS[fn]
        if function.aggregates and args[0].type.kind == "list":
            source = rendered[0] if not args[0].type.nullable else f"({rendered[0]} or ())"
            if fn == "count":
                return f"len({source})"
            return self.aggregate(fn, f"_v for _v in {source}", None)
        nullable = [text for a, text in zip(args, rendered, strict=True) if a.type.nullable]
        if fn == "abs" and not nullable and args[0].type.numeric != "integer":
            return f"_ABS({rendered[0]})"  # abs() rounds a Decimal to the thread's context, CTX.abs to 34 digits
        if fn in ("min", "max") and self.inline_nulls and not nullable and len(args) == 2 and all(map(_plain_operand, args, rendered)):
            # as the builtins choose: the second only when strictly beyond the first
            a, b = rendered
            x, y = (self.compared(node, other.type, text) for node, other, text in zip(args, args[::-1], rendered, strict=True))
            return f"({b} if {y} {'<' if fn == 'min' else '>'} {x} else {a})"
        if fn in ("min", "max", "abs") and not nullable:
            return f"{fn}({', '.join(rendered)})"
        if fn in ("min", "max") and self.inline_nulls and all(_REFERENCE.fullmatch(text) for text in nullable):
            checks = " or ".join(f"{text} is None" for text in dict.fromkeys(nullable))
            return f"(None if {checks} else {fn}({', '.join(rendered)}))"
        if fn in _TEXTS and self.inline_nulls and not nullable:
            return _TEXTS[fn](args, rendered)
        if fn == "format_number" and self.inline_nulls and nullable == rendered[:1] and _REFERENCE.fullmatch(rendered[0]):
            return f"(None if {rendered[0]} is None else {_format_number(args, rendered)})"
        if fn == "coalesce" and self.inline_nulls and _REFERENCE.fullmatch(rendered[0]) and all(map(cannot_fail, args[1:])):
            return self.coalesced(args, rendered)
        if fn == "round":
            mode = args[2].value if len(args) == 3 else "half_even"  # type: ignore[attr-defined]
            if isinstance(args[1], s.Literal) and not args[0].type.nullable:
                # the usual case, round(x, 2, "half_up"): one C call on a context carrying the rounding
                quantum = self.constant(Decimal(1).scaleb(-args[1].value))
                return f"{self.constant(QUANTIZE[mode])}({rendered[0]}, {quantum})"
            if isinstance(args[1], s.Literal) and rendered[0] in self.lifted:
                inner, references = self.lifted[rendered[0]]
                return self.lift(f"f_round({inner}, {rendered[1]}, {mode!r})", references)
            if isinstance(args[1], s.Literal) and self.inline_nulls and _REFERENCE.fullmatch(rendered[0]):
                # round(override_price, 2) on a line without one: one test, not a call with null
                quantum = self.constant(Decimal(1).scaleb(-args[1].value))
                return self.lift(f"{self.constant(QUANTIZE[mode])}({rendered[0]}, {quantum})", (rendered[0],))
            return f"f_round({rendered[0]}, {rendered[1]}, {mode!r})"
        assert function.runtime is not None, f"{fn}() has no implementation to call"
        return f"{function.runtime.__name__}({', '.join(rendered)})"

    def compared(self, node: s.Node, other: Type, text: str) -> str:
        """A whole-number literal compared with a decimal, as a Decimal constant: Python compares an int with a Decimal exactly, but converts it each time."""
        if (isinstance(node, s.Literal) and isinstance(node.value, int) and not isinstance(node.value, bool)
                and other.kind == "number" and other.numeric != "integer"):
            return self.constant(Decimal(node.value))
        return text

    def spliced(self, inner: s.Node) -> str:
        """An inner list of a flatten written out, as the elements of the list around it."""
        if isinstance(inner, s.ListOf):
            return ", ".join(self.expr(i) for i in inner.items) or "*()"
        return f"*{self.expr(inner)}"

    def coalesced(self, args: list[s.Node], rendered: list[str]) -> str:
        """``coalesce(x, ...)`` with ``x`` a plain reference and the rest unable to fail: tests inline, not a call.

        The later arguments are evaluated only when needed, which changes nothing since they cannot fail.
        """
        text = rendered[-1]
        for node, value in zip(args[-2::-1], rendered[-2::-1], strict=True):
            if _REFERENCE.fullmatch(value):
                text = f"({value} if {value} is not None else {text})"
            elif node.type.nullable:
                return f"coalesce({', '.join(rendered)})"
            else:
                text = value  # never null: what follows is never reached
        return text

    def keyed_sum(self, source: str, scope: int, body: s.Conditional, named: bool) -> str | None:
        """sum(xs as x, if x.key = k then x.amount else 0), k not about x: a hash lookup, not a scan.

        The stock of one SKU in one warehouse, asked for every order line: the totals per key
        are built once per list and evaluation (``_ix<n>``, one per sum, by the list's id), then
        each line is one dict lookup; the call is made only on a list's first use.
        Python's ``==`` and dict lookup agree on the key types allowed here, null included.
        """
        cond, amount = body.condition, body.then
        amount_field = _item_field(amount, scope)
        if not (isinstance(cond, s.Binary) and cond.op == "=") or amount_field is None or amount.type.nullable:
            return None
        for item_side, key_side in ((cond.left, cond.right), (cond.right, cond.left)):
            key_field = _item_field(item_side, scope)
            if key_field is not None and item_side.type.kind in _HASHABLE and not _mentions(key_side, scope):
                exact = amount.type.numeric != "integer"
                cache = self.index_names.get((key_field, amount_field, exact), f"_ix{self.index_caches}")
                if cache == f"_ix{self.index_caches}":  # a list's totals by this key and amount are the same whoever asks
                    self.index_names[(key_field, amount_field, exact)] = cache
                    self.index_caches += 1
                totals = f"sum_by({cache}, {source}, {key_field!r}, {amount_field!r}, {exact})"
                if named:
                    totals = f"({cache}.get(id({source})) or {totals})"
                totals += "[1]"
                return f"{totals}.get({self.expr(key_side)}, 0)"
        return None

    def collected(self, f: Fused) -> str:
        """A fused rollup: the aggregation ``aggregate`` would apply, over the values its loop collected."""
        if f.function == "count":
            return f"_n{f.rollup}"
        assert f.body is not None
        values, body_type = f"_f{f.rollup}", f.body.type
        if f.function == "sum":
            if not body_type.nullable:
                return f"sum({values})" if body_type.numeric == "integer" else f"exact_sum({values})"
            return f"agg_sum({values})"
        if f.function in ("min", "max"):
            return f"agg_{f.function}({values})"
        return f"{f.function}(_c is True for _c in {values})"

    def aggregate(self, fn: str, generator: str, body_type: Type | None) -> str:
        if fn == "sum":
            if body_type is not None and not body_type.nullable:
                # no nulls to skip; whole numbers add exactly without a decimal context
                return f"sum([{generator}])" if body_type.numeric == "integer" else f"exact_sum([{generator}])"
            return f"agg_sum({generator})"
        if fn in ("min", "max"):
            return f"agg_{fn}({generator})"
        if fn == "count":
            return f"len([{generator}])"
        if fn == "any":
            return f"(True in ({generator}))"
        return f"all(_c is True for _c in ({generator}))"

    # Unary tests.

    def test(self, node: s.Node, column: str, column_type: Type) -> str:
        if isinstance(node, s.AnyTest):
            return "True"
        if isinstance(node, s.AnyOfTests):
            return "(" + " or ".join(self.test(t, column, column_type) for t in node.tests) + ")"
        if isinstance(node, s.NotTest):
            return "(not (" + " or ".join(self.test(t, column, column_type) for t in node.tests) + "))"
        if isinstance(node, s.CompareTest):
            operand = self.expr(node.operand)
            if node.op in ("=", "!="):
                return _equality(column, node.op, operand)
            if column_type.nullable or node.operand.type.nullable:
                return f"({_ORDER_OPS[node.op]}({column}, {operand}) is True)"
            return f"({column} {node.op} {operand})"
        if isinstance(node, s.IntervalTest):
            return self.interval(column, column_type, node.interval)
        if isinstance(node, s.EqualsTest):
            value = node.operand
            if value.type.kind == "list":
                return f"({column} in {self.expr(value)})"
            return f"({column} == {self.expr(value)})"
        if isinstance(node, s.PredicateTest):
            self.column_var = column
            try:
                text = self.expr(node.predicate)
            finally:
                self.column_var = None
            return f"(({text}) is True)" if node.predicate.type.nullable else text
        raise TypeError(f"cannot generate test {type(node).__name__}")

    # The function.

    def generate(self) -> str:
        pack = self.pack
        for i, f in enumerate(pack.inputs):
            assert f.source is not None
            self.bind(f.source, f"v{i}")
            self.emit(f"v{i} = inp[{f.name!r}]")
        for i, derive in enumerate(pack.derives):
            var = f"d{i}"
            self.bind(derive.symbol, var)
            self.emit(f"{var} = {self.expr(derive.expr)}")
            if self.traced:
                self.emit(f"trace['derived'][{derive.symbol.name!r}] = {var}")
        self.emit("matched = {}")
        self.emit("reasons = []")
        for i, step in enumerate(pack.steps):
            self.bind(step.symbol, f"s{i}")
            values = "".join(f"{name!r}: {self.expr(node)}, " for name, node in step.inputs.items())
            call = f"run_step({i}, {{{values}}})"
            if step.when is not None:
                cond = self.expr(step.when)
                call = f"({call} if ({cond}) is True else None)"
            self.emit(f"s{i} = {call}")
        for k, section in enumerate(pack.sections):
            self.section(k, section)
        fused = {f.rollup: f for loop in self.loops.values() for f in loop.fused}
        for i, derive in enumerate(pack.rollups):
            self.bind(derive.symbol, f"r_{i}")
            self.emit(f"r_{i} = {self.collected(fused[i]) if i in fused else self.expr(derive.expr)}")
            if self.traced:
                self.emit(f"trace['derived'][{derive.symbol.name!r}] = r_{i}")
        for table in pack.tables:
            self.table(self.next_table(), table)
        for i, f in enumerate(self.outputs):
            value = self.expr(f.value) if f.value is not None else self.name(f.source) if f.source is not None else "None"
            self.output(f, value, f"o{i}")
        if self.returning is not None:
            for line in self.returning.lines({f.name: f"o{i}" for i, f in enumerate(self.outputs)}):
                self.emit(line)
        else:
            self.emit("out = {" + "".join(f"{f.name!r}: o{i}, " for i, f in enumerate(self.outputs)) + "}")
            self.emit("return out, matched, reasons")
        params = ["inp", "as_of"] + (["trace"] if self.traced else []) + (["run_step"] if pack.steps else []) + (
            ["match"] if self.delegate else []) + list(self.returning.params if self.returning else ())
        header = f"def evaluate({', '.join(params)}):\n" + self.index_header()
        if not self.operator_count:
            return header + "\n".join(self.lines) + "\n"
        # the operators round as CTX does only with CTX the thread's context; the caller's is put back
        body = "".join(f"    {line}\n" for line in self.lines)
        return (header + "    _caller = getcontext()\n    setcontext(CTX)\n    try:\n" + body
                + "    finally:\n        setcontext(_caller)\n")

    def index_header(self) -> str:
        return "".join(f"    _ix{n} = {{}}\n" for n in range(self.index_caches))

    def next_table(self) -> int:
        self.table_count += 1
        return self.table_count - 1

    def section(self, k: int, section: SectionDef) -> None:
        """One loop over the elements: per-element derived values and tables, then the kept values."""
        source = self.expr(section.over)
        if section.over.type.nullable:
            source = f"({source} or ())"
        var = f"_it{section.scope}"
        loop = self.loops[k]
        for j, table in enumerate(section.tables):
            # a local per table: one append per element, not a dict lookup and an append
            self.row_lists[id(table)] = f"_hits{k}_{j}"
            self.emit(f"matched[{table.id!r}] = _hits{k}_{j} = []" if self.recording else f"_hits{k}_{j} = []")
        if loop.builds_list:
            self.emit(f"sec{k} = []")
        for f in loop.fused:
            self.emit(f"_n{f.rollup} = 0" if f.function == "count" else f"_f{f.rollup} = []")
        hoisted = loop_invariant(self.pack, section) if self.fuse else []
        for i in hoisted:  # the same for every element, and it cannot fail: computed once
            self.bind(section.derives[i].symbol, f"e{k}_{i}")
            self.emit(f"e{k}_{i} = {self.expr(section.derives[i].expr)}")
        for i, carry in enumerate(section.carries):  # the value before the first element
            self.bind(carry.symbol, f"k{k}_{i}")
            self.emit(f"k{k}_{i} = {self.expr(carry.init)}")
        later, moved = deferred(section, hoisted) if self.fuse and not self.delegate else ({}, set())
        for t, rows in later.items():
            self.deferred_rows[id(section.tables[t])] = {
                row: [(f"e{k}_{i}", section.derives[i]) for i in group] for row, group in rows.items()}
        self.emit(f"for {var} in {source}:")
        self.indent += 1
        self.per_element = True
        for i, derive in enumerate(section.derives):
            self.bind(derive.symbol, f"e{k}_{i}")
            if i not in hoisted and i not in moved:
                self.emit(f"e{k}_{i} = {self.expr(derive.expr)}")
        for table in section.tables:
            self.table(self.next_table(), table)
        for i, derive in enumerate(section.after):
            self.bind(derive.symbol, f"a{k}_{i}")
            self.emit(f"a{k}_{i} = {self.expr(derive.expr)}")
        if loop.builds_list:
            self.emit(f"sec{k}.append({self.section_record(k, section, var)})")
        for f in loop.fused:
            self.element_fields[f.scope] = (var, {symbol.name: self.name(symbol) for symbol in section.keep})
            if f.body is None:
                self.emit(f"_n{f.rollup} += 1")
            elif f.function == "count":
                self.emit(f"if {self.expr(f.body)}:" if self.inline_nulls and not f.body.type.nullable else f"if ({self.expr(f.body)}) is True:")
                self.emit(f"    _n{f.rollup} += 1")
            else:
                self.emit(f"_f{f.rollup}.append({self.expr(f.body)})")
            del self.element_fields[f.scope]
        self.carry_on(k, section)
        self.per_element = False
        self.indent -= 1
        self.bind(section.result, f"sec{k}")
        if self.traced:
            for table in section.tables:
                self.emit(f"trace['tables'][{table.id!r}] = {{'matched': matched[{table.id!r}]}}")

    def section_record(self, k: int, section: SectionDef, var: str) -> str:
        """One element's record: the element's fields and the kept values, or only the fields anything reads (engine.records)."""
        kept = {symbol.name: self.name(symbol) for symbol in section.keep}
        keys = None if self.traced else self.read_fields(section)
        if keys is None:
            return "{**" + var + ", " + "".join(f"{name!r}: {value}, " for name, value in kept.items()) + "}"
        self.record_keys[k] = keys
        return "{" + "".join(f"{name!r}: {kept.get(name) or f'{var}[{name!r}]'}, " for name in keys) + "}"

    def read_fields(self, section: SectionDef) -> list[str] | None:
        """The fields read of the section's records, in the order of the first output that picks them; None if read whole."""
        fused = frozenset(f.rollup for loop in self.loops.values() for f in loop.fused)
        found = readers(self.pack, self.outputs, fused, self.picked)
        fields = fields_read(found, found.uses.get(id(section.result), []))
        if fields is None:
            return None
        order = [name for f in self.outputs for name in self.picked(f) or []] + [symbol.name for symbol in section.keep]
        return [*dict.fromkeys(name for name in order if name in fields), *sorted(fields.difference(order))]

    def picked(self, f: FieldDef) -> list[str] | None:
        """The fields an output picks of each record it lists (those its caller reads, if it says); None if written whole."""
        items = f.spec.items if f.spec.type == "list" else None
        if items is None or self.exact_records(f, list(items)):
            return None
        asked = self.asked.get(f.name)
        return [name for name in items if asked is None or name in asked]

    def carry_on(self, k: int, section: SectionDef) -> None:
        """Every carried value's next, computed from this element's values before any is replaced."""
        carries = section.carries
        if len(carries) == 1:
            self.emit(f"k{k}_0 = {self.expr(carries[0].next)}")
            return
        for i, carry in enumerate(carries):
            self.emit(f"_k{k}_{i} = {self.expr(carry.next)}")
        for i in range(len(carries)):
            self.emit(f"k{k}_{i} = _k{k}_{i}")

    def output(self, f: FieldDef, value: str, target: str) -> None:
        """Assign one output, rounded to its declared scale; a required output is never null."""
        spec = f.spec
        self.emit(f"{target} = {value}")
        nullable = f.value.type.nullable if f.value is not None else f.source.type.nullable if f.source is not None else True
        if nullable and not spec.optional:
            self.emit(f"if {target} is None:")
            self.emit(f"    fail('output-missing', {'no row matched and no value was computed for required output ' + repr(f.name)!r}, None)")
        declared = INPUT_TYPES.get(spec.type)
        places = spec.scale if spec.scale is not None else declared.default_scale if declared is not None else None
        if declared is not None and declared.scaled and places is not None:
            quantum = self.constant(Decimal(1).scaleb(-places))
            guard = f"if {target} is not None: " if nullable else ""
            # one call on a context that carries the declared rounding (ints are accepted as they are)
            rounder = self.constant(QUANTIZE[spec.rounding or "half_up"])
            self.emit(f"{guard}{target} = {rounder}({target}, {quantum})")
        elif declared is not None and declared.held is Held.INTEGER and f.type.numeric != "integer":
            self.emit(f"if {target} is not None: {target} = int({target})")
        elif (keys := self.picked(f)) is not None and keys != self.built_keys(f.value):
            # an output lists what it declares (or what its caller reads of it), not whatever else the elements carried
            picked = ", ".join(f"{k!r}: _e.get({k!r})" for k in keys)
            guard = f"if {target} is not None: " if nullable else ""
            self.emit(f"{guard}{target} = [{{{picked}}} for _e in {target}]")

    def built_keys(self, node: s.Node | None) -> list[str] | None:
        """The keys, in order, of every record of ``node`` when it is a section's list, or a filter or sort of one; else None.

        A derived value or rollup is followed to its expression (``sort_by(plan as p, p.line_no)``).
        """
        exprs = {id(d.symbol): d.expr for d in [*self.pack.derives, *self.pack.rollups]}
        results = {id(section.result): k for k, section in enumerate(self.pack.sections)}
        while node is not None:
            if isinstance(node, s.Call) and node.function in ("filter", "sort_by") and isinstance(node.resolved, s.Projection):
                node = node.args[0]
            elif isinstance(node, s.Name) and id(node.symbol) in results:
                return self.record_keys.get(results[id(node.symbol)])
            else:
                node = exprs.get(id(node.symbol)) if isinstance(node, s.Name) else None
        return None

    def exact_records(self, f: FieldDef, keys: list[str]) -> bool:
        """Whether the output is always null or a list of records this code built with exactly ``keys``, in order.

        Then picking the declared fields from each would copy it as it is (an imported zen
        graph's ``map(xs as x, {carrier: x, cost: ...})``); records read from an input or a
        section's result may carry more fields and are picked.
        """
        if self.inline_nulls and isinstance(f.value, s.Name) and f.value.symbol is not None and f.value.symbol.kind == "table_result":
            # a multi-hit table's result is built as one record of its outputs per row (``_bind_result``)
            return any(table.result is f.value.symbol and table.multi_hit and table.output_names == keys
                       and len(keys) > 1 and table.result.name not in keys for table in self.pack.all_tables)
        if f.value is not None:
            return _built_records(f.value, keys, flattened=self.inline_nulls)
        for table in self.pack.tables:
            for k, symbol in enumerate(table.output_symbols):
                if symbol is f.source and f.source is not None:
                    cells = [row.outputs[k] for row in table.rows] + ([table.default[k]] if table.default else [])
                    return not table.multi_hit and all(_built_records(cell, keys) for cell in cells)
        return False

    def table(self, t: int, table: TableDef) -> None:
        columns = []
        for k, column in enumerate(table.columns):
            # a plain name needs no copy; an element's field does, or every row reads it from the element again
            if isinstance(column.expr, s.Name) and column.expr.symbol.kind != "item_field":
                columns.append((self.expr(column.expr), column.expr.type))
                continue
            var = f"c{t}_{k}"
            self.emit(f"{var} = {self.expr(column.expr)}")
            columns.append((var, column.expr.type))
        for column, (var, _) in zip(table.columns, columns, strict=True):
            if column.symbol is not None:
                self.bind(column.symbol, var)
        conditions = []
        for row in table.rows:
            parts = [self.test(test, var, ct) for test, (var, ct) in zip(row.tests, columns, strict=True)]
            parts = [p for p in parts if p != "True"]
            conditions.append(" and ".join(parts) if parts else "True")
        out_vars = [f"t{t}_{k}" for k in range(len(table.output_names))]
        for symbol, var in zip(table.output_symbols, out_vars, strict=True):
            self.bind(symbol, var)
        ids = self.constant(tuple(r.id for r in table.rows))
        reasons = self.constant(tuple(r.reason for r in table.rows))
        if self.delegate:
            values = "".join(f"{var}, " for var, _ in columns)
            self.emit(f"h{t} = match({t}, ({values}))")
            if table.hit_policy == "first":
                self.emit(f"h{t} = h{t}[:1]")
            self._multi(t, table, None, out_vars, ids)
        elif table.hit_policy == "first":
            self._first(t, table, conditions, out_vars)
        else:
            self._multi(t, table, conditions, out_vars, ids)
        if table.result is not None:
            self._bind_result(t, table, out_vars)
        if self.traced and not self.per_element:
            cols = ", ".join(f"{c.label!r}: {var}" for c, (var, _) in zip(table.columns, columns, strict=True))
            self.emit(f"trace['tables'][{table.id!r}] = {{'columns': {{{cols}}}, 'matched': matched[{table.id!r}]}}")
        if (table.hit_policy != "first" or self.delegate) and any(r.template is not None for r in table.rows):
            self._templated_reasons(t, table)
        elif (table.hit_policy != "first" or self.delegate) and self.fixed_reasons and any(r.reason is not None for r in table.rows):
            self.emit(f"reasons.extend(r for r in ({reasons}[i] for i in h{t}) if r is not None)")

    def reason(self, row: RowDef) -> str:
        """A row's reason: its text, or its template formatted with the values it shows (``shown``)."""
        if row.template is None:
            return repr(row.reason)
        text = "".join(p.replace("%", "%%") if isinstance(p, str) else "%s" for p in row.template)
        values = "".join(f"{self.shown(p)}, " for p in row.template if isinstance(p, ReasonValue))
        return f"({text!r} % ({values}))"

    def shown(self, part: ReasonValue) -> str:
        """A template's value as ``shown`` formats it; a text never null is shown as it is, without the call."""
        value = self.expr(part.expr)
        if self.inline_nulls and part.places is None and part.expr.type.kind == "string" and not part.expr.type.nullable:
            return value
        return f"shown({value}, {part.places})"

    def _templated_reasons(self, t: int, table: TableDef) -> None:
        """The reasons of the matching rows, in match order, each template formatted only for a row that matched."""
        keyword = "if"
        self.emit(f"for _i in h{t}:")
        for i, row in enumerate(table.rows):
            if row.reason is not None:
                self.emit(f"    {keyword} _i == {i}:")
                self.emit(f"        reasons.append({self.reason(row)})")
                keyword = "elif"

    def _row_outputs(self, table: TableDef, row_index: int) -> list[str]:
        return [self.expr(node) for node in table.rows[row_index].outputs]

    def _no_match(self, table: TableDef, out_vars: list[str]) -> None:
        if table.default is not None:
            for var, node in zip(out_vars, table.default, strict=True):
                self.emit(f"{var} = {self.expr(node)}")
        else:
            for var in out_vars:
                self.emit(f"{var} = None")

    def _first(self, t: int, table: TableDef, conditions: list[str], out_vars: list[str]) -> None:
        pending = self.deferred_rows.get(id(table), {})
        nested = 0
        for i, cond in enumerate(conditions):
            keyword = "if" if i == 0 else "elif"
            if i in pending:  # values only this row and later ones read: computed once the rows before missed
                if i > 0:
                    self.emit("else:")
                    self.indent += 1
                    nested += 1
                    keyword = "if"
                for var, derive in pending[i]:
                    self.emit(f"{var} = {self.expr(derive.expr)}")
            if cond == "True" and keyword == "elif":
                self.emit("else:")
            elif cond == "True":
                self.emit("if True:")
            else:
                self.emit(f"{keyword} {cond}:")
            self.indent += 1
            body = len(self.lines)
            for var, value in zip(out_vars, self._row_outputs(table, i), strict=True):
                self.emit(f"{var} = {value}")
            if table.result is not None:
                self.emit(f"hit{t} = {i}")
            if self.per_element:
                self.emit(f"{self.row_lists[id(table)]}.append({table.rows[i].id!r})")
            elif self.recording:
                self.emit(f"matched[{table.id!r}] = [{table.rows[i].id!r}]")
            if table.rows[i].reason is not None and (self.fixed_reasons or table.rows[i].template is not None):
                self.emit(f"reasons.append({self.reason(table.rows[i])})")  # a template's values may fail: kept
            if len(self.lines) == body:
                self.emit("pass")
            self.indent -= 1
            if cond == "True":
                break
        else:
            self.emit("else:")
            self.indent += 1
            self._no_match(table, out_vars)
            if table.result is not None:
                self.emit(f"hit{t} = -1")
            if not self.per_element and self.recording:
                self.emit(f"matched[{table.id!r}] = []")
            self.indent -= 1
        self.indent -= nested

    def _multi(self, t: int, table: TableDef, conditions: list[str] | None, out_vars: list[str], ids: str) -> None:
        h = f"h{t}"
        if conditions is not None:  # else h was filled by match()
            self.emit(f"{h} = []")
            for i, cond in enumerate(conditions):
                if cond == "True":
                    self.emit(f"{h}.append({i})")
                else:
                    self.emit(f"if {cond}:")
                    self.emit(f"    {h}.append({i})")
        # a collecting table builds its rows in a loop of its own: no function defined per evaluation (a closure
        # over the values its cells read) and no call per hit
        inline = table.hit_policy in (HitPolicy.COLLECT, HitPolicy.RULE_ORDER, HitPolicy.OUTPUT_ORDER) and not _literal_rows(table)
        hits = _Hits(t, table, h, "" if inline else self._row_function(t, table), out_vars, ids)
        POLICY_CODE[table.hit_policy](self, hits)
        if self.per_element:
            self.emit(f"{self.row_lists[id(table)]}.extend({ids}[i] for i in {h})")
        elif self.recording:
            self.emit(f"matched[{hits.tid}] = [{ids}[i] for i in {h}]")

    def _row_function(self, t: int, table: TableDef) -> str:
        """What gives a row's output values by its index: a constant table's ``__getitem__``, or a local function."""
        if _literal_rows(table):
            rows = self.constant(tuple(tuple(n.value for n in r.outputs) for r in table.rows))  # type: ignore[attr-defined]
            return f"{rows}.__getitem__"
        fn = f"_row{t}"
        self.emit(f"def {fn}(i):")
        self.indent += 1
        for i in range(len(table.rows)):
            self.emit(f"{'if' if i == 0 else 'elif'} i == {i}:")
            self.emit(f"    return ({', '.join(self._row_outputs(table, i))},)")
        self.indent -= 1
        return fn

    # One method per hit policy: from the matching row indices ``h<t>`` to the table's output variables.

    def _single_hit(self, hits: _Hits, value: str | None = None) -> None:
        """The outputs of one row (``value``: of the first hit), else the default or nulls."""
        self.emit(f"if {hits.h}:")
        self.emit(f"    {', '.join(hits.out_vars)}, = {value or f'{hits.row_of}({hits.h}[0])'}")
        self.emit("else:")
        self.indent += 1
        self._no_match(hits.table, hits.out_vars)
        self.indent -= 1

    def _unique(self, hits: _Hits) -> None:
        h, tid = hits.h, hits.tid
        self.emit(f"if len({h}) > 1:")
        self.emit(f"    fail('unique-violated', 'table ' + {tid} + ': rows ' + ', '.join({hits.ids}[i] for i in {h}) + ' all match, but the hit policy is unique', {tid})")
        self._single_hit(hits)

    def _priority(self, hits: _Hits) -> None:
        h = hits.h
        self.emit(f"{h} = [min({h}, key={self._ranks(hits.table)}.__getitem__)] if {h} else []")
        self._single_hit(hits)

    def _any(self, hits: _Hits) -> None:
        self._single_hit(hits, f"any_agree({hits.tid}, [{hits.row_of}(i) for i in {hits.h}])")

    def _output_order(self, hits: _Hits) -> None:
        self.emit(f"{hits.h}.sort(key={self._ranks(hits.table)}.__getitem__)")
        self._collect(hits)

    def _collect(self, hits: _Hits) -> None:
        t, h, agg = hits.t, hits.h, hits.table.aggregation
        if hits.row_of:
            self.emit(f"_rows{t} = [{hits.row_of}(i) for i in {h}]")
        else:
            self.emit(f"_rows{t} = []")
            self.emit(f"for _i in {h}:")
            for i in range(len(hits.table.rows)):
                self.emit(f"    {'if' if i == 0 else 'elif'} _i == {i}:")
                self.emit(f"        _rows{t}.append(({', '.join(self._row_outputs(hits.table, i))},))")
        for k, var in enumerate(hits.out_vars):
            if self.unread_column(hits.table, k):
                continue
            values = f"[_r[{k}] for _r in _rows{t}]"
            if agg == "sum":
                self.emit(f"{var} = agg_sum({values})")
            elif agg in ("min", "max"):
                self.emit(f"{var} = agg_{agg}({values})")
            elif agg == "count":
                self.emit(f"{var} = len({h})")
            else:
                self.emit(f"{var} = {values}")

    def unread_column(self, table: TableDef, k: int) -> bool:
        """Whether a multi-hit table's output column ``k`` is read by nothing this evaluation computes (its result is built from the rows)."""
        if self.traced or self.per_element or not self.inline_nulls or (table.result is not None and (
                len(table.output_names) == 1 or table.result.name in table.output_names)):
            return False
        if self._read is None:
            nodes = evaluated(self.pack, self.outputs)
            self._read = {id(n.symbol) for n in nodes if isinstance(n, s.Name) and n.symbol is not None}
            self._read |= {id(f.source) for f in self.outputs if f.source is not None}
            self._read |= {id(symbol) for section in self.pack.sections for symbol in section.keep}
        return id(table.output_symbols[k]) not in self._read

    def _ranks(self, table: TableDef) -> str:
        return self.constant(tuple(r.rank for r in table.rows))

    def _bind_result(self, t: int, table: TableDef, out_vars: list[str]) -> None:
        assert table.result is not None
        var = f"r{t}"
        if table.result.name in table.output_names:
            self.bind(table.result, out_vars[table.output_names.index(table.result.name)])
            return
        self.bind(table.result, var)
        if len(out_vars) == 1:
            self.emit(f"{var} = {out_vars[0]}")
            return
        names = table.output_names
        if table.multi_hit:
            pairs = ", ".join(f"{n!r}: _r[{k}]" for k, n in enumerate(names))
            self.emit(f"{var} = [{{{pairs}}} for _r in _rows{t}]")
        else:
            pairs = ", ".join(f"{n!r}: {v}" for n, v in zip(names, out_vars, strict=True))
            matched = f"hit{t} >= 0" if table.hit_policy == "first" and not self.delegate else f"h{t}"
            fallback = "None" if table.default is None else "_res"
            self.emit(f"_res = {{{pairs}}}")
            self.emit(f"{var} = _res if {matched} else {fallback}")


@dataclass(frozen=True)
class _Hits:
    """A table's matching rows as generated code holds them: ``h`` lists their indices."""

    t: int
    table: TableDef
    h: str
    row_of: str  # an expression giving a row's output values from its index
    out_vars: list[str]
    ids: str  # the constant tuple of row ids

    @property
    def tid(self) -> str:
        return repr(self.table.id)


POLICY_CODE: dict[HitPolicy, Callable[[Generator, _Hits], None]] = {
    HitPolicy.FIRST: Generator._single_hit,  # matched rows in delegate mode; else Generator._first's if/elif chain
    HitPolicy.UNIQUE: Generator._unique,
    HitPolicy.PRIORITY: Generator._priority,
    HitPolicy.ANY: Generator._any,
    HitPolicy.COLLECT: Generator._collect,
    HitPolicy.RULE_ORDER: Generator._collect,
    HitPolicy.OUTPUT_ORDER: Generator._output_order,
}
assert set(POLICY_CODE) == set(HitPolicy), "every hit policy needs its code generation"

_CTX_OPS = {"+": CTX.add, "-": CTX.subtract, "*": CTX.multiply, "/": CTX.divide}


def _folded(node: s.Node) -> Any:
    """The value of arithmetic over number literals and parameters, as the generated code would compute it; None if not constant or if it fails.

    Whole numbers add, subtract and multiply as Python ints (a product within ``INT_LIMIT``,
    as ``imul`` allows); anything else, and every division, under CTX, as ``arithmetic`` and
    the helpers compute it. A division by zero is left to the code (null, or the error).
    """
    if isinstance(node, s.Literal):
        value = node.value
        return value if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else None
    if not isinstance(node, s.Binary) or node.op not in _CTX_OPS:
        return None
    a, b = _folded(node.left), _folded(node.right)
    if a is None or b is None or (node.op == "/" and b == 0):
        return None
    if node.op != "/" and node.left.type.numeric == "integer" and node.right.type.numeric == "integer":
        value = a + b if node.op == "+" else a - b if node.op == "-" else a * b
        return value if -INT_LIMIT < value < INT_LIMIT else None
    try:
        return _CTX_OPS[node.op](a, b)
    except ArithmeticError:
        return None


def _equality(a: str, op: str, b: str) -> str:
    """``a = b``: against null, an identity test, what == gives for every value a pack holds without its dispatch.

    Not against a constant, which Python warns of (``None is 3``); that comparison is settled when compiling anyway.
    """
    if "None" in (a, b) and not _constant(b if a == "None" else a):
        return f"({a} {'is' if op == '=' else 'is not'} {b})"
    return f"({a} {'==' if op == '=' else '!='} {b})"


def _constant(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _literal_rows(table: TableDef) -> bool:
    return all(isinstance(n, s.Literal) for r in table.rows for n in r.outputs)


def _plain_operand(node: s.Node, text: str) -> bool:
    """A literal or a plain reference: evaluated twice at no cost and without failing."""
    return isinstance(node, s.Literal) or bool(_REFERENCE.fullmatch(text))


def _concat(args: list[s.Node], rendered: list[str]) -> str:
    return f"''.join(({''.join(f'{text}, ' for text in rendered)}))"


def _text(args: list[s.Node], rendered: list[str]) -> str:
    return rendered[0] if args[0].type.kind == "string" else f"text({rendered[0]})"


def _format_number(args: list[s.Node], rendered: list[str]) -> str:
    return f"shown({rendered[0]}, {rendered[1] if len(rendered) > 1 else None})"


# Functions on texts, inline when no argument can be null: concat joins (its parts are texts), text of a text is
# itself, format_number of a number is how a reason shows it.
_TEXTS: dict[str, Callable[[list[s.Node], list[str]], str]] = {"concat": _concat, "text": _text, "format_number": _format_number}

_HASHABLE = frozenset({"string", "number", "boolean", "date", "null"})


def _built_records(node: s.Node, keys: list[str], flattened: bool = True) -> bool:
    """Null, or a list (literal, ``map``, ``filter`` of one, ``flatten`` of a list of them) whose elements are record literals of exactly ``keys``."""
    if isinstance(node, s.Literal):
        return node.value is None
    if isinstance(node, s.ListOf):
        return all(isinstance(item, s.Record) and item.keys == keys for item in node.items)
    if isinstance(node, s.Call) and isinstance(node.resolved, s.Projection) and len(node.args) == 2:
        if node.function == "map":
            return _built_record(node.args[1], keys)
        if node.function == "filter":
            return _built_records(node.args[0], keys, flattened)
    if flattened and isinstance(node, s.Call) and node.function == "flatten" and isinstance(node.args[0], s.ListOf):
        return all(_built_records(inner, keys) for inner in node.args[0].items)  # a null inner list adds nothing
    return False


def _built_record(node: s.Node, keys: list[str]) -> bool:
    """A record literal of exactly ``keys``, or a choice between such literals."""
    if isinstance(node, s.Conditional):
        return _built_record(node.then, keys) and _built_record(node.otherwise, keys)
    return isinstance(node, s.Record) and node.keys == keys


def _item_field(node: s.Node, scope: int) -> str | None:
    """The field name when ``node`` reads a field of the item bound by ``scope``."""
    if isinstance(node, s.Name) and node.symbol is not None and node.symbol.kind == "item_field" and node.symbol.scope == scope:
        return str(node.symbol.name)
    if (isinstance(node, s.Member) and isinstance(node.target, s.Name) and node.target.symbol.kind == "item"
            and node.target.symbol.scope == scope and not node.target.type.nullable):
        return node.name
    return None


def _compared_with_item(body: s.Node, scope: int) -> s.Node | None:
    """In ``x = k`` (or ``k = x``), x the element itself and k not about it: k."""
    if not (isinstance(body, s.Binary) and body.op == "="):
        return None
    for item, other in ((body.left, body.right), (body.right, body.left)):
        if (isinstance(item, s.Name) and item.symbol is not None and item.symbol.kind == "item" and item.symbol.scope == scope
                and not _mentions(other, scope)):
            return other
    return None


def _mentions(node: s.Node, scope: int) -> bool:
    return any(isinstance(n, s.Name) and n.symbol is not None and n.symbol.kind in ("item", "item_field")
               and n.symbol.scope == scope for n in s.walk(node))


def _zero_else(node: s.Node) -> bool:
    return (isinstance(node, s.Conditional) and isinstance(node.otherwise, s.Literal)
            and node.otherwise.value == 0 and not isinstance(node.otherwise.value, bool))


class _Index(dict):  # type: ignore[type-arg]
    """A lookup index; hashable by identity so it can live in the constant table."""

    __hash__ = object.__hash__  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return self is other


def generate_invariants(pack: PackIR) -> tuple[str, dict[str, Any]]:
    """``invariants(inp, out, as_of)``: one result per declared invariant (False is a violation)."""
    gen = Generator(pack, traced=False)
    gen.operators = False  # one expression, not worth switching contexts for
    for f in pack.inputs:
        if f.source is not None:
            gen.bind(f.source, f"inp[{f.name!r}]")
    for inv in pack.invariants:
        for node in s.walk(inv.expr):
            if isinstance(node, s.Name) and node.symbol is not None and node.symbol.kind == "output":
                gen.bind(node.symbol, f"out[{node.symbol.name!r}]")
    body = "".join(f"{gen.expr(inv.expr)}, " for inv in pack.invariants)
    index = gen.index_header()
    return f"def invariants(inp, out, as_of):\n{index}    return ({body})\n", gen.constants


def generate(pack: PackIR, *, traced: bool = False, delegate: bool = False, outputs: Wanted = None,
             fuse: bool = True, inline_nulls: bool = True, operators: bool = True,
             returning: Returning | None = None, reasons: bool = True) -> tuple[str, dict[str, Any]]:
    """The source of ``evaluate`` and its constants.

    ``outputs`` leaves out the other outputs that cannot fail (engine.demand); ``fuse=False``
    computes every per-element value per element and reads every rollup back from its list
    (engine.fusion); ``inline_nulls=False`` checks every nullable operator's operands in a
    helper (``Generator.null_guarded``) and keeps every other shortcut out (helpers called for
    coalesce, member, min, max, concat, text and reason values, a lambda for sort keys, ``is True``
    on every condition, every table column collected, every list output copied), ``operators=False`` calls CTX's method for every
    decimal operator (``Generator.arithmetic``): the longhands the tests compare with.
    ``returning`` replaces the return of (outputs, matched, reasons) (importers.jdm_decide).
    ``reasons=False`` records no row's fixed reason, for a caller that never reads them (a
    replay's paired steps); a templated reason is still formatted, since its values may fail.
    """
    gen = Generator(pack, traced=traced, delegate=delegate, outputs=outputs, fuse=fuse)
    gen.inline_nulls, gen.operators, gen.returning, gen.reasons = inline_nulls, operators, returning, reasons
    source = gen.generate()
    if 0 < gen.operator_count < MIN_OPERATORS:
        gen = Generator(pack, traced=traced, delegate=delegate, outputs=outputs, fuse=fuse)
        gen.inline_nulls, gen.operators, gen.returning, gen.reasons = inline_nulls, False, returning, reasons
        source = gen.generate()
    return source, gen.constants
