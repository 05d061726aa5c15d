"""Shared vocabularies: the codes packs hand each other, declared once with what each means.

``vocabulary.yaml`` at the root of a packs folder (or above a pack's file) declares, per
vocabulary, the codes it holds and a description of each::

    hold_code:
      description: why credit holds or rejects an order; exception routing routes on it
      codes:
        OVER_LIMIT: Exposure above the credit limit plus the tier's tolerance.

A pack field names one with ``vocabulary: hold_code``; ``engine.codes`` checks every code
such a field sets or tests against the declaration, and the setting end against the
routing end. The file is never a pack (``rules.load.pack_files`` leaves it out).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.errors import Diagnostic, Position
from rules.source import SourceDoc, read_yaml

VOCABULARY_FILE = "vocabulary.yaml"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Vocabulary:
    """One vocabulary: its codes, each with its description, and where each is declared."""

    name: str
    description: str
    codes: dict[str, str]
    path: str
    position: Position
    code_positions: dict[str, Position]

    def where(self, code: str | None = None) -> str:
        position = self.code_positions.get(code, self.position) if code is not None else self.position
        return f"{self.path}:{position}"


@dataclass
class Vocabularies:
    """The vocabularies of one file (none when there is no file), and what was wrong with it."""

    path: str | None
    entries: dict[str, Vocabulary] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def find_file(start: Path, root: Path) -> Path | None:
    """The nearest ``vocabulary.yaml`` at or above ``start``'s folder: up to the packs' ``root``, and above it
    only within the repository holding it (``arbiter check policy_packs/credit`` still finds policy_packs')."""
    folder = (start if start.is_dir() else start.parent).resolve()
    top = (root if root.is_dir() else root.parent).resolve()
    repository = next((c for c in (top, *top.parents) if (c / ".git").exists()), top)
    for candidate in (folder, *folder.parents):
        if (candidate / VOCABULARY_FILE).is_file():  # shown as the packs are: relative when they were given so
            return candidate / VOCABULARY_FILE if start.is_absolute() else Path(os.path.relpath(candidate / VOCABULARY_FILE))
        if candidate in (repository, candidate.parent):
            return None
    return None


def load_vocabularies(path: Path) -> Vocabularies:
    """The file read and validated; every mistake is a ``vocabulary-invalid`` diagnostic at its place."""
    shown = str(path)
    out = Vocabularies(shown)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
        out.diagnostics.append(Diagnostic(shown, Position(1, 1), "vocabulary-invalid", f"cannot read the vocabulary: {reason}"))
        return out
    doc = read_yaml(text, shown)
    out.diagnostics.extend(doc.diagnostics)
    if doc.data is None:
        return out
    if not isinstance(doc.data, dict):
        out.diagnostics.append(_invalid(doc, (), "the vocabulary file maps each vocabulary's name to its description and codes"))
        return out
    for name, body in doc.data.items():
        entry = _entry(doc, str(name), body, out.diagnostics)
        if entry is not None:
            out.entries[entry.name] = entry
    return out


def _entry(doc: SourceDoc, name: str, body: Any, diagnostics: list[Diagnostic]) -> Vocabulary | None:
    if not _NAME.match(name):
        diagnostics.append(_invalid(doc, (name,), f"{name!r} is not a name (letters, digits, '_')", key=True))
        return None
    if not isinstance(body, dict) or not isinstance(body.get("codes"), dict) or not body["codes"]:
        diagnostics.append(_invalid(doc, (name,), f"vocabulary {name!r} needs 'codes': a mapping of each code to its description", key=True))
        return None
    for extra in sorted(set(body) - {"description", "codes"}, key=str):
        diagnostics.append(_invalid(doc, (name, extra), f"unknown field {extra!r} (a vocabulary has 'description' and 'codes')", key=True))
    if not isinstance(body.get("description"), str) or not body["description"].strip():
        diagnostics.append(_invalid(doc, (name,), f"vocabulary {name!r} needs a 'description'", key=True))
    codes: dict[str, str] = {}
    for code, meaning in body["codes"].items():
        if not isinstance(code, str) or not code:
            diagnostics.append(_invalid(doc, (name, "codes", code), f"a code is text, not {code!r}", key=True))
        elif not isinstance(meaning, str) or not meaning.strip():
            diagnostics.append(_invalid(doc, (name, "codes", code), f"code {code!r} needs a description of what it means", key=True))
        else:
            codes[code] = meaning
    return Vocabulary(name, str(body.get("description") or ""), codes, doc.path, doc.position((name,), key=True),
                      {code: doc.position((name, "codes", code), key=True) for code in codes})


def _invalid(doc: SourceDoc, path: tuple[Any, ...], message: str, *, key: bool = False) -> Diagnostic:
    return Diagnostic(doc.path, doc.position(path, key=key), "vocabulary-invalid", message)
