"""An imported zen graph's generated end-to-end decision gives what the interpreted projection and rebuilding give."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from importers.conformance import AS_OF, NOW, GraphOutcome, import_graph
from importers.jdm_decide import compile_decider
from tests.conftest import shared
from tests.strategies import jdm_spoiled_requests

GRAPHS = sorted(shared("zen", "graphs").glob("*.json")) + sorted((Path(__file__).parent / "data" / "jdm").glob("*.json"))


@cache
def imported(path: Path) -> GraphOutcome:
    return import_graph(path)  # tests/test_jdm.py holds that a graph not imported says why


def _answer(decide: Any, request: Any) -> Any:
    """What a caller sees: the document in key order, or the error's type and message."""
    try:
        return json.dumps(decide(request), default=str)
    except Exception as exc:  # the two must fail alike, whatever the failure
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("path", [p for p in GRAPHS if imported(p).imported], ids=lambda p: p.stem)
def test_generated_decision_equals_the_longhand(path: Path) -> None:
    """On requests valid or spoiled, the generated function answers with the longhand's bytes or fails alike."""
    outcome = imported(path)
    graph = json.loads(path.read_text())

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(jdm_spoiled_requests(outcome.converted, graph))
    def check(request: Any) -> None:
        before = copy.deepcopy(request)
        assert _answer(outcome.decide, request) == _answer(outcome.decide_longhand, request)
        assert request == before  # the echoed request is shared with the result, never written into

    check()


def test_most_graphs_validate_as_they_read_the_request() -> None:
    """The projection is fused into the generated validation for all but the graphs with a renamed field."""
    sources = [compile_decider(o.converted, o.pack, NOW, AS_OF).source  # type: ignore[attr-defined]
               for o in map(imported, GRAPHS) if o.pack is not None]
    fused = sum("values = fast(" in s for s in sources)
    assert len(sources) - 2 <= fused < len(sources)
    assert all("slow(request)" in s for s in sources)
