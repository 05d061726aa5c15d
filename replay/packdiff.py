"""A semantic diff of two versions of one pack, in the pack's own terms, as separable edits.

Each ``Edit`` is one thing a pack author changed: a derive, a table (rows added, removed or
changed cell by cell), a data set (rows by key), an output, an input, a flow step, the
effective window. ``apply_edit`` builds the baseline's document with that one edit taken
from the candidate: replaying it tells which edit an order's change comes from.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from rules.ir import PackIR

Path_ = tuple[str, ...]

# the sections whose entries are named by key (mappings) or by id (lists of objects)
_NAMED = ("inputs", "data", "derive", "rollup", "outputs")
_BY_ID = ("tables", "steps")
_SECTION_PARTS = ("derive", "after")


@dataclass(frozen=True)
class Edit:
    pack: str
    path: Path_  # where it is in the document, e.g. ("for_each", "priced_lines", "after", "floor_price")
    kind: str  # derive, table, data, output, input, step, rollup, section, window, invariant
    change: str  # added, removed, changed
    details: tuple[str, ...] = field(default=())
    values: str = ""  # a parameter's value, old -> new: it is the edit's name, as an author says it

    @property
    def name(self) -> str:
        """The edit as a pack author names it: ``pricing: derive floor_price (priced_lines, after)``, ``pricing: param margin_floor 10 -> 15``."""
        where = ""
        if self.path[0] == "for_each" and len(self.path) > 3:
            where = f" ({self.path[1]}, {self.path[2] if self.path[2] != 'tables' else 'line-level'})"
        if self.kind in ("window", "invariant"):
            return f"{self.pack}: {'effective window' if self.kind == 'window' else 'invariants'}"
        return f"{self.pack}: {self.kind} {self.path[-1]}{where}" + (f" {self.values}" if self.values else "")

    @property
    def separable(self) -> bool:
        """Whether replaying this edit alone means anything (a window changes which version runs, not how)."""
        return self.kind not in ("window", "invariant")


def text(value: Any) -> str:
    """A value as the pack author wrote it, in one line of YAML flow style."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | Decimal | dt.date):
        return str(value)
    if isinstance(value, float):
        return str(Decimal(str(value)))
    return yaml.dump(_plain(value), Dumper=_Dumper, default_flow_style=True, width=10_000, sort_keys=False).strip()


def _named(items: Any) -> dict[str, Any]:
    if isinstance(items, dict):
        return dict(items)
    if isinstance(items, list):
        return {str(i.get("id", n)) if isinstance(i, dict) else str(n): i for n, i in enumerate(items)}
    return {}


def _rows_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """A table's rows, by id: added, removed, moved, changed cell by cell."""
    out = [f"{k}: {text(v)} -> {text(b.get(k))}" for k, v in a.items() if k != "rows" and v != b.get(k)]
    out += [f"{k}: (none) -> {text(v)}" for k, v in b.items() if k != "rows" and k not in a]
    rows_a, rows_b = _named(a.get("rows", [])), _named(b.get("rows", []))
    for rid, row in rows_b.items():
        if rid not in rows_a:
            before = list(rows_b)[list(rows_b).index(rid) + 1] if list(rows_b).index(rid) + 1 < len(rows_b) else None
            where = f" before {before}" if before else " at the end"
            out.append(f"row {rid} added{where}: {text({k: v for k, v in row.items() if k != 'id'})}")
    for rid in rows_a:
        if rid not in rows_b:
            out.append(f"row {rid} removed: {text({k: v for k, v in rows_a[rid].items() if k != 'id'})}")
    for rid, row in rows_a.items():
        other = rows_b.get(rid)
        if other is None or other == row:
            continue
        for part in dict.fromkeys([*row, *other]):
            x, y = row.get(part), other.get(part)
            if isinstance(x, dict) or isinstance(y, dict):
                x, y = x or {}, y or {}
                out += [f"row {rid} {part}.{c}: {text(x.get(c)) if c in x else '(any)'} -> {text(y.get(c)) if c in y else '(any)'}"
                        for c in dict.fromkeys([*x, *y]) if x.get(c) != y.get(c)]
            elif x != y:
                out.append(f"row {rid} {part}: {text(x)} -> {text(y)}")
    common_a = [r for r in rows_a if r in rows_b]
    common_b = [r for r in rows_b if r in rows_a]
    if common_a != common_b:
        out.append(f"row order: {' '.join(common_a)} -> {' '.join(common_b)}")
    return out


