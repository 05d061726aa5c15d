"""Differential: the TCK's level-2 decision tables, converted and decided, against bkflow-dmn on generated inputs.

bkflow-dmn (PyPI) evaluates one decision table with FEEL cells; it is given the table read
straight from the DMN file here, not the converted pack. It has no priority or output-order
policy, no aggregation and no default output, so those tables, and inputs no row matches,
are left out; it refuses a unique table's double match, which is then not compared.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.testing import same
from importers.dmn_conformance import import_dmn
from rules.emit import identifier
from tests.conftest import shared

bkflow = pytest.importorskip("bkflow_dmn.api")
POLICIES = {"UNIQUE": "Unique", "FIRST": "First", "ANY": "Any", "RULE ORDER": "RuleOrder", "COLLECT": "Collect"}
MODELS = sorted(shared("dmn-tck", "compliance-level-2").glob("*/*.dmn"))


def _peer_table(root: ET.Element) -> tuple[dict[str, Any], list[str], list[str], str] | None:
    ns = root.tag.split("}")[0] + "}"
    table = root.find(f".//{ns}decisionTable")
    if table is None or table.get("aggregation") or table.find(f".//{ns}defaultOutputEntry") is not None:
        return None
    policy = POLICIES.get(table.get("hitPolicy", "UNIQUE"))
    if policy is None:
        return None
    columns = [(e.findtext(f"{ns}inputExpression/{ns}text") or "").strip() for e in table.findall(f"{ns}input")]
    outputs = [o.get("name") or "" for o in table.findall(f"{ns}output")]
    rows, thens = [], []
    for rule in table.findall(f"{ns}rule"):
        cells = [(c.findtext(f"{ns}text") or "").strip() for c in rule.findall(f"{ns}inputEntry")]
        rows.append(["" if c == "-" else c for c in cells])
        thens.append([(c.findtext(f"{ns}text") or "").strip() for c in rule.findall(f"{ns}outputEntry")])
    document = {"title": "t", "hit_policy": policy,
                "inputs": {"cols": [{"id": c} for c in columns], "rows": rows},
                "outputs": {"cols": [{"id": identifier(o) if o else "out"} for o in outputs], "rows": thens}}
    return document, columns, outputs, policy


def _candidates(root: ET.Element, column: int) -> list[Any]:
    ns = root.tag.split("}")[0] + "}"
    values: list[Any] = [None]
    for rule in root.iter(f"{ns}rule"):
        text = (rule.findall(f"{ns}inputEntry")[column].findtext(f"{ns}text") or "").strip()
        values += re.findall(r'"([^"]*)"', text) + [t == "true" for t in re.findall(r"\b(true|false)\b", text)]
        for number in re.findall(r"-?\d+(?:\.\d+)?", re.sub(r'"[^"]*"', "", text)):
            values += [Decimal(number) - 1, Decimal(number), Decimal(number) + 1]
    return values


@pytest.mark.parametrize("model", MODELS, ids=[m.parent.name for m in MODELS])
def test_same_answers_as_bkflow_dmn(model: Path) -> None:
    """On inputs drawn from each column's literals (and their neighbours), our answer equals bkflow-dmn's wherever it answers."""
    root = ET.parse(model).getroot()
    peer = _peer_table(root)
    if peer is None:
        pytest.skip("a policy, aggregation or default bkflow-dmn does not have")
    document, columns, outputs, policy = peer
    converted, pack, problems = import_dmn(model)
    assert pack is not None, problems
    rng = random.Random(model.name)
    pools = [[v for v in _candidates(root, k) if v is not None] for k in range(len(columns))]
    compared = 0
    for _ in range(60):
        facts = {c: rng.choice(pool) for c, pool in zip(columns, pools, strict=True) if pool}
        try:
            theirs = bkflow.decide_single_table(document, {k: _native(v) for k, v in facts.items()})
        except Exception:
            continue
        if not theirs:
            continue
        ours = pack.decide({converted.names[c]: v for c, v in facts.items()}, dt.date(2026, 1, 1)).output
        result = next(iter(ours.values()))
        rows = [r if len(outputs) > 1 else next(iter(r.values())) for r in theirs]
        expected = rows if policy in ("RuleOrder", "Collect") else rows[0]
        expected = _exact(expected)
        assert same(expected, result), f"{facts}: bkflow-dmn {expected!r}, Arbiter {result!r}"
        compared += 1
    assert compared > 0


def _exact(value: Any) -> Any:
    if isinstance(value, list):
        return [_exact(v) for v in value]
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _native(value: Any) -> Any:
    """bkflow-feel compares only values of one Python type: whole numbers as int (as its cells read), others float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
