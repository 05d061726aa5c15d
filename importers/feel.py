"""Translating FEEL literal expressions into the expression language, keeping FEEL's meaning or refusing.

A syntax-directed translation: each FEEL construct is parsed and typed at once and written
as the expression language's text with the same meaning, nulls included. FEEL answers null
where the types do not fit; the types here are known at import time, so such an expression
is refused (``FeelRefused``) rather than compiled. What the language cannot say with FEEL's
meaning (a range test on null, a sum with a null element, an empty sum) is written with a
guard (``if ... then null else ...``); what it cannot say at all is refused, naming the
construct: durations, date and time, contexts, functions with no counterpart.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from importers import feel_fold
from rules import regex
from rules.emit import identifier

NUMBER, STRING, BOOLEAN, DATE, NULL = "number", "string", "boolean", "date", "null"
# kinds the language has no values of: known from a literal, so an operation FEEL does not define on them is null
TIME, DATE_TIME, DT_DURATION, YM_DURATION = "time", "date and time", "days and time duration", "years and months duration"
RANGE, FUNCTION = "range", "function"
MIXED = "mixed kinds"  # the element kind of a list literal of values of several kinds: known only to be folded
EMPTY_CONTEXT, MIXED_LIST = "empty context", "list of mixed kinds"
PACK_TYPES = {TIME: "time", DATE_TIME: "date_time", DT_DURATION: "days_time_duration",
              YM_DURATION: "years_months_duration"}  # the pack types of FEEL's temporal kinds (rules.temporal)
TEMPORAL = (DATE, TIME, DATE_TIME, DT_DURATION, YM_DURATION)
OPAQUE = "\x00"  # marks the text of a value with no counterpart: a translation holding it is refused
Kind = Any  # a scalar kind above, ("list", Kind) or ("record", ((name, Kind), ...))

TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<at>@"(?:[^"\\]|\\.)*")
  | (?P<op>\.\.|<=|>=|!=|\*\*|[-+*/=<>()\[\],.:{}])
  | (?P<name>[^\W\d][\w?']*)
""", re.VERBOSE | re.DOTALL)
NUMBER_LITERAL = re.compile(r"\d+(\.\d+)?|\(0 - \d+(\.\d+)?\)")
FEEL_DECIMAL = Context(prec=34)  # FEEL's numbers: IEEE 754-2008 decimal128
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
KEYWORDS = {"if", "then", "else", "and", "or", "for", "in", "return", "some", "every", "satisfies", "between",
            "true", "false", "null", "not", "instance", "of", "function"}
# FEEL functions whose meaning the language's function has for every argument, nulls included
SAME = {"abs": ("abs", NUMBER, NUMBER), "floor": ("floor", NUMBER, NUMBER), "ceiling": ("ceiling", NUMBER, NUMBER),
        "upper case": ("upper", STRING, STRING), "lower case": ("lower", STRING, STRING),
        "string length": ("length", STRING, NUMBER)}
STRING_TESTS = {"contains": "contains", "starts with": "starts_with", "ends with": "ends_with"}
ROUNDINGS = {"decimal": "half_even", "round half up": "half_up", "round half down": "half_down",
             "round up": "up", "round down": "down"}
MULTIWORD = sorted({*SAME, *STRING_TESTS, *ROUNDINGS, "list contains", "list replace", "date and time", "years and months duration",
                    "days and time duration",
                    "string join", "substring before", "substring after", "distinct values", "index of",
                    "insert before", "get value", "get entries", "context put", "context merge", "day of year",
                    "day of week", "month of year", "week of year", "is defined", "time offset"}, key=len, reverse=True)


SCALARS = (NUMBER, STRING, BOOLEAN, DATE)
_TIME = r"\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?"  # a zone by name (@Europe/Paris) is not read
TEMPORAL_LITERALS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), DATE),
    (re.compile(_TIME), TIME),
    (re.compile(r"-?\d{4,9}-\d{2}-\d{2}T" + _TIME), DATE_TIME),
    (re.compile(r"-?\d{4,9}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?@[A-Za-z][\w/+-]*"), DATE_TIME),  # in a named zone
    (re.compile(r"-?P(?=\d)(\d+Y)?(\d+M)?"), YM_DURATION),
    (re.compile(r"-?P(?=[\dT])(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"), DT_DURATION),
)


class FeelRefused(Exception):
    """A FEEL expression, or a part of it, with no translation of the same meaning."""


NOT_CONSTANT = object()


@dataclass(frozen=True)
class Tr:
    text: str  # in the expression language
    kind: Kind
    const: Any = NOT_CONSTANT  # its value, where it is a literal (or made of literals): functions of it are folded


NULL_VALUE = Tr("null", NULL, None)


@dataclass(frozen=True)
class RangeValue:
    """A range made by range() of a literal text: its bounds, each included ('[', ']') or not ('(', ')')."""

    opening: str
    low: Tr
    high: Tr
    closing: str


@dataclass(frozen=True)
class Function:
    """A business knowledge model whose body is a FEEL literal expression or a boxed context: inlined where it is called."""

    name: str
    params: tuple[tuple[str, Kind | None], ...]  # name and declared kind (None: the argument's)
    # FEEL, a boxed expression's translation, or a decision table (an XML element, inlined only by an invocation)
    body: str | Callable[[dict[str, tuple[str, Kind]], dict[str, Function]], Tr] | Any
    result: Kind | None = None  # the declared kind of its value


MAX_INLINING = 8


def describe(kind: Kind) -> str:
    if isinstance(kind, tuple):
        return f"list of {describe(kind[1])}" if kind[0] == "list" else "context"
    return str(kind)


