"""Loading packs: read -> validate the shape -> check -> IR, with every diagnostic sorted.

``load_pack`` never raises for a bad pack: it returns the diagnostics. Only a programming
error inside Arbiter escapes as an exception.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rules.check import PackChecker, Resolve
from rules.errors import Diagnostic, Position, ordered
from rules.expressions import did_you_mean
from rules.ir import PackIR
from rules.model import PackDocument
from rules.source import SourceDoc, read_yaml, top_level_scalar
from rules.stages import Compilation, Stage, Timings, run_stages
from rules.vocabulary import VOCABULARY_FILE

MAX_PACK_BYTES = 4 * 1024 * 1024


@dataclass
class LoadResult:
    path: str
    pack: PackIR | None
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.pack is not None and not any(d.severity == "error" for d in self.diagnostics)


def canonical_json(value: Any) -> str:
    """Canonical JSON of YAML data: sorted keys, Decimal as exact text, dates as ISO."""

    def convert(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): convert(x) for k, x in v.items()}
        if isinstance(v, list):
            return [convert(x) for x in v]
        if isinstance(v, Decimal):
            return {"$decimal": str(v)}
        if isinstance(v, dt.date):
            return {"$date": v.isoformat()}
        return v

    return json.dumps(convert(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _shape_diagnostics(doc: SourceDoc, exc: ValidationError) -> list[Diagnostic]:
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        kind = error["type"]
        if kind == "extra_forbidden":
            name = str(loc[-1])
            allowed = _allowed_fields(loc[:-1])
            hint = did_you_mean(name, allowed)
            out.append(Diagnostic(doc.path, doc.position(loc, key=True), "unknown-field", f"unknown field {name!r}{hint}"))
        elif kind == "missing":
            out.append(Diagnostic(doc.path, doc.position(loc[:-1]), "missing-field", f"missing required field {loc[-1]!r}"))
        else:
            where = ".".join(str(p) for p in loc)
            out.append(Diagnostic(doc.path, doc.position(loc), "invalid-value", f"{where}: {error['msg']}{_unquoted(error)}"))
    return _dedupe(out)


def _unquoted(error: Any) -> str:
    """Why a text is not one: YAML read an unquoted NO (Norway), on or 1.10 as a boolean or a number."""
    found = error.get("input")
    if error["type"] != "string_type" or not isinstance(found, bool | int | float | Decimal):
        return ""
    shown = ("true" if found else "false") if isinstance(found, bool) else str(found)
    return f" (YAML read it, unquoted, as {shown}: quote it, as in 'NO' or '1.10')"


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    # A union type reports one error per alternative; one per position and code is enough.
    seen: set[tuple[int, int, str]] = set()
    out = []
    for d in diagnostics:
        key = (d.position.line, d.position.col, d.code)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model at ``loc`` in a PackDocument, for did-you-mean."""
    model: Any = PackDocument
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        fields = getattr(model, "model_fields", {})
        if part in fields:
            model = _inner_model(fields[part].annotation)
        else:
            # a dict key (an input name, a table id...): the value model stays the same
            continue
    fields = getattr(model, "model_fields", {}) if model is not None else {}
    return list(fields)


