"""Running GoRules zen graphs, a suite nobody on the team wrote, through the JDM importer.

Each graph is converted to pack YAML, that YAML is loaded and compiled like any pack, and
each embedded case's result is compared with the expected one, rebuilt in zen's shape. The
DMN TCK's runner is ``importers.dmn_conformance``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Context, Decimal
from pathlib import Path
from typing import Any

from engine.compiled import CompiledPack, compile_pack
from importers.jdm import JdmPack, convert, to_yaml
from importers.jdm_decide import compile_decider
from rules.errors import ArbiterError
from rules.load import load_text

# zen's own tests pin the clock; a converted date('now') reads NOW from the request instead
NOW = "2025-08-19T16:55:02.078Z"
AS_OF = dt.date(2025, 8, 19)
# zen computes in 96-bit decimals (28-29 digits), Arbiter in 34: compare to 26 digits
DIGITS = Context(prec=26)


def normalized(value: Any) -> Any:
    """A zen result as compared: numbers as exact decimals, unset (null) fields left out."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return DIGITS.plus(Decimal(str(value))).normalize()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass
class GraphOutcome:
    name: str
    converted: JdmPack
    pack: CompiledPack | None
    problems: list[str] = field(default_factory=list)  # why it is unsupported
    passed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def imported(self) -> bool:
        return self.pack is not None

    decider: Any = None  # importers.jdm_decide's generated function, built on first use

    def decide(self, request: dict[str, Any]) -> Any:
        """The document zen would return for ``request``, computed by Arbiter."""
        if self.decider is None:
            assert self.pack is not None
            self.decider = compile_decider(self.converted, self.pack, NOW, AS_OF)
        return self.decider(request)

    def decide_longhand(self, request: dict[str, Any]) -> Any:
        """``decide`` through the interpreted projection and rebuilding: the reference the generated one is held to."""
        assert self.pack is not None
        decision = self.pack.decide(self.converted.request(request, NOW), AS_OF)
        return self.converted.result(request, decision.output)


def import_graph(path: Path) -> GraphOutcome:
    converted = convert(path)
    outcome = GraphOutcome(path.stem, converted, None, list(converted.unsupported))
    if converted.unsupported:
        return outcome
    result = load_text(to_yaml(converted), f"{path.stem}.yaml")
    if result.pack is None:
        outcome.problems = [f"the converted pack does not compile: {d}" for d in result.diagnostics if d.severity == "error"]
        return outcome
    outcome.pack = compile_pack(result.pack)
    return outcome


def run_graph(path: Path) -> GraphOutcome:
    outcome = import_graph(path)
    if not outcome.imported:
        return outcome
    graph = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    for k, case in enumerate(graph.get("tests") or []):
        expected = normalized(case.get("output"))
        try:
            actual = normalized(outcome.decide(case["input"]))
        except ArbiterError as exc:
            outcome.failures.append(f"case {k + 1}: {exc.code}: {exc}")
            continue
        if actual == expected:
            outcome.passed += 1
        else:
            outcome.failures.append(f"case {k + 1}: expected {expected}, got {actual}")
    return outcome


def run_zen(graphs: Path) -> list[GraphOutcome]:
    return [run_graph(path) for path in sorted(graphs.glob("*.json"))]
