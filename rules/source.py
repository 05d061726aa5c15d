"""Reading YAML as written, keeping where every key and value stands in the file.

PyYAML's ``safe_load`` loses positions and turns ``0.1`` into a binary float; we compose
the node graph ourselves instead. Reals become ``Decimal`` from their source text, dates
become ``datetime.date``, and every mapping key and value gets a ``Position``.

A syntax error does not end the read: the offending line is masked and the document is
composed again, so that one run reports every mistake in a pack (up to a bound).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.errors import Diagnostic, Position

PathKey = tuple[str | int, ...]

_MAX_RECOVERIES = 20
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class SourceDoc:
    """A YAML document as plain data plus the positions of its parts."""

    path: str
    data: Any
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)
    quoted: set[PathKey] = field(default_factory=set)  # scalars written in quotes
    diagnostics: list[Diagnostic] = field(default_factory=list)
    masked_lines: list[int] = field(default_factory=list)  # 1-based lines blanked to recover from syntax errors

    @property
    def recovered(self) -> bool:
        return bool(self.masked_lines)

    def near_masked(self, line: int) -> bool:
        """Whether ``line`` is likely a consequence of a masked line: the next few lines, or the key just above
        whose block it was (a tab-indented entry leaves its parent mapping empty)."""
        return any(-1 <= line - masked <= 3 for masked in self.masked_lines)

    def text_position(self, path: PathKey, offset: int, text: str) -> Position:
        """Where character ``offset`` of the string scalar at ``path`` stands in the file."""
        base = self.position(path)
        before = text[:offset]
        newlines = before.count("\n")
        if newlines:  # a block scalar: its later lines share the first one's indent
            return Position(base.line + newlines, base.col + len(before) - before.rfind("\n") - 1)
        return Position(base.line, base.col + offset + (1 if path in self.quoted else 0))

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """Where ``path`` stands; falls back to the nearest enclosing element."""
        table = self.keys if key else self.values
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), Position(1, 1))


_MAX_NODES = 200_000  # anchors can multiply a small file ("billion laughs"); stop well before
MAX_NESTING = 64  # a pack is a handful of levels deep; hundreds of "[[[" only exhaust the stack
MAX_DIGITS = 34  # significant digits of a number literal: what the decimal context holds
MAX_EXPONENT = 999  # |exponent| of a number literal: 1.0e+999999999 as a bound would freeze every worker


class _Converter:
    def __init__(self, doc: SourceDoc, lines: list[str] | None = None) -> None:
        self.doc = doc
        self.lines = lines or []
        self._constructor = SafeConstructor()
        self._open: set[int] = set()  # nodes on the current path: an alias back to one is a cycle
        self._count = 0

    def _pos(self, node: Node) -> Position:
        return Position(node.start_mark.line + 1, node.start_mark.column + 1)

    def _error(self, node: Node, code: str, message: str) -> None:
        self.doc.diagnostics.append(Diagnostic(self.doc.path, self._pos(node), code, message))

    def convert(self, node: Node, path: PathKey) -> Any:
        if len(path) > MAX_NESTING:
            self._error(node, "yaml-too-deep", f"values nest more than {MAX_NESTING} levels deep")
            return None
        self._count += 1
        if self._count > _MAX_NODES:
            if self._count == _MAX_NODES + 1:
                self._error(node, "yaml-too-large", f"the document expands to more than {_MAX_NODES} values")
            return None
        if id(node) in self._open:
            self._error(node, "yaml-alias", "an alias refers to a node that contains it")
            return None
        self.doc.values[path] = self._pos(node)
        if isinstance(node, (MappingNode, SequenceNode)):
            if node.tag not in _COLLECTION_TAGS:  # "!!python/object/apply:os.system [...]" is data, and refused
                self._error(node, "yaml-tag", f"tag {node.tag!r} is not allowed in a pack")
                return None
            self._open.add(id(node))
            try:
                return self._collection(node, path)
            finally:
                self._open.discard(id(node))
        assert isinstance(node, ScalarNode)
        if node.style in ("'", '"'):
            self.doc.quoted.add(path)
        elif node.style in ("|", ">"):
            self.doc.values[path] = _block_content(node, self.lines) or self.doc.values[path]
        return self._scalar(node)

    def _collection(self, node: Node, path: PathKey) -> Any:
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            merged: list[Any] = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:  # "<<: *base": keys of base that this mapping does not set
                    value = self.convert(value_node, path)
                    merged.extend(value if isinstance(value, list) else [value])
                    continue
                if not isinstance(key_node, ScalarNode):
                    self._error(key_node, "yaml-key", "mapping keys must be plain scalars")
                    continue
                key = key_node.value
                if key in out:
                    self._error(key_node, "yaml-duplicate-key", f"key {key!r} appears twice in this mapping")
                    continue
                self.doc.keys[(*path, key)] = self._pos(key_node)
                out[key] = self.convert(value_node, (*path, key))
            for base in merged:
                if not isinstance(base, dict):
                    self._error(node, "yaml-merge", "'<<' merges a mapping or a list of mappings")
                    continue
                for key, value in base.items():
                    out.setdefault(key, value)
            return out
        return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]

    def _scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR_TAG:
            return node.value
        if tag == _NULL_TAG:
            return None
        if tag == _INT_TAG and sum(c.isdigit() for c in node.value) > MAX_DIGITS:
            self._error(node, "yaml-number", f"an integer literal has more than {MAX_DIGITS} digits")
            return None
        if tag in (_INT_TAG, _BOOL_TAG):
            return self._constructor.construct_object(node)
        if tag == _FLOAT_TAG:
            text = node.value.replace("_", "")
            try:
                value = Decimal(text)
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite():
                self._error(node, "yaml-number", f"{node.value[:40]!r} is not a finite decimal number")
                return None
            if len(value.as_tuple().digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_EXPONENT:
                self._error(node, "yaml-number", f"{node.value[:40]!r} is out of range: at most {MAX_DIGITS} digits "
                                                 f"and an exponent within ±{MAX_EXPONENT}")
                return None
            return value
        if tag == _TIMESTAMP_TAG:
            if _DATE_RE.match(node.value):
                try:
                    return dt.date.fromisoformat(node.value)
                except ValueError:
                    self._error(node, "yaml-date", f"{node.value!r} is not a calendar date")
                    return None
            return node.value
        self._error(node, "yaml-tag", f"tag {tag!r} is not allowed in a pack")
        return None


def _block_content(node: ScalarNode, lines: list[str]) -> Position | None:
    """Where a block scalar's text starts (the line after its '|' or '>', at its indent), not the indicator."""
    after = node.start_mark.line + 1  # 0-based: the line after the indicator
    if after >= len(lines):
        return None
    text = lines[after]
    return Position(after + 1, len(text) - len(text.lstrip(" ")) + 1)


