"""Named compile stages, run in one ordered list, each timed, with a cap on the errors reported.

As OPA's compiler names its stages (``v1/ast/compile.go``), a pack goes through one list:
``rules.load.FRONT_END`` (read, shape, data, check, lower), then the backend's ``generate``
(``engine.registry.build_pack_set``: code generation, with the demand and loop analyses it
plans by), then, for ``arbiter check`` only, ``analyse`` (dead rows, overlaps, gaps, invariants). A stage reads what the stages before it left in the
``Compilation`` and adds its own; it stops the pack by setting ``stopped``. Times add up
per stage name in a ``Timings`` (``arbiter check --timings`` prints them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rules.errors import Diagnostic, Position

if TYPE_CHECKING:
    from rules.check import PackChecker, Resolve
    from rules.ir import PackIR
    from rules.model import PackDocument
    from rules.source import SourceDoc

MAX_ERRORS = 200  # per pack: beyond this the rest are cascades or the same mistake again

Timings = dict[str, float]  # stage name -> seconds, summed over the packs compiled


@dataclass
class Compilation:
    """One pack file on its way through the stages."""

    path: str
    pack_dir: Path
    resolve: Resolve | None = None
    raw: bytes | None = None  # read: the file's bytes (None when compiling given text)
    text: str | None = None
    doc: SourceDoc | None = None
    model: PackDocument | None = None
    data_files: dict[str, bytes | OSError] = field(default_factory=dict)  # data: each CSV's bytes, by its relative path
    checker: PackChecker | None = None
    ir: PackIR | None = None
    compiled: Any = None  # generate: the compiled pack
    diagnostics: list[Diagnostic] = field(default_factory=list)
    stopped: bool = False

    def stop(self, code: str, message: str) -> None:
        """Report ``code`` for the whole file and go no further."""
        self.diagnostics.append(Diagnostic(self.path, Position(1, 1), code, message))
        self.stopped = True

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Compilation], None]


@contextmanager
def timed(timings: Timings | None, stage: str) -> Iterator[None]:
    """Add the time the block takes to ``stage``'s total."""
    started = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started


def run_stages(compilation: Compilation, stages: Iterable[Stage], timings: Timings | None = None) -> Compilation:
    """Run ``stages`` in order until one stops the pack or the errors reach ``MAX_ERRORS``."""
    for stage in stages:
        with timed(timings, stage.name):
            stage.run(compilation)
        if compilation.errors >= MAX_ERRORS:
            _cap(compilation)
        if compilation.stopped:
            break
    return compilation


def _cap(compilation: Compilation) -> None:
    kept = sorted(compilation.diagnostics, key=Diagnostic.sort_key)[:MAX_ERRORS]
    compilation.diagnostics = kept
    compilation.stop("too-many-errors", f"stopped after {MAX_ERRORS} errors; fix these and run again")
