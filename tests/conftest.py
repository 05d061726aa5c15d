"""Shared paths and helpers for the test suite."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from engine import jsonio

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("ARBITER_SHARED_DATA", ROOT.parent / "shared" / "data"))
PACKS = ROOT / "policy_packs"


def shared(*parts: str) -> Path:
    """A path under ../shared/data; the suite needs it (CI clones with shared/ beside the repo)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (clone the repository next to shared/)")
    return path


def evaluated_bytes(evaluate: Any, values: dict[str, Any], as_of: dt.date) -> Any:
    """A generated evaluation's output, rows and reasons as bytes, or the name of what it raised: two that must agree."""
    try:
        output, matched, reasons = evaluate(values, as_of)
    except Exception as exc:  # the two must fail alike, whatever the failure
        return type(exc).__name__
    return jsonio.dumps([output, matched, reasons])


def inside_window(pack: Any, day: dt.date) -> dt.date:
    """``day``, or the pack version's first day when ``day`` comes before it: properties decide candidates too."""
    start = pack.ir.effective_from
    return start if start is not None and start > day else day