class Translator:
    """One FEEL expression over named, typed values (inputs and required decisions)."""

    def __init__(self, text: str, scope: dict[str, tuple[str, Kind]], functions: dict[str, Function] | None = None,
                 nesting: int = 0) -> None:
        self.scope = dict(scope)  # FEEL name -> (identifier, kind)
        self.functions = functions or {}  # business knowledge models it may call, by name
        self.nesting = nesting  # of inlined calls
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0  # of filters: each names its element apart
        self.bounding = False  # reading a range's upper bound: a '[' after it closes the range

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        names = sorted((n for n in [*self.scope, *self.functions] if " " in n), key=len, reverse=True) + MULTIWORD
        out: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            word = next((n for n in names if text.startswith(n, pos) and not _word_char(text, pos + len(n))), None)
            if word is not None and (pos == 0 or not _word_char(text, pos - 1)):
                out.append(("name", word))
                pos += len(word)
                continue
            match = TOKEN.match(text, pos)
            if match is None:
                raise FeelRefused(f"cannot read {text[pos:pos + 20]!r}")
            pos = match.end()
            if match.lastgroup != "ws":
                out.append((match.lastgroup or "", match.group()))
        return out

    # Reading tokens.

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        return self.tokens[self.pos + ahead] if self.pos + ahead < len(self.tokens) else ("end", "")

    def at(self, text: str) -> bool:
        kind, value = self.peek()
        return value == text and kind in ("op", "name")

    def take(self, text: str) -> None:
        if not self.at(text):
            raise FeelRefused(f"expected {text!r}, found {self.peek()[1] or 'the end'!r}")
        self.pos += 1

    def translate(self) -> Tr:
        result = self.expression()
        if self.peek()[0] != "end":
            raise FeelRefused(f"cannot read {self.peek()[1]!r} here")
        if OPAQUE in result.text:
            raise FeelRefused(f"its value holds a {_opaque_in(result.text)}, which is not converted")
        return result

    # Expressions, lowest precedence first.

    def expression(self) -> Tr:
        if self.at("if"):
            return self.conditional()
        if self.at("for"):
            return self.loop()
        if self.at("some") or self.at("every"):
            return self.quantified()
        return self.disjunction()

    def conditional(self) -> Tr:
        self.take("if")
        condition = self.expression()
        self.take("then")
        yes = self.expression()
        self.take("else")
        no = self.expression()
        if _is_list(condition):
            raise FeelRefused("an if's condition that is a list is not converted (FEEL might take a singleton's element)")
        if condition.kind not in (BOOLEAN, NULL):
            return NULL_VALUE  # FEEL: a condition that is not a boolean gives null (the TCK's 1150 decision003)
        return Tr(f"(if {condition.text} then {yes.text} else {no.text})", _join(yes.kind, no.kind))

    def _binding(self) -> tuple[str, Tr]:
        kind, name = self.peek()
        if kind != "name" or name in KEYWORDS:
            raise FeelRefused("an iteration names its variable")
        self.pos += 1
        self.take("in")
        source = self.disjunction()
        if self.at(".."):
            self.pos += 1
            source = _integers(source, self.disjunction())
        if not (isinstance(source.kind, tuple) and source.kind[0] == "list"):
            raise FeelRefused(f"iterating over a {describe(source.kind)} (ranges, several lists) is not converted")
        return name, source

    def _bound(self, name: str, source: Tr, body_word: str) -> tuple[str, Tr]:
        ident = "v_" + identifier(name)
        saved = self.scope.get(name)
        self.scope[name] = (ident, source.kind[1])
        self.take(body_word)
        body = self.expression()
        if saved is None:
            del self.scope[name]
        else:
            self.scope[name] = saved
        return ident, body

    def loop(self, first: bool = True) -> Tr:
        """``for i in a, j in b return e``: e for each i and, within it, each j (a flat list, in that order)."""
        if first:
            self.take("for")
        name, source = self._binding()
        if not self.at(","):
            ident, body = self._bound(name, source, "return")
            if source.kind[1] == NULL:  # over []: the language refuses a map whose element is always null
                return Tr("[]", ("list", NULL))
            if body.kind == NULL:
                raise FeelRefused("a list of nulls is not converted")
            return Tr(f"map({source.text} as {ident}, {body.text})", ("list", body.kind))
        self.pos += 1
        ident = "v_" + identifier(name)
        saved = dict(self.scope)
        self.scope[name] = (ident, source.kind[1])
        inner = self.loop(first=False)
        self.scope = saved
        if source.kind[1] == NULL or inner.kind[1] == NULL or _composite(inner.kind[1]):
            raise FeelRefused("a for over several lists that gives lists, nulls or nothing is not converted")
        return Tr(f"flatten(map({source.text} as {ident}, {inner.text}))", inner.kind)


    def quantified(self) -> Tr:
        word = self.peek()[1]
        self.pos += 1
        name, source = self._binding()
        ident, body = self._bound(name, source, "satisfies")
        _want(body, BOOLEAN, f"{word}'s condition")
        if source.kind[1] == NULL:  # over []: some is false, every is true
            return Tr("false" if word == "some" else "true", BOOLEAN)
        # FEEL: some is true when one element satisfies it, false when none does; nulls are not true
        function = "any" if word == "some" else "all"
        if word == "every":
            # every is false when one element is false, null when none is false and one is null
            return Tr(f"(if any({source.text} as {ident}, {body.text} = false) then false else "
                      f"(if any({source.text} as {ident}, {body.text} = null) then null else true))", BOOLEAN)
        return Tr(f"(if {function}({source.text} as {ident}, {body.text}) then true else "
                  f"(if any({source.text} as {ident}, {body.text} = null) then null else false))", BOOLEAN)

    def disjunction(self) -> Tr:
        return self._connective("or", self.conjunction)

    def conjunction(self) -> Tr:
        return self._connective("and", self.comparison)

    def _connective(self, word: str, operand: Callable[[], Tr]) -> Tr:
        left = operand()
        while self.at(word):
            self.pos += 1
            right = operand()
            left, right = _as_boolean(left, word), _as_boolean(right, word)
            left = Tr(f"({left.text} {word} {right.text})", BOOLEAN)
        return left

    def comparison(self) -> Tr:
        left = self.additive()
        kind, op = self.peek()
        if kind == "op" and op in ("=", "!=", "<", "<=", ">", ">="):
            self.pos += 1
            right = self.additive()
            if op in ("=", "!=") and _composite_constants(left, right):
                try:
                    same = feel_fold.equal(left.const, right.const)
                except feel_fold.Unsure as exc:
                    raise FeelRefused(f"{op}: {exc} is not converted") from None
                return _literal(None if same is None else same == (op == "="))
            return NULL_VALUE if _undefined(left.kind, op, right.kind) else _compare(left, op, right)
        if self.at("between"):
            self.pos += 1
            low = self.additive()
            self.take("and")
            high = self.additive()
            return Tr(f"({_compare(low, '<=', left).text} and {_compare(left, '<=', high).text})", BOOLEAN)
        if self.at("in"):
            self.pos += 1
            return self.membership(left)
        if self.at("instance"):
            self.pos += 1
            self.take("of")
            return _instance_of(left, self.type_name())
        return left

    def type_name(self) -> str:
        """A FEEL type as written after ``instance of``: a name, ``list<...>``, ``context<...>``, ``function<...> -> T``."""
        kind, name = self.peek()
        if kind != "name":
            raise FeelRefused("instance of names a type")
        self.pos += 1
        depth = 0
        while self.at("<") or (depth and self.peek()[0] != "end"):
            depth += {"<": 1, ">": -1}.get(self.peek()[1], 0)
            name += self.peek()[1]
            self.pos += 1
            if not depth:
                break
        if self.at("-") and self.peek(1) == ("op", ">"):
            self.pos += 2
            name += "->" + self.type_name()
        return name

    def membership(self, value: Tr) -> Tr:
        if self.at("("):  # positive unary tests: any of them
            self.pos += 1
            tests = [self.unary_test(value)]
            while self.at(","):
                self.pos += 1
                tests.append(self.unary_test(value))
            self.take(")")
            return Tr("(" + " or ".join(t.text for t in tests) + ")", BOOLEAN)
        return self.unary_test(value)

    def unary_test(self, value: Tr) -> Tr:
        kind, op = self.peek()
        if kind == "op" and op in ("<", "<=", ">", ">="):
            self.pos += 1
            return _compare(value, op, self.additive())
        if self.at("[") or self.at("(") or self.at("]"):
            start = self.pos
            interval = self.interval(value)
            if interval is not None:
                return interval
            self.pos = start
        other = self.additive()
        if isinstance(other.const, RangeValue):  # x in range("[1..3]")
            bounds = other.const
            low_test = _compare(value, ">=" if bounds.opening == "[" else ">", bounds.low)
            high_test = _compare(value, "<=" if bounds.closing == "]" else "<", bounds.high)
            return Tr(f"({low_test.text} and {high_test.text})", BOOLEAN)
        if isinstance(other.kind, tuple) and other.kind[0] == "list":
            _comparable(value, Tr("", other.kind[1]), "=")
            return Tr(f"any({other.text} as v_in, v_in = {_plain(value).text})", BOOLEAN)
        return _compare(value, "=", other)

    def interval(self, value: Tr) -> Tr | None:
        """``[a..b]``, ``(a..b)``, ``]a..b[`` and the like as two comparisons, null when the value is null."""
        opening = self.peek()[1]
        self.pos += 1
        low = self.additive()
        if not self.at(".."):
            return None
        self.pos += 1
        high = self.upper_bound()
        closing = self.peek()[1]
        if closing not in ("]", ")", "["):
            raise FeelRefused("an interval ends with ], ) or [")
        self.pos += 1
        low_test = _compare(value, ">=" if opening == "[" else ">", low)
        high_test = _compare(value, "<=" if closing == "]" else "<", high)
        return Tr(f"({low_test.text} and {high_test.text})", BOOLEAN)

    def additive(self) -> Tr:
        left = self.multiplicative()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.peek()[1]
            self.pos += 1
            right = self.multiplicative()
            if op == "+" and left.kind == STRING and right.kind == STRING:
                left = Tr(f"concat({left.text}, {right.text})", STRING)
            else:
                left = _arithmetic(left, op, right)
        return left

    def multiplicative(self) -> Tr:
        left = self.power()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.peek()[1]
            self.pos += 1
            left = _arithmetic(left, op, self.power())
        return left

    def power(self) -> Tr:
        base = self.unary()
        while self.at("**"):
            self.pos += 1
            base = _power(base, self.unary())
        return base

    def unary(self) -> Tr:
        if self.at("-"):
            self.pos += 1
            operand = self.unary()
            if operand.kind in (STRING, BOOLEAN, DATE, TIME, DATE_TIME) or _composite(operand.kind):
                return NULL_VALUE  # FEEL negates numbers and durations only
            from importers import feel_temporal

            negative = feel_temporal.negated(operand)
            if negative is not None:
                return negative
            if operand.kind not in (NUMBER, NULL):
                raise FeelRefused(f"negating a {describe(operand.kind)}")
            return Tr(f"(0 - {operand.text})", NUMBER, -operand.const if isinstance(operand.const, Decimal) else NOT_CONSTANT)
        return self.postfix(self.primary())

    def postfix(self, value: Tr) -> Tr:
        while True:
            if self.at("."):
                self.pos += 1
                value = self.path(value)
            elif self.at("[") and not self.bounding:
                value = self.filter(value)
            elif self.at("("):
                raise FeelRefused("calling a value is not converted")
            else:
                return value

    def path(self, value: Tr) -> Tr:
        kind, name = self.peek()
        if kind != "name":
            raise FeelRefused("a path names a field")
        self.pos += 1
        if value.kind == NULL:
            return NULL_VALUE  # FEEL: a path on null is null
        if value.kind == DATE and name in ("year", "month", "day"):
            return Tr(f"{name}({value.text})", NUMBER)
        if name in (props := feel_fold.properties(value.const)):
            return _literal(props[name])
        from importers import feel_temporal

        found = feel_temporal.path(value, name)
        if found is not None:
            return found
        if isinstance(value.kind, tuple) and value.kind[0] == "record":
            fields = dict(value.kind[1])
            if identifier(name) in fields:
                return Tr(f"{value.text}.{identifier(name)}", fields[identifier(name)])
            return NULL_VALUE  # FEEL: a context's missing entry is null
        if _composite(value.kind) and value.kind[0] == "list" and _composite(value.kind[1]) and value.kind[1][0] == "record":
            fields = dict(value.kind[1][1])
            if identifier(name) in fields:  # a path on a list of contexts: the entry of each
                return Tr(f"map({value.text} as v_path, v_path.{identifier(name)})", ("list", fields[identifier(name)]))
        raise FeelRefused(f"the path .{name} on a {describe(value.kind)} is not converted")

    def filter(self, value: Tr) -> Tr:
        """``list[condition]`` or ``list[index]``; in the condition ``item`` is the element, and a context element's
        entries are names too (they shadow ``item``, as in FEEL)."""
        self.take("[")
        if value.kind in SCALARS:  # FEEL: a value that is not a list is filtered as the list of it
            value = Tr(f"[{value.text}]", ("list", value.kind))
        if not (isinstance(value.kind, tuple) and value.kind[0] == "list"):
            raise FeelRefused(f"a filter on a {describe(value.kind)} is not converted")
        var = f"v_item{self.depth or ''}"
        saved = dict(self.scope)
        self.scope["item"] = (var, value.kind[1])
        if _composite(value.kind[1]) and value.kind[1][0] == "record":
            self.scope.update((field, (f"{var}.{field}", kind)) for field, kind in value.kind[1][1])
        self.depth += 1
        condition = self.expression()
        self.depth -= 1
        self.take("]")
        self.scope = saved
        if condition.kind == NUMBER and re.fullmatch(r"\(0 - \d+\)|\d+", condition.text):
            return Tr(f"element_at({value.text}, {condition.text})", value.kind[1])
        _want(condition, BOOLEAN, "a filter")
        return Tr(f"filter({value.text} as {var}, {condition.text})", value.kind)

    def primary(self) -> Tr:
        kind, text = self.peek()
        self.pos += 1
        if kind == "number":
            return Tr(str(Decimal(text)), NUMBER, Decimal(text))
        if kind == "string":
            return Tr(_string(text), STRING, _unquote(_string(text)))
        if kind == "at":  # @"2021-01-01" is a date; a time, date and time or duration has only its kind
            return _temporal(text[2:-1], text)
        if text in ("true", "false"):
            return Tr(text, BOOLEAN, text == "true")
        if text == "null":
            return NULL_VALUE
        if text == "(":
            inner = self.expression()
            if self.at(".."):
                return self.range_rest("(")
            self.take(")")
            return inner
        if text == "]":
            self.expression()
            return self.range_rest("]")
        if text == "function" and self.at("("):
            return self.function_literal()
        if text == "[":
            return self.list_literal()
        if text == "{":
            return self.context_literal()
        if kind == "name" and self.at("("):
            return self.call(text)
        if kind == "name" and text in self.scope:
            ident, value_kind = self.scope[text]
            return Tr(ident, value_kind)
        raise FeelRefused(f"{text!r} is not converted" if text else "the expression ends too soon")

    def list_literal(self) -> Tr:
        items: list[Tr] = []
        while not self.at("]"):
            if items:
                self.take(",")
            items.append(self.expression())
            if len(items) == 1 and self.at(".."):
                return self.range_rest("[")
        self.take("]")
        kinds = {i.kind for i in items if i.kind != NULL}
        if not items:
            return Tr("[]", ("list", NULL), ())
        const = tuple(i.const for i in items) if all(i.const is not NOT_CONSTANT for i in items) else NOT_CONSTANT
        if len(kinds) > 1 and const is not NOT_CONSTANT:  # of literals: its value kept, only to be folded
            return Tr(f"{OPAQUE}{MIXED_LIST}{OPAQUE}", ("list", MIXED), const)
        if len(kinds) != 1:
            raise FeelRefused("a list of nulls or of mixed kinds is not converted")
        return Tr("[" + ", ".join(i.text for i in items) + "]", ("list", kinds.pop()), const)

    def upper_bound(self) -> Tr:
        self.bounding = True
        try:
            return self.additive()
        finally:
            self.bounding = False

    def range_value(self) -> Tr:
        """A whole text that is a range of two literals, ``[1..3]`` or ``(@"P1D"..@"P2D"]``: its bounds kept."""
        opening = self.peek()[1]
        if opening not in ("[", "(", "]"):
            raise FeelRefused("range() of a text that is not an interval of two literals is not converted")
        self.pos += 1
        low = self.additive()
        self.take("..")
        high = self.upper_bound()
        closing = self.peek()[1]
        self.pos += 1
        if closing not in ("]", ")", "[") or self.peek()[0] != "end" or NOT_CONSTANT in (low.const, high.const):
            raise FeelRefused("range() of a text that is not an interval of two literals is not converted")
        if {low.kind, high.kind} - {NULL} and len({low.kind, high.kind} - {NULL}) != 1:
            raise FeelRefused("a range whose ends are of two kinds is not converted")
        return Tr(f"{OPAQUE}range{OPAQUE}", RANGE, RangeValue("[" if opening == "[" else "(", low, high,
                                                             "]" if closing == "]" else ")"))

    def range_rest(self, opening: str) -> Tr:
        """The rest of a range written as a value (``[1..10]``, ``(a..b]``): known by its kind only."""
        start = self.pos
        self.take("..")
        self.upper_bound()
        closing = self.peek()[1]
        if closing not in ("]", ")", "["):
            raise FeelRefused("a range ends with ], ) or [")
        self.pos += 1
        return Tr(f"{OPAQUE}{opening}..{closing} at token {start}{OPAQUE}", RANGE)

    def function_literal(self) -> Tr:
        """``function(a, b) body``: a value known by its kind only (its parameters' kinds are unknown)."""
        self.take("(")
        saved = dict(self.scope)
        while not self.at(")"):
            if self.scope.keys() - saved.keys():
                self.take(",")
            kind, name = self.peek()
            if kind != "name":
                raise FeelRefused("a function's parameters are names")
            self.pos += 1
            self.scope[name] = (f"{OPAQUE}{name}{OPAQUE}", NULL)
        self.take(")")
        self.expression()
        self.scope = saved
        return Tr(f"{OPAQUE}function{OPAQUE}", FUNCTION)

    def context_literal(self) -> Tr:
        """``{a: 1, b: a + 1}``: a record; an entry reads the entries before it (their expressions, inlined)."""
        entries: dict[str, Tr] = {}
        keys: dict[str, str] = {}  # as written
        saved = dict(self.scope)
        while not self.at("}"):
            if entries:
                self.take(",")
            key = self.context_key()
            if identifier(key) in entries:
                raise FeelRefused(f"the context key {key!r} is written twice (FEEL answers null)")
            self.take(":")
            value = self.expression()
            entries[identifier(key)] = value
            keys[identifier(key)] = key
            self.scope[key] = (f"({value.text})", value.kind)
        self.take("}")
        self.scope = saved
        if all(v.const is not NOT_CONSTANT for v in entries.values()) and all(k == keys[k] for k in entries):
            # of literals: its value is kept, for the context functions to fold
            return _literal({keys[k]: v.const for k, v in entries.items()})
        if not entries:
            raise FeelRefused("an empty context is not converted")
        text = "{" + ", ".join(f"{k}: {v.text}" for k, v in entries.items()) + "}"
        return Tr(text, ("record", tuple((k, v.kind) for k, v in entries.items())))

    def context_key(self) -> str:
        kind, text = self.peek()
        if kind == "string":
            self.pos += 1
            return _string(text)[1:-1]
        words = []
        while self.peek()[0] == "name":
            words.append(self.peek()[1])
            self.pos += 1
        if not words or self.peek() != ("op", ":"):
            raise FeelRefused("a context key is a name or a string")
        return " ".join(words)

    def arguments(self) -> tuple[list[Tr], dict[str, Tr]]:
        """A call's arguments: positional ones, or named ones (``f(a: 1, start position: 2)``)."""
        self.take("(")
        args: list[Tr] = []
        named: dict[str, Tr] = {}
        while not self.at(")"):
            if args or named:
                self.take(",")
            words = 0
            while self.peek(words)[0] == "name":
                words += 1
            if words and self.peek(words) == ("op", ":"):
                name = " ".join(self.peek(k)[1] for k in range(words))
                self.pos += words + 1
                named[name] = self.expression()
            else:
                args.append(self.expression())
        self.take(")")
        if args and named:
            raise FeelRefused("a call with positional and named arguments is not converted")
        return args, named

    def call(self, name: str) -> Tr:
        start = self.pos
        args, named = self.arguments()
        if name == "sort" and len(args) == 2 and args[1].kind == FUNCTION:
            return _sort(args[0], self.tokens[start:self.pos])
        if name in self.functions:
            return self.inline(self.functions[name], args, named)
        if _misused(name, args, named):
            return NULL_VALUE
        if "keys" in named and name == "context put":
            named["key"] = named.pop("keys")
        args = _positional(name, named) if named else args
        folded = fold(name, args)
        return folded if folded is not None else call(name, args)

    def inline(self, function: Function, args: list[Tr], named: dict[str, Tr]) -> Tr:
        """A business knowledge model's body where it is called, its parameters bound to the arguments."""
        if self.nesting >= MAX_INLINING:
            raise FeelRefused(f"{function.name}() calls nest more than {MAX_INLINING} deep (recursion is not converted)")
        names = [p for p, _ in function.params]
        if set(named) - set(names) or (not named and len(args) != len(names)):
            return NULL_VALUE  # FEEL: an invocation with other arguments than the parameters is an error
        bound = dict(zip(names, args, strict=True)) if args else named
        scope = {}
        for param, declared in function.params:
            value = bound.get(param, NULL_VALUE)  # FEEL: a parameter given no argument is null
            if declared is not None and value.kind not in (declared, NULL):
                raise FeelRefused(f"{function.name}() takes {param} as a {describe(declared)}, not a {describe(value.kind)}")
            scope[param] = (f"({value.text})", declared if declared is not None and value.kind != NULL else value.kind)
        if callable(function.body):
            result = function.body(scope, self.functions)
        elif not isinstance(function.body, str):
            raise FeelRefused(f"{function.name}() is a decision table: it is inlined only by an invocation that passes "
                              "each parameter the value of the same name")
        else:
            inner = Translator(function.body, scope, self.functions, self.nesting + 1)
            result = inner.expression()
            if inner.peek()[0] != "end":
                raise FeelRefused(f"cannot read {inner.peek()[1]!r} in the body of {function.name}()")
        if function.result is not None and result.kind not in (function.result, NULL):
            raise FeelRefused(f"{function.name}() is a {describe(result.kind)}, declared a {describe(function.result)}")
        return result


