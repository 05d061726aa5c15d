"""What a replay's counts do not cover, said where they are read: outputs it did not compare, orders dated outside a version's window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from engine.compiled import CompiledPack
from replay.kpis import Kpis
from replay.specs import Production, SpecPacks
from rules.errors import ArbiterError


def _ran(side: SpecPacks, root: str) -> list[CompiledPack]:
    """The root version a side runs and its steps' versions; none for a decision log, whose records name their own."""
    if isinstance(side, Production):
        return []
    try:
        pack = side.get(root)
        return [pack, *(side.get(s.pack, s.version) for s in pack.ir.steps)]
    except ArbiterError:
        return []


def not_compared(sides: Iterable[SpecPacks], root: str, kpis: Kpis) -> list[str]:
    """The root's outputs an outcome leaves out (replay.yml names those it compares): an order differing only there counts as unchanged."""
    if not kpis.outputs:
        return []  # without a declaration every output is compared
    kept = {kpis.decision or "decision", *kpis.outputs}
    names = [o.name for side in sides for pack in _ran(side, root)[:1] for o in pack.ir.outputs if o.name not in kept]
    return list(dict.fromkeys(names))


def _window(pack: CompiledPack) -> str:
    start, end = pack.ir.effective_from, pack.ir.effective_to
    return f"{start or 'always'} to {end} (exclusive)" if end else f"from {start}" if start else "always"


def outside_windows(days: Iterable[str], sides: Iterable[SpecPacks], root: str) -> list[str]:
    """A warning naming the versions that decided orders dated outside their own window, as if in force then.

    The replay runs one set of versions on every order (those of the replay's date, or pinned),
    each order as of its own date: a 2010 order decided by a version of 2027 is the point of a
    replay, but the report must say so, not leave it to be guessed.
    """
    dated = sorted(dt.date.fromisoformat(d) for d in days)
    if not dated:
        return []
    found: dict[str, tuple[CompiledPack, int]] = {}
    for side in sides:
        for pack in _ran(side, root):
            outside = sum(not pack.effective_on(d) for d in dated)
            if outside and pack.key not in found:
                found[pack.key] = (pack, outside)
    if not found:
        return []
    named = ", ".join(f"{key} ({_window(p)}; {n} of {len(dated)} order days outside)" for key, (p, n) in found.items())
    return [f"orders dated outside the window of a version that decided them, decided as if it had been in force then: {named}"]


def repeated(ids: bytes | bytearray) -> list[str]:
    """A warning when an order id is given more than once: each copy is decided and counted, its money as often.

    ``ids`` holds an 8-byte digest of each order's id. Counted a sixteenth of the digests at a
    time, so the set it takes stays small on a million orders.
    """
    digests_of = memoryview(ids).cast("Q")
    extra = 0
    for bucket in range(16):
        digests = [d for d in digests_of if d >> 60 == bucket]
        extra += len(digests) - len(set(digests))
    if not extra:
        return []
    return [f"{extra} order(s) repeat an order id given earlier in the orders: each copy was decided and counted "
            "(its money as often, a changed one once a copy in diff.csv)"]
