"""The typed view of a JDM document: value types, and the input schema a graph's example requests imply.

A graph carries no schema; its embedded test requests are the only typed evidence. ``Schema``
joins their types, records which fields the graph reads, and declares those as pack inputs.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rules.parser import UNSAFE_NAMES

NUMBER, STRING, BOOLEAN, DATE, NULL = "number", "string", "boolean", "date", "null"
MIXED = "mixed"  # the tests give a field values of different types
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RESERVED = {"as_of", "item", "null", "true", "false", "and", "or", "not", "in", "if", "then", "else", "implies", "as",
            *UNSAFE_NAMES, *keyword.kwlist}
CONDITIONS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"}

class Unsupported(Exception):
    pass


@dataclass(frozen=True)
class ListOf:
    item: Any  # a scalar kind or an ObjectOf


@dataclass(frozen=True)
class ObjectOf:
    fields: tuple[tuple[str, Any], ...]

    def get(self, name: str) -> Any:
        return dict(self.fields).get(name)


@dataclass
class Written:
    """A value the graph has written so far: the pack name that holds it."""

    name: str
    type: Any
    section: bool = False  # the list a loop node built: its pack name is a for_each result
    guarded: bool = False  # written behind a switch branch: it may not happen


@dataclass
class Context:
    """What a node sees: the values written before it, and whether the request is passed on."""

    written: dict[str, list[Written]]  # JDM path -> candidates, latest last (guarded branches)
    request: bool
    scope: str = ""  # inputField of a single-mode node: its reads are under this path
    out: str = ""  # outputPath of a single-mode node: its writes go under this path
    item: Any = None  # a loop node: the ObjectOf of one element, whose fields it reads by name


def type_of(value: Any) -> Any:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float, Decimal)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        item: Any = NULL
        for v in value:
            item = join_types(item, type_of(v))
        return ListOf(item)
    if isinstance(value, dict):
        return ObjectOf(tuple((k, type_of(v)) for k, v in value.items()))
    raise Unsupported(f"value {value!r}")


def join_types(a: Any, b: Any) -> Any:
    if a in (NULL, b):
        return b
    if b == NULL:
        return a
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        return ListOf(join_types(a.item, b.item))
    if isinstance(a, ObjectOf) and isinstance(b, ObjectOf):
        merged = dict(a.fields)
        for k, t in b.fields:
            merged[k] = join_types(merged.get(k, NULL), t)
        return ObjectOf(tuple(merged.items()))
    return MIXED


def describe(t: Any) -> str:
    if isinstance(t, ListOf):
        return "a list of " + {NUMBER: "numbers", STRING: "strings", BOOLEAN: "booleans", DATE: "dates"}.get(t.item, "values")
    if isinstance(t, ObjectOf):
        return "an object"
    return {NUMBER: "a number", STRING: "a string", BOOLEAN: "a boolean", DATE: "a date", NULL: "null",
            MIXED: "values of different types"}[t]


def kind_of(t: Any) -> str | None:
    """zen's name for the kind of a value of type ``t`` (what its comparisons and type() go by), or None where unsure.

    None for null and mixed values, and for dates: a date field is text in zen's request and
    a number once read through date(), so its kind depends on where it is read.
    """
    if isinstance(t, ListOf):
        return "array"
    if isinstance(t, ObjectOf):
        return "object"
    return {NUMBER: "number", STRING: "string", BOOLEAN: "bool"}.get(t)


class Schema:
    """The request's fields as seen in the tests, and which of them the graph reads."""

    def __init__(self, examples: list[dict[str, Any]]) -> None:
        self.type: Any = ObjectOf(())
        self.present: dict[str, int] = {}  # path -> in how many examples it is non-null
        for example in examples:
            self.type = join_types(self.type, type_of(example))
            self._count(example, "")
        self.examples = len(examples)
        self.read: dict[str, Any] = {}  # path -> type
        self.dates: set[str] = set()
        self.hints: dict[str, Any] = {}  # path no test gives -> the type the graph compares it with

    def _count(self, value: Any, prefix: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                path = f"{prefix}{k}"
                if v is not None:
                    self.present[path] = self.present.get(path, 0) + 1
                self._count(v, path + ".")

    def lookup(self, path: str) -> Any:
        t = self.type
        for part in path.split("."):
            t = t.get(part) if isinstance(t, ObjectOf) else None
            if t is None:
                return self.hints.get(path)
        return DATE if path in self.dates else t

    def mark_read(self, path: str) -> None:
        self.read[path] = self.lookup(path)

    def fields(self) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        for path in sorted(self.read):
            node = tree
            parts = path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node.setdefault(parts[-1], {})
        return self._specs(tree, "")

    def _specs(self, tree: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, sub in tree.items():
            path = f"{prefix}{name}"
            t = self.lookup(path)
            # an object no test gives but whose fields the graph types (customer.deviceType == 'mobile') is those fields
            spec: dict[str, Any] = (field_spec(t, path) if not sub or not (t is None or isinstance(t, ObjectOf))
                                    else {"type": "object", "fields": self._specs(sub, path + ".")})
            if self.present.get(path, 0) < self.examples:
                spec["optional"] = True
            out[name] = spec
        return out

    def declared(self, fields: dict[str, Any]) -> Any:
        """The declared inputs (``fields()``) as types, dates included."""

        def build(prefix: str, specs: dict[str, Any]) -> Any:
            fields = []
            for name, spec in specs.items():
                path = f"{prefix}{name}"
                fields.append((name, build(path + ".", spec["fields"]) if spec["type"] == "object" else self.lookup(path)))
            return ObjectOf(tuple(fields))

        return build("", fields)


def field_spec(t: Any, what: str) -> dict[str, Any]:
    if isinstance(t, ListOf):
        if isinstance(t.item, ObjectOf):
            return {"type": "list", "items": {k: {**field_spec(v, f"{what}.{k}"), "optional": True} for k, v in t.item.fields}}
        return {"type": "list", "of": _scalar_kind(t.item if t.item != NULL else STRING, what)}
    if isinstance(t, ObjectOf):
        return {"type": "object", "fields": {k: {**field_spec(v, f"{what}.{k}"), "optional": True} for k, v in t.fields}}
    return {"type": _scalar_kind(t, what)}


def _scalar_kind(t: Any, what: str) -> str:
    if t == MIXED:
        raise Unsupported(f"the test inputs give {what} values of different types")
    if t == NULL or t is None:
        raise Unsupported(f"{what} is never given a value in the tests, so its type is unknown")
    return {NUMBER: "decimal", STRING: "string", BOOLEAN: "boolean", DATE: "date"}[t]