# FEEL's parameter names (DMN 1.5, 10.3.4), for calls with named arguments
PARAMETERS = {
    **dict.fromkeys(("decimal", "floor", "ceiling", "round up", "round down", "round half up", "round half down"),
                    ("n", "scale")),
    **dict.fromkeys(("string length", "upper case", "lower case"), ("string",)),
    **dict.fromkeys(("contains", "starts with", "ends with"), ("string", "match")),
    **dict.fromkeys(("count", "sum", "min", "max", "mean", "all", "any"), ("list",)),
    **dict.fromkeys(("odd", "even"), ("number",)),
    **dict.fromkeys(("product", "median", "mode", "stddev"), ("list",)), "exp": ("number",), "log": ("number",),
    **dict.fromkeys(("day of year", "day of week", "month of year", "week of year"), ("date",)),
    **dict.fromkeys(("substring before", "substring after"), ("string", "match")),
    "abs": ("n",), "modulo": ("dividend", "divisor"), "list contains": ("list", "element"), "not": ("negand",),
    "sqrt": ("number",), "substring": ("string", "start position", "length"), "string join": ("list", "delimiter"),
    "matches": ("input", "pattern", "flags"), "replace": ("input", "pattern", "replacement", "flags"),
    "split": ("string", "delimiter"), "list replace": ("list", "position", "newItem"),
    "time": ("hour", "minute", "second", "offset"), "date and time": ("date", "time"),
    "years and months duration": ("from", "to"), "duration": ("from",),
    "is": ("value1", "value2"), "number": ("from", "grouping separator", "decimal separator"), "get value": ("m", "key"), "context put": ("context", "key", "value"),
    "get entries": ("m",), "context merge": ("contexts",), "context": ("entries",),
}