def _data_diff(name: str, a: PackIR, b: PackIR) -> list[str]:
    da, db = a.data.get(name), b.data.get(name)
    if da is None or db is None:
        return []
    out = []
    if (da.key, da.columns) != (db.key, db.columns):
        out.append(f"columns: {text(da.columns)} key {text(da.key)} -> {text(db.columns)} key {text(db.key)}")

    def keyed(rows: list[dict[str, Any]], key: list[str]) -> dict[str, dict[str, Any]]:
        return {", ".join(str(r.get(k)) for k in key): r for r in rows}

    ra, rb = keyed(da.rows, da.key), keyed(db.rows, db.key)
    out += [f"row [{k}] added: {text(_plain(v))}" for k, v in rb.items() if k not in ra]
    out += [f"row [{k}] removed: {text(_plain(v))}" for k, v in ra.items() if k not in rb]
    for k, row in ra.items():
        other = rb.get(k)
        if other is not None and _plain(other) != _plain(row):
            out += [f"row [{k}] {c}: {text(_plain(row.get(c)))} -> {text(_plain(other.get(c)))}"
                    for c in dict.fromkeys([*row, *other]) if _plain(row.get(c)) != _plain(other.get(c))]
    return out


def _plain(value: Any) -> Any:
    """Data values compared and shown as written (10 and 10.0 are one value, 1.10 shown as 1.10)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _entries(pack: str, kind: str, path: Path_, a: Any, b: Any) -> list[Edit]:
    out = []
    ea, eb = _named(a), _named(b)
    for name in dict.fromkeys([*ea, *eb]):
        x, y = ea.get(name), eb.get(name)
        if x == y:
            continue
        change = "added" if x is None else "removed" if y is None else "changed"
        if kind == "table" and isinstance(x, dict) and isinstance(y, dict):
            details = tuple(_rows_diff(x, y))
        elif change == "changed":
            details = (f"{text(x)} -> {text(y)}",)
        else:
            details = (text(y if x is None else x),)
        out.append(Edit(pack, (*path, name), kind, change, details))
    return out


def _params(pack: str, a: Any, b: Any) -> list[Edit]:
    """Each parameter whose declaration changed is its own edit, named with its value before and after."""
    out = []
    for edit in _entries(pack, "param", ("params",), a, b):
        x, y = (_named(a).get(edit.path[-1]), _named(b).get(edit.path[-1]))
        value = {k: text(_plain(d.get("value"))) if isinstance(d, dict) else None for k, d in (("a", x), ("b", y))}
        values = (f"{value['a']} -> {value['b']}" if edit.change == "changed" and value["a"] != value["b"]
                  else f"= {value['b']}" if edit.change == "added" else "")
        rest = [f"{k}: {text(_plain(x.get(k)))} -> {text(_plain(y.get(k)))}" for k in dict.fromkeys([*x, *y])
                if k != "value" and x.get(k) != y.get(k)] if isinstance(x, dict) and isinstance(y, dict) else list(edit.details)
        out.append(Edit(edit.pack, edit.path, edit.kind, edit.change, tuple(rest), values))
    return out


def diff_packs(a: PackIR, b: PackIR) -> list[Edit]:
    """What changed from ``a`` to ``b`` (two versions of one pack), in evaluation order."""
    sa, sb, pack = a.source, b.source, a.name
    edits: list[Edit] = []
    for key in ("effective_from", "effective_to"):
        if sa.get(key) != sb.get(key):
            edits.append(Edit(pack, (key,), "window", "changed", (f"{key}: {text(sa.get(key))} -> {text(sb.get(key))}",)))
    edits += _params(pack, sa.get("params"), sb.get("params"))
    edits += _entries(pack, "input", ("inputs",), sa.get("inputs"), sb.get("inputs"))
    for edit in _entries(pack, "data", ("data",), sa.get("data"), sb.get("data")):
        edits.append(edit)
    # the same declaration, other rows (a CSV file that changed); in declaration order, not a set's (which
    # differs from process to process: the report's order and attribution's order of causes with it)
    for name in [n for n in a.data if n in b.data]:
        if all(e.path != ("data", name) for e in edits) and (rows := _data_diff(name, a, b)):
            edits.append(Edit(pack, ("data", name), "data", "changed", tuple(rows)))
    edits = [e if e.kind != "data" or e.change != "changed" else Edit(e.pack, e.path, e.kind, e.change, tuple(_data_diff(e.path[1], a, b)) or e.details)
             for e in edits]
    edits += _entries(pack, "step", ("steps",), sa.get("steps"), sb.get("steps"))
    edits += _entries(pack, "derive", ("derive",), sa.get("derive"), sb.get("derive"))
    sections_a, sections_b = _named(sa.get("for_each")), _named(sb.get("for_each"))
    for sid in dict.fromkeys([*sections_a, *sections_b]):
        x, y = sections_a.get(sid), sections_b.get(sid)
        if x is None or y is None or x.get("over") != y.get("over"):
            edits.append(Edit(pack, ("for_each", sid), "section", "added" if x is None else "removed" if y is None else "changed"))
            continue
        edits += _entries(pack, "derive", ("for_each", sid, "derive"), x.get("derive"), y.get("derive"))
        edits += _entries(pack, "table", ("for_each", sid, "tables"), x.get("tables"), y.get("tables"))
        edits += _entries(pack, "derive", ("for_each", sid, "after"), x.get("after"), y.get("after"))
        if x.get("keep") != y.get("keep"):
            edits.append(Edit(pack, ("for_each", sid, "keep"), "section", "changed", (f"{text(x.get('keep'))} -> {text(y.get('keep'))}",)))
    edits += _entries(pack, "rollup", ("rollup",), sa.get("rollup"), sb.get("rollup"))
    edits += _entries(pack, "table", ("tables",), sa.get("tables"), sb.get("tables"))
    edits += _entries(pack, "output", ("outputs",), sa.get("outputs"), sb.get("outputs"))
    if sa.get("invariants") != sb.get("invariants"):
        edits.append(Edit(pack, ("invariants",), "invariant", "changed"))
    return edits


def _container(doc: dict[str, Any], path: Path_) -> tuple[Any, str]:
    """The mapping or id-list holding the entry at ``path``, and the entry's name."""
    node: Any = doc
    for part in path[:-1]:
        if isinstance(node, list):
            node = next(i for i in node if isinstance(i, dict) and str(i.get("id")) == part)
        else:
            node = node.setdefault(part, [] if part in _BY_ID or part == "for_each" else {})
    return node, path[-1]


