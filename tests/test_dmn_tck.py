"""DMN TCK compliance-level-2: every decision-table case, through the DMN converter and the YAML it writes."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.compiled import CompiledPack
from engine.registry import build_pack_set
from importers.dmn import convert
from importers.dmn_conformance import import_dmn, run_case
from importers.tck import tck_cases
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
    assert not problems
    count = 0
    for case in tck_cases(ET.parse(cases).getroot()):
        verdict, detail = run_case(converted, pack, case, "")
        assert verdict == "passed", f"case {case.id}: {detail}"
        count += len(case.expected)
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
        # read from the model: a converted C+ table becomes a collect list summed in an output value
        aggregations |= {e.get("aggregation") for e in ET.parse(model).getroot().iter() if e.tag.endswith("decisionTable")}
    assert policies == {"first", "unique", "priority", "any", "collect", "rule_order", "output_order"}
    assert {"SUM", "MIN", "COUNT"} <= aggregations


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
    summary = [line for line in proc.stdout.splitlines() if line.startswith(("compliance-level-2:", "zen:"))]
    assert summary[0] == "compliance-level-2: 17 models (17 converted whole); 51 cases passed, 0 failed, 0 unsupported"
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
    assert "decision d_risk: its requirements lead back to it (Risk_Category -> Loan_Decision -> Risk_Category)" in proc.stderr
    assert "wrote" not in proc.stderr


def test_a_decision_whose_pack_does_not_compile_is_refused_by_its_element_id(tmp_path: Path) -> None:
    """A decision whose translation compiles to no pack is refused naming its DMN id; the other decision is written."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "api.cli", "import", "dmn", str(CHAINED / "uncompilable.dmn"), "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "not converted: decision d_bad: its converted pack does not compile: type-mismatch: a sort key" in proc.stderr
    assert proc.stderr.count("wrote ") == 1
    packs, diagnostics = build_pack_set(tmp_path)
    assert packs is not None, [str(d) for d in diagnostics]
    assert [o.name for o in packs.get("uncompilable").ir.outputs] == ["Doubled"]


def _all_models() -> list[Path]:
    return [*sorted(shared("dmn-tck").glob("compliance-level-*/*/*.dmn")), *sorted(CHAINED.glob("*.dmn"))]


def test_every_element_is_converted_or_refused_by_id() -> None:
    """Every DMN element of every TCK model is converted or inside an element refused with its id: nothing is dropped."""
    from importers.dmn_ledger import local

    models = _all_models()
    assert len(models) > 129
    silent, unnamed = [], []
    for model in models:
        converted = convert(model)
        assert converted.ledger is not None
        silent += [f"{model.name}: {local(e)} {e.get('id') or e.get('name')}" for e in converted.ledger.unaccounted()]
        text = model.read_text(encoding="utf-8")
        unnamed += [f"{model.name}: {r}" for r in converted.unsupported if f'"{r.split(": ", 1)[0].split(" ", 1)[1]}"' not in text]
    assert not silent, silent[:20]
    assert not unnamed, unnamed[:20]


def test_decision_service_references_are_not_input_data() -> None:
    """A decision service's inputData references are not read as input data: no nameless input, no mangled name."""
    model = shared("dmn-tck", "compliance-level-3", "0085-decision-services", "0085-decision-services.dmn")
    converted = convert(model)
    assert not [r for r in converted.unsupported if r.startswith(("inputData None", "inputData (no id)"))]
    assert all(not name.startswith("x_") for name in converted.document.get("inputs", {}))
    assert any(r.startswith("decisionService _decisionService_015: ") for r in converted.unsupported)


def test_level_3_gives_no_wrong_answer() -> None:
    """Every level-3 TCK case passes or is unsupported with a reason; none gets a wrong answer."""
    from importers.dmn_conformance import run_suite

    outcomes = run_suite(shared("dmn-tck", "compliance-level-3"))
    assert len(outcomes) == 112
    assert [f for o in outcomes for f in o.failures] == []
    assert sum(o.passed for o in outcomes) >= 2182
    assert all(u.split(": ", 1)[1] for o in outcomes for u in o.unsupported)


def test_refusal_comments_quoting_open_brackets_do_not_nest() -> None:
    """A pack whose refusal comments quote 100 unclosed FEEL intervals ('[1..10)') still compiles: comments do not nest."""
    from rules.emit import render_pack

    document = {"pack": "p", "version": "1.0.0", "description": "d", "owner": "o",
                "inputs": {"n": {"type": "decimal"}}, "outputs": {"m": {"type": "decimal", "value": "n"}}}
    refusals = [f"decision d{k}: FEEL 'n in [1..10)' is not converted" for k in range(100)]
    result = load_text(render_pack(document, refusals), "p.yaml")
    assert result.ok, [str(d) for d in result.diagnostics]


def test_names_sharing_a_pack_name_are_refused_not_overwritten() -> None:
    """Two DMN names with one pack name: the second is refused by its id, and the first keeps FEEL's answer."""
    converted, pack, problems = import_dmn(CHAINED / "name-clash.dmn")
    why = "(pack names drop punctuation and case)"
    assert problems == [f"inputData in_rate_pct: its name 'Rate%' would share the pack name 'Rate' with 'Rate' {why}",
                        f"decision d_minus: its name 'Rounded -2.5' would share the pack name 'Rounded_2_5' with 'Rounded 2.5' {why}",
                        f"decision d_lower: its name 'rounded 2.5' would share the pack name 'rounded_2_5' with 'Rounded 2.5' {why}"]
    verdicts = [run_case(converted, pack, case, "") for case in tck_cases(ET.parse(CHAINED / "name-clash-cases.xml").getroot())]
    assert verdicts == [("passed", ""), ("unsupported", problems[1])]
