"""The set of compiled packs being served: versions side by side, chosen by pin or by date.

A ``PackSet`` is immutable. Reloading builds a new one and swaps the reference; a set
that has any error is never built, so what is served only changes to something whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.backend import NATIVE, BackendRefused
from engine.backends import BACKENDS
from engine.compiled import CompiledPack, Decision, compile_pack
from engine.demand import Wanted
from rules.check import BrokenPack, FlowPack, Resolve
from rules.errors import Diagnostic, PackError, Position, UnknownPack, UnknownVersion, ordered
from rules.ir import PackIR
from rules.load import LoadResult, is_flow, load_pack, pack_files, unreadable_folders
from rules.source import top_level_scalar
from rules.stages import Timings, timed
from rules.syntax import height, walk


def semver_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class PackSet:
    packs: dict[str, tuple[CompiledPack, ...]]  # versions in ascending order
    root: str

    def names(self) -> list[str]:
        return sorted(self.packs)

    def versions(self, name: str) -> tuple[CompiledPack, ...]:
        if name not in self.packs:
            raise UnknownPack(f"unknown pack {name!r}")
        return self.packs[name]

    def __iter__(self) -> Iterator[CompiledPack]:
        for name in self.names():
            yield from self.packs[name]

    def decide_step(self, pack: CompiledPack, values: dict[str, Any], as_of: dt.date, trusted: frozenset[str],
                    outputs: Wanted = None) -> Decision:
        """How a flow served from this set runs one step (a replay may share steps between two sets)."""
        return pack.decide_step(values, as_of, trusted, outputs)

    def get(self, name: str, version: str | None = None, as_of: dt.date | None = None) -> CompiledPack:
        """The pinned ``version``, else the newest version effective on ``as_of``."""
        versions = self.versions(name)
        if version is not None:
            for pack in versions:
                if pack.version == version:
                    return pack
            known = ", ".join(p.version for p in versions)
            raise UnknownVersion(f"pack {name!r} has no version {version!r} (known: {known})")
        if as_of is None:
            return versions[-1]
        for pack in reversed(versions):
            if pack.effective_on(as_of):
                return pack
        raise UnknownVersion(f"no version of pack {name!r} is effective on {as_of.isoformat()}")


def load_results(root: Path, timings: Timings | None = None) -> list[LoadResult]:
    """Decision packs first; then flows, checked against the newest (or pinned) versions of their steps."""
    paths = pack_files(root)
    flows = [p for p in paths if is_flow(p)]
    results = [load_pack(p, timings=timings) for p in paths if p not in flows]
    decisions: dict[str, list[PackIR]] = {}
    for result in results:
        if result.pack is not None:
            decisions.setdefault(result.pack.name, []).append(result.pack)
    broken = {name for r in results if r.pack is None and (name := _declared_name(r.path)) and name not in decisions}
    flow_names = {name for p in flows if (name := _declared_name(str(p))) and name not in decisions}

    def resolver(flow: Path) -> Resolve:
        start, end = _window_of(flow)

        def resolve(name: str, version: str | None) -> PackIR | None:
            if name in broken:
                raise BrokenPack(name)
            if name in flow_names:
                raise FlowPack(name)
            candidates = sorted(decisions.get(name, []), key=lambda ir: semver_key(ir.version))
            if version is not None:
                candidates = [ir for ir in candidates if ir.version == version]
            # the newest version that runs at some date of the flow's window (engine.contracts checks the others)
            running = [ir for ir in candidates if (ir.effective_from or dt.date.min) < end and start < (ir.effective_to or dt.date.max)]
            return (running or candidates)[-1] if candidates else None

        return resolve

    return results + [load_pack(p, resolver(p), timings) for p in flows]


def _window_of(path: Path) -> tuple[dt.date, dt.date]:
    """A flow file's effective window as written, read before the flow is checked."""
    try:
        text = path.read_text(encoding="utf-8")
        bounds = [top_level_scalar(text, key) for key in ("effective_from", "effective_to")]
        start, end = (dt.date.fromisoformat(b) if b else None for b in bounds)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError):
        return dt.date.min, dt.date.max
    return start or dt.date.min, end or dt.date.max


