"""Orders an ERP gets wrong in ways the pack's types allow: refused at their field by the API, the CLI and the replay alike."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from api.app import create_app
from engine import jsonio
from engine.compiled import CompiledPack
from engine.registry import require_pack_set
from engine.search import colliding_inputs
from replay import orders
from replay.decide import admit
from rules.errors import InputError
from tests.conftest import PACKS, ROOT
from tests.strategies import inputs_for

ORDER: dict[str, Any] = json.loads((ROOT / "examples" / "order.json").read_text())
DAY = "2026-06-01"


def _with(changes: list[tuple[int, str, int]]) -> dict[str, Any]:
    order = copy.deepcopy(ORDER)
    order["lines"].append({**order["lines"][1], "line_no": 3})
    for index, name, value in changes:
        if name == "lines":  # an order of none
            order["lines"] = []
        elif name == "warehouses":  # the first warehouse again
            order["warehouses"].append(order["warehouses"][0])
        else:
            order["lines"][index][name] = value
    return order


# (changes to a three-line order: (line, field, value), the pointers and codes refused): each was priced,
# allocated and released before, a duplicate line_no leaving the output's lines naming one line twice, an order
# of no lines released with freight to pay
BAD = [
    ([(2, "quantity", 0)], [("/lines/2/quantity", "zero-quantity")]),
    ([(2, "line_no", 1)], [("/lines/2/line_no", "duplicate-line")]),
    ([(1, "line_no", 1), (2, "line_no", 1)], [("/lines/1/line_no", "duplicate-line"), ("/lines/2/line_no", "duplicate-line")]),
    ([(0, "line_no", 0)], [("/lines/0/line_no", "minimum")]),
    ([(0, "line_no", -4), (1, "quantity", 0)], [("/lines/0/line_no", "minimum"), ("/lines/1/quantity", "zero-quantity")]),
    ([(-1, "lines", 0)], [("/lines", "empty-order")]),
    ([(-1, "warehouses", 1)], [("/warehouses/2/code", "duplicate-warehouse")]),
]
GOOD = [  # a return line is negative (Online Retail's cancellations); line numbers need not be in order or dense
    [(2, "quantity", -3)],
    [(0, "line_no", 30), (1, "line_no", 10), (2, "line_no", 20)],
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(PACKS))


@pytest.mark.parametrize(("changes", "refused"), BAD)
def test_the_api_refuses_the_order_at_its_field(client: TestClient, changes: list[tuple[int, str, int]],
                                                refused: list[tuple[str, str]]) -> None:
    """POST /v1/decisions/order and the batch: 422 input-invalid naming each bad line's field, on every order version."""
    for day in (DAY, "2027-06-01"):
        answer = client.post(f"/v1/decisions/order?as_of={day}", json=_with(changes))
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "input-invalid"
        assert [(e["pointer"], e["code"]) for e in answer.json()["errors"]] == refused
    batch = client.post(f"/v1/decisions/order/batch?as_of={DAY}", json={"inputs": [ORDER, _with(changes)]}).json()
    assert "output" in batch["results"][0]
    assert [(e["pointer"], e["code"]) for e in batch["results"][1]["error"]["errors"]] == refused


@pytest.mark.parametrize("changes", GOOD)
def test_a_return_line_and_unordered_line_numbers_are_decided(client: TestClient, changes: list[tuple[int, str, int]]) -> None:
    """A negative quantity and line numbers out of order are a real order's: decided, not refused."""
    answer = client.post(f"/v1/decisions/order?as_of={DAY}", json=_with(changes))
    assert answer.status_code == 200, answer.text
    assert len({line["line_no"] for line in answer.json()["output"]["lines"]}) == 3


@pytest.mark.parametrize(("changes", "refused"), BAD[:2])
def test_arbiter_decide_refuses_it_with_exit_2(tmp_path: Path, changes: list[tuple[int, str, int]],
                                               refused: list[tuple[str, str]]) -> None:
    """`arbiter decide order` prints the file, the pointer and the code on stderr and exits 2, nothing on stdout."""
    path = tmp_path / "order.json"
    path.write_text(json.dumps(_with(changes)))
    proc = subprocess.run([sys.executable, "-m", "api.cli", "decide", "order", str(path), "--packs", str(PACKS),
                           "--as-of", DAY], check=False, capture_output=True, cwd=ROOT, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert [line.split(": ")[1:3] for line in proc.stderr.splitlines()] == [[p, c] for p, c in refused]


@pytest.mark.parametrize(("changes", "refused"), BAD)
def test_a_replay_reports_the_order_not_decidable_at_its_field(changes: list[tuple[int, str, int]],
                                                               refused: list[tuple[str, str]]) -> None:
    """The replay's one-pass decoder defers such an order to the validator, which refuses it at its field."""
    pack = require_pack_set(PACKS).get("order", None, None)
    orders.decode_for(pack)
    try:
        good = orders.parse_record((1, jsonio.dumps({**ORDER, "as_of": DAY})))[2]
        assert good.__class__ is orders.Checked  # the fast path is on: the bad order below is not refused for want of it
        value = orders.parse_record((2, jsonio.dumps({**_with(changes), "as_of": DAY})))[2]
    finally:
        orders.decode_for(None)
    assert value.__class__ is not orders.Checked
    error = admit(pack, value)
    assert isinstance(error, InputError)
    assert [(p.pointer, p.code) for p in error.problems] == refused


def test_the_search_draws_orders_the_rules_accept() -> None:
    """`arbiter check`'s search and the suite's strategies draw canonical orders the validator takes, collisions kept.

    Drawn from the declared schema alone, most orders of two lines repeat a line_no (numbers share a small pool), so
    the search of the order flow would have been refused most of what it drew, without a word.
    """
    for pack in require_pack_set(PACKS).versions("order"):
        collisions = colliding_inputs(pack.ir)
        for values in collisions:
            pack.validate(values)
        assert any(len({line["sku"] for line in v["lines"]}) < len(v["lines"]) for v in collisions)
        _validates_every_draw(pack)


def _validates_every_draw(pack: CompiledPack) -> None:
    @given(inputs_for(pack.ir))
    @settings(max_examples=40, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    def draw(values: dict[str, Any]) -> None:
        pack.validate(values)

    draw()


@pytest.mark.parametrize(("changes", "expected"), BAD)
def test_each_path_of_the_order_validator_keeps_the_rules(changes: list[tuple[int, str, int]], expected: list[tuple[str, str]]) -> None:
    """The order flow's fast path answers None (ask the full one) and its slow path refuses: neither lets the order through."""
    validate = require_pack_set(PACKS).get("order", "1.0.0").validate
    order = _with(changes)
    assert validate.fast(order) is None  # type: ignore[attr-defined]
    with pytest.raises(InputError):
        validate.slow(order)  # type: ignore[attr-defined]
