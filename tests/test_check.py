"""`arbiter check` finds dead rows, overlaps, gaps, broken invariants and unused inputs, each with proof."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.checks import check_pack_set
from engine.registry import build_pack_set
from engine.testing import DEFAULT_TEST_DATE
from rules.errors import DecisionError, Diagnostic
from tests.conftest import PACKS, ROOT

FLAWED = Path(__file__).parent / "packs" / "flawed"
FLAWED_SETS = Path(__file__).parent / "packs" / "flawed_sets"
EXPECT = re.compile(r"^# expect: (\d+):(\d+) ([a-z-]+)$", re.MULTILINE)
EXPECT_AT = re.compile(r"^# expect-at: (\S+) (\d+):(\d+) ([a-z-]+)$", re.MULTILINE)  # in another file of the set (a CSV)


def _findings(path: Path) -> tuple[Any, list[Diagnostic]]:
    pack_set, diagnostics = build_pack_set(path, partial=True)  # as `arbiter check` does
    if pack_set is not None:
        diagnostics = diagnostics + check_pack_set(pack_set)
    return pack_set, diagnostics


@pytest.mark.parametrize("path", sorted(FLAWED.glob("*.yaml")), ids=lambda p: p.stem)
def test_flawed_pack_is_reported_with_code_and_location(path: Path) -> None:
    """Each flawed pack yields exactly the findings its '# expect:' lines declare."""
    expected = sorted((int(a), int(b), c) for a, b, c in EXPECT.findall(path.read_text()))
    _, diagnostics = _findings(path)
    assert sorted((d.position.line, d.position.col, d.code) for d in diagnostics) == expected


@pytest.mark.parametrize("path", sorted(FLAWED.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_counterexample_really_triggers_its_finding(path: Path) -> None:
    """Evaluating the counterexample shows the dead row, the overlap, the gap or the broken invariant."""
    pack_set, diagnostics = _findings(path)
    for d in diagnostics:
        if "counterexample" not in d.extra:
            continue
        pack = next(iter(pack_set))
        example = d.extra["counterexample"]
        as_of = d.extra.get("as_of", pack.ir.effective_from or DEFAULT_TEST_DATE)
        table = d.extra.get("table")
        if d.code == "overlap":
            with pytest.raises(DecisionError) as error:
                pack.decide(example, as_of)
            assert error.value.code == "unique-violated"
            assert error.value.table == table
        elif d.code == "dead-row":
            dead, *cover = d.extra["rows"]
            decided_by = pack.decide(example, as_of).matched[table]
            assert decided_by[0] in cover
            assert dead not in decided_by
        elif d.code == "gap" and d.severity == "error" and "null" in d.message:
            with pytest.raises(DecisionError) as error:
                pack.decide(example, as_of)
            assert error.value.code == "output-missing"
        elif d.code == "gap":  # a gap no required output fails on: the table matched nothing
            assert pack.decide(example, as_of).matched[table] == []
        elif d.code == "division-by-zero":  # the decision is made, on a null where the division stands
            name = d.extra["place"].rsplit(".", 1)[-1]
            assert pack.decide(example, as_of, trace=True).trace["derived"][name] is None
        elif d.code == "invariant-violated":
            decision = pack.decide(example, as_of)
            assert d.extra["invariant"] in pack.violated_invariants(pack.validate(example), decision.output, as_of)
        else:
            raise AssertionError(f"unexpected finding with a counterexample: {d}")


def test_invariant_counterexample_is_shrunk() -> None:
    """The invariant counterexample is the smallest violating quantity, with the promotion on."""
    _, diagnostics = _findings(FLAWED / "invariant.yaml")
    (finding,) = [d for d in diagnostics if d.code == "invariant-violated"]
    assert finding.extra["counterexample"] == {"quantity": 5000, "promotion": True}


def test_bundled_packs_check_clean_with_their_invariants() -> None:
    """The shipped packs have invariants, and checking finds no error and no warning."""
    pack_set, diagnostics = _findings(PACKS)
    assert pack_set is not None
    assert sum(len(p.ir.invariants) for p in pack_set) >= 3
    assert diagnostics == []


def test_a_row_reached_by_a_test_on_its_own_date_is_not_reported() -> None:
    """The search replays each pack test on its own as_of: the expressions pack's 'overdue' row is only reached on a later date."""
    pack_set, diagnostics = _findings(Path(__file__).parent / "packs" / "valid")
    assert pack_set is not None
    assert any(t.as_of is not None for p in pack_set for t in p.ir.tests)
    assert diagnostics == []


def test_check_formats() -> None:
    """`--format json` and `--format github` carry the same finding and its counterexample."""
    path = str(FLAWED / "overlap.yaml")
    out = subprocess.run([sys.executable, "-m", "api.cli", "check", path, "--format", "json"],
                         capture_output=True, cwd=ROOT, check=False)
    assert out.returncode == 1
    (finding,) = json.loads(out.stdout)
    assert finding["code"] == "overlap"
    assert finding["extra"]["counterexample"] == {"amount": 100}
    gh = subprocess.run([sys.executable, "-m", "api.cli", "check", path, "--format", "github"],
                        capture_output=True, text=True, cwd=ROOT, check=False)
    assert gh.stdout.startswith(f"::error file={path},line=15,col=13,title=overlap::")
    assert "counterexample: " in gh.stdout


