"""Effective-date guard rails: versions that can never run, and versions new in a change that start in the past.

A pack set chooses, on each date, the newest version (by semver) effective on it
(``PackSet.get``). So a version whose whole window is covered by newer versions' windows
never runs again: a pricing 2.1.0 effective from before 2.0.0 shadows 2.0.0 for ever.

A version is *new in this change* when no file at the git base declares that pack and
version (``arbiter check --base REF``). An ``effective_from`` before today on such a
version rewrites decisions already made: a warning, so the author confirms it is meant.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from engine.compiled import CompiledPack
from engine.registry import PackSet
from rules.errors import Diagnostic, Position, UnknownPack, UnknownVersion

FIRST_DAY, LAST_DAY = dt.date.min, dt.date.max
Window = tuple[dt.date, dt.date]  # [start, end): dates on which a version is effective


CALENDAR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def calendar_date(text: str) -> dt.date:
    """A business date written YYYY-MM-DD (the API's ``as_of``, the CLIs' ``--as-of``), else ValueError.

    The calendar form only: ``date.fromisoformat`` also reads 20260601 and week dates (2026-W23-1).
    """
    if CALENDAR_DATE.fullmatch(text) is None:
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def window(pack: CompiledPack) -> Window:
    return (pack.ir.effective_from or FIRST_DAY, pack.ir.effective_to or LAST_DAY)


def subtract(spans: list[Window], cut: Window) -> list[Window]:
    """The dates of ``spans`` outside ``cut``."""
    out = []
    for start, end in spans:
        if cut[1] <= start or end <= cut[0]:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def describe(span: Window) -> str:
    start = "the beginning" if span[0] == FIRST_DAY else span[0].isoformat()
    end = "for ever" if span[1] == LAST_DAY else f"until {span[1].isoformat()}"
    return f"from {start} {end}"


def field_position(path: str, field: str) -> Position:
    """Where a top-level ``field:`` stands in a pack file (line 1 when it is not written)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return Position(1, 1)
    pattern = re.compile(rf"^{re.escape(field)}\s*:")
    return next((Position(i + 1, 1) for i, line in enumerate(lines) if pattern.match(line)), Position(1, 1))


def never_running(pack_set: PackSet) -> list[Diagnostic]:
    """Versions whose every effective date belongs to a newer version."""
    out = []
    for name in pack_set.names():
        versions = pack_set.versions(name)
        for i, pack in enumerate(versions):
            start, end = window(pack)
            if end <= start:
                continue  # an empty window is the checker's empty-window error
            spans = [(start, end)]
            for newer in versions[i + 1:]:
                spans = subtract(spans, window(newer))
            if spans:
                continue
            takers = [p.version for p in versions[i + 1:] if subtract([(start, end)], window(p)) != [(start, end)]]
            out.append(Diagnostic(pack.ir.path, field_position(pack.ir.path, "effective_from"), "version-never-runs",
                                  f"{pack.key} can never run: on every date of its window a newer version is chosen "
                                  f"({', '.join(takers)}); a newer version's effective_from earlier than this one's shadows it"))
    return out


def window_gaps(pack_set: PackSet) -> list[Diagnostic]:
    """Dates between a pack's versions on which none is effective: a decision there is refused (unknown-version)."""
    out = []
    for name in pack_set.names():
        versions = pack_set.versions(name)
        for pack in versions:
            end = window(pack)[1]
            if end == LAST_DAY or any(window(p)[0] <= end < window(p)[1] for p in versions):
                continue
            later = [window(p)[0] for p in versions if window(p)[0] > end]
            if not later:
                continue  # the pack is retired from here: no version after it
            resumes = min(later)
            out.append(Diagnostic(pack.ir.path, field_position(pack.ir.path, "effective_to"), "version-gap",
                                  f"no version of {name!r} is effective from {end.isoformat()} until {resumes.isoformat()}: "
                                  f"{pack.key} ends there (effective_to is its first day without it) and the next version "
                                  "starts later, so every decision on those dates is refused"))
    return out


def pins_outside_window(pack_set: PackSet) -> list[Diagnostic]:
    """Flow steps pinned to a version on dates outside its window: the flow runs it before it takes effect or after it ends."""
    out = []
    for flow in pack_set:
        for step in flow.ir.steps:
            if step.version is None:
                continue
            try:
                pinned = pack_set.get(step.pack, step.version)
            except (UnknownPack, UnknownVersion):
                continue  # an unknown pin is the flow's own error
            outside = subtract([window(flow)], window(pinned))
            if outside:
                out.append(Diagnostic(flow.ir.path, flow.ir.positions.get(f"steps.{step.id}.version", Position(1, 1)),
                                      "pin-outside-window",
                                      f"step {step.id!r} pins {pinned.key}, effective {describe(window(pinned))}, but "
                                      f"{flow.key} runs it {describe(outside[0])}: a version not in force decides there"))
    return out


def base_ref(root: Path, given: str | None) -> str | None:
    """The git revision new versions are judged against.

    ``--base REF`` when given; else the merge base of HEAD with origin/main (or main, master):
    on a branch that is where the change began; on main itself the merge base is HEAD, so only
    versions not yet committed count as new. None outside a git work tree.
    """
    if given is not None:
        return given
    for candidate in ("origin/main", "origin/master", "main", "master"):
        found = _git(root, "merge-base", "HEAD", candidate)
        if found:
            return found.strip()
    return None


def _git(root: Path, *args: str) -> str | None:
    folder = root if root.is_dir() else root.parent
    git = shutil.which("git")
    if git is None:
        return None
    try:  # fixed git subcommands on a revision the user named, no shell
        done = subprocess.run([git, *args], cwd=folder, capture_output=True, text=True, timeout=20, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def known_at(root: Path, ref: str) -> set[tuple[str, str]] | None:
    """(pack, version) of every pack file below ``root`` at git revision ``ref``; None if git cannot tell."""
    folder = root if root.is_dir() else root.parent
    listing = _git(folder, "ls-tree", "-r", "--name-only", ref, "--", ".")  # paths relative to the folder
    if listing is None:
        return None
    out = set()
    for relative in listing.splitlines():
        text = _git(folder, "show", f"{ref}:./{relative}") if relative.endswith(".yaml") else None
        if text is None:
            continue
        name, version = re.search(r"^pack:\s*(\S+)", text, re.M), re.search(r"^version:\s*(\S+)", text, re.M)
        if name and version:
            out.add((name.group(1).strip("'\""), version.group(1).strip("'\"")))
    return out


def retroactive(packs: Iterable[CompiledPack], known: set[tuple[str, str]], today: dt.date) -> list[Diagnostic]:
    """New versions whose effective_from is already past."""
    out = []
    for pack in packs:
        start = pack.ir.effective_from
        if (pack.name, pack.version) in known or start is None or start >= today:
            continue
        out.append(Diagnostic(pack.ir.path, field_position(pack.ir.path, "effective_from"), "retroactive-effective-date",
                              f"{pack.key} is new in this change but effective from {start.isoformat()}, before today "
                              f"({today.isoformat()}): decisions already made on those dates would now differ",
                              "warning"))
    return out
