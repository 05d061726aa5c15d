"""Shared paths and helpers for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("ARBITER_SHARED_DATA", ROOT.parent / "shared" / "data"))
PACKS = ROOT / "policy_packs"


def shared(*parts: str) -> Path:
    """A path under ../shared/data; the suite needs it (CI clones with shared/ beside the repo)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (clone the repository next to shared/)")
    return path
