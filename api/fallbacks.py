"""Declared fallbacks: the safe answer a pack names for a failure, given with its cause instead of a refusal.

A pack may declare, for example::

    fallbacks:
      - on: [invalid_input, evaluation_error]
        output: {decision: hold, hold_code: MANUAL_REVIEW}
        reason: Could not decide automatically; held for review.

The API then answers such a failure 200 with that output, ``matched: {}``, the reason and
``fallback: {cause, problem}`` (the problem it would otherwise have answered). Without a
declaration nothing changes. Docs: docs/packs.md (Fallbacks).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from api import problems
from engine.compiled import CompiledPack, Decision
from rules.errors import ArbiterError, DecisionError, InputError


def causes_of(exc: ArbiterError) -> list[str]:
    """The failure names ``exc`` answers to, most specific first."""
    if isinstance(exc, InputError):
        if exc.problems and all(p.code == "missing" for p in exc.problems):
            return ["missing_input", "invalid_input"]
        return ["invalid_input"]
    if isinstance(exc, DecisionError):
        return ["evaluation_error"]
    return []


def fallback_decision(pack: CompiledPack | None, day: dt.date | None,
                      exc: ArbiterError) -> tuple[Decision, dict[str, Any]] | None:
    """The declared fallback's decision and its cause for ``exc``, or None (the failure is refused as before)."""
    if pack is None or day is None or not pack.ir.fallbacks:
        return None
    causes = causes_of(exc)
    for fallback in pack.ir.fallbacks:
        cause = next((c for c in causes if c in fallback.on), None)
        if cause is not None:
            decision = Decision(pack.name, pack.version, pack.digest, day, dict(fallback.output), {},
                                [fallback.reason] if fallback.reason else [])
            return decision, {"cause": cause, "problem": problems.problem_body(exc)}
    return None


def fallback_answer(decision: Decision, cause: dict[str, Any]) -> dict[str, Any]:
    out = decision.as_dict()
    out["fallback"] = cause
    return out
