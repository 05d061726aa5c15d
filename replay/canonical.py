"""The canonical order's fields a pack version does not declare: dropped for that version, and counted.

The canonical order (schemas/order.schema.json) grows with the newest order flow; an older
version refuses a field it does not know. A replay of enriched orders through the policy of
then decides each order on the fields that version declares and names, per version, every
canonical field it decided without (``Tally.dropped``); a field outside the canonical order is
still refused.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from engine import jsonio
from engine.compiled import CompiledPack
from rules.ir import FieldShape

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "order.schema.json"


class Stripped(dict[str, Any]):
    """A validated order that a version decided without the canonical fields named in ``dropped``."""

    __slots__ = ("dropped",)

    def __init__(self, values: dict[str, Any], dropped: list[str]) -> None:
        super().__init__(values)
        self.dropped = dropped


@functools.cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = jsonio.loads(SCHEMA.read_bytes())
    return loaded


def _missing(schema: dict[str, Any], declared: dict[str, FieldShape]) -> list[tuple[str, ...]]:
    """Paths (keys, "[]" for a list's elements) of schema fields that ``declared`` lacks, at any depth."""
    out: list[tuple[str, ...]] = []
    for name, node in schema.get("properties", {}).items():
        shape = declared.get(name)
        if shape is None:
            out.append((name,))
            continue
        if shape.fields is not None:
            out += [(name, *rest) for rest in _missing(node, shape.fields)]
        elif shape.items is not None and isinstance(node.get("items"), dict):
            out += [(name, "[]", *rest) for rest in _missing(node["items"], shape.items)]
    return out


@functools.cache
def undeclared(pack: CompiledPack) -> tuple[tuple[str, ...], ...]:
    """The canonical fields this version does not declare; none for a pack whose input is not the canonical order."""
    if pack.ir.kind != "flow" or pack.ir.name != "order":
        return ()
    return tuple(_missing(_schema(), {f.name: f.spec for f in pack.ir.inputs}))


def _drop(value: Any, path: tuple[str, ...]) -> tuple[Any, bool]:
    """``value`` without ``path`` (copied where it changes), and whether anything was there to drop."""
    if path[0] == "[]":
        if not isinstance(value, list):
            return value, False
        pairs = [_drop(v, path[1:]) for v in value]
        return ([v for v, _ in pairs], True) if any(hit for _, hit in pairs) else (value, False)
    if not isinstance(value, dict) or path[0] not in value:
        return value, False
    if len(path) == 1:
        return {k: v for k, v in value.items() if k != path[0]}, True
    inner, hit = _drop(value[path[0]], path[1:])
    return ({**value, path[0]: inner}, True) if hit else (value, False)


def strip(pack: CompiledPack, value: Any) -> tuple[Any, list[str]]:
    """``value`` without the canonical fields ``pack`` does not declare, and their names (lines[].product_group)."""
    dropped: list[str] = []
    for path in undeclared(pack):
        value, hit = _drop(value, path)
        if hit:
            dropped.append(".".join(path).replace(".[]", "[]"))
    return value, dropped
