"""JSON straight to a pack's validated input, in one pass: the replay's hot path for orders.

``jsonio.loads`` then ``pack.validate`` builds every object twice, once as parsed and once
as validated; for an order of 20 lines and 60 stock rows that is most of what a replay
spends before deciding. msgspec decodes into types generated from the declared inputs and
checks types, enum values, lengths, integer bounds and unknown fields as it parses, in C.
Decimal fields are decoded untyped, with fractions read as ``Decimal`` from their text (the
``float_hook``, never a binary float), and checked in one generated pass afterwards, as the
validator checks them.

The decoder accepts a subset of what the validator accepts and builds the same values (the
suite holds the two equal): anything it does not take, valid or not (a decimal sent as text,
``5.0`` for an integer, a schema with a type it does not know), returns None, and the caller
takes the validator's path, which also words the errors. Rules a list's items keep beyond
their types (``ItemRules``: the canonical order's unique line numbers, for one) are checked
in the same generated pass, in the loop that checks the items' decimals.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from engine.inputs import MAX_ITEMS, MAX_MAGNITUDE, MAX_STRING
from rules.input_types import INPUT_TYPES, Held, held
from rules.ir import FieldDef, FieldShape

Decoded = Callable[[bytes], dict[str, Any] | None]
_MAXI = int(MAX_MAGNITUDE)


class Unsupported(Exception):
    """A declaration the decoder does not mirror exactly: the validator's path is taken for every input."""


@dataclass(frozen=True)
class ItemRules:
    """What a top-level list of objects keeps beyond its declared types; an input breaking one decodes to None."""

    required: bool = False  # at least one item
    nonzero: tuple[str, ...] = ()  # item fields that are not 0
    positive: tuple[str, ...] = ()  # item fields of at least 1
    unique: str | None = None  # the item field no two items share


