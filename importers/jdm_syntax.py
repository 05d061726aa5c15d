"""A parser for the ZEN expression language that GoRules JDM graphs are written in.

Only the importer reads it: the trees here are translated into Arbiter's own language by
``importers.jdm`` and never evaluated. Nodes are tuples, tagged by their first element.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

Node = tuple[Any, ...]


class ZenSyntaxError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<template>`(?:[^`\\]|\\.)*`)
  | (?P<name>[$#]?[A-Za-z_][A-Za-z0-9_]*|\$|\#)
  | (?P<op>\.\.|==|!=|<=|>=|\?\?|&&|\|\||[-+*/%^!<>?:()\[\]{},.])
    )""",
    re.VERBOSE,
)
_BINARY = [
    ({"??"}, "left"),
    ({"or", "||"}, "left"),
    ({"and", "&&"}, "left"),
    ({"==", "!="}, "left"),
    ({"<", "<=", ">", ">=", "in", "not in"}, "left"),
    ({"+", "-"}, "left"),
    ({"*", "/", "%"}, "left"),
    ({"^"}, "right"),
]
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ZenSyntaxError(f"unexpected {text[pos:pos + 10]!r} at {pos}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    tokens.append(("end", ""))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, value: str) -> bool:
        if self.peek()[1] == value and self.peek()[0] in ("op", "name"):
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            raise ZenSyntaxError(f"expected {value!r}, found {self.peek()[1]!r}")

    def at_end(self) -> bool:
        return self.peek()[0] == "end"

    def expression(self) -> Node:
        node = self.binary(0)
        if self.accept("?"):
            then = self.expression()
            self.expect(":")
            otherwise = self.expression()
            return ("cond", node, then, otherwise)
        return node

    def _operator(self, level: int) -> str | None:
        kind, value = self.peek()
        ops = _BINARY[level][0]
        if value == "not" and self.peek(1)[1] == "in" and "not in" in ops:
            return "not in"
        if (kind == "op" or value in ("and", "or", "in")) and value in ops:
            return value
        return None

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while (op := self._operator(level)) is not None:
            self.i += 2 if op == "not in" else 1
            right = self.binary(level if _BINARY[level][1] == "right" else level + 1)
            left = ("bin", {"||": "or", "&&": "and"}.get(op, op), left, right)
        return left

    def continued(self, left: Node) -> Node:
        """``left`` followed by ``and``/``or`` and more operands, with 'and' binding tighter.

        Each operand may be a test of the cell's column, as zen reads one: ``> 5 or < 2``.
        """
        left = self._conjunction(left)
        while self._operator(1) is not None:  # 'or'
            self.take()
            left = ("bin", "or", left, self._conjunction(self._operand_test()))
        return left

    def _conjunction(self, left: Node) -> Node:
        while self._operator(2) is not None:  # 'and'
            self.take()
            left = ("bin", "and", left, self._operand_test())
        return left

    def _operand_test(self) -> Node:
        kind, value = self.peek()
        if kind == "op" and value in COMPARISONS:
            self.take()
            return ("bin", value, ("dollar",), self.binary(5))
        return self.binary(3)  # an operand of 'and': comparisons and tighter

    def unary(self) -> Node:
        if self.accept("!") or self.accept("not"):
            return ("not", self.unary())
        if self.accept("-"):
            return ("neg", self.unary())
        if self.accept("+"):
            return self.unary()
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.peek() == ("op", "."):
                self.take()
                kind, name = self.take()
                if kind != "name":
                    raise ZenSyntaxError(f"expected a field name after '.', found {name!r}")
                node = ("member", node, name)
            elif self.peek() == ("op", "["):
                self.take()
                index = self.expression()
                self.expect("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "number":
            return ("num", Decimal(value.replace("_", "")))
        if kind == "string":
            return ("str", _unescape(value[1:-1]))
        if kind == "template":
            return ("template", _template(value[1:-1]))
        if kind == "name":
            if value in ("true", "false"):
                return ("bool", value == "true")
            if value == "null":
                return ("null",)
            if self.peek() == ("op", "(") and value[0] not in "$#":
                self.take()
                args: list[Node] = []
                while not self.accept(")"):
                    args.append(self.expression())
                    if not self.accept(","):
                        self.expect(")")
                        break
                return ("call", value, args)
            if value == "$":
                return ("dollar",)
            if value == "#":
                return ("hash",)
            if value == "$nodes":
                return ("nodes",)
            if value[0] in "$#":
                raise ZenSyntaxError(f"{value} is not supported")
            return ("name", value)
        if value in ("[", "("):
            return self.bracket(value)
        if value == "{":
            pairs: list[tuple[str, Node]] = []
            while not self.accept("}"):
                key_kind, key = self.take()
                if key_kind not in ("name", "string"):
                    raise ZenSyntaxError(f"an object key must be a name or a string, not {key!r}")
                self.expect(":")
                pairs.append((key if key_kind == "name" else _unescape(key[1:-1]), self.expression()))
                if not self.accept(","):
                    self.expect("}")
                    break
            return ("object", pairs)
        raise ZenSyntaxError(f"unexpected {value!r}")

    def bracket(self, opening: str) -> Node:
        if opening == "[" and self.accept("]"):
            return ("array", [])
        first = self.expression()
        if self.accept(".."):
            high = self.expression()
            closing = self.take()[1]
            if closing not in ("]", ")"):
                raise ZenSyntaxError(f"an interval ends with ']' or ')', not {closing!r}")
            return ("interval", opening == "[", first, high, closing == "]")
        if opening == "(":
            self.expect(")")
            return first
        items = [first]
        while self.accept(","):
            items.append(self.expression())
        self.expect("]")
        return ("array", items)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def _template(text: str) -> list[Node]:
    parts: list[Node] = []
    for k, piece in enumerate(re.split(r"\$\{(.*?)\}", text)):
        if k % 2:
            parts.append(parse_zen(piece))
        elif piece:
            parts.append(("str", _unescape(piece)))
    return parts


def parse_zen(text: str) -> Node:
    parser = _Parser(text)
    node = parser.expression()
    if not parser.at_end():
        raise ZenSyntaxError(f"unexpected {parser.peek()[1]!r} after the expression")
    return node


def _with_dollar(test: Node) -> Node:
    """A leading comparison test as the expression it abbreviates: ``> 3`` is ``$ > 3``."""
    if test[0] == "both":
        return ("bin", "and", _with_dollar(test[1]), _with_dollar(test[2]))
    return ("bin", test[1], ("dollar",), test[2])


def parse_zen_unary(text: str) -> list[Node]:
    """A table cell: comma-separated tests of the column value ``$``, any of which may match.

    A test is ``op value`` (``>= 30``), a value or interval to compare ``$`` with, or an
    expression (over ``$`` or the whole input) that is true or false.
    """
    parser = _Parser(text)
    tests: list[Node] = []
    while True:
        kind, value = parser.peek()
        if kind == "op" and value in COMPARISONS:
            parser.take()
            test: Node = ("compare", value, parser.binary(5))
            while parser.peek()[1] == "and" and parser.peek(1)[1] in COMPARISONS:
                parser.take()
                op = parser.take()[1]
                test = ("both", test, ("compare", op, parser.binary(5)))
            if parser.peek()[1] in ("and", "&&", "or", "||"):
                test = parser.continued(_with_dollar(test))  # '== 3 and customer.score < 70'
            tests.append(test)
        else:
            tests.append(parser.expression())
        if parser.at_end():
            return tests
        parser.expect(",")
