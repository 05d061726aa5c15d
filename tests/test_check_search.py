"""The invariant search tries lists whose elements share keys: allocation 1.0.0's over-shipping is found by `check`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from engine.checks import PackChecks
from engine.compiled import CompiledPack
from engine.registry import require_pack_set
from engine.search import colliding_inputs
from tests.conftest import PACKS
from tests.strategies import inputs_for

ON_HAND = "for every warehouse and SKU, what ships is at most what the warehouse holds"


def _live_allocation_with_the_on_hand_invariant(tmp_path: Path) -> CompiledPack:
    """allocation 1.0.0 as it is served, plus 1.1.0's aggregate invariant, without the pack's tests (no seed helps)."""
    live = (PACKS / "allocation" / "1.0.0.yaml").read_text()
    candidate = (PACKS / "allocation" / "1.1.0.yaml").read_text()
    start = candidate.index(f"  - name: {ON_HAND}")
    invariant = candidate[start:candidate.index("  - name:", start + 1)]
    text = live.replace("invariants:\n", "invariants:\n" + invariant, 1)
    folder = tmp_path / "allocation"
    folder.mkdir()
    (folder / "1.0.0.yaml").write_text(text[:text.index("\ntests:")] + "\n")
    return require_pack_set(tmp_path).get("allocation", "1.0.0")


def test_check_finds_the_live_allocation_over_shipping_a_repeated_sku(tmp_path: Path) -> None:
    """Two lines of one SKU, each within a site's stock, together beyond it: invariant-violated, with that input."""
    pack = _live_allocation_with_the_on_hand_invariant(tmp_path)
    (finding,) = [d for d in PackChecks(pack).run() if d.code == "invariant-violated"]
    assert finding.extra["invariant"] == ON_HAND
    example: dict[str, Any] = finding.extra["counterexample"]
    output = pack.decide(example, finding.extra["as_of"]).output
    shipped = Counter((line["warehouse"], line["sku"]) for line in output["lines"] if line["warehouse"] is not None)
    assert max(shipped.values()) >= 2  # one site ships one SKU to several lines
    assert len(example["lines"]) <= 4  # shrunk: the smallest shape, not a random order


def test_colliding_inputs_repeat_each_list_and_share_every_key() -> None:
    """Every combination of each list (lines, warehouses, stock) once or twice, for counts 1 and 2, all text the key "A"."""
    pack = require_pack_set(PACKS).get("allocation", "1.0.0")
    inputs = colliding_inputs(pack.ir)
    assert len(inputs) == 2 * 2 ** 3
    shapes = {(len(i["lines"]), len(i["warehouses"]), len(i["warehouses"][0]["stock"])) for i in inputs}
    assert shapes == {(a, b, c) for a in (1, 2) for b in (1, 2) for c in (1, 2)}
    for values in inputs:
        assert {line["sku"] for line in values["lines"]} == {w["code"] for w in values["warehouses"]} == {"A"}
        pack.validate(values)  # each one is a valid input


def test_the_random_search_draws_shared_keys_and_repeated_elements_often() -> None:
    """In generated allocation inputs, a line's SKU is often a stocked SKU, and two lines often share one (free text: ~never)."""
    pack = require_pack_set(PACKS).get("allocation", "1.0.0")
    seen: Counter[str] = Counter()

    @given(inputs_for(pack.ir))
    @settings(max_examples=200, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    def draw(values: dict[str, Any]) -> None:
        skus = [line["sku"] for line in values["lines"] if line["sku"]]  # "" repeats even in free text
        stocked = {p["sku"] for w in values["warehouses"] for p in w["stock"]}
        seen["drawn"] += 1
        seen["stocked"] += any(sku in stocked for sku in skus)
        seen["repeated"] += len(set(skus)) < len(skus)

    draw()
    assert seen["stocked"] >= seen["drawn"] // 10
    assert seen["repeated"] >= seen["drawn"] // 10