def _inner_model(annotation: Any) -> Any:
    import typing

    stack = [annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            return current
        stack.extend(typing.get_args(current))
    return None


def load_text(text: str, path: str, pack_dir: Path | None = None, resolve: Resolve | None = None,
              timings: Timings | None = None) -> LoadResult:
    """The front end on a pack's text (the read stage only parses it)."""
    compilation = Compilation(path, pack_dir or Path(path).parent, resolve, text=text)
    return _result(run_stages(compilation, FRONT_END, timings))


def _result(c: Compilation) -> LoadResult:
    has_errors = any(d.severity == "error" for d in c.diagnostics)
    return LoadResult(c.path, None if has_errors else c.ir, ordered(c.diagnostics))


# The front end's stages, in order; each says what it must follow.


def _read(c: Compilation) -> None:
    """First: the file's bytes (when reading a file) to YAML with positions, recovering from syntax errors."""
    if c.text is None:
        assert c.raw is not None
        try:
            c.text = c.raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            c.stop("encoding", f"not UTF-8: {exc.reason}")
            return
    c.doc = read_yaml(c.text, c.path)
    c.diagnostics.extend(c.doc.diagnostics)
    if c.doc.data is None:
        if not c.diagnostics:
            c.stop("empty-pack", "the file holds no pack")
        c.stopped = True
    elif not isinstance(c.doc.data, dict):
        c.stop("invalid-value", "a pack is a mapping of fields")


def _shape(c: Compilation) -> None:
    """After read: the document validated against the pack format's models; a broken part is left out, the rest checked."""
    assert c.doc is not None
    try:
        c.model = PackDocument.model_validate(c.doc.data)
    except ValidationError as exc:
        shape = _shape_diagnostics(c.doc, exc)
        if c.doc.recovered:
            # a masked line may have held a required field or broken its block: not new mistakes
            shape = [d for d in shape if d.code != "missing-field" and not c.doc.near_masked(d.position.line)]
        c.diagnostics.extend(shape)
        c.model = _partial_model(c.doc.data, exc)
        c.stopped = c.model is None


def _data(c: Compilation) -> None:
    """After shape (it names the CSV files): each file read once; the checker and the digest share the bytes."""
    assert c.model is not None
    folder = c.pack_dir.resolve()
    for table in c.model.data.values():
        if table.csv is None or table.csv in c.data_files:
            continue
        file = (c.pack_dir / table.csv).resolve()
        if folder not in file.parents:
            continue  # the checker reports it; nothing outside the pack folder is read
        try:
            if not stat.S_ISREG(file.stat().st_mode):  # a FIFO or a device would block the read, and every reload after
                raise OSError(errno.EINVAL, "not a regular file", str(file))
            c.data_files[table.csv] = file.read_bytes()
        except OSError as exc:
            c.data_files[table.csv] = exc


def _check(c: Compilation) -> None:
    """After data (lookups are typed by the data's columns): names and types, every mistake reported."""
    assert c.doc is not None
    assert c.model is not None
    c.checker = PackChecker(c.doc, c.model, c.pack_dir, c.resolve, c.data_files)
    if c.doc.recovered and c.text is not None:  # a name defined on a masked line was reported there, as a syntax error
        lines = c.text.split("\n")
        c.checker.poisoned.update(word for n in c.doc.masked_lines if n <= len(lines)
                                  for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", lines[n - 1]))
    checked = c.checker.check()
    c.diagnostics.extend(c.checker.diagnostics)
    if checked is None:
        c.stopped = True
    else:
        c.checker.checked = checked


def _lower(c: Compilation) -> None:
    """After check (every name resolved, every type known): the PackIR, identified by the digest of what it was built from."""
    assert c.doc is not None
    assert c.model is not None
    assert c.checker is not None
    assert c.checker.checked is not None
    data_sources = "|".join(
        f"{name}:{hashlib.sha256(_bytes(c.data_files.get(table.csv))).hexdigest()}"
        for name, table in sorted(c.model.data.items()) if table.csv is not None)
    digest = hashlib.sha256((canonical_json(c.doc.data) + data_sources).encode()).hexdigest()
    c.ir = c.checker.lower(c.checker.checked, digest)
    c.ir.source = c.doc.data


def _bytes(found: bytes | OSError | None) -> bytes:
    return found if isinstance(found, bytes) else b""


FRONT_END: tuple[Stage, ...] = (
    Stage("read", _read), Stage("shape", _shape), Stage("data", _data), Stage("check", _check), Stage("lower", _lower),
)


def _partial_model(data: dict[str, Any], exc: ValidationError) -> PackDocument | None:
    """Drop the parts that failed shape validation, so the checker can report the rest."""
    pruned = _deep_copy(data)
    doomed: list[tuple[Any, ...]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        if error["type"] == "missing" and len(loc) == 1:
            pruned[loc[0]] = _PLACEHOLDERS.get(str(loc[0]), "")
        elif error["type"] == "missing":
            doomed.append(loc[:-1])
        else:
            doomed.append(loc)
    # deepest and last first, so earlier list indices stay valid while elements are removed
    for loc in sorted(set(doomed), key=lambda p: [(0, x) if isinstance(x, int) else (1, str(x)) for x in p], reverse=True):
        _remove(pruned, list(loc))
    try:
        return PackDocument.model_validate(pruned)
    except ValidationError:
        return None


# Stand-ins for missing top-level fields, so the rest of a pack can still be checked.
_PLACEHOLDERS: dict[str, Any] = {"pack": "unnamed", "version": "0.0.0", "description": "", "owner": "",
                                 "outputs": {"unnamed": {"type": "string", "optional": True}}}


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _remove(data: Any, loc: list[Any]) -> None:
    target = data
    for part in loc[:-1]:
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            return
    if not loc:
        return
    last = loc[-1]
    if isinstance(target, dict):
        target.pop(last, None)
    elif isinstance(target, list) and isinstance(last, int) and 0 <= last < len(target):
        del target[last]


def is_flow(path: Path) -> bool:
    """Whether a file declares ``kind: flow`` (flows are checked after the packs they run)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        return top_level_scalar(text, "kind") == "flow"
    except yaml.YAMLError:  # the recovering reader still finds the kind of a file with a broken line
        data = read_yaml(text, str(path)).data
        return isinstance(data, dict) and data.get("kind") == "flow"


def load_pack(path: Path, resolve: Resolve | None = None, timings: Timings | None = None) -> LoadResult:
    """The front end on a pack file: never raises for a bad pack, returns its diagnostics."""
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return LoadResult(shown, None, [Diagnostic(shown, Position(1, 1), "unreadable", exc.strerror or str(exc))])
    if len(raw) > MAX_PACK_BYTES:
        return LoadResult(shown, None, [Diagnostic(shown, Position(1, 1), "pack-too-large", f"a pack file is at most {MAX_PACK_BYTES} bytes")])
    return _result(run_stages(Compilation(shown, path.parent, resolve, raw=raw), FRONT_END, timings))


def unreadable_folders(root: Path) -> list[Diagnostic]:
    """Folders below ``root`` that cannot be listed: a pack there would silently vanish, so each is an error."""
    found: list[Diagnostic] = []

    def note(exc: OSError) -> None:
        where = exc.filename or str(root)
        found.append(Diagnostic(str(where), Position(1, 1), "unreadable", f"folder cannot be read: {exc.strerror or exc}"))

    if root.is_dir():
        for folder, _, names in os.walk(root, onerror=note):
            for name in names:
                path = Path(folder) / name
                if name.endswith(".yaml") and not name.startswith(".") and not path.is_file():
                    found.append(Diagnostic(str(path), Position(1, 1), "unreadable", "not a regular file"))
    return found


def pack_files(root: Path) -> list[Path]:
    """The pack files below ``root``: ``<pack>/<version>.yaml`` or any ``*.yaml`` file."""
    if root.is_file():
        return [root]
    # hidden files and folders are skipped below the root only: "../policy_packs" is a fine root
    return sorted(p for p in root.rglob("*.yaml")
                  if p.is_file() and p.name != VOCABULARY_FILE  # the shared codes (rules.vocabulary), not a pack
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
