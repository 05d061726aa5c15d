"""``versions=pricing@2.0.0,credit@1.1.0``: a request pins the versions a flow's steps run.

With it a caller tries "candidate pricing inside today's order flow" through the API; the
decision's ``steps`` says which version each step ran.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from api.errors import VersionsNotApplicable
from engine.compiled import CompiledPack, Decision
from engine.registry import PackSet
from rules.errors import MalformedRequest

_PIN = re.compile(r"([a-z][a-z0-9_]*)@([0-9]+(?:\.[0-9]+)*)")
MAX_PINS = 32


def parse_pins(text: str | None, packs: PackSet) -> dict[str, str]:
    """``pack@version`` pairs, each naming a served pack version (else 400 or 404)."""
    if text is None or not text.strip():
        return {}
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > MAX_PINS:
        raise MalformedRequest(f"versions= names at most {MAX_PINS} packs")
    pins: dict[str, str] = {}
    for part in parts:
        found = _PIN.fullmatch(part)
        if found is None:
            raise MalformedRequest(f"versions={text!r}: {part!r} is not pack@version (e.g. pricing@2.0.0)")
        name, version = found.groups()
        if name in pins:
            raise MalformedRequest(f"versions={text!r} pins {name!r} twice")
        packs.get(name, version)  # UnknownPack / UnknownVersion: a 404 naming what is known
        pins[name] = version
    return pins


def reachable(name: str, packs: PackSet) -> set[str]:
    """The packs a decision of ``name`` can run: itself, and the steps of any served version of it, transitively."""
    found = {name}
    waiting = [name]
    while waiting:
        for version in packs.versions(waiting.pop()):
            for step in version.ir.steps:
                if step.pack not in found:
                    found.add(step.pack)
                    waiting.append(step.pack)
    return found


def check_pins(name: str, pins: dict[str, str], packs: PackSet) -> None:
    """Pins that ``name`` never runs are refused (422), not ignored: a pin on a pack that is not a flow, or not its step."""
    unused = sorted(set(pins) - reachable(name, packs))
    if not unused:
        return
    if not any(version.ir.steps for version in packs.versions(name)):
        raise VersionsNotApplicable(f"versions= pins the steps of a flow, and {name!r} is not a flow "
                                    f"(pin its own version with version=)")
    raise VersionsNotApplicable(f"versions= pins {', '.join(map(repr, unused))}, which no version of the flow "
                                f"{name!r} runs as a step")


class PinnedPacks:
    """A served pack set whose pinned packs always resolve to their pinned version (a flow's steps read it)."""

    steps_unread = True  # nothing but the flow reads its steps' outputs: they build only what it reads (engine.records)

    def __init__(self, packs: PackSet, pins: dict[str, str]) -> None:
        self.packs = packs
        self.pins = pins

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        pinned = self.pins.get(name)
        return self.packs.get(name, pinned if pinned is not None else version, as_of)

    def decide_step(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
                    outputs: Any = None) -> Decision:
        return self.packs.decide_step(pack, values, as_of, trusted, outputs)
