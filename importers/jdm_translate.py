"""Translating ZEN expressions and table cells into Arbiter's expression language, with their types."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Protocol

from importers.jdm_syntax import COMPARISONS, Node, ZenSyntaxError, parse_zen_unary
from importers.jdm_types import (
    BOOLEAN,
    CONDITIONS,
    DATE,
    ISO_DATE,
    MIXED,
    NULL,
    NUMBER,
    STRING,
    Context,
    ListOf,
    ObjectOf,
    Unsupported,
    describe,
    join_types,
    kind_of,
)

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # a name a pack can declare or write as a record key


class Reads(Protocol):
    """Where a translated name's value comes from: the graph being converted."""

    def read(self, path: str, context: Context) -> tuple[str, Any]: ...

    def is_date(self, path: str) -> bool: ...

    def children(self, path: str, context: Context) -> list[str]: ...

    def clock(self) -> str: ...

    def request_node(self) -> str | None: ...

    def node_output(self, name: str, path: str) -> tuple[str, Any]: ...

    def note(self, text: str) -> None: ...

def _chain(node: Node) -> tuple[Node, list[str]]:
    """``a.b.c`` as its base node and the fields read off it: (``a``, ["b", "c"])."""
    chain: list[str] = []
    while node[0] == "member":
        chain.insert(0, node[2])
        node = node[1]
    return node, chain


def _is_now(node: Node) -> bool:
    return node[0] == "str" and str(node[1]).strip() == "now"


def path_of(node: Node) -> str | None:
    if node[0] == "name":
        return str(node[1])
    if node[0] == "member":
        base = path_of(node[1])
        return None if base is None else f"{base}.{node[2]}"
    return None


def _uses(node: Any, tag: str) -> bool:
    return any(n[0] == tag for n in walk(node))