def _declared_name(path: str) -> str | None:
    """The ``pack:`` a file declares (even a broken one), else its folder's name."""
    try:
        name = top_level_scalar(Path(path).read_text(encoding="utf-8"), "pack")
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        name = None
    return name or Path(path).parent.name


def most_complex(ir: PackIR) -> tuple[str, Position]:
    """The pack's deepest expression (then the largest): where a pack Python cannot compile is most likely split."""
    found = max(ir.expressions(), key=lambda item: (height(item[1]), len(walk(item[1]))), default=None)
    if found is None:
        return "the pack", Position(1, 1)
    place = found[0]
    while place not in ir.positions and "." in place:  # "tables.t.R1" is placed by its row, else by its table
        place = place.rsplit(".", 1)[0]
    return found[0], ir.positions.get(place, Position(1, 1))


def build_pack_set(root: Path, *, partial: bool = False, timings: Timings | None = None) -> tuple[PackSet | None, list[Diagnostic]]:
    """Load, check and compile every pack below ``root``; all diagnostics, sorted.

    ``partial``: the packs that compiled, even when others did not (``arbiter check`` analyses them).
    """
    results = load_results(root, timings)
    diagnostics: list[Diagnostic] = [d for r in results for d in r.diagnostics] + unreadable_folders(root)
    by_name: dict[str, list[CompiledPack]] = {}
    seen: dict[str, str] = {}
    if not results:
        diagnostics.append(Diagnostic(str(root), Position(0, 0), "no-packs", "no pack files (*.yaml) found"))
    for result in results:
        if result.pack is None:
            continue
        ir = result.pack
        stem = Path(result.path).stem
        if stem.count(".") == 2 and stem != ir.version:
            diagnostics.append(Diagnostic(result.path, Position(2, 1), "version-mismatch",
                                          f"file is named {stem} but declares version {ir.version}"))
            continue
        if ir.key in seen:
            diagnostics.append(Diagnostic(result.path, Position(1, 1), "duplicate-version",
                                          f"{ir.key} is also defined in {seen[ir.key]}"))
            continue
        seen[ir.key] = result.path
        with timed(timings, "generate"):  # the last compile stage: after lower, on the chosen backend
            try:
                by_name.setdefault(ir.name, []).append(compile_pack(ir))
            except (SyntaxError, RecursionError, MemoryError) as exc:  # Python's own limits on what it compiles
                place, position = most_complex(ir)
                diagnostics.append(Diagnostic(result.path, position, "pack-too-complex",
                                              f"the pack compiles to code Python cannot run ({type(exc).__name__}: "
                                              f"{getattr(exc, 'msg', exc)}); split its longest expressions, "
                                              f"starting with {place}"))
    diagnostics = ordered(diagnostics)
    if any(d.severity == "error" for d in diagnostics) and not partial:
        return None, diagnostics
    packs = {name: tuple(sorted(v, key=lambda p: semver_key(p.version))) for name, v in by_name.items()}
    pack_set = PackSet(packs, str(root))
    for pack in pack_set:
        pack.pack_set = pack_set  # flows find their steps' versions in the set they are served from
    return pack_set, diagnostics


def with_backend(pack_set: PackSet, backend: str) -> tuple[PackSet, list[str]]:
    """The same set with each pack on ``backend`` where it can run; the rest stay native (listed)."""
    if backend == NATIVE.name:
        return pack_set, []
    chosen_backend = BACKENDS[backend]
    packs: dict[str, tuple[CompiledPack, ...]] = {}
    notes: list[str] = []
    for name, versions in pack_set.packs.items():
        chosen: list[CompiledPack] = []
        for pack in versions:
            try:
                chosen.append(compile_pack(pack.ir, chosen_backend))
            except BackendRefused as exc:
                notes.append(f"{pack.key} stays on the native backend: " + "; ".join(exc.reasons))
                chosen.append(pack)
        packs[name] = tuple(chosen)
    switched = PackSet(packs, pack_set.root)
    for pack in switched:
        pack.pack_set = switched
    return switched, notes


def require_pack_set(root: Path) -> PackSet:
    pack_set, diagnostics = build_pack_set(root)
    if pack_set is None:
        raise PackError(diagnostics)
    return pack_set