def _positional(name: str, named: dict[str, Tr]) -> list[Tr]:
    if set(named) == {"from"} and name in ("time", "date and time"):  # their one-argument form
        return [named["from"]]
    params = PARAMETERS.get(name, ())
    if not params or set(named) - set(params):
        raise FeelRefused(f"named arguments {', '.join(named)} to {name}() are not converted")
    given = [named.get(p) for p in params]
    while given and given[-1] is None:
        given.pop()
    if any(arg is None for arg in given):
        raise FeelRefused(f"a call of {name}() that leaves out a parameter before another is not converted")
    return [arg for arg in given if arg is not None]


def _misfit(args: list[Tr], kinds: tuple[Kind, ...]) -> bool:
    """Whether an argument is of a kind its parameter cannot take whatever its value, so that FEEL answers null (a list
    is not: FEEL would take a singleton list's element; a date is not, where a date and time is taken)."""
    for arg, kind in zip(args, kinds, strict=False):
        if arg.kind in (NULL, kind) or (_composite(arg.kind) and arg.kind[0] == "list") or (arg.kind, kind) == (DATE, DATE_TIME):
            continue
        if arg.kind in (DT_DURATION, YM_DURATION):  # abs() and others take durations too: not certain here
            raise FeelRefused(f"a {describe(arg.kind)} as an argument is not converted")
        return True
    return False


def fold(name: str, args: list[Tr]) -> Tr | None:
    """A call of a function ``importers.feel_fold`` computes, of literals only: its value as a literal."""
    if name not in feel_fold.FOLDS or any(a.const is NOT_CONSTANT for a in args):
        return None
    if name == "string" and any(isinstance(a.const, feel_fold.Temporal) for a in args):
        return None  # the language writes a time, date and time or duration as FEEL does: text()
    try:
        return _literal(feel_fold.FOLDS[name](*(a.const for a in args)))
    except TypeError:
        raise FeelRefused(f"the function {name}() with {len(args)} argument(s) is not converted") from None
    except feel_fold.Unsure as exc:
        raise FeelRefused(f"{name}(): {exc} is not converted") from None