def simple_path(text: str) -> str | None:
    text = text.strip()
    return text if re.match(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", text) else None


def _literal_type(node: Any) -> Any:
    if isinstance(node, tuple) and node:
        if node[0] == "neg":
            return _literal_type(node[1])
        return {"num": NUMBER, "str": STRING, "bool": BOOLEAN, "interval": NUMBER}.get(node[0])
    return None


def cell_types(text: str) -> set[Any]:
    try:
        tests = parse_zen_unary(text)
    except ZenSyntaxError:
        return set()
    found = set()
    for test in tests:
        t = _literal_type(test[2] if test[0] == "compare" else test)
        if t is not None:
            found.add(t)
    return found


def compared(node: Any) -> list[tuple[str, Any]]:
    """(path, type) for every path an expression gives a type: ``path <op> literal``, or arithmetic.

    ``propertyValue * 0.5`` makes ``propertyValue`` a number; ``+`` does so only beside a
    number literal, since it also joins strings.
    """
    out = []
    for n in walk(node):
        if n[0] != "bin":
            continue
        for a, b in ((n[2], n[3]), (n[3], n[2])):
            path = path_of(a) if isinstance(a, tuple) and a else None
            if path is None:
                continue
            if n[1] in CONDITIONS - {"and", "or", "in", "not in"}:
                t = _literal_type(b)
                if t is not None:
                    out.append((path, t))
            elif n[1] in ("-", "*", "/", "%", "^") or (n[1] == "+" and _literal_type(b) == NUMBER):
                out.append((path, NUMBER))
    return out


class Translator:
    """Translates one ZEN expression into Arbiter's language, with the type of the result."""

    def __init__(self, graph: Reads, context: Context, local: dict[str, tuple[str, Any]] | None = None,
                 column: tuple[str, Any] | None = None) -> None:
        self.graph = graph
        self.context = context
        self.local = local or {}  # '$.key' inside an expression node: the names earlier keys were written to
        self.read_local: set[str] = set()  # the '$' keys this translation read
        self.column = column  # '$' in a table cell: ('?', column type)
        self.bindings: list[tuple[str, Any]] = []  # '#' inside closures

    def expr(self, node: Node) -> tuple[str, Any]:
        tag = node[0]
        if tag == "num":
            return str(node[1]), NUMBER
        if tag == "str":
            return json.dumps(node[1]), STRING
        if tag == "bool":
            return ("true" if node[1] else "false"), BOOLEAN
        if tag == "null":
            return "null", NULL
        if tag == "template":
            parts = [self.expr(p) for p in node[1]]
            if any(t not in (STRING, NUMBER) for _, t in parts):
                raise Unsupported("a template string with a value that is neither a string nor a number")
            texts = [p if t == STRING else f"text({p})" for p, t in parts]  # zen writes numbers with the digits they hold
            return (texts[0] if len(texts) == 1 else f"concat({', '.join(texts)})"), STRING
        if tag in ("name", "member", "dollar", "hash"):
            return self.reference(node)
        if tag == "not":
            text, _ = self.expr(node[1])
            return f"(not {text})", BOOLEAN
        if tag == "neg":
            text, t = self.expr(node[1])
            return f"(-{text})", t
        if tag == "cond":
            c, _ = self.expr(node[1])
            a, ta = self.expr(node[2])
            b, tb = self.expr(node[3])
            return f"(if {c} then {a} else {b})", ta if ta != NULL else tb
        if tag == "bin":
            return self.binary(node[1], node[2], node[3])
        if tag == "call":
            return self.call(node[1], node[2])
        if tag == "interval":
            raise Unsupported("an interval outside 'in'")
        if tag == "array":
            items = [self.expr(item) for item in node[1]]
            item_type: Any = NULL
            for _, t in items:
                item_type = join_types(item_type, t)
            if item_type == MIXED or isinstance(item_type, ObjectOf) or (
                    isinstance(item_type, ListOf) and isinstance(item_type.item, (ListOf, ObjectOf))):
                raise Unsupported("a list literal whose items are not values of one type")
            return f"[{', '.join(text for text, _ in items)}]", ListOf(item_type)
        if tag == "object":
            return self.record(node[1])
        if tag == "index":
            return self.index(node[1], node[2])
        raise Unsupported(f"the construct {tag!r}")

    def record(self, pairs: list[tuple[str, Node]]) -> tuple[str, Any]:
        """An object literal inside an expression: the language's record, typed field by field."""
        fields: list[tuple[str, Any]] = []
        parts: list[str] = []
        for key, value in pairs:
            if not FIELD_NAME.match(key):
                raise Unsupported(f"an object key {key!r} that is not a field name")
            text, t = self.expr(value)
            fields.append((key, t))
            parts.append(f"{key}: {text}")
        return "{" + ", ".join(parts) + "}", ObjectOf(tuple(fields))

    def index(self, target: Node, key: Node) -> tuple[str, Any]:
        """``costs[#]``: an object with known fields, read by a computed string key, or null; ``parts[0]``: an element."""
        position = Decimal(str(key[1])) if key[0] == "num" else None
        if position is not None and position >= 0 and position == position.to_integral_value():
            text, t = self.expr(target)
            if not isinstance(t, ListOf):
                raise Unsupported("indexing with [...] a value that is not a list")
            return f"element_at({text}, {int(position) + 1})", t.item  # zen counts from 0, null past the end
        key_text, key_type = self.expr(key)
        if key_type != STRING:
            raise Unsupported("indexing with [...] by a value that is not a string")
        fields, result_type = self.fields_of_one_type(target, "indexing with [...]")
        text = "null"
        for name, value, _ in reversed(fields):
            text = f"(if {key_text} = {json.dumps(name)} then {value} else {text})"
        return text, result_type

    def fields_of_one_type(self, target: Node, what: str) -> tuple[list[tuple[str, str, Any]], Any]:
        """An object's known fields and the one type they share (what indexing and values() return)."""
        fields = self.known_fields(target)
        if not fields:
            raise Unsupported(f"{what} of a value whose fields are not known")
        shared: Any = NULL
        for _, _, t in fields:
            shared = join_types(shared, t)
        if shared == MIXED:
            raise Unsupported(f"{what} of an object whose fields differ in type")
        return fields, shared

    def known_fields(self, target: Node) -> list[tuple[str, str, Any]]:
        """The fields of an object: set earlier in this node field by field (``$.costs``), or typed."""
        if target[0] in ("dollar", "member") and path_of(target) is None:
            base, chain = _chain(target)
            prefix = ".".join(chain) + "."
            if base[0] == "dollar" and prefix.strip(".") not in self.local:
                fields = [(k, k[len(prefix):], text, t) for k, (text, t) in self.local.items()
                          if k.startswith(prefix) and "." not in k[len(prefix):]]
                self.read_local.update(k for k, _, _, _ in fields)
                return [(name, text, t) for _, name, text, t in fields]
        path = path_of(target)
        if path is not None:
            subs = self.graph.children(path, self.context)
            if subs:
                return [(sub, *self.graph.read(f"{path}.{sub}", self.context)) for sub in subs]
        text, t = self.expr(target)
        if not isinstance(t, ObjectOf):
            return []
        return [(name, f"{text}.{name}", field_type) for name, field_type in t.fields]

    def reference(self, node: Node) -> tuple[str, Any]:
        base, chain = _chain(node)
        if base[0] == "hash":
            if not self.bindings:
                raise Unsupported("'#' outside a closure")
            return self.fields(*self.bindings[-1], chain, f"'#.{'.'.join(chain)}'")
        if base[0] == "dollar":
            if self.column is not None and not chain:
                return self.column
            key = ".".join(chain)
            if key in self.local:
                self.read_local.add(key)
                return self.local[key]
            raise Unsupported(f"'$.{key}' reads a key this node has not set before")
        if base[0] == "nodes":
            if len(chain) < 2:
                raise Unsupported("$nodes of a node's whole output")
            if chain[0] != self.graph.request_node():
                return self.graph.node_output(chain[0], ".".join(chain[1:]))
            return self.request_as_given(chain)
        path = path_of(node)
        if path is None:  # fields of a computed value: dispatch[#].flag
            return self.fields(*self.expr(base), chain, "a field of a computed value")
        return self.graph.read(path, self.context)

    @staticmethod
    def fields(text: str, t: Any, chain: list[str], what: str) -> tuple[str, Any]:
        """``value.a.b`` of a value whose type is known."""
        for part in chain:
            t = t.get(part) if isinstance(t, ObjectOf) else None
            if t is None:
                raise Unsupported(f"{what} reads a field the tests never give")
            text += f".{part}"
        return text, t

    def request_as_given(self, chain: list[str]) -> tuple[str, Any]:
        """``$nodes.request.customer.country``: the request as the input node received it, which is the pack's input."""
        item = self.context.item
        if isinstance(item, ObjectOf) and item.get(chain[1]) is not None:
            raise Unsupported(f"$nodes.{chain[0]}.{chain[1]} inside a loop whose elements have a field '{chain[1]}'")
        return self.graph.read(".".join(chain[1:]), Context({}, True))

    def binary(self, op: str, left: Node, right: Node) -> tuple[str, Any]:
        if op in ("in", "not in"):
            return self.membership(op, left, right)
        a, ta = self.expr(left)
        b, tb = self.expr(right)
        if {ta, tb} == {NUMBER, DATE}:  # zen's dates are seconds: a calendar date meets date('now') or a duration
            a, ta = (f"timestamp({a})", NUMBER) if ta == DATE else (a, ta)
            b, tb = (f"timestamp({b})", NUMBER) if tb == DATE else (b, tb)
        if op in COMPARISONS and _kinds_differ(ta, tb):
            return self.mismatch(op, a, ta, b, tb)
        if op == "??":
            return f"coalesce({a}, {b})", ta if ta != NULL else tb
        if op in ("and", "or"):
            return f"({a} {op} {b})", BOOLEAN
        if op in ("==", "!="):
            return f"({a} {'=' if op == '==' else '!='} {b})", BOOLEAN
        if op in ("<", "<=", ">", ">="):
            return f"({a} {op} {b})", BOOLEAN
        if op == "+" and STRING in (ta, tb):
            if ta != tb:
                raise Unsupported("'+' of a string and a value that is not a string")
            return f"concat({a}, {b})", STRING
        if op in ("+", "-", "*", "/"):
            return f"({a} {op} {b})", NUMBER
        raise Unsupported(f"the operator {op!r}")

    def mismatch(self, op: str, a: str, ta: Any, b: str, tb: Any) -> tuple[str, Any]:
        """A comparison of values of different types, as zen makes it: never equal; an ordering fails.

        A failing cell leaves its row unmatched, so in a cell an ordering is false; anywhere
        else zen fails the whole evaluation, which a converted pack does not copy. The YAML
        header names each one: it is most likely a mistake in the graph.
        """
        what = f"{a} {op} {b} compares {describe(ta)} with {describe(tb)}"
        if op in ("==", "!="):
            self.graph.note(f"{what}, which zen never finds equal: written as {'false' if op == '==' else 'true'}")
            return ("false" if op == "==" else "true"), BOOLEAN
        if self.column is None:
            raise Unsupported(f"{what}, which fails in zen")
        self.graph.note(f"{what}, which fails in zen and leaves the row unmatched: written as false")
        return "false", BOOLEAN

    def membership(self, op: str, left: Node, right: Node) -> tuple[str, Any]:
        value, _ = self.expr(left)
        negate = "not " if op == "not in" else ""
        if right[0] == "array":
            items = [self.expr(item)[0] for item in right[1]]
            if not items:
                return ("true" if negate else "false"), BOOLEAN
            return f"({value} {negate}in ({', '.join(items)}))", BOOLEAN
        if right[0] == "interval":
            return f"({value} {negate}in {self.interval(right)})", BOOLEAN
        source, t = self.expr(right)
        if isinstance(t, ListOf):
            var = self.fresh()
            return f"({'not ' if negate else ''}any({source} as {var}, {var} = {value}))", BOOLEAN
        if t == NULL and self.column is not None:
            # zen fails on 'in' and 'not in' over null, and a table cell that fails does not match
            return "false", BOOLEAN
        raise Unsupported("'in' over a value that is not a list")

    def interval(self, node: Node) -> str:
        low, _ = self.expr(node[2])
        high, _ = self.expr(node[3])
        return f"{'[' if node[1] else '('}{low}..{high}{']' if node[4] else ')'}"

    def fresh(self) -> str:
        return f"e{len(self.bindings) + 1}"

    def closure(self, fn: str, source: Node, body: Node) -> tuple[str, Any, str, Any]:
        text, t = self.expr(source)
        if not isinstance(t, ListOf):
            raise Unsupported(f"{fn}() over a value that is not a list")
        var = self.fresh()
        self.bindings.append((var, t.item))
        try:
            body_text, body_type = self.expr(body)
        finally:
            self.bindings.pop()
        return text, t, f"{text} as {var}, {body_text}", body_type

    def call(self, fn: str, args: list[Node]) -> tuple[str, Any]:
        if fn in ("some", "all", "none", "filter", "map", "count") and len(args) == 2:
            _, list_type, inner, body_type = self.closure(fn, args[0], args[1])
            if fn == "some":
                return f"any({inner})", BOOLEAN
            if fn == "none":
                return f"(not any({inner}))", BOOLEAN
            if fn == "filter":
                return f"filter({inner})", list_type
            if fn == "map":
                return f"map({inner})", ListOf(body_type)
            return f"{fn}({inner})", NUMBER if fn == "count" else BOOLEAN
        if fn in ("sum", "min", "max", "avg") and len(args) == 1:
            if args[0][0] == "array" and fn in ("min", "max"):
                items = [self.expr(a)[0] for a in args[0][1]]
                return f"{fn}({', '.join(items)})", NUMBER
            if args[0][0] == "call" and args[0][1] == "map" and len(args[0][2]) == 2 and fn != "avg":
                _, _, inner, _ = self.closure("map", *args[0][2])
                return f"{fn}({inner})", NUMBER
            if fn == "avg":
                raise Unsupported("avg()")
            text, t = self.expr(args[0])
            if not isinstance(t, ListOf):
                raise Unsupported(f"{fn}() of a value that is not a list")
            return f"{fn}({text})", t.item
        if fn in ("dayOfYear", "time") and len(args) == 1:
            target = "day_of_year" if fn == "dayOfYear" else "time_of_day"
            if _is_now(args[0]):
                return f"{target}({self.graph.clock()})", NUMBER
            text, t = self.expr(args[0])
            if t not in (STRING, DATE):
                raise Unsupported(f"{fn}() of a value that is neither a date nor text")
            return f"{target}({text})", NUMBER
        if fn == "string" and len(args) == 1:
            text, t = self.expr(args[0])
            if t == NUMBER:
                return f"text({text})", STRING
            if t == STRING:
                return text, STRING
            raise Unsupported("string() of a value that is neither a number nor a string")
        if fn == "values" and len(args) == 1:
            fields, item = self.fields_of_one_type(args[0], "values()")
            if isinstance(item, ListOf):
                raise Unsupported("values() of an object whose fields are lists")
            return "[" + ", ".join(text for _, text, _ in fields) + "]", ListOf(item)
        if fn == "keys" and len(args) == 1:
            path = path_of(args[0])
            names = self.graph.children(path, self.context) if path is not None else []
            if not names:  # a request's object has the keys the request gives, in its order: not known here
                raise Unsupported("keys() of an object the graph did not build")
            self.expr(args[0])  # read whole, every value in it must be one a table always sets (built_object)
            return "[" + ", ".join(json.dumps(n) for n in names) + "]", ListOf(STRING)
        if fn == "flatten" and len(args) == 1:
            text, t = self.expr(args[0])
            if not isinstance(t, ListOf) or not isinstance(t.item, ListOf):
                raise Unsupported("flatten() of a value that is not a list of lists")
            return f"flatten({text})", t.item
        if fn == "type" and len(args) == 1:
            # a converted pack's values are typed: zen's type() is the type's name, or "null" for null
            text, t = self.expr(args[0])
            if t == NULL:
                return '"null"', STRING
            name = kind_of(t)
            if name is None:
                raise Unsupported(f"type() of {describe(t)}, whose kind in zen depends on where it is read")
            return f'(if {text} = null then "null" else "{name}")', STRING
        if fn == "split" and len(args) == 2:
            if args[1][0] != "str" or not args[1][1]:
                raise Unsupported("split() by a separator that is not a non-empty literal")  # zen splits '' between characters
            text, t = self.expr(args[0])
            if t != STRING:
                raise Unsupported("split() of a value that is not a string")
            return f"split({text}, {json.dumps(args[1][1])})", ListOf(STRING)
        if fn == "len" and len(args) == 1:
            text, t = self.expr(args[0])
            return (f"count({text})" if isinstance(t, ListOf) else f"length({text})"), NUMBER
        if fn == "contains" and len(args) == 2:
            text, t = self.expr(args[0])
            needle, _ = self.expr(args[1])
            if isinstance(t, ListOf):
                var = self.fresh()
                return f"any({text} as {var}, {var} = {needle})", BOOLEAN
            return f"contains({text}, {needle})", BOOLEAN
        if fn == "number" and len(args) == 1:
            text, t = self.expr(args[0])
            if t == STRING:
                return f"number({text})", NUMBER
            if t != NUMBER:
                raise Unsupported("number() of a value that is neither a number nor a string")
            return text, NUMBER
        simple = {"startsWith": "starts_with", "endsWith": "ends_with", "lower": "lower", "upper": "upper",
                  "trim": "trim", "abs": "abs", "floor": "floor", "ceil": "ceiling"}
        if fn in simple:
            rendered = [self.expr(a) for a in args]
            kind = BOOLEAN if fn in ("startsWith", "endsWith") else rendered[0][1]
            return f"{simple[fn]}({', '.join(r for r, _ in rendered)})", kind
        if fn == "round" and len(args) in (1, 2):
            text, _ = self.expr(args[0])
            places = "0"
            if len(args) == 2:
                if args[1][0] != "num":
                    raise Unsupported("round() to a number of places that is not a literal")
                places = str(args[1][1])
            return f'round({text}, {places}, "half_up")', NUMBER
        if fn == "date" and len(args) == 1:
            if args[0][0] == "str" and ISO_DATE.match(args[0][1]):
                return f'date("{args[0][1]}")', DATE
            path = path_of(args[0])
            if path is not None and self.graph.is_date(path):
                return self.expr(args[0])
            if _is_now(args[0]):
                return f"timestamp({self.graph.clock()})", NUMBER  # the caller gives the moment: see JdmPack.clock
            text, t = self.expr(args[0])
            if t != STRING:
                raise Unsupported("date() of a value that is not text")
            return f"timestamp({text})", NUMBER  # zen's date() of a date-time: seconds since 1970
        raise Unsupported(f"the function {fn}()")

    def predicate(self, test: Node) -> str:
        """``>= 13 and < 15``: comparisons of the column value that must all hold."""
        if test[0] == "both":
            return f"{self.predicate(test[1])} and {self.predicate(test[2])}"
        value, t = self.expr(test[2])
        constant = self.column_mismatch(test[1], value, t)
        if constant is not None:
            return constant
        op = "=" if test[1] == "==" else test[1]
        return f"? {op} {value}"

    def column_mismatch(self, op: str, value: str, t: Any) -> str | None:
        """``op value`` against the cell's column where their kinds differ: the constant zen's answer is, else None."""
        if self.column is None or not _kinds_differ(self.column[1], t):
            return None
        return self.mismatch(op, "?", self.column[1], value, t)[0]

    def cell(self, text: str) -> tuple[str, bool]:
        """A table cell: comma-separated tests of the column value, any of which may match.

        Returns the unary test, or a condition over the whole input (``True`` second) where
        zen reads the cell as one: a comparison or logical expression that does not use ``$``
        is true or false by itself, while any other value is compared with the column.
        """
        assert self.column is not None
        tests: list[tuple[str, str]] = []  # (kind, text): kind is "test", "predicate" or "condition"
        for test in parse_zen_unary(text):
            if test[0] == "compare":
                value, t = self.expr(test[2])
                constant = self.column_mismatch(test[1], value, t)
                if constant is not None:
                    tests.append(("condition", constant))
                else:
                    tests.append(("test", f"{'=' if test[1] == '==' else test[1]} {value}"))
            elif test[0] == "both":
                text = self.predicate(test)  # constant parts where the types differ
                tests.append(("predicate", text) if "?" in text else ("condition", text))
            elif test[0] == "interval":
                tests.append(("test", self.interval(test)))
            elif _logical(test) and any(not _stands_alone(leaf) for leaf in _operands(test)):
                tests.append(("predicate", self.unary_logic(test)))
            elif _uses(test, "dollar"):
                tests.append(("predicate", self.expr(test)[0]))
            elif test[0] == "bin" and test[1] in CONDITIONS:
                tests.append(("condition", self.expr(test)[0]))
            else:
                tests.append(("test", self.expr(test)[0]))
        kinds = {kind for kind, _ in tests}
        if kinds == {"condition"}:
            return " or ".join(text for _, text in tests), True
        if "condition" not in kinds:
            return ", ".join(text for _, text in tests), False
        # a condition among tests of the column: every part becomes a condition over '?'
        return " or ".join(f"({self.as_predicate(kind, text)})" for kind, text in tests), False

    def unary_logic(self, node: Node) -> str:
        """``'Conditional' or 'Approved'``: zen reads each operand of and/or as a test of the column.

        A value is compared with the column (``$ == 'Conditional' or $ == 'Approved'``); a
        comparison, or an expression over ``$``, stands as it is.
        """
        if _logical(node):
            return f"({self.unary_logic(node[2])} {node[1]} {self.unary_logic(node[3])})"
        if node[0] == "interval":
            return f"? in {self.interval(node)}"
        text = self.expr(node)[0]
        return text if _stands_alone(node) else f"? = {text}"

    @staticmethod
    def as_predicate(kind: str, text: str) -> str:
        if kind in ("predicate", "condition"):
            return text if kind == "predicate" or "?" in text else f"? = ? and {text}"
        if text.startswith(("[", "(")) and ".." in text:
            return f"? in {text}"
        if text.startswith(("<", ">", "=", "!=")):
            return f"? {text}"
        return f"? = {text}"


def _kinds_differ(a: Any, b: Any) -> bool:
    """Whether values of these types are surely of different kinds in zen (never equal, not ordered)."""
    return None not in (kind_of(a), kind_of(b)) and kind_of(a) != kind_of(b)


def _logical(node: Node) -> bool:
    return node[0] == "bin" and node[1] in ("and", "or")


def _operands(node: Node) -> list[Node]:
    """The operands of a chain of and/or, at any depth."""
    return [*_operands(node[2]), *_operands(node[3])] if _logical(node) else [node]


def _stands_alone(node: Node) -> bool:
    """Whether zen reads this operand of a cell's and/or as true or false by itself, not as a value for ``$``."""
    return (node[0] == "bin" and node[1] in CONDITIONS) or node[0] == "not" or _uses(node, "dollar")


def walk(node: Any) -> list[Node]:
    if isinstance(node, tuple) and node:
        return [node, *(n for part in node[1:] for n in walk(part))]
    if isinstance(node, list):
        return [n for part in node for n in walk(part)]
    return []