def _mark_position(error: yaml.MarkedYAMLError) -> Position:
    # "found unexpected end of stream" points past the file; where the construct opened is
    # what the author needs to see.
    at_end = "end of stream" in (error.problem or "")
    mark = (error.context_mark if at_end else None) or error.problem_mark or error.context_mark
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


def _unclosed(error: yaml.MarkedYAMLError) -> Position | None:
    """Where a flow mapping or sequence opened, when the parser met the next line before its end."""
    context, opened, found = error.context or "", error.context_mark, error.problem_mark
    if not context.startswith("while parsing a flow") or opened is None or found is None or found.line <= opened.line:
        return None
    return Position(opened.line + 1, opened.column + 1)


def _describe(error: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (error.context, error.problem) if p]
    return "; ".join(parts) if parts else "invalid YAML"


_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    """Compose with libyaml when PyYAML was built with it, about 10x faster than pure Python.

    Both give the same nodes and marks; on an error the pure-Python composer runs again
    because its messages name the offending character or token, which libyaml's do not.
    """
    try:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            return yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:  # the pure-Python scanner and composer recurse once per level of nesting
        raise yaml.YAMLError(f"values nest more than {MAX_NESTING} levels deep") from None


def top_level_scalar(text: str, key: str) -> str | None:
    """The text of a top-level ``key: scalar``, or None; raises ``yaml.YAMLError`` on broken YAML."""
    if _flow_depth_beyond(text, MAX_NESTING) is not None:
        raise yaml.YAMLError(f"values nest more than {MAX_NESTING} levels deep")
    node = _compose(text)
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.ScalarNode):
            return str(v.value)
    return None