def _literal(value: Any) -> Tr:
    """A Python value (Decimal, str, bool, date, tuple, None) as the language's literal."""
    if value is None:
        return NULL_VALUE
    if isinstance(value, bool):
        return Tr("true" if value else "false", BOOLEAN, value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        if len(text) > 40:
            raise FeelRefused(f"the number {value} has more digits than a literal holds")
        return Tr(f"(0 - {text[1:]})" if text.startswith("-") else text, NUMBER, value)
    if isinstance(value, str):
        return Tr(quote(value), STRING, value)
    if isinstance(value, dt.date):
        return _date_value(lambda: value)
    if isinstance(value, feel_fold.Temporal):
        raise FeelRefused(f"its value is a {value.kind}, which is not converted")
    if isinstance(value, dict):
        return _context_value(value)
    items = [_literal(v) for v in value]
    if not items or len({i.kind for i in items}) != 1:
        raise FeelRefused("an empty list or one of mixed kinds is not converted")
    return Tr("[" + ", ".join(i.text for i in items) + "]", ("list", items[0].kind), value)


def _context_value(value: dict[str, Any]) -> Tr:
    """A context of literals as the language's record literal, its value kept for the context functions."""
    if not value:  # the language has no empty record: a value only to be folded
        return Tr(f"{OPAQUE}{EMPTY_CONTEXT}{OPAQUE}", ("record", ()), {})
    entries = {}
    for key, item in value.items():
        if identifier(key) != key:
            raise FeelRefused(f"a context key {key!r} that is not a plain name is not converted")
        entries[key] = _literal(item)
    text = "{" + ", ".join(f"{k}: {v.text}" for k, v in entries.items()) + "}"
    return Tr(text, ("record", tuple((k, v.kind) for k, v in entries.items())), value)


# FEEL built-ins and the numbers of positional arguments they take (None: one or more, a list or the values); a call
# with another number, or with a parameter name it lacks, is an error in FEEL, so null (the TCK's 0050 to 0063)
ARITIES: dict[str, tuple[int, ...] | None] = {
    **dict.fromkeys(("abs", "sqrt", "exp", "log", "even", "odd", "not", "string length", "upper case", "lower case",
                     "reverse", "distinct values", "flatten", "day of year", "day of week", "month of year",
                     "week of year", "get entries", "context merge", "context"), (1,)),
    **dict.fromkeys(("modulo", "decimal", "round up", "round down", "round half up", "round half down", "contains",
                     "starts with", "ends with", "substring before", "substring after", "list contains", "index of",
                     "remove", "is", "get value", "split"), (2,)),
    **dict.fromkeys(("insert before", "context put", "list replace"), (3,)),
    **dict.fromkeys(("floor", "ceiling", "string join"), (1, 2)),
    **dict.fromkeys(("substring", "sublist", "matches"), (2, 3)), "replace": (3, 4),
    **dict.fromkeys(("min", "max", "sum", "mean", "median", "stddev", "mode", "product", "all", "any"), None),
}


# the parameter names of a built-in's other signature (a path of keys; a match function instead of a position)
OTHER_PARAMETERS = {"context put": ("keys",), "list replace": ("match",)}


def _misused(name: str, args: list[Tr], named: dict[str, Tr]) -> bool:
    """Whether a call of a built-in is an error in FEEL (null): a wrong number of arguments, a parameter name it
    lacks, or context put's ``key:`` given a list (a path is ``keys:``)."""
    counts = ARITIES.get(name, ())
    if counts == ():
        return False
    if named:
        params = {*PARAMETERS.get(name, ()), *OTHER_PARAMETERS.get(name, ())}
        key = named.get("key") if name == "context put" else None
        return bool(set(named) - params) or (key is not None and _is_list(key))  # a parameter left out is null
    return not args if counts is None else len(args) not in counts


def call(name: str, args: list[Tr]) -> Tr:
    """A FEEL function call with the same meaning, or FeelRefused."""
    handler = CALLS.get(name)
    if handler is not None:
        return handler(name, args)
    if name in NUMERIC and len(args) == NUMERIC[name][0]:
        return _numeric(name, args)
    if (name in ("floor", "ceiling") and len(args) == 2) or (name in ROUNDINGS and len(args) == 2):
        return _rounding(name, args)
    if name in SAME and len(args) == 1 and _misfit(args, (SAME[name][1],)):
        return NULL_VALUE
    if name in STRING_TESTS and len(args) == 2 and _misfit(args, (STRING, STRING)):
        return NULL_VALUE
    if name in ("get value", "context put") and len(args) == (2 if name == "get value" else 3):
        return _context_function(name, args)
    if name in SAME and len(args) == 1:
        function, takes, gives = SAME[name]
        _want(args[0], takes, name)
        return Tr(f"{function}({args[0].text})", gives)
    if name in STRING_TESTS and len(args) == 2:
        _want(args[0], STRING, name)
        _want(args[1], STRING, name)
        return Tr(f"{STRING_TESTS[name]}({args[0].text}, {args[1].text})", BOOLEAN)
    if name == "not" and len(args) == 1:
        operand = _as_boolean(args[0], "not")
        return NULL_VALUE if operand.kind == NULL else Tr(f"(not {operand.text})", BOOLEAN)
    if name in ("date", "time", "date and time", "duration", "years and months duration", "now", "today", "string"):
        from importers import feel_temporal

        found = feel_temporal.call(name, args)
        if found is not None:
            return found
    if name in ("date", "time", "date and time", "duration", "day of year"):
        return _temporal_call(name, args)
    if name == "range" and len(args) == 1:
        return _range_call(args[0])
    if name == "count" and len(args) == 1 and _is_list(args[0]):
        return Tr(f"count({args[0].text})", NUMBER)
    if name == "list contains" and len(args) == 2 and _is_list(args[0]):
        _comparable(Tr("", args[0].kind[1]), args[1], "=")
        return Tr(f"any({args[0].text} as v_in, v_in = {_plain(args[1]).text})", BOOLEAN)
    raise FeelRefused(f"the function {name}() with {len(args)} argument(s) is not converted")


NUMERIC = {"modulo": (2, "({a} - {b} * floor({a} / {b}))"), "even": (1, "(floor({a} / 2) * 2 = {a})"),
           "odd": (1, "(floor({a} / 2) * 2 != {a})")}


def _numeric(name: str, args: list[Tr]) -> Tr:
    """modulo (FEEL's floored remainder, null for a zero divisor), even and odd (null for a fraction)."""
    if _misfit(args, (NUMBER, NUMBER)) or any(a.kind == NULL for a in args):
        return NULL_VALUE
    for arg in args:
        _want(arg, NUMBER, name)
    a = args[0].text
    body = NUMERIC[name][1].format(a=a, b=args[-1].text)
    if name == "modulo":
        return Tr(body, NUMBER)
    return Tr(f"(if floor({a}) != {a} then null else {body})", BOOLEAN)


def _rounding(name: str, args: list[Tr]) -> Tr:
    """decimal, the round functions, and floor and ceiling to a scale: a scale of 0 to 12, as a literal."""
    if _misfit(args, (NUMBER, NUMBER)) or args[1].kind == NULL:
        return NULL_VALUE
    if not re.fullmatch(r"\d+", args[1].text) or int(args[1].text) > 12:
        raise FeelRefused(f"{name}() to a scale other than a literal 0 to 12 is not converted")
    _want(args[0], NUMBER, name)
    mode = ROUNDINGS.get(name, name)
    return Tr(f"round({args[0].text}, {args[1].text}, \"{mode}\")", NUMBER)


def _connectives(name: str, args: list[Tr]) -> Tr:
    """FEEL's all (false if one is false, else null if one is not true) and any (true if one is true, else null if
    one is not false), of a list or of arguments; a list of another kind than boolean is null."""
    if len(args) == 1 and _is_list(args[0]):
        items = args[0]
    elif args:
        items = Tr("[" + ", ".join(a.text for a in args) + "]", ("list", next((a.kind for a in args if a.kind != NULL), NULL)))
        if any(a.kind not in (items.kind[1], NULL) for a in args):
            return NULL_VALUE
    else:
        raise FeelRefused(f"{name}() with no arguments is not converted")
    if items.kind[1] == NULL and items.text == "[]":
        return Tr("true" if name == "all" else "false", BOOLEAN)
    if items.kind[1] == MIXED:
        raise FeelRefused(f"{name}() of a list of mixed kinds is not converted")
    if items.kind[1] != BOOLEAN:
        return NULL_VALUE  # its elements are never true or false
    decides, other = ("false", "true") if name == "all" else ("true", "false")
    return Tr(f"(if any({items.text} as v_b, v_b = {decides}) then {decides} else "
              f"(if any({items.text} as v_b, v_b = null) then null else {other}))", BOOLEAN)


# FEEL's regular expression functions (XPath's matches, replace and tokenize): the language's function and the
# numbers of arguments FEEL takes; any other number is an error (null)
REGEX_FUNCTIONS = {"matches": ("matches", (2, 3)), "replace": ("replace", (3, 4)), "split": ("tokenize", (2,))}


def _regex_call(name: str, args: list[Tr]) -> Tr:
    """matches, replace and split with a literal pattern (and replacement and flags), checked as XPath reads them:
    null where an argument is null or no string, or the pattern or flags are invalid; refused where Python's re
    would read the pattern otherwise (``rules.regex``), or where it is not a literal."""
    function, counts = REGEX_FUNCTIONS[name]
    if len(args) == counts[-1] and args[-1].kind == NULL and len(counts) > 1:
        args = args[:-1]  # null flags are no flags (the TCK's fn-null-flags)
    if len(args) not in counts:
        return NULL_VALUE
    for arg in args:
        if _is_list(arg) and arg.const != ():
            raise FeelRefused(f"a list given to {name}() is not converted (FEEL would take a singleton's element)")
    if any(arg.kind != STRING for arg in args):
        return NULL_VALUE  # null, an empty list, or another kind than string
    literals = [arg.const for arg in args[1:]]
    if any(not isinstance(value, str) for value in literals):
        raise FeelRefused(f"{name}() with a pattern, replacement or flags that is not a literal is not converted")
    flags = literals[-1] if len(args) == counts[-1] and len(counts) > 1 else ""
    template = literals[1] if name == "replace" else None
    try:
        regex.checked(literals[0], flags, template, splits=name == "split")
    except regex.PatternError:
        return NULL_VALUE
    except regex.PatternRefused as exc:
        raise FeelRefused(f"{name}(): {exc}") from None
    if isinstance(args[0].const, str):
        value = getattr(regex, function)(args[0].const, *literals)
        return _literal(tuple(value) if isinstance(value, list) else value)
    result = {"matches": BOOLEAN, "replace": STRING, "split": ("list", STRING)}[name]
    return Tr(f"{function}({', '.join(a.text for a in args)})", result)


def _range_call(text: Tr) -> Tr:
    """range() of a literal text; null of a value that is not a string."""
    if isinstance(text.const, str):
        return Translator(text.const, {}).range_value()
    if text.kind in (NULL, NUMBER, BOOLEAN, DATE):
        return NULL_VALUE
    raise FeelRefused("range() of a text that is not a literal is not converted")


def _temporal_call(name: str, args: list[Tr]) -> Tr:
    """date(), day of year() of a date, and time(), date and time() and duration() of a literal (known by kind)."""
    if name == "date":
        return _date(args)
    if name == "day of year" and len(args) == 1 and args[0].kind in (DATE, NULL):
        return Tr(f"day_of_year({args[0].text})", NUMBER)
    if name != "day of year" and len(args) == 1 and STRING_LITERAL.fullmatch(args[0].text):
        value = _temporal(args[0].text[1:-1], f"{name}({args[0].text})")
        if value.kind == {"duration": DT_DURATION}.get(name, name) or (name, value.kind) == ("duration", YM_DURATION):
            return value
    raise FeelRefused(f"the function {name}() with {len(args)} argument(s) is not converted")


def _context_function(name: str, args: list[Tr]) -> Tr:
    """get value(m, key) and context put(context, key or keys, value) with literal keys naming entries as written."""
    record, key = args[0], args[1].const
    if _composite(args[1].kind) and name == "get value":
        raise FeelRefused(f"{name}() with a list of keys is not converted")
    if NULL in (record.kind, args[1].kind) or args[1].kind in (NUMBER, BOOLEAN, DATE):
        return NULL_VALUE  # FEEL: a null context, or a key that is not a string
    if not (_composite(record.kind) and record.kind[0] == "record"):
        if _composite(record.kind):
            raise FeelRefused(f"{name}() of a {describe(record.kind)} is not converted")
        return NULL_VALUE  # not a context
    keys = key if isinstance(key, tuple) else (key,)
    if not keys or not all(isinstance(k, str) and k == identifier(k) for k in keys):
        raise FeelRefused(f"{name}() with a key that is not a literal name (or a list of them) is not converted")
    if name == "get value":
        fields = dict(record.kind[1])
        return Tr(f"{record.text}.{key}", fields[key]) if key in fields else NULL_VALUE
    guards: list[str] = []
    put = _put(record, keys, args[2], guards)
    if put is None:
        return NULL_VALUE
    if not guards:
        return put
    # FEEL: null where the context, or a context on the path, is null at run time
    return Tr(f"(if {' or '.join(guards)} then null else {put.text})", put.kind)


def _put(record: Tr, keys: tuple[str, ...], value: Tr, guards: list[str]) -> Tr | None:
    """The record with the entry at the path set (None where the path leads through a value that is not a context);
    ``guards`` gets a null test of each record read that is not a literal."""
    if not record.text.startswith("{"):
        guards.append(f"{record.text} = null")
    fields = dict(record.kind[1])
    if len(keys) > 1:
        inner = fields.get(keys[0])
        if inner in SCALARS:
            return None  # FEEL: a path through a number, string, boolean or date is null
        if inner is None or not (_composite(inner) and inner[0] == "record"):
            raise FeelRefused(f"context put() along a path through a {describe(inner) if inner else 'missing entry'} "
                              "is not converted")
        value_or_none = _put(Tr(f"{record.text}.{keys[0]}", inner), keys[1:], value, guards)
        if value_or_none is None:
            return None
        value = value_or_none
    fields[keys[0]] = value.kind
    entries = {field: f"{record.text}.{field}" for field in dict(record.kind[1])} | {keys[0]: value.text}
    return Tr("{" + ", ".join(f"{k}: {v}" for k, v in entries.items()) + "}", ("record", tuple(fields.items())))


def _date(args: list[Tr]) -> Tr:
    """FEEL's date() of a string literal or of year, month and day literals: the date, or null where there is none."""
    if len(args) == 1 and args[0].kind == NULL:
        return NULL_VALUE
    if len(args) == 1 and args[0].kind == STRING and STRING_LITERAL.fullmatch(args[0].text):
        text = args[0].text[1:-1]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) or text.startswith("0000"):
            raise FeelRefused(f"the date {text!r} is not converted (FEEL reads years beyond 9999 and signs)")
        return _date_value(lambda: dt.date.fromisoformat(text))
    if len(args) == 3 and all(re.fullmatch(r"\d+", a.text) for a in args) and 1 <= int(args[0].text) <= 9999:
        return _date_value(lambda: dt.date(*(int(a.text) for a in args)))
    raise FeelRefused(f"the function date() with {len(args)} argument(s) is not converted (only literals)")