class _Builder:
    INLINE_DEPTH = 5

    def __init__(self, rules: Mapping[str, ItemRules] | None = None) -> None:
        self.rules = rules or {}
        self.names = itertools.count()
        self.ns: dict[str, Any] = {"Decimal": Decimal, "MAX": MAX_MAGNITUDE, "NMAX": -MAX_MAGNITUDE,
                                   "MAXI": _MAXI, "NMAXI": -_MAXI}
        self.source: list[str] = []

    def struct(self, fields: dict[str, FieldShape], metadata: Mapping[str, Any] | None = None) -> type[msgspec.Struct]:
        members: list[tuple[str, Any, Any]] = []
        for name, spec in fields.items():
            kind = self.type_of(spec)
            members.append((name, kind | None, None) if spec.optional else (name, kind, msgspec.NODEFAULT))
        # the record's own fields (order_id, as_of) when the pack does not declare them, of their types: left out when absent
        members += [(name, kind, msgspec.UNSET) for name, kind in (metadata or {}).items() if name not in fields]
        try:
            return msgspec.defstruct(f"Input{next(self.names)}", members, kw_only=True, forbid_unknown_fields=True, gc=False)
        except (TypeError, ValueError) as exc:  # a field name a struct cannot have
            raise Unsupported(str(exc)) from None

    def type_of(self, spec: FieldShape) -> Any:
        how = held(spec.type)
        if how is Held.INTEGER:
            low, high = spec.min, spec.max
            if any(b is not None and b != b.to_integral_value() for b in (low, high)):
                raise Unsupported("an integer bound with a fraction")
            ge = 1 - _MAXI if low is None else max(int(low), 1 - _MAXI)
            le = _MAXI - 1 if high is None else min(int(high), _MAXI - 1)
            return Annotated[int, msgspec.Meta(ge=ge, le=le)]
        if how is Held.DECIMAL:
            return Any  # checked by the generated pass: an int or a Decimal from a JSON number, as the validator takes it
        if how is Held.BOOLEAN:
            return bool
        if how is Held.DATE:
            return dt.date  # YYYY-MM-DD only: other ISO forms take the validator's path
        if how is Held.STRING:
            if INPUT_TYPES[spec.type].enumerated and spec.values:
                return Literal[tuple(spec.values)]
            return Annotated[str, msgspec.Meta(max_length=spec.max_length if spec.max_length is not None else MAX_STRING)]
        if how is not None:
            raise Unsupported(f"type {spec.type}")
        limit = msgspec.Meta(max_length=spec.max_items if spec.max_items is not None else MAX_ITEMS)
        if spec.type == "list":
            item = self.type_of(FieldShape(type=spec.of)) if spec.of is not None else self.struct(spec.items or {})
            return Annotated[list[item], limit]  # type: ignore[valid-type]
        return self.struct(spec.fields or {})

    def checker(self, fields: dict[str, FieldShape], top: bool = False) -> str | None:
        """A generated function checking every decimal of an object (True when all pass), or None if it has none.

        Nested objects and lists are checked inline, in loops of the one function: a call per
        order line would cost as much as the checks. ``top``: the input itself, whose lists keep ``rules``.
        """
        if top and not set(self.rules) <= set(fields):
            raise Unsupported("rules for a list the pack does not declare")
        body = self.block(fields, "d", 0, top)
        if not body:
            return None
        fn = f"check{next(self.names)}"
        self.source += [f"def {fn}(d):", *("    " + line for line in body), "    return True", ""]
        return fn

    def block(self, fields: dict[str, FieldShape], d: str, depth: int, top: bool = False) -> list[str]:
        lines: list[str] = []
        for name, spec in fields.items():
            x = f"x{next(self.names)}"
            rules = self.rules.get(name) if top else None
            body = self.kept(spec, x, rules, depth) if rules is not None else self.check(spec, x, f"{d}[{name!r}]", depth)
            if spec.optional and spec.default is not None:  # absent or null: the declared default, as the validator gives it
                default = f"D{next(self.names)}"
                self.ns[default] = spec.default
                lines += [f"{x} = {d}[{name!r}]", f"if {x} is None:", f"    {d}[{name!r}] = {default}",
                          *(["else:", *("    " + b for b in body)] if body else [])]
            elif body:
                lines += [f"{x} = {d}[{name!r}]", *([f"if {x} is not None:", *("    " + b for b in body)] if spec.optional else body)]
        return lines

    def check(self, spec: FieldShape, x: str, target: str, depth: int) -> list[str]:
        how = held(spec.type)
        if how is Held.DECIMAL:
            return self.decimal(spec, x, target)
        if how is not None:
            return []
        if spec.type == "list" and spec.of is not None:
            if held(spec.of) is Held.DECIMAL:
                raise Unsupported("a list of decimals")  # rare; each item would need its own rebinding
            return []
        fields = (spec.items if spec.type == "list" else spec.fields) or {}
        if depth >= self.INLINE_DEPTH:  # Python allows 20 nested blocks: deeper objects get a function of their own
            inner = self.checker(fields)
            if inner is None:
                return []
            return ([f"for e in {x}:", f"    if not {inner}(e):", "        return False"] if spec.type == "list"
                    else [f"if not {inner}({x}):", "    return False"])
        if spec.type == "list":
            e = f"e{next(self.names)}"
            body = self.block(fields, e, depth + 1)
            return [f"for {e} in {x}:", *("    " + b for b in body)] if body else []
        return self.block(fields, x, depth + 1)

    def kept(self, spec: FieldShape, x: str, rules: ItemRules, depth: int) -> list[str]:
        """A top-level list's check with its items' rules in the loop over them: one pass, not a second one over the list."""
        items = spec.items if spec.type == "list" else None
        named = {**dict.fromkeys((*rules.nonzero, *rules.positive), (Held.INTEGER,)),
                 **({rules.unique: (Held.INTEGER, Held.STRING)} if rules.unique is not None else {})}
        if spec.optional or items is None or any(name not in items or items[name].optional or held(items[name].type) not in kinds
                                                 for name, kinds in named.items()):
            raise Unsupported("item rules on a list that may be null, or on an item field that is not a required number or text")
        e, seen = f"e{next(self.names)}", f"s{next(self.names)}"
        body = self.block(items, e, depth + 1)
        body += [line for name in rules.nonzero for line in (f"if not {e}[{name!r}]:", "    return False")]
        body += [line for name in rules.positive for line in (f"if {e}[{name!r}] < 1:", "    return False")]
        lines = [f"if not {x}:", "    return False"] if rules.required else []
        if rules.unique is not None and not body:  # nothing else to check an item for: a set display, no loop of ours
            return [*lines, f"if len({{{e}[{rules.unique!r}] for {e} in {x}}}) != len({x}):", "    return False"]
        if rules.unique is not None:
            lines.append(f"{seen} = set()")
            body.append(f"{seen}.add({e}[{rules.unique!r}])")
        if body:
            lines += [f"for {e} in {x}:", *("    " + b for b in body)]
        if rules.unique is not None:
            lines += [f"if len({seen}) != len({x}):", "    return False"]
        return lines

    def decimal(self, spec: FieldShape, x: str, target: str) -> list[str]:
        """A JSON number's Decimal (finite: the decoder reads no NaN) within the range and the bounds, in one chained
        comparison; an int within them is made a Decimal."""
        low, high = "NMAX <", "< MAX"
        bounds = []
        for bound, op in ((spec.min, "<"), (spec.max, ">")):
            if bound is not None:
                constant = f"B{next(self.names)}"
                self.ns[constant] = bound
                bounds.append(f"{x} {op} {constant}")
                if op == "<" and bound > -MAX_MAGNITUDE:
                    low = f"{constant} <="
                elif op == ">" and bound < MAX_MAGNITUDE:
                    high = f"<= {constant}"
        return [f"if {x}.__class__ is Decimal:", f"    if not ({low} {x} {high}):", "        return False",
                f"elif {x}.__class__ is int and NMAXI < {x} < MAXI:", f"    {target} = {x} = Decimal({x})",
                *([f"    if {' or '.join(bounds)}:", "        return False"] if bounds else []),
                "else:", "    return False"]


def compile_decoder(fields: list[FieldDef], metadata: Mapping[str, Any] | None = None,
                    rules: Mapping[str, ItemRules] | None = None) -> Decoded | None:
    """A function from JSON bytes to the validated input (with the ``metadata`` fields it carries, of their types), or None.

    The function returns None for any input it does not take, or whose top-level lists break
    their ``rules``; ``compile_decoder`` returns None for a declaration it cannot mirror.
    """
    declared = {f.name: f.spec for f in fields}
    builder = _Builder(rules)
    try:
        root = builder.struct(declared, metadata)
        checker = builder.checker(declared, top=True)
    except Unsupported:
        return None
    exec(compile("\n".join(builder.source), "<arbiter input decoding>", "exec"), builder.ns)  # noqa: S102 - generated from the declared schema only
    check: Callable[[dict[str, Any]], bool] = builder.ns[checker] if checker is not None else lambda _: True
    decoder = msgspec.json.Decoder(root, float_hook=Decimal)
    to_builtins, builtins, error = msgspec.to_builtins, (Decimal, dt.date), msgspec.MsgspecError

    def decode(raw: bytes) -> dict[str, Any] | None:
        try:
            value: dict[str, Any] = to_builtins(decoder.decode(raw), builtin_types=builtins)
        except error:
            return None
        return value if check(value) else None

    return decode