def _flow_depth_beyond(text: str, limit: int) -> Position | None:
    """Where ``[`` and ``{`` first open more than ``limit`` levels deep, if they do (quotes are not parsed: a
    string would need ``limit`` unclosed brackets to be mistaken). A line that starts with ``#`` is skipped: it is
    a comment or a quoted string's text, and neither nests (an importer's refusal comment may quote ``[1..10)``)."""
    depth = 0
    line, col = 1, 0
    skipping, blank = False, True
    for char in text:
        col += 1
        if char == "\n":
            line, col, skipping, blank = line + 1, 0, False, True
        elif skipping or (blank and char in " \t"):
            continue
        elif blank and char == "#":
            skipping = True
        else:
            blank = False
            if char in "[{":
                depth += 1
                if depth > limit:
                    return Position(line, col)
            elif char in "]}":
                depth = max(0, depth - 1)
    return None


def read_yaml(text: str, path: str) -> SourceDoc:
    """Compose ``text`` into a ``SourceDoc``; syntax errors become diagnostics."""
    doc = SourceDoc(path=path, data=None)
    too_deep = _flow_depth_beyond(text, MAX_NESTING)
    if too_deep is not None:  # refused before composing: the composers' recursion costs seconds per attempt
        doc.diagnostics.append(Diagnostic(path, too_deep, "yaml-too-deep", f"values nest more than {MAX_NESTING} levels deep"))
        return doc
    lines = text.split("\n")
    masked: set[int] = set()
    quiet: set[int] = set()
    for _ in range(_MAX_RECOVERIES):
        try:
            node = _compose("\n".join(lines))
        except yaml.MarkedYAMLError as exc:
            position = _mark_position(exc)
            message = _describe(exc)
            candidates = [position.line - 1]
            opened = _unclosed(exc)
            if opened is not None:  # a '{' or '[' left open: the line that opened it is the mistake
                message = (f"this {'{' if 'mapping' in (exc.context or '') else '['} is never closed "
                           f"(line {position.line}, col {position.col}: {exc.problem})")
                quiet.update(range(opened.line, position.line + 1))  # what masking its line breaks is no new mistake
                position = opened
                candidates = [opened.line - 1]
            elif position.line in quiet:
                message = ""
            if message:
                doc.diagnostics.append(Diagnostic(path, position, "yaml-syntax", message))
            if exc.context_mark is not None:
                candidates.append(exc.context_mark.line)
            line = next((c for c in candidates if 0 <= c < len(lines) and c not in masked), None)
            if line is None:
                return doc
            masked.add(line)
            lines[line] = ""
            doc.masked_lines.append(line + 1)
            continue
        except RecursionError:  # the pure-Python composer recurses once per level of nesting
            doc.diagnostics.append(Diagnostic(path, Position(1, 1), "yaml-too-deep",
                                              f"values nest more than {MAX_NESTING} levels deep"))
            return doc
        except yaml.YAMLError as exc:  # errors without a mark: nothing to recover from
            doc.diagnostics.append(Diagnostic(path, Position(1, 1), "yaml-syntax", str(exc)))
            return doc
        if node is None:
            doc.data = None
            return doc
        doc.data = _Converter(doc, lines).convert(node, ())
        _dedupe_syntax(doc)
        return doc
    return doc


def _dedupe_syntax(doc: SourceDoc) -> None:
    seen: set[tuple[int, str]] = set()
    kept = []
    for d in doc.diagnostics:
        if d.code == "yaml-syntax":
            if (d.position.line, d.code) in seen:
                continue
            seen.add((d.position.line, d.code))
        kept.append(d)
    doc.diagnostics = kept
