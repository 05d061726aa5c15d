"""An order without an id is named by its line, and no order's own id can be taken for that name."""

from __future__ import annotations

import datetime as dt
import shlex

import pytest

from engine import jsonio
from replay import orders as order_io
from replay import run, specs
from replay.caveats import repeated
from replay.summary import causes
from replay.tally import Cause, Tally
from rules.errors import MalformedRequest
from tests.conftest import PACKS, ROOT

DAY = dt.date(2026, 11, 24)
EXAMPLE = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())


def line(order_id: object = ..., **fields: object) -> bytes:
    """The example order dated 2026-06-01, with ``order_id`` (left out when not given)."""
    order = {k: v for k, v in EXAMPLE.items() if k != "order_id"} | {"as_of": "2026-06-01"} | fields
    return jsonio.dumps(order if order_id is ... else order | {"order_id": order_id})


def ids_of(lines: list[bytes]) -> tuple[Tally, list[str]]:
    """The replay's tally of ``lines`` (credit 1.1.0 against the folder) and the ids its diff names."""
    tally, diff = Tally(), []
    candidate = specs.Spec("pins", PACKS, {"credit": "1.1.0"})
    for chunk in run.replay(enumerate(lines, start=1), specs.Spec(str(PACKS), PACKS, {}), candidate, DAY, "order", 1):
        tally.merge(chunk.tally)
        diff += [row[0] for row in chunk.diff]
    return tally, diff


@pytest.mark.parametrize("given", ["line-2", "line-3", order_io.unnamed(2), order_io.unnamed(3)])
def test_an_order_s_own_id_never_meets_the_name_of_a_line_without_one(given: str) -> None:
    """Line 2 has no id and line 3 is not JSON: an order whose own id is either's made-up name is not a repeated id."""
    tally, _ = ids_of([line("SO-1"), line(), b"{not json", line(given)])
    assert tally.orders + tally.refused.total() == 4
    assert repeated(tally.ids) == []


def test_an_id_in_the_made_up_form_is_refused_at_its_line() -> None:
    """An order whose own id starts as a made-up one is an order that could not be read, named by its own line."""
    with pytest.raises(MalformedRequest, match="line 4: order_id"):
        order_io.parse_record((4, line(order_io.unnamed(9))))
    assert order_io.parse_record((2, line()))[0] == order_io.unnamed(2)
    assert order_io.parse_record((2, line(None)))[0] == order_io.unnamed(2)
    assert order_io.parse_record((5, line("line-2")))[0] == "line-2"


@pytest.mark.parametrize("order_id", ["(no id) line 7", "O'Brien & Co; 7", "plain-7"])
def test_a_cause_s_command_gives_the_order_id_back_to_the_shell(order_id: str) -> None:
    """The command each cause prints quotes its example id: shell-split, it gives the id back whole."""
    tally = Tally()
    tally.causes["credit@1.1.0 limits"] = Cause(orders=1, examples=[order_id])
    [cause] = causes(tally, "python simulate.py order --orders o.jsonl")
    words = shlex.split(cause["command"])
    assert words[words.index("--order-id") + 1] == order_id