def _date_value(make: Callable[[], dt.date]) -> Tr:
    try:
        made = make()
    except ValueError:  # no such day: FEEL answers null
        return NULL_VALUE
    return Tr(f'date("{made.isoformat()}")', DATE, made)


def _aggregate(name: str, args: list[Tr]) -> Tr:
    """FEEL's sum, min and max: null for an empty list or one holding a null (the language skips nulls)."""
    if len(args) == 1 and _is_list(args[0]):
        items = args[0]
    elif len(args) > 1 or (len(args) == 1 and not _is_list(args[0])):
        items = Tr("[" + ", ".join(a.text for a in args) + "]", ("list", args[0].kind))
    else:
        raise FeelRefused(f"{name}() with no arguments is not converted")
    item = items.kind[1]
    if item not in (NUMBER, DATE) or (name == "sum" and item != NUMBER):
        raise FeelRefused(f"{name}() of a {describe(items.kind)} is not converted")
    if any(a.kind not in (item, NULL) for a in args[1:]):
        raise FeelRefused(f"{name}() of mixed kinds is not converted")
    folded = f"{name}({items.text} as v_x, v_x)"
    return Tr(f"(if count({items.text}) = 0 or any({items.text} as v_x, v_x = null) then null else {folded})", item)


# FEEL list functions and the language's: of lists of one kind, null where a list is null
JOINS = {"concatenate": "concatenate", "union": "union", "distinct values": "distinct", "reverse": "reverse"}
POSITIONED = {"sublist": ("sublist", (2, 3)), "insert before": ("insert_before", (3,)), "remove": ("remove_at", (2,))}


def _list_kind(name: str, lists: list[Tr]) -> Kind:
    """The element kind of lists given to a list function; FeelRefused where one is not a list or kinds differ."""
    if not lists or not all(_is_list(a) for a in lists):
        raise FeelRefused(f"{name}() of a value that is not a list is not converted (FEEL would take it as a singleton)")
    kinds = {a.kind[1] for a in lists} - {NULL}
    if len(kinds) != 1:
        raise FeelRefused(f"{name}() of lists of mixed kinds, or of empty lists only, is not converted")
    return kinds.pop()


def _joins(name: str, args: list[Tr]) -> Tr:
    """concatenate, union, distinct values and reverse."""
    if name in ("distinct values", "reverse") and len(args) != 1:
        raise FeelRefused(f"the function {name}() with {len(args)} argument(s) is not converted")
    if any(a.kind == NULL for a in args):
        return NULL_VALUE
    kind = _list_kind(name, args)
    return Tr(f"{JOINS[name]}({', '.join(a.text for a in args)})", ("list", kind))


def _append(name: str, args: list[Tr]) -> Tr:
    """append(list, item, ...): the list and the items, of the list's kind."""
    if args and args[0].kind == NULL:
        return NULL_VALUE
    kind = _list_kind(name, args[:1])
    if len(args) < 2 or any(a.kind != kind for a in args[1:]):
        raise FeelRefused("append() of no items, or of items of another kind than the list's (or null), is not converted")
    return Tr(f"concatenate({args[0].text}, [{', '.join(a.text for a in args[1:])}])", ("list", kind))