def apply_edit(base: PackIR, cand: PackIR, edit: Edit) -> dict[str, Any]:
    """The baseline's document with ``edit`` taken from the candidate's (entries kept in the candidate's order)."""
    doc = copy.deepcopy(base.source)
    source = copy.deepcopy(cand.source)
    if edit.kind == "data" and edit.path[-1] in cand.data:  # inline the rows: a CSV beside the candidate is not beside the baseline
        data = cand.data[edit.path[-1]]
        declared = dict(source["data"][edit.path[-1]])
        declared.pop("csv", None)
        declared["rows"] = [[_plain(r.get(c)) for c in data.columns] for r in data.rows]
        source["data"][edit.path[-1]] = declared
    target, name = _container(doc, edit.path)
    try:
        theirs, _ = _container(source, edit.path)
    except StopIteration:
        theirs = None
    new = None
    if theirs is not None:
        new = theirs.get(name) if isinstance(theirs, dict) else next((i for i in theirs if str(i.get("id")) == name), None)
    if isinstance(target, dict):
        order = list(theirs) if isinstance(theirs, dict) else list(target)
        merged = {k: (new if k == name else target[k]) for k in order if (k == name and new is not None) or (k in target and k != name)}
        merged.update({k: v for k, v in target.items() if k not in merged and k != name})
        target.clear()
        target.update(merged)
    else:
        ids = [str(i.get("id")) for i in theirs] if isinstance(theirs, list) else [str(i.get("id")) for i in target]
        mine = {str(i.get("id")): i for i in target}
        rebuilt = [(new if i == name else mine[i]) for i in ids if (i == name and new is not None) or (i in mine and i != name)]
        rebuilt += [v for k, v in mine.items() if k not in ids and k != name]
        target[:] = rebuilt
    return doc


class _Dumper(yaml.SafeDumper):
    """Values in the diff's text, as reports have always shown them."""


class _PackDumper(yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper):  # type: ignore[misc]
    """Whole packs, read back only by the loader: libyaml's emitter, 4x faster (a worker writes each attribution variant)."""


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))


_Dumper.add_representer(Decimal, _decimal)
_PackDumper.add_representer(Decimal, _decimal)


def dump(doc: dict[str, Any]) -> str:
    """A pack document back to YAML text the loader reads to the same pack."""
    return yaml.dump(doc, Dumper=_PackDumper, sort_keys=False, allow_unicode=True, width=10_000)


def render(edits: list[Edit], a: PackIR, b: PackIR) -> list[str]:
    """The diff as lines of text, one heading per edit, its details indented."""
    lines = [f"{a.key} -> {b.key}: {len(edits)} change(s)" if edits else f"{a.key} -> {b.key}: no change"]
    for edit in edits:
        lines.append(f"  {edit.change} {edit.name}")
        lines += [f"      {d}" for d in edit.details]
    return lines
