"""DMN TCK compliance-level-2: every decision-table case, through the DMN converter and the YAML it writes."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.compiled import CompiledPack
from engine.registry import build_pack_set
from engine.testing import same
from importers.conformance import import_dmn
from importers.dmn import convert, tck_cases
from rules.load import load_text
from tests.conftest import shared

AS_OF = dt.date(2026, 1, 1)
CHAINED = Path(__file__).parent / "data" / "dmn"  # requirement graphs written here: the TCK's level 2 has none


def _cases() -> list[tuple[Path, Path]]:
    out = []
    for model in [*sorted(shared("dmn-tck", "compliance-level-2").glob("*/*.dmn")), *sorted(CHAINED.glob("*.dmn"))]:
        for cases in sorted(model.parent.glob(f"{model.stem}-test-*.xml")):
            out.append((model, cases))
    return out


@pytest.mark.parametrize(("model", "cases"), _cases(), ids=lambda p: p.parent.name if isinstance(p, Path) else "")
def test_tck_model(model: Path, cases: Path) -> None:
    """Each TCK model converts to a pack that compiles and gives every expected result."""
    check_model(model, cases, "native")


def check_model(model: Path, cases: Path, backend: str) -> CompiledPack:
    converted, pack, problems = import_dmn(model, backend)
    assert pack is not None, problems
    count = 0
    for case_id, inputs, expected in tck_cases(ET.parse(cases).getroot(), converted.names):
        decision = pack.decide(inputs, AS_OF)
        for name, value in expected.items():
            assert same(value, decision.output[name]), f"case {case_id}: expected {value!r}, got {decision.output[name]!r}"
            count += 1
    assert count > 0
    return pack


def test_tck_has_every_hit_policy() -> None:
    """The TCK corpus exercises all seven hit policies and the collect aggregations."""
    policies, aggregations = set(), set()
    for model, _ in _cases():
        if model.parent == CHAINED:
            continue
        for table in convert(model).document["tables"]:
            policies.add(table["hit_policy"])
            aggregations.add(table.get("aggregation"))
    assert policies == {"first", "unique", "priority", "any", "collect", "rule_order", "output_order"}
    assert {"sum", "min", "count"} <= aggregations


def test_import_and_conformance_commands(tmp_path: Path) -> None:
    """`arbiter import dmn` writes a pack that checks clean; `arbiter conformance` passes every TCK case."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    model = shared("dmn-tck", "compliance-level-2", "0118-multi-priority-hitpolicy", "0118-multi-priority-hitpolicy.dmn")
    subprocess.run([sys.executable, "-m", "api.cli", "import", "dmn", str(model), "--out", str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True)
    written = tmp_path / "dmn_0118_multi_priority_hitpolicy" / "1.0.0.yaml"
    result = load_text(written.read_text(), str(written))
    assert result.ok
    assert result.pack is not None
    assert result.pack.tables[0].hit_policy == "priority"
    proc = subprocess.run([sys.executable, "-m", "api.cli", "conformance", "--dmn-tck", str(shared("dmn-tck", "compliance-level-2")),
                           "--zen", str(shared("zen", "graphs"))], cwd=ROOT, capture_output=True, text=True, check=True)
    summary = [line for line in proc.stdout.splitlines() if line.startswith(("dmn-tck:", "zen:"))]
    assert summary[0] == "dmn-tck: 17 models imported, 0 unsupported; 51 cases passed, 0 failed"
    assert summary[1].startswith("zen: ")
    assert summary[1].endswith(" 0 failed")


def test_a_requirements_graph_imports_as_a_flow_of_decision_packs(tmp_path: Path) -> None:
    """Decisions requiring decisions become a pack each and a flow running them in dependency order; the set checks clean."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "api.cli", "import", "dmn", str(CHAINED / "loan-chain.dmn"), "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stderr.count("wrote ") == 4
    packs, diagnostics = build_pack_set(tmp_path)
    assert packs is not None, [str(d) for d in diagnostics]
    flow = packs.get("loan_chain")
    assert [(s.id, s.pack) for s in flow.ir.steps] == [("Risk_Category", "loan_chain_risk_category"),
                                                       ("Terms", "loan_chain_terms"),
                                                       ("Loan_Decision", "loan_chain_loan_decision")]
    check = subprocess.run([sys.executable, "-m", "api.cli", "check", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_requirements_cycle_is_reported_not_imported(tmp_path: Path) -> None:
    """Decisions that require each other are named with the cycle; the import exits 1."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    source = (CHAINED / "loan-chain.dmn").read_text()
    cyclic = source.replace('<informationRequirement id="ir1"><requiredInput href="#in_income"/></informationRequirement>',
                            '<informationRequirement id="ir1"><requiredDecision href="#d_decision"/></informationRequirement>')
    assert cyclic != source
    model = tmp_path / "cyclic.dmn"
    model.write_text(cyclic)
    proc = subprocess.run([sys.executable, "-m", "api.cli", "import", "dmn", str(model), "--out", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "requirements lead back to it (Risk_Category -> Loan_Decision -> Risk_Category)" in proc.stderr
