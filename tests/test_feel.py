"""FEEL literal expressions translated into the expression language: FEEL's answers, nulls included, or a refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.compiled import CompiledPack, compile_pack
from engine.testing import same
from importers.feel import FeelRefused, kind_of, spec_of, translate
from rules.load import load_text


class _Loader(yaml.SafeLoader):
    """YAML numbers with a point as exact decimals, as a pack reads them."""


_Loader.add_constructor("tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node)))
CASES = yaml.load((Path(__file__).parent / "data" / "feel_cases.yaml").read_text(encoding="utf-8"), Loader=_Loader)
INPUTS: dict[str, dict[str, Any]] = {
    "n": {"type": "decimal", "optional": True}, "m": {"type": "decimal", "optional": True},
    "s": {"type": "string", "optional": True}, "b": {"type": "boolean", "optional": True},
    "l": {"type": "list", "of": "decimal", "optional": True}, "d": {"type": "date", "optional": True},
    "r": {"type": "object", "fields": {"a": {"type": "decimal", "optional": True}}, "optional": True},
    "t": {"type": "time", "optional": True}, "dt": {"type": "date_time", "optional": True},
    "p": {"type": "days_time_duration", "optional": True}, "y": {"type": "years_months_duration", "optional": True},
}
SCOPE = {name: (name, kind_of(spec)) for name, spec in INPUTS.items()}


@pytest.fixture(scope="module")
def pack() -> CompiledPack:
    outputs = {}
    for k, case in enumerate(CASES["translated"]):
        translated = translate(case["feel"], SCOPE)
        outputs[f"o{k}"] = {**spec_of(translated.kind), "value": translated.text}
    document = {"pack": "feel", "version": "1.0.0", "description": "FEEL cases", "owner": "tests",
                "inputs": INPUTS, "outputs": outputs}
    result = load_text(yaml.safe_dump(document, sort_keys=False), "feel.yaml")
    assert result.pack is not None, [str(d) for d in result.diagnostics]
    return compile_pack(result.pack)


@pytest.mark.parametrize(("k", "case"), list(enumerate(CASES["translated"])), ids=[c["feel"] for c in CASES["translated"]])
def test_translation_gives_feels_answer(pack: CompiledPack, k: int, case: dict[str, Any]) -> None:
    """Each translated FEEL expression, compiled into a pack, answers what FEEL answers for the case's input."""
    output = pack.decide(case["input"], dt.date(2026, 1, 1)).output
    assert same(case["expect"], output.get(f"o{k}")), f"{case['feel']}: expected {case['expect']!r}, got {output.get(f'o{k}')!r}"


@pytest.mark.parametrize("case", CASES["refused"], ids=[c["feel"] for c in CASES["refused"]])
def test_what_has_no_same_meaning_is_refused(case: dict[str, str]) -> None:
    """A FEEL expression with no translation of the same meaning is refused, saying which construct."""
    with pytest.raises(FeelRefused) as refused:
        translate(case["feel"], SCOPE)
    assert case["reason"] in str(refused.value)
