"""Workers take what the parent already loaded: its pack folders and attribution's variants, or which edits cannot load."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import pytest

from replay import attribution, pool, run, specs
from replay.handover import handover
from replay.shared import SharedSteps
from replay.tally import Tally
from tests.conftest import PACKS
from tests.test_replay_memory import changed_orders

DAY = dt.date(2026, 11, 24)
PINS = {"credit": "1.1.0", "pricing": "2.0.0"}


def loaded_specs() -> tuple[specs.Spec, specs.Spec, specs.SpecPacks, specs.SpecPacks]:
    """Both sides as simulate.py's parent loads them (replay.cli._sides): specs carrying their loaded folders."""
    base, cand = specs.Spec(str(PACKS), PACKS, {}), specs.Spec("pins", PACKS, PINS)
    sides = specs.load_spec(base, DAY), specs.load_spec(cand, DAY)
    return (dataclasses.replace(base, packs=sides[0].packs), dataclasses.replace(cand, packs=sides[1].packs), *sides)


def replayed(base: specs.Spec, cand: specs.Spec, runner: int) -> tuple[int, list[list[str]]]:
    """Changed orders of two batches replayed: how many orders, and the diff rows (with attribution's causes)."""
    lines = [line for batch in range(2) for line in changed_orders(batch)]
    tally, diff = Tally(), []
    for chunk in run.replay(enumerate(lines, start=1), base, cand, DAY, "order", runner):
        tally.merge(chunk.tally)
        diff += chunk.diff
    return tally.orders, diff


def only_in_this_process(original: Callable[..., Any]) -> Callable[..., Any]:
    parent = os.getpid()

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != parent:
            raise AssertionError(f"a forked worker called {original.__name__} again")
        return original(*args, **kwargs)

    return guarded


@pytest.mark.skipif(pool.sharing(2) != "fork", reason="workers are forked only where fork is the start method")
def test_forked_workers_load_no_folder_and_compile_no_variant_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-worker pool forked after the parent loaded both sides writes the same diff, and no worker loads or compiles."""
    base, cand, _, _ = loaded_specs()
    expected = replayed(base, cand, 1)
    monkeypatch.setattr(specs, "build_pack_set", only_in_this_process(specs.build_pack_set))
    monkeypatch.setattr(attribution, "_compile", only_in_this_process(attribution._compile))
    assert replayed(base, cand, 2) == expected
    assert any(row[3] for row in expected[1])  # attribution ran: causes were credited


def test_fresh_workers_skip_exactly_the_edits_that_cannot_load_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Told which edits cannot load alone, a worker compiles only the others, and gets the same variants and the same rest."""
    base, cand, base_packs, cand_packs = loaded_specs()
    made, alone = attribution.variants(base_packs, cand_packs, "order")
    handed = handover(base, cand, DAY, "order", "none")
    assert handed is not None
    assert handed.variants is None
    assert alone
    assert set(handed.cannot) == set(alone)
    compiled: list[str] = []
    original = attribution._compile

    def counted(a: Any, b: Any, edit: Any, side: Any) -> Any:
        compiled.append(edit.name)
        return original(a, b, edit, side)

    monkeypatch.setattr(attribution, "_compile", counted)
    again, rest = attribution.variants(base_packs, cand_packs, "order", handed.cannot)
    assert compiled == [v.edit.name for v in made]
    assert [v.edit for v in again] == [v.edit for v in made]
    assert rest == alone


def test_work_in_this_process_or_without_loaded_folders_is_handed_nothing() -> None:
    """One worker (this process) builds its variants as needed; specs that carry no loaded folder hand over nothing."""
    base, cand, _, _ = loaded_specs()
    assert handover(base, cand, DAY, "order", "process") is None
    bare = dataclasses.replace(base, packs=None)
    assert handover(bare, cand, DAY, "order", "fork") is None
    assert specs.packed(base).packs is None  # what goes to a worker elsewhere never carries this process's objects


def test_packs_loaded_on_another_backend_are_not_the_ones_deciding() -> None:
    """A side handed the native backend's packs, replayed on durable, is loaded again on durable (the cache files it so)."""
    pytest.importorskip("durable", reason="the durable extra is part of scripts/setup")
    base, _, loaded, _ = loaded_specs()
    assert run._side(base, DAY, "native", SharedSteps()).packs is loaded.packs
    on_durable = run._side(base, DAY, "durable", SharedSteps()).packs
    assert on_durable is not loaded.packs
    assert "durable" in {p.backend.name for p in on_durable}  # those durable_rules cannot run stay native, said at load
