"""Syntax trees of the expression language and of DMN-style unary tests.

Nodes carry ``start``/``end`` character offsets into their source text, so that the
checker can point at the exact column of a mistake. The checker fills ``type`` (and, for
names, ``symbol``) in place; the code generator reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Node:
    start: int
    end: int
    type: Any = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Literal(Node):
    value: Any  # Decimal | int | str | bool | None | datetime.date


@dataclass(eq=False)
class ParamRef(Literal):
    """A pack parameter read by name, after checking: a constant to every backend, its name kept for diffs."""

    name: str


@dataclass(eq=False)
class Name(Node):
    name: str
    symbol: Any = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class InputValue(Node):
    """``?``: the value of the table column a cell tests."""


@dataclass(eq=False)
class Member(Node):
    target: Node
    name: str
    name_start: int


@dataclass(frozen=True)
class Builtin:
    """A call of a function of ``rules.functions`` on its arguments."""

    function: str


@dataclass(frozen=True)
class Projection:
    """A call that evaluates its later arguments once per element of its first, the element bound in ``scope``."""

    function: str
    scope: int


@dataclass(frozen=True)
class Lookup:
    """``lookup(table, "column", key...)``: one column of a data table's row by key."""

    table: str
    column: str


Resolution = Builtin | Projection | Lookup


@dataclass(eq=False)
class Call(Node):
    function: str
    args: list[Node]
    binding: str | None = None  # sum(lines as l, ...): the name of each element
    resolved: Resolution | None = field(default=None, init=False, repr=False)


@dataclass(eq=False)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(eq=False)
class Binary(Node):
    op: str  # + - * / < <= > >= = != and or
    left: Node
    right: Node


@dataclass(eq=False)
class Conditional(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(eq=False)
class ListOf(Node):
    items: list[Node]


@dataclass(eq=False)
class Record(Node):
    """An object literal, ``{name: expr, ...}``: its fields in the order written."""

    keys: list[str]
    values: list[Node]


@dataclass(eq=False)
class Interval(Node):
    low: Node
    high: Node
    low_closed: bool
    high_closed: bool


@dataclass(eq=False)
class In(Node):
    needle: Node
    haystack: Node  # ListOf or Interval


# Unary tests (decision table input cells).


@dataclass(eq=False)
class AnyTest(Node):
    """``-``: matches every value, null included."""


@dataclass(eq=False)
class CompareTest(Node):
    op: str  # < <= > >= = !=
    operand: Node


@dataclass(eq=False)
class IntervalTest(Node):
    interval: Interval


@dataclass(eq=False)
class EqualsTest(Node):
    operand: Node


@dataclass(eq=False)
class PredicateTest(Node):
    """A boolean expression over ``?`` (the tested value)."""

    predicate: Node


@dataclass(eq=False)
class NotTest(Node):
    tests: list[Node]


@dataclass(eq=False)
class AnyOfTests(Node):
    tests: list[Node]


def _children(node: Node) -> list[Node]:
    found: list[Node] = []
    for value in vars(node).values():
        if isinstance(value, Node) and value is not node:
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, Node))
    return found


def children(node: Node) -> list[Node]:
    """The nodes directly under ``node``."""
    return _children(node)


def walk(node: Node) -> list[Node]:
    """Every node of a tree, parents before children."""
    out: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(_children(current))
    return out


def height(node: Node) -> int:
    """How many nodes the longest path from ``node`` down holds (without recursion: the tree may be deep)."""
    best = 0
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        best = max(best, depth)
        stack.extend((child, depth + 1) for child in _children(current))
    return best
