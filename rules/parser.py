"""Tokenizer and Pratt parser for expressions and unary tests.

The grammar is deliberately small (see ``docs/expressions.md``). Anything outside it is a
syntax error, and a few shapes that only make sense as a sandbox escape (dunder names,
Python's dynamic builtins) are named as unsafe so the author knows why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from rules import syntax as s

MAX_EXPRESSION_LENGTH = 4000
MAX_DEPTH = 64
# A chain (a + a + ... or x and y and ...) parses in a loop but nests its tree one level per
# operator, and the checker and code generator walk trees recursively: bound the tree's height.
MAX_HEIGHT = 120
MAX_NUMBER_LENGTH = 40  # digits beyond the decimal context's 34 only round away, and 4,300 crash int()

KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "if", "then", "else", "implies", "as"}

# Names that only ever appear in an expression to escape a sandbox. They are rejected
# with a dedicated code even before name resolution, so no pack can declare them either.
UNSAFE_NAMES = {
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "hasattr", "globals",
    "locals", "vars", "dir", "type", "object", "lambda", "import", "breakpoint", "input",
    "help", "memoryview", "bytearray", "classmethod", "staticmethod", "super", "property",
    "exit", "quit", "os", "sys", "subprocess", "builtins", "print", "id", "hash", "iter",
    "next", "callable", "isinstance", "issubclass", "format", "chr", "ord", "bytes", "repr",
    "frozenset", "set", "dict", "tuple", "slice", "range", "zip", "map", "filter", "yield",
    "await", "async", "def", "class", "del", "from", "global", "nonlocal", "raise",
    "with", "assert", "pass", "return", "try", "except", "finally", "while", "for", "is",
}
UNSAFE_NAMES -= {"filter", "map"}  # a function of the language (filter(list as x, condition)), not Python's


class ExpressionError(Exception):
    """A problem in one expression, at a character offset into its text."""

    def __init__(self, code: str, message: str, offset: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, end
    text: str
    start: int
    end: int


_OPERATORS = ["..", "<=", ">=", "!=", "==", "<", ">", "=", "+", "-", "*", "/", "(", ")", "[", "]", "{", "}", ":", ",", ".", "?"]


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            "expression-too-long", f"expression is longer than {MAX_EXPRESSION_LENGTH} characters", 0
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit() and not text.startswith("..", i)):
            token = _number(text, i)
            if len(token.text) > MAX_NUMBER_LENGTH:
                raise ExpressionError("number-too-long", f"a number literal is longer than {MAX_NUMBER_LENGTH} characters", i)
        elif c == '"':
            token = _string(text, i)
        elif c.isalpha() or c == "_":
            token = _name(text, i)
        else:
            token = _operator(text, i)
        tokens.append(token)
        i = token.end
    tokens.append(Token("end", "", n, n))
    return tokens


def _number(text: str, i: int) -> Token:
    j, n = i, len(text)
    while j < n and text[j].isdigit():
        j += 1
    if j < n and text[j] == "." and not text.startswith("..", j) and j + 1 < n and text[j + 1].isdigit():
        j += 1
        while j < n and text[j].isdigit():
            j += 1
    if j < n and (text[j].isalpha() or text[j] == "_"):
        raise ExpressionError("syntax", f"malformed number {text[i:j + 1]!r}", i)
    return Token("number", text[i:j], i, j)


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _string(text: str, i: int) -> Token:
    j, n = i + 1, len(text)
    chars: list[str] = []
    while j < n and text[j] != '"':
        if text[j] == "\\" and j + 1 < n:
            escaped = text[j + 1]
            if escaped not in _ESCAPES:
                raise ExpressionError("syntax", f"unknown escape \\{escaped} in string", j)
            chars.append(_ESCAPES[escaped])
            j += 2
            continue
        chars.append(text[j])
        j += 1
    if j >= n:
        raise ExpressionError("syntax", "string is not closed", i)
    return Token("string", "".join(chars), i, j + 1)


def _name(text: str, i: int) -> Token:
    j, n = i, len(text)
    while j < n and (text[j].isalnum() or text[j] == "_"):
        j += 1
    word = text[i:j]
    if word.startswith("_"):
        raise ExpressionError(
            "unsafe-expression", f"names starting with '_' are not allowed ({word!r})", i
        )
    if not word.isascii():
        raise ExpressionError("syntax", f"names must be ASCII ({word!r})", i)
    return Token("name", word, i, j)


_HINTS = {
    "'": "strings are written in double quotes",
    ";": "an expression is a single expression",
    "@": "decorators and matrix products are not part of the language",
    "`": "backticks are not part of the language",
    "%": "use round() and arithmetic instead of '%'",
    "|": "use 'or'",
    "&": "use 'and'",
    "!": "use 'not'",
}


def _operator(text: str, i: int) -> Token:
    for op in _OPERATORS:
        if text.startswith(op, i):
            return Token("op", op, i, i + len(op))
    c = text[i]
    code = "unsafe-expression" if c in ";@`" else "syntax"
    raise ExpressionError(code, f"unexpected character {c!r}: {_HINTS.get(c, 'it is not part of the expression language')}", i)


_BINARY_PRECEDENCE = {
    "implies": 0.5,
    "or": 1,
    "and": 2,
    "=": 4, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4,
    "+": 5, "-": 5,
    "*": 6, "/": 6,
}


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        t = self.tokens[self.pos]
        self.pos += 1
        return t

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def at_word(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text == word

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            raise self.error(f"expected '{op}'")
        return self.advance()

    def error(self, message: str) -> ExpressionError:
        t = self.tok
        found = "end of expression" if t.kind == "end" else repr(t.text)
        return ExpressionError("syntax", f"{message}, found {found}", t.start)

    def expect_end(self) -> None:
        if not self.at("end"):
            raise self.error("expected end of expression")

    # Expressions.

    def expression(self, min_precedence: float = 0) -> s.Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("expression-too-complex", "expression is nested too deeply", self.tok.start)
        try:
            left = self.prefix()
            while True:
                t = self.tok
                op = t.text if t.kind in ("op", "name") else None
                if op == "not" and self.tokens[self.pos + 1].kind == "name" and self.tokens[self.pos + 1].text == "in":
                    op = "not in"
                precedence = _BINARY_PRECEDENCE.get("in" if op == "not in" else op or "")
                if op is None or precedence is None or precedence <= min_precedence:
                    break
                self.advance()
                if op == "not in":
                    self.advance()
                if op in ("in", "not in"):
                    haystack = self.haystack()
                    node: s.Node = s.In(left.start, haystack.end, left, haystack)
                    if op == "not in":
                        node = s.Unary(left.start, haystack.end, "not", node)
                    left = node
                    continue
                right = self.expression(precedence)
                normalized = "=" if op == "==" else op
                left = s.Binary(left.start, right.end, normalized, left, right)
                if precedence == 4 and self.at_op("<", "<=", ">", ">=", "=", "==", "!="):
                    raise self.error("comparisons do not chain; combine them with 'and'")
            return left
        finally:
            self.depth -= 1

    def haystack(self) -> s.Node:
        start = self.tok.start
        if self.at_op("[", "(", "]"):
            saved = self.pos
            try:
                return self.interval()
            except ExpressionError:
                self.pos = saved
        if self.at_op("("):
            self.advance()
            items = [self.expression()]
            while self.at_op(","):
                self.advance()
                items.append(self.expression())
            end = self.expect_op(")").end
            return s.ListOf(start, end, items)
        return self.expression(4)

    def interval(self) -> s.Interval:
        opener = self.advance()
        low_closed = opener.text == "["
        low = self.expression()
        self.expect_op("..")
        high = self.expression()
        if not self.at_op("]", ")", "["):
            raise self.error("expected ']' or ')' to close the interval")
        closer = self.advance()
        high_closed = closer.text == "]"
        return s.Interval(opener.start, closer.end, low, high, low_closed, high_closed)

    def prefix(self) -> s.Node:
        t = self.tok
        if t.kind == "number":
            self.advance()
            return self.postfix(s.Literal(t.start, t.end, Decimal(t.text) if "." in t.text else int(t.text)))
        if t.kind == "string":
            self.advance()
            return self.postfix(s.Literal(t.start, t.end, t.text))
        if t.kind == "op":
            return self.op_prefix(t)
        if t.kind == "name":
            return self.word_prefix(t)
        raise self.error("expected a value")

    def op_prefix(self, t: Token) -> s.Node:
        """A value that starts with an operator: a negation, parentheses, '?', a list or interval, a record."""
        if t.text == "-":
            self.advance()
            operand = self.expression(6)
            if isinstance(operand, s.Literal) and isinstance(operand.value, (int, Decimal)) and not isinstance(operand.value, bool):
                return s.Literal(t.start, operand.end, -operand.value)
            return s.Unary(t.start, operand.end, "-", operand)
        if t.text == "(":
            self.advance()
            inner = self.expression()
            end = self.expect_op(")").end
            inner.start, inner.end = t.start, end
            return self.postfix(inner)
        if t.text == "?":
            self.advance()
            return self.postfix(s.InputValue(t.start, t.end))
        if t.text == "[":
            return self.list_or_interval(t)
        if t.text == "{":
            return self.postfix(self.record())
        raise self.error("expected a value")

    def list_or_interval(self, t: Token) -> s.Node:
        saved = self.pos
        try:
            return self.interval()
        except ExpressionError:
            self.pos = saved
        self.advance()
        items: list[s.Node] = []
        if not self.at_op("]"):
            items.append(self.expression())
            while self.at_op(","):
                self.advance()
                items.append(self.expression())
        end = self.expect_op("]").end
        return s.ListOf(t.start, end, items)

    def word_prefix(self, t: Token) -> s.Node:
        """A value that starts with a word: a literal, 'not', 'if', a call or a name."""
        word = t.text
        if word in ("true", "false"):
            self.advance()
            return self.postfix(s.Literal(t.start, t.end, word == "true"))
        if word == "null":
            self.advance()
            return s.Literal(t.start, t.end, None)
        if word == "not":
            self.advance()
            operand = self.expression(3)
            return s.Unary(t.start, operand.end, "not", operand)
        if word == "if":
            return self.conditional(t)
        if word in KEYWORDS:
            raise self.error("expected a value")
        if word in UNSAFE_NAMES:
            raise ExpressionError(
                "unsafe-expression", f"{word!r} is not part of the expression language", t.start
            )
        self.advance()
        if self.at_op("("):
            return self.postfix(self.call(t))
        return self.postfix(s.Name(t.start, t.end, word))

    def conditional(self, t: Token) -> s.Node:
        self.advance()
        condition = self.expression()
        if not self.at_word("then"):
            raise self.error("expected 'then'")
        self.advance()
        then = self.expression()
        if not self.at_word("else"):
            raise self.error("expected 'else'")
        self.advance()
        otherwise = self.expression()
        return s.Conditional(t.start, otherwise.end, condition, then, otherwise)

    def call(self, name: Token) -> s.Node:
        self.expect_op("(")
        args: list[s.Node] = []
        binding: str | None = None
        if not self.at_op(")"):
            args.append(self.expression())
            if self.at_word("as"):
                self.advance()
                if self.tok.kind != "name" or self.tok.text in KEYWORDS:
                    raise self.error("expected a name after 'as'")
                binding = self.advance().text
            while self.at_op(","):
                self.advance()
                args.append(self.expression())
        end = self.expect_op(")").end
        if name.text == "date":
            if len(args) != 1 or not isinstance(args[0], s.Literal) or not isinstance(args[0].value, str):
                raise ExpressionError("syntax", 'date() takes one literal like date("2026-01-31")', name.start)
            try:
                value = dt.date.fromisoformat(args[0].value)
            except ValueError:
                raise ExpressionError(
                    "syntax", f"{args[0].value!r} is not a date in YYYY-MM-DD form", args[0].start
                ) from None
            return s.Literal(name.start, end, value)
        return s.Call(name.start, end, name.text, args, binding)

    def record(self) -> s.Record:
        start = self.advance().start
        keys: list[str] = []
        values: list[s.Node] = []
        while not self.at_op("}"):
            if keys:
                self.expect_op(",")
            key = self.tok
            if key.kind != "name":
                raise self.error("expected a field name")
            if key.text in keys:
                raise ExpressionError("syntax", f"field {key.text!r} is written twice", key.start)
            self.advance()
            self.expect_op(":")
            keys.append(key.text)
            values.append(self.expression())
        end = self.expect_op("}").end
        return s.Record(start, end, keys, values)

    def postfix(self, node: s.Node) -> s.Node:
        while self.at_op("."):
            self.advance()
            t = self.tok
            if t.kind != "name":
                raise self.error("expected a field name after '.'")
            self.advance()
            if self.at_op("("):
                raise ExpressionError(
                    "unsafe-expression", "methods cannot be called; only declared fields can be read", t.start
                )
            node = s.Member(node.start, t.end, node, t.text, t.start)
        if self.at_op("(") and not isinstance(node, s.Name):
            raise ExpressionError("unsafe-expression", "only named functions can be called", self.tok.start)
        return node

    # Unary tests.

    def unary_tests(self) -> s.Node:
        t = self.tok
        if t.kind == "op" and t.text == "-" and self.tokens[self.pos + 1].kind == "end":
            self.advance()
            return s.AnyTest(t.start, t.end)
        if self.at_word("not") and self.tokens[self.pos + 1].kind == "op" and self.tokens[self.pos + 1].text == "(":
            saved = self.pos
            self.advance()
            self.advance()
            inner = self.test_list()
            if self.at_op(")") and self.tokens[self.pos + 1].kind == "end":
                end = self.advance().end
                return s.NotTest(t.start, end, inner)
            self.pos = saved
        tests = self.test_list()
        self.expect_end()
        return tests[0] if len(tests) == 1 else s.AnyOfTests(tests[0].start, tests[-1].end, tests)

    def test_list(self) -> list[s.Node]:
        tests = [self.single_test()]
        while self.at_op(","):
            self.advance()
            tests.append(self.single_test())
        return tests

    def single_test(self) -> s.Node:
        t = self.tok
        if self.at_op("<", "<=", ">", ">=", "=", "==", "!="):
            self.advance()
            operand = self.expression(4)
            op = "=" if t.text == "==" else t.text
            return s.CompareTest(t.start, operand.end, op, operand)
        if self.at_op("[", "]", "("):
            saved = self.pos
            try:
                interval = self.interval()
                return s.IntervalTest(interval.start, interval.end, interval)
            except ExpressionError:
                self.pos = saved
        operand = self.expression()
        if any(isinstance(n, s.InputValue) for n in s.walk(operand)):
            return s.PredicateTest(operand.start, operand.end, operand)
        return s.EqualsTest(operand.start, operand.end, operand)


def parse_expression(text: str) -> s.Node:
    parser = Parser(text)
    if parser.at("end"):
        raise ExpressionError("syntax", "empty expression", 0)
    node = parser.expression()
    parser.expect_end()
    return _within_height(node)


def _within_height(node: s.Node) -> s.Node:
    levels = s.height(node)
    if levels > MAX_HEIGHT:
        raise ExpressionError("expression-too-complex", f"expression is {levels} operations deep (at most "
                              f"{MAX_HEIGHT}); split it into derived values", node.start)
    return node


def parse_unary_tests(text: str) -> s.Node:
    parser = Parser(text)
    if parser.at("end"):
        raise ExpressionError("syntax", "empty cell; write '-' to match anything", 0)
    return _within_height(parser.unary_tests())
