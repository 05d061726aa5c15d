"""The one exception hierarchy of Arbiter.

Every error a user can cause has a stable ``code``. The API maps these classes to HTTP
statuses in one place (``api/problems.py``); nothing else decides a status. Errors only the
HTTP transport can cause (a missing key, a body too large) subclass ``ArbiterError`` in
``api/errors.py``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rules.diagnostics import default_severity


@dataclass(frozen=True, order=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


def did_you_mean(name: str, candidates: list[str]) -> str:
    """A hint naming the candidate closest to a misspelt ``name``, or nothing."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a pack, addressed as ``path:line:col``."""

    path: str
    position: Position
    code: str
    message: str
    severity: str = ""  # "error" or "warning"; by default the code's (rules.diagnostics)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.severity:
            object.__setattr__(self, "severity", default_severity(self.code))

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.position.line, self.position.col, self.code, self.message)

    def __str__(self) -> str:
        return f"{self.path}:{self.position}: {self.code}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.position.line,
            "col": self.position.col,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }
        if self.extra:
            out["extra"] = self.extra
        return out


class ArbiterError(Exception):
    """Base of every error Arbiter raises on purpose."""

    code = "arbiter-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def ordered(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics sorted by file and position, each finding once.

    A YAML anchor used by many tests (``input: *order``) would otherwise report the same
    mistake at the anchor once per alias.
    """
    unique = {(d.sort_key(), d.severity): d for d in reversed(list(diagnostics))}
    return [unique[key] for key in sorted(unique)]


class PackError(ArbiterError):
    """A pack (or a set of packs) failed to load, check or compile."""

    code = "pack-invalid"

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = ordered(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = str(errors[0]) if errors else "no diagnostics"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "diagnostics": [d.as_dict() for d in self.diagnostics],
        }


@dataclass(frozen=True)
class FieldProblem:
    """A problem with one field of a request, addressed by its JSON path."""

    path: tuple[str | int, ...]
    code: str
    message: str

    @property
    def pointer(self) -> str:
        """RFC 6901 JSON pointer of the field."""
        parts = [str(p).replace("~", "~0").replace("/", "~1") for p in self.path]
        return "/" + "/".join(parts) if parts else ""

    def as_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "code": self.code, "message": self.message}


class InputError(ArbiterError):
    """The input of a decision does not match the pack's declared input schema."""

    code = "input-invalid"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.pointer, p.code))
        first = self.problems[0] if self.problems else None
        text = f"{first.pointer or '/'}: {first.message}" if first else "invalid input"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(text + more)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "errors": [p.as_dict() for p in self.problems],
        }


class MalformedRequest(ArbiterError):
    """The request body is not acceptable JSON (syntax, NaN, nesting, size of numbers)."""

    code = "request-malformed"


class UnknownPack(ArbiterError):
    code = "unknown-pack"


class UnknownVersion(ArbiterError):
    code = "unknown-version"


class DecisionError(ArbiterError):
    """A well-formed input for which the pack itself cannot decide.

    These are policy defects surfaced at run time: no row matched in a table whose outputs
    are required, a ``unique`` table with several hits, an ``any`` table whose hits disagree,
    an arithmetic result outside the supported range.
    """

    code = "decision-failed"

    def __init__(self, code: str, message: str, table: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.table = table

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        if self.table is not None:
            out["table"] = self.table
        return out


class FeatureDisabled(ArbiterError):
    code = "disabled"
