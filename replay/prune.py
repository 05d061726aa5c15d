"""Pruning the outcome cache (``simulate.py cache prune DIR``): the folders not used lately go.

The cache keeps one folder a side (``DIR/<side digest>``) and one a step version
(``DIR/steps/<pack>-<version>-<digest>``); a new candidate, pack edit or upgrade of the
deciding code starts new ones, so the old stay until pruned. A run touches each part it
reads or writes, so a folder's last use is its newest part's modification time. Only
folders named as the cache names them are looked at; anything else in DIR is left alone.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from replay.errors import BadInput

_SIDE = re.compile(r"[0-9a-f]{32}")
_STEP = re.compile(r"(?P<pack>.+)-[^-]+-[0-9a-f]{16}")
STAGING_HOURS = 24  # a part's staging file this old was left by a run that died while writing it


@dataclass(frozen=True)
class Folder:
    path: Path
    group: str  # folders compete for --keep-latest within a group: the sides, or one step pack's versions
    used: float  # the newest part's modification time (seconds since the epoch)
    size: int  # bytes


def folders(cache: Path) -> list[Folder]:
    """The cache's folders, each with its last use and size; a DIR that is no folder is bad input."""
    if not cache.is_dir():
        raise BadInput(f"{cache}: no such cache folder")
    # a link is never the cache's own: removing what it points to could reach outside DIR
    found = [_folder(p, "sides") for p in cache.iterdir() if _own(p) and _SIDE.fullmatch(p.name)]
    steps = cache / "steps"
    if _own(steps):
        found += [_folder(p, f"steps/{m['pack']}") for p in steps.iterdir() if _own(p) and (m := _STEP.fullmatch(p.name))]
    return found


def _own(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _folder(path: Path, group: str) -> Folder:
    stats = [p.stat() for p in path.glob("part-*.parquet")]
    return Folder(path, group, max((s.st_mtime for s in stats), default=path.stat().st_mtime), sum(s.st_size for s in stats))


def stale(found: list[Folder], keep_days: float | None, keep_latest: int | None, now: float) -> list[Folder]:
    """The folders to remove: those neither used within ``keep_days`` nor among the ``keep_latest`` last used of their group."""
    if keep_days is None and keep_latest is None:
        raise BadInput("cache prune needs --keep-days N or --keep-latest K (or both: a folder either keeps stays)")
    if keep_days is not None and not (math.isfinite(keep_days) and keep_days >= 0):
        raise BadInput(f"--keep-days takes a number of days, 0 or more, not {keep_days}")
    if keep_latest is not None and keep_latest < 1:
        raise BadInput("--keep-latest takes 1 or more: 0 would remove every folder, a running replay's too")
    kept: set[Path] = set()
    if keep_days is not None:
        kept |= {f.path for f in found if now - f.used <= keep_days * 86400}
    if keep_latest is not None:
        for group in {f.group for f in found}:
            latest = sorted((f for f in found if f.group == group), key=lambda f: (f.used, f.path.name), reverse=True)
            kept |= {f.path for f in latest[:keep_latest]}
    return sorted((f for f in found if f.path not in kept), key=lambda f: f.path)


def prune(cache: Path, keep_days: float | None, keep_latest: int | None,
          dry_run: bool = False) -> tuple[list[Folder], list[tuple[Folder, str]]]:
    """Remove the stale folders (and staging files a dead run left).

    The folders removed (or that would be, with ``dry_run``), and those that could not be, with why.
    """
    now = time.time()
    found = folders(cache)
    gone = stale(found, keep_days, keep_latest, now)
    failed: list[tuple[Folder, str]] = []
    if not dry_run:
        for folder in gone:
            try:
                shutil.rmtree(folder.path)
            except OSError as exc:
                failed.append((folder, exc.strerror or str(exc)))
        for staging in (s for f in found if f not in gone for s in f.path.glob("*.tmp")):
            if now - staging.stat().st_mtime > STAGING_HOURS * 3600:
                staging.unlink(missing_ok=True)
    return [f for f in gone if f not in {g for g, _ in failed}], failed