def _positioned(name: str, args: list[Tr]) -> Tr:
    """sublist, insert before and remove at whole-number literal positions (null outside the list, as FEEL's error)."""
    function, counts = POSITIONED[name]
    if len(args) not in counts:
        raise FeelRefused(f"the function {name}() with {len(args)} argument(s) is not converted")
    positions = args[1:3] if name == "sublist" else args[1:2]
    if args[0].kind == NULL or any(p.kind == NULL for p in positions):
        return NULL_VALUE
    kind = _list_kind(name, args[:1])
    for position in positions:
        if not (isinstance(position.const, Decimal) and position.const == position.const.to_integral_value()):
            raise FeelRefused(f"{name}() at a position that is not a whole-number literal is not converted")
    if name == "insert before" and args[2].kind != kind:
        raise FeelRefused(f"insert before() of a {describe(args[2].kind)} into a {describe(args[0].kind)} is not converted")
    wholes = [str(int(p.const)) if p.const >= 0 else f"(0 - {-int(p.const)})" for p in positions]
    texts = [args[0].text, *wholes, *(a.text for a in args[1 + len(positions):])]
    return Tr(f"{function}({', '.join(texts)})", args[0].kind)


def _index_of(name: str, args: list[Tr]) -> Tr:
    if len(args) != 2:
        raise FeelRefused(f"the function {name}() with {len(args)} argument(s) is not converted")
    if args[0].kind == NULL:
        return NULL_VALUE
    kind = _list_kind(name, args[:1])
    _comparable(Tr("", kind), args[1], "=")
    return Tr(f"index_of({args[0].text}, {_plain(args[1]).text})", ("list", NUMBER))


def _mean(name: str, args: list[Tr]) -> Tr:
    """mean() of variables: refused, as the TCK's answers are not FEEL's 34 digits where the mean is inexact (0012
    expects 5.66666666666667 for 17/3); of literals it is folded (``feel_fold.mean``)."""
    raise FeelRefused("mean() of variables is not converted: engines round an inexact mean differently")


def _sort(items: Tr, tokens: list[tuple[str, str]]) -> Tr:
    """sort(list, function(a, b) a < b) (or >, <=, >=, either way round) of numbers, strings or dates: the language's
    stable sort, reversed for a descending order. Equal scalars cannot be told apart, so the order of ties, which
    FEEL leaves to the engine, does not show; a sort of contexts by an entry is refused for that reason."""
    lam = tokens[tokens.index(("name", "function")):]
    shape = [v for _, v in lam]
    if (len(lam) != 10 or shape[:2] != ["function", "("] or shape[3] != "," or shape[5] != ")" or shape[9] != ")"
            or shape[7] not in ("<", "<=", ">", ">=") or {shape[6], shape[8]} != {shape[2], shape[4]}
            or shape[2] == shape[4]):
        raise FeelRefused("sort() with a function other than 'function(a, b) a < b' (or >) of the elements is not converted")
    if items.kind == NULL:
        return NULL_VALUE
    kind = _list_kind("sort", [items])
    if kind not in (NUMBER, STRING, DATE):
        raise FeelRefused(f"sort() of a {describe(items.kind)} is not converted (the order of ties would show)")
    descending = (shape[7] in (">", ">=")) == (shape[6] == shape[2])
    ordered = f"sort_by({items.text} as v_sort, v_sort)"
    return Tr(f"reverse({ordered})" if descending else ordered, items.kind)


# FEEL functions converted whatever their arguments (each handler refuses or answers null itself)
CALLS: dict[str, Callable[[str, list[Tr]], Tr]] = {
    "all": _connectives, "any": _connectives, "sum": _aggregate, "min": _aggregate, "max": _aggregate,
    **dict.fromkeys(REGEX_FUNCTIONS, _regex_call), **dict.fromkeys(JOINS, _joins),
    **dict.fromkeys(POSITIONED, _positioned), "append": _append, "index of": _index_of, "mean": _mean,
}


