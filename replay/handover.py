"""What the parent has already loaded, handed to the replay's workers so that each does not do it again.

The parent loads both sides' pack folders before it starts the workers (to choose the date and
check the sides), and a worker loaded them again: about 0.5 s of pure-Python YAML a folder. It
also compiled attribution's variants (``replay.attribution``), one per separable edit, and about
half of those cannot load alone (an edit reading another edit's data table): written out and
loaded in every worker, to be set aside.

How much is handed over depends on how the workers start (``replay.pool.sharing``):

- ``process``: the work runs in this process: it takes the loaded folders (``Spec.packs``);
  variants stay lazy.
- ``fork``: workers are copies of this process: they inherit the loaded folders and the
  variants, built here once (nothing is pickled; fork copies the objects).
- ``none``: workers start afresh (Dask, or a pool that spawns): they get packed folders and
  load them, and are told which edits cannot load alone, so they build only those that can.

Attribution is unchanged: the same edits, in the same order, become variants or are replayed
only together (the tests of the impact report hold its bytes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from replay.attribution import Variant, built
from replay.packdiff import Edit
from replay.specs import LOGGED, Spec, SpecPacks
from rules.errors import ArbiterError


@dataclass(frozen=True)
class Handover:
    variants: tuple[list[Variant], list[Edit]] | None = None  # the replayed pack's, for workers forked from here
    cannot: tuple[Edit, ...] = ()  # the replayed pack's edits that cannot load alone: a fresh worker does not try them


def handover(baseline: Spec, candidate: Spec, effective_on: dt.date, pack: str, sharing: str) -> Handover | None:
    """What to give the workers besides the folders this process loaded (``Spec.packs``; none loaded: nothing)."""
    if sharing == "process" or baseline.packs is None or candidate.packs is None or baseline.text == LOGGED:
        return None  # variants built as needed (a log's baseline: for each version it names)
    base = SpecPacks(baseline.packs, baseline.pins, effective_on)
    cand = SpecPacks(baseline.packs if candidate.folder == baseline.folder else candidate.packs, candidate.pins, effective_on)
    try:
        found = built(base, cand, pack)
    except ArbiterError:  # a side without the pack: the workers meet it, as before
        return None
    made = [Variant(edit, side) for edit, side in found if side is not None]
    alone = [edit for edit, side in found if side is None]
    if sharing == "fork":
        return Handover((made, alone))
    loads = {v.edit for v in made}  # an edit equal to one that loads is never skipped
    return Handover(None, tuple(sorted({e for e in alone if e not in loads}, key=repr)))
