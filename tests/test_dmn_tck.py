"""DMN TCK compliance-level-2: every decision-table case, through the DMN converter and the YAML it writes."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.compiled import CompiledPack
from engine.testing import same
from rules.dmn import convert, to_yaml
from rules.load import load_text
from tests.conftest import shared

TC = "{http://www.omg.org/spec/DMN/20160719/testcase}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
AS_OF = dt.date(2026, 1, 1)


def _value(element: ET.Element, names: dict[str, str]) -> Any:
    value = element.find(f"{TC}value")
    if value is not None:
        if value.get(f"{XSI}nil") == "true":
            return None
        kind, text = value.get(f"{XSI}type", "xsd:string"), value.text or ""
        if kind == "xsd:decimal":
            return Decimal(text)
        if kind == "xsd:boolean":
            return text == "true"
        if kind == "xsd:date":
            return dt.date.fromisoformat(text)
        return text
    components = element.findall(f"{TC}component")
    if components:
        return {names.get(c.get("name", ""), c.get("name")): _value(c, names) for c in components}
    listed = element.find(f"{TC}list")
    if listed is not None:
        return [_value(item, names) for item in listed.findall(f"{TC}item")]
    return None


def _cases() -> list[tuple[Path, Path]]:
    root = shared("dmn-tck", "compliance-level-2")
    out = []
    for model in sorted(root.glob("*/*.dmn")):
        for cases in sorted(model.parent.glob("*-test-*.xml")):
            out.append((model, cases))
    return out


@pytest.mark.parametrize(("model", "cases"), _cases(), ids=lambda p: p.parent.name if isinstance(p, Path) else "")
def test_tck_model(model: Path, cases: Path) -> None:
    """Each TCK model converts to a pack that compiles and gives every expected result."""
    converted = convert(model)
    assert converted.unsupported == []
    result = load_text(to_yaml(converted), f"{model.stem}.yaml")
    assert result.ok, [str(d) for d in result.diagnostics]
    assert result.pack is not None
    pack = CompiledPack(result.pack)
    names = converted.names
    count = 0
    for case in ET.parse(cases).getroot().findall(f"{TC}testCase"):
        inputs = {names[n.get("name", "")]: _value(n, names) for n in case.findall(f"{TC}inputNode")}
        decision = pack.decide(inputs, AS_OF)
        for node in case.findall(f"{TC}resultNode"):
            expected = _value(node.find(f"{TC}expected"), names)  # type: ignore[arg-type]
            actual = decision.output[names[node.get("name", "")]]
            assert same(expected, actual), f"case {case.get('id')}: expected {expected!r}, got {actual!r}"
            count += 1
    assert count > 0


def test_tck_has_every_hit_policy() -> None:
    """The TCK corpus exercises all seven hit policies and the collect aggregations."""
    policies, aggregations = set(), set()
    for model, _ in _cases():
        for table in convert(model).document["tables"]:
            policies.add(table["hit_policy"])
            aggregations.add(table.get("aggregation"))
    assert policies == {"first", "unique", "priority", "any", "collect", "rule_order", "output_order"}
    assert {"sum", "min", "count"} <= aggregations
