"""The invariant search tries lists whose elements share keys: allocation 1.0.0's over-shipping is found by `check`."""

from __future__ import annotations

import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from engine.checks import SEARCH_EXAMPLES, PackChecks, _Watch, check_pack_set, check_versions, search_groups
from engine.compiled import CompiledPack
from engine.registry import require_pack_set
from engine.search import colliding_inputs, shared_schema
from rules.ir import FieldShape
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


def _keys(schema: dict[str, Any], value: dict[str, Any]) -> bool:
    """True when ``value`` holds exactly the fields of ``schema``, at every depth."""
    if set(value) != set(schema):
        return False
    for name, spec in schema.items():
        inner = value[name]
        subs = spec.items if spec.items is not None else spec.fields
        if subs is None or inner is None:
            continue
        if not all(_keys(subs, v) for v in (inner if spec.items is not None else [inner])):
            return False
    return True


def test_versions_searched_together_each_see_every_input_with_their_own_fields(monkeypatch: Any) -> None:
    """allocation 1.0.0 and 1.1.0 (which adds fields, nested ones too) share one draw: each version gets all of it, as its own valid input."""
    pack_set = require_pack_set(PACKS)
    group = [pack_set.get("allocation", "1.0.0"), pack_set.get("allocation", "1.1.0")]
    assert group in search_groups(list(pack_set))
    seen: dict[str, list[bool]] = {"1.0.0": [], "1.1.0": []}
    observe = _Watch.observe

    def watched(self: _Watch, values: dict[str, Any], as_of: Any) -> None:
        if self.seeded:  # past the pack's tests and the colliding inputs: a generated input
            self.pack.validate(values)  # refused: the version would have lost this input
            seen[self.pack.ir.version].append(_keys(self.schema, values))
        observe(self, values, as_of)

    monkeypatch.setattr(_Watch, "observe", watched)
    assert check_versions(group) == []
    assert len(seen["1.0.0"]) == len(seen["1.1.0"]) == SEARCH_EXAMPLES
    assert all(seen["1.0.0"])
    assert all(seen["1.1.0"])


@pytest.mark.parametrize(("a", "b", "together"), [
    ({"n": FieldShape(type="integer")}, {"n": FieldShape(type="integer"), "m": FieldShape(type="boolean")}, True),
    ({"n": FieldShape(type="integer")}, {"n": FieldShape(type="integer", description="the same, explained")}, True),
    ({"xs": FieldShape(type="list", max_items=1000, items={})}, {"xs": FieldShape(type="list", max_items=2000, items={})}, True),
    ({"n": FieldShape(type="integer")}, {"n": FieldShape(type="integer", min=Decimal(0))}, False),
    ({"n": FieldShape(type="integer")}, {"n": FieldShape(type="integer", optional=True)}, False),
    ({"e": FieldShape(type="enum", values=("a",))}, {"e": FieldShape(type="enum", values=("a", "b"))}, False),
    ({"xs": FieldShape(type="list", max_items=4, items={})}, {"xs": FieldShape(type="list", max_items=5, items={})}, False),
    ({"o": FieldShape(type="object", fields={"n": FieldShape(type="integer")})},
     {"o": FieldShape(type="object", fields={"n": FieldShape(type="money")})}, False),
])
def test_schemas_are_drawn_together_only_where_they_agree(a: dict[str, Any], b: dict[str, Any], together: bool) -> None:
    """Added fields and descriptions merge; a field drawn otherwise (bounds, optional, values, a list's cap, a nested type) does not."""
    assert (shared_schema([a, b]) is not None) == together


def test_check_finds_the_sub_yen_override_that_pricing_2_1_0_once_let_through(tmp_path: Path) -> None:
    """pricing 2.1.0 before its minor-unit fix, searched with 1.0.0 and 2.0.0 as `check` groups them: its invariant is broken, in yen."""
    folder = tmp_path / "pricing"
    shutil.copytree(PACKS / "pricing", folder)
    shutil.copy(PACKS / "vocabulary.yaml", tmp_path)
    shutil.copy(Path(__file__).parent / "packs" / "searched" / "pricing_2.1.0_sub_yen.yaml", folder / "2.1.0.yaml")
    pack_set = require_pack_set(tmp_path)
    assert [p.ir.version for p in max(search_groups(list(pack_set)), key=len)] == ["1.0.0", "2.0.0", "2.1.0"]
    (finding,) = [d for d in check_pack_set(pack_set) if d.severity == "error"]  # beside a division-by-zero warning
    assert finding.code == "invariant-violated"
    assert finding.path.endswith("2.1.0.yaml")
    output = pack_set.get("pricing", "2.1.0").decide(finding.extra["counterexample"], finding.extra["as_of"]).output
    assert finding.extra["counterexample"]["currency"] == "JPY"
    assert not output["approval_required"]
    assert any(line["net_price"] < line["floor_price"] for line in output["lines"])