def _word_char(text: str, pos: int) -> bool:
    return pos < len(text) and (text[pos].isalnum() or text[pos] == "_")


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
ESCAPE = re.compile(r"\\(U[0-9a-fA-F]{6}|u[0-9a-fA-F]{4}|.)", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    code = match[1]
    if code[0] in "uU" and len(code) > 1:
        if int(code[1:], 16) > 0x10FFFF:
            raise FeelRefused(f"the string escape \\{code} is no character")
        return chr(int(code[1:], 16))
    # another escape is kept as written, as the TCK reads it: a pattern's \\d or \\s reaches matches()
    return ESCAPES.get(code, "\\" + code)


def _unquote(text: str) -> str:
    """The string a language string literal (as ``_string`` writes it) holds."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text[1:-1])


def _string(token: str) -> str:
    """A FEEL string literal as the language's: FEEL's escapes, \\uXXXX (surrogate pairs joined) and \\UXXXXXX."""
    text = ESCAPE.sub(_unescape, token[1:-1])
    try:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        raise FeelRefused("a string with a lone surrogate is not converted") from None
    return quote(text)


def quote(text: str) -> str:
    """A string as the language's string literal."""
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise FeelRefused("a string with control characters is not converted")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _want(value: Tr, kind: Kind, where: str) -> None:
    if value.kind not in (kind, NULL):
        raise FeelRefused(f"{where} takes a {describe(kind)}, not a {describe(value.kind)} (FEEL answers null)")


def _as_boolean(value: Tr, where: str) -> Tr:
    """An operand of and, or and not: a value of another kind is null to them (DMN 1.5 table 53: ``false and 123``
    is false, ``true and 123`` null); a list is refused (FEEL might take a singleton's element)."""
    if _is_list(value) or value.kind in (RANGE, FUNCTION):
        raise FeelRefused(f"{where} takes a boolean, not a {describe(value.kind)}")
    return value if value.kind in (BOOLEAN, NULL) else NULL_VALUE


def _composite_constants(left: Tr, right: Tr) -> bool:
    """Whether both sides of = are values known at import and one is a list or a context: compared there, deeply."""
    known = left.const is not NOT_CONSTANT and right.const is not NOT_CONSTANT
    return known and any(isinstance(v, (tuple, dict)) for v in (left.const, right.const))


def _is_list(value: Tr) -> bool:
    return isinstance(value.kind, tuple) and value.kind[0] == "list"


def _join(a: Kind, b: Kind) -> Kind:
    if a == NULL:
        return b
    if b in (NULL, a):
        return a
    raise FeelRefused(f"an if whose branches are a {describe(a)} and a {describe(b)}")


def _comparable(left: Tr, right: Tr, op: str) -> None:
    kinds = {left.kind, right.kind} - {NULL}
    if len(kinds) > 1:
        raise FeelRefused(f"comparing a {describe(left.kind)} with a {describe(right.kind)} is not converted")
    kind = kinds.pop() if kinds else NULL
    ordered = (NUMBER, STRING, DATE, NULL, TIME, DATE_TIME, DT_DURATION, YM_DURATION)
    if kind not in (ordered if op not in ("=", "!=") else (*ordered, BOOLEAN)):
        raise FeelRefused(f"{op} on a {describe(kind)} is not converted")


def _compare(left: Tr, op: str, right: Tr) -> Tr:
    _comparable(left, right, op)
    return Tr(f"({_plain(left).text} {op} {_plain(right).text})", BOOLEAN)


def _plain(value: Tr) -> Tr:
    """A string literal as a plain string: the language types a literal as the one-value enum of itself and
    refuses comparing it with a string the enum lacks, where FEEL answers false (``"foo" = "Foo"``)."""
    if value.kind == STRING and STRING_LITERAL.fullmatch(value.text):
        return Tr(f'concat({value.text}, "")', STRING)
    return value


def _composite(kind: Kind) -> bool:
    return isinstance(kind, tuple)


def _undefined(left: Kind, op: str, right: Kind) -> bool:
    """Whether FEEL answers null for operands of these kinds whatever their values: the operation is not defined on them.

    DMN 1.5, 10.3.2.3 and tables 54 to 59: values of two kinds are not equal or ordered, booleans, lists and contexts
    are not ordered, arithmetic is on numbers, ``+`` joins strings, and dates, times and durations combine only with
    each other (and durations with numbers by ``*`` and ``/``). Where that leaves a doubt (temporal kinds together,
    lists and contexts compared for equality) this answers False and the caller converts or refuses.
    """
    if NULL in (left, right):
        return False
    if op in ("=", "!="):
        return left != right and not (_composite(left) or _composite(right)) and not (left in TEMPORAL and right in TEMPORAL)
    if op in ("<", "<=", ">", ">="):
        if left in TEMPORAL and right in TEMPORAL:
            return left != right and not {left, right} <= {DATE, DATE_TIME}
        if any(_composite(k) and k[0] == "list" for k in (left, right)):
            return False  # not certain: a singleton list might be taken for its element
        return left != right or left == BOOLEAN or _composite(left)
    if _composite(left) or _composite(right):
        return True
    if (left, right) == (NUMBER, NUMBER) or (op == "+" and (left, right) == (STRING, STRING)):
        return False
    if left in TEMPORAL and right in TEMPORAL:
        return op in ("*", "**")
    durations = (DT_DURATION, YM_DURATION)
    return not (op in ("*", "/") and (left in durations or right in durations) and NUMBER in (left, right))


BUILTIN_TYPES = {"number": NUMBER, "string": STRING, "boolean": BOOLEAN, "date": DATE, "time": TIME,
                 "date and time": DATE_TIME, "days and time duration": DT_DURATION,
                 "years and months duration": YM_DURATION}


def _integers(low: Tr, high: Tr) -> Tr:
    """``a..b`` iterated over: the whole numbers from a to b, up or down, as a list literal (of at most 1000)."""
    bounds = [t.const for t in (low, high)]
    if not all(isinstance(b, Decimal) and b == b.to_integral_value() for b in bounds):
        raise FeelRefused("iterating over a range whose ends are not whole-number literals is not converted")
    first, last = (int(b) for b in bounds)
    step = 1 if last >= first else -1
    if abs(last - first) >= 1000:
        raise FeelRefused("iterating over a range of more than 1000 numbers is not converted")
    return _literal(tuple(Decimal(k) for k in range(first, last + step, step)))


def _instance_of(value: Tr, type_name: str) -> Tr:
    """``instance of`` a built-in type, ``Any``, ``list<Any>`` or a function type: known from the value's kind (false
    for null; a value of the type's kind is an instance unless it is null). Item definitions and typed lists, contexts
    and ranges are refused."""
    kind = value.kind
    if type_name in BUILTIN_TYPES:
        matches = kind == BUILTIN_TYPES[type_name]
    elif type_name == "Any":
        matches = kind != NULL
    elif type_name == "list<Any>":
        matches = _composite(kind) and kind[0] == "list"
    elif type_name.startswith("function<"):
        matches = kind == FUNCTION
    elif type_name.startswith("range<") and isinstance(value.const, RangeValue) and type_name[6:-1] in BUILTIN_TYPES:
        ends = {value.const.low.kind, value.const.high.kind} - {NULL}
        matches = ends == {BUILTIN_TYPES[type_name[6:-1]]}
    else:
        raise FeelRefused(f"instance of {type_name} is not converted (only built-in types, Any and list<Any>)")
    if not matches or kind == NULL:
        return Tr("false", BOOLEAN)
    if OPAQUE in value.text:
        if not (value.text.startswith(OPAQUE) and value.text.endswith(OPAQUE) and value.text.count(OPAQUE) == 2):
            raise FeelRefused(f"instance of on an expression that may give a {describe(kind)} or null is not converted")
        return Tr("true", BOOLEAN)  # a literal (a time, duration, range or function), never null
    return Tr(f"({value.text} != null)", BOOLEAN)


def _power(base: Tr, exponent: Tr) -> Tr:
    """``**``: null where FEEL does not define it; a number only of literals, computed to FEEL's 34 digits."""
    if _undefined(base.kind, "**", exponent.kind):
        return NULL_VALUE
    if NUMBER_LITERAL.fullmatch(base.text) and NUMBER_LITERAL.fullmatch(exponent.text):
        a, b = Decimal(base.text.replace("(0 - ", "-").rstrip(")")), Decimal(exponent.text.replace("(0 - ", "-").rstrip(")"))
        if b == b.to_integral_value() and abs(b) <= 1000 and (a != 0 or b >= 0):
            value = format(FEEL_DECIMAL.power(a, int(b)), "f")
            if len(value) <= 40:  # the language's longest number literal
                return Tr(value if not value.startswith("-") else f"(0 - {value[1:]})", NUMBER)
    # not of variables: the TCK's answers there are neither the exact 34-digit power nor a binary float's
    # (0005: 662.707359373292, where 34 digits give 662.7073593732659... and a double 662.7073593732719)
    raise FeelRefused(f"{describe(base.kind)} ** {describe(exponent.kind)} is not converted (only of number literals: "
                      "engines round a power of variables differently)")


def _temporal(literal: str, written: str) -> Tr:
    """A date, time, date and time or duration written as a string: a date, or a value known only by its kind."""
    kind = _opaque_kind(literal)
    if kind == DATE:
        return _date([Tr(f'"{literal}"', STRING)])
    from importers import feel_temporal

    return feel_temporal.literal(kind, literal.lstrip("@").strip('"'))


def _opaque_in(text: str) -> str:
    inner = text.split(OPAQUE)[1]
    if inner in (EMPTY_CONTEXT, MIXED_LIST):
        return inner
    if inner == "function" or ".." in inner:
        return "function" if inner == "function" else "range"
    if inner.startswith(("@", "time(", "date and time(", "duration(")):
        return describe(_opaque_kind(inner.split("(", 1)[-1].rstrip(")")))
    return "function's parameter"


def _valid_clock(text: str, kind: Kind) -> bool:
    """Whether a time's or date and time's fields name a real day and time and offset (a duration's always do)."""
    if kind not in (TIME, DATE_TIME):
        return True
    day, _, clock = text.rpartition("T")
    offset = re.search(r"[+-](\d{2}):(\d{2})$", clock)
    fields = re.fullmatch(r"(-?\d+)-(\d{2})-(\d{2})", day)
    try:
        if fields is not None:
            year, month, date = (int(part) for part in fields.groups())
            dt.date(2000 + year % 400, month, date)  # the Gregorian calendar repeats every 400 years
        dt.time.fromisoformat(clock[:8])
    except ValueError:
        return False
    return offset is None or (int(offset[1]) <= 14 and int(offset[2]) < 60)


def _opaque_kind(literal: str) -> Kind:
    text = literal.lstrip("@").strip('"')
    for pattern, kind in TEMPORAL_LITERALS:
        if pattern.fullmatch(text) and text not in ("P", "-P", "PT") and _valid_clock(text, kind):
            return kind
    raise FeelRefused(f"the literal {literal} is not converted (not a date, time, date and time or duration FEEL reads)")


def _arithmetic(left: Tr, op: str, right: Tr) -> Tr:
    if _undefined(left.kind, op, right.kind):
        return NULL_VALUE
    from importers import feel_temporal

    moved = feel_temporal.arithmetic(left, op, right)
    if moved is not None:
        return moved
    if left.kind not in (NUMBER, NULL) or right.kind not in (NUMBER, NULL):
        raise FeelRefused(f"{describe(left.kind)} {op} {describe(right.kind)} is not converted (dates, durations, mixed kinds)")
    return Tr(f"({left.text} {op} {right.text})", NUMBER)


def translate(text: str, scope: dict[str, tuple[str, Kind]], functions: dict[str, Function] | None = None) -> Tr:
    """The expression language's text and kind of a FEEL expression over ``scope`` (calling ``functions``), or FeelRefused."""
    return Translator(text, scope, functions).translate()


def kind_of(spec: dict[str, Any]) -> Kind:
    """The FEEL kind of a pack field spec."""
    kind = spec["type"]
    if kind in ("decimal", "integer", "money"):
        return NUMBER
    if kind == "enum":
        return STRING
    if kind == "list":
        if "items" in spec:
            return ("list", ("record", tuple((n, kind_of(f)) for n, f in spec["items"].items())))
        return ("list", kind_of({"type": spec["of"]}))
    if kind == "object":
        return ("record", tuple((n, kind_of(f)) for n, f in spec["fields"].items()))
    return {pack_type: feel_kind for feel_kind, pack_type in PACK_TYPES.items()}.get(kind, kind)


def spec_of(kind: Kind) -> dict[str, Any]:
    """A pack field spec for a FEEL kind (optional: any FEEL value may be null; an always-null one is a string)."""
    if kind == NULL:
        return {"type": "string", "optional": True}
    if isinstance(kind, tuple) and kind[0] == "list":
        item = spec_of(kind[1])
        if item["type"] == "object":
            return {"type": "list", "items": item["fields"], "optional": True}
        if item["type"] == "list":
            raise FeelRefused("a list of lists is not converted")
        return {"type": "list", "of": item["type"], "optional": True}
    if isinstance(kind, tuple):
        return {"type": "object", "fields": {identifier(n): spec_of(k) for n, k in kind[1]}, "optional": True}
    return {"type": {NUMBER: "decimal", **PACK_TYPES}.get(kind, kind), "optional": True}