def test_a_crafted_folder_name_cannot_forge_a_github_annotation(tmp_path: Path) -> None:
    """A path holding ',', ':' and a newline is escaped as a property: one finding, one annotation line."""
    folder = tmp_path / "x,line=1,title=forged::ok\n::error file=evil"
    folder.mkdir()
    (folder / "overlap.yaml").write_bytes((FLAWED / "overlap.yaml").read_bytes())
    gh = subprocess.run([sys.executable, "-m", "api.cli", "check", str(folder / "overlap.yaml"), "--format", "github"],
                        capture_output=True, text=True, cwd=ROOT, check=False)
    commands = [line for line in gh.stdout.splitlines() if line.startswith("::")]
    assert len(commands) == 1, gh.stdout
    assert "%2Cline=1%2Ctitle=forged%3A%3Aok%0A%3A%3Aerror file=evil" in commands[0]
    assert ",line=15,col=13,title=overlap::" in commands[0]


def test_warnings_do_not_fail_the_check() -> None:
    """Unused inputs are warnings: reported, exit code 0."""
    out = subprocess.run([sys.executable, "-m", "api.cli", "check", str(FLAWED / "unused_input.yaml")],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0
    assert "unused-input" in out.stdout


def test_flow_steps_read_only_what_earlier_steps_wrote() -> None:
    """A flow reading a later step, a missing step output, or a wrong step input is reported where it stands."""
    flow = FLAWED.parent / "flawed_flow" / "flow" / "1.0.0.yaml"
    expected = sorted((str(flow), int(a), int(b), c) for a, b, c in EXPECT.findall(flow.read_text()))
    pack_set, diagnostics = build_pack_set(FLAWED.parent / "flawed_flow")
    assert pack_set is None
    assert sorted((d.path, d.position.line, d.position.col, d.code) for d in diagnostics) == expected


@pytest.mark.parametrize("folder", sorted(p for p in FLAWED_SETS.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_flawed_pack_set_is_reported_in_each_file(folder: Path) -> None:
    """A folder of packs checked together yields exactly the findings its files' '# expect:' lines declare."""
    texts = {str(f.relative_to(folder)): f.read_text() for f in folder.rglob("*.yaml")}
    expected = sorted([(name, int(a), int(b), c) for name, text in texts.items() for a, b, c in EXPECT.findall(text)]
                      + [(name, int(a), int(b), c) for text in texts.values() for name, a, b, c in EXPECT_AT.findall(text)])
    _, diagnostics = _findings(folder)
    assert sorted((str(Path(d.path).relative_to(folder)), d.position.line, d.position.col, d.code) for d in diagnostics) == expected


def test_decimal_gap_counterexample_is_an_exact_decimal() -> None:
    """The gap between [0..30] and > 31 on money is shown by a Decimal in (30, 31], never a binary float."""
    _, diagnostics = _findings(FLAWED / "decimal_gap.yaml")
    (gap,) = [d for d in diagnostics if d.code == "gap"]
    amount = gap.extra["counterexample"]["amount"]
    assert isinstance(amount, Decimal)
    assert Decimal(30) < amount <= Decimal(31)


def test_check_finds_packs_above_the_working_folder() -> None:
    """`arbiter check ../policy_packs` finds the packs: only folders below the root are filtered as hidden."""
    out = subprocess.run([sys.executable, "-m", "api.cli", "check", "../policy_packs", "--no-analysis"],
                         capture_output=True, text=True, cwd=ROOT / "scripts", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"checked [1-9]\d* pack version\(s\) in \.\./policy_packs: 0 error\(s\)", out.stderr), out.stderr


@pytest.mark.parametrize("folder", ["flawed", "flawed_sets", "invalid", "flawed_flow"])
def test_check_never_crashes_on_the_flawed_corpus(folder: str) -> None:
    """`arbiter check` over each corpus folder at once: findings and exit 1, never a traceback."""
    out = subprocess.run([sys.executable, "-m", "api.cli", "check", str(FLAWED.parent / folder)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert re.search(r": [a-z-]+: ", out.stdout)


def test_the_credit_tables_are_decided_by_the_solver_not_sampled() -> None:
    """credit's decision table (derived values, a data lookup) and its approver table go through z3, none searched."""
    from engine.checks import PackChecks
    from engine.registry import require_pack_set

    checks = PackChecks(require_pack_set(PACKS).get("credit", "1.0.0"))
    assert checks.run() == []
    assert {table: fallback for table, (_, _, fallback) in checks.solver_times.items()} == {"credit_decision": "", "approver": ""}


def test_the_analysis_finds_the_same_on_one_process_and_on_several() -> None:
    """Spread over forked workers (as `arbiter check` does), the versions' findings are those of one process, in order."""
    pack_set, _ = build_pack_set(FLAWED, partial=True)  # the flawed packs that compile: gaps, overlaps, broken invariants
    assert pack_set is not None
    one = check_pack_set(pack_set, workers=1)
    assert any(d.extra.get("method") == "search" for d in one)  # found by the searches the workers run
    assert check_pack_set(pack_set, workers=2) == one
