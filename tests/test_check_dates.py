"""Effective dates across versions: versions that never run, flows on older step versions, retroactive new versions."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from api.cli import main
from engine.checks import check_pack_set
from engine.contracts import schedule
from engine.registry import build_pack_set
from tests.conftest import PACKS

STEP_VERSIONS = Path(__file__).parent / "packs" / "flawed_sets" / "step_versions"


def test_schedule_names_which_step_version_runs_when() -> None:
    """Within a flow's window each date runs the newest effective version; the intervals are merged."""
    pack_set, _ = build_pack_set(STEP_VERSIONS, partial=True)
    assert pack_set is not None
    runs = schedule(pack_set.versions("routing"), (dt.date(2026, 2, 15), dt.date.max))
    assert [(p.version, span) for p, span in runs] == [
        ("1.0.0", (dt.date(2026, 2, 15), dt.date(2026, 3, 1))), ("1.1.0", (dt.date(2026, 3, 1), dt.date.max))]


def test_a_flow_whose_window_ends_before_a_new_step_version_is_checked_against_the_old_one(tmp_path: Path) -> None:
    """A flow that stops before routing 1.1.0 starts is compiled against 1.0.0, and breaks nowhere."""
    shutil.copytree(STEP_VERSIONS, tmp_path / "packs")
    flow = tmp_path / "packs" / "flow" / "1.0.0.yaml"
    text = flow.read_text().replace("      region: region\n", "").replace("effective_from: 2026-02-15",
                                                                          "effective_from: 2026-02-15\neffective_to: 2026-03-01")
    flow.write_text(text)
    shutil.rmtree(tmp_path / "packs" / "pricing")
    pack_set, diagnostics = build_pack_set(tmp_path / "packs")
    assert pack_set is not None, diagnostics
    assert [d.code for d in diagnostics] == ["unused-input"]  # region: the flow no longer passes it on
    assert check_pack_set(pack_set) == []


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to name a base revision")
def test_a_new_version_effective_in_the_past_is_a_warning_against_the_git_base(tmp_path: Path,
                                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """credit 1.3.0 added after the base commit, effective 2026-01-01, warns in --format github; committed versions do not."""
    repo = tmp_path / "repo"
    shutil.copytree(PACKS, repo / "policy_packs")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    source = (repo / "policy_packs" / "credit" / "1.2.0.yaml").read_text()  # the newest: the flows read what it writes
    newer = source.replace("version: 1.2.0", "version: 1.3.0").replace("effective_from: 2027-04-01", "effective_from: 2026-01-01")
    (repo / "policy_packs" / "credit" / "1.3.0.yaml").write_text(newer)
    # --no-analysis leaves out the tables' analysis, not the checks across versions and dates
    code = main(["check", str(repo / "policy_packs"), "--format", "github", "--base", "HEAD", "--no-analysis"])
    out = capsys.readouterr().out
    assert code == 1, out
    warnings = [line for line in out.splitlines() if "retroactive-effective-date" in line]
    assert len(warnings) == 1, out
    line = next(i for i, text in enumerate(newer.splitlines(), 1) if text.startswith("effective_from:"))
    assert warnings[0].startswith(f"::warning file={repo / 'policy_packs' / 'credit' / '1.3.0.yaml'},line={line},")
    assert "version-never-runs" in out  # 1.3.0 from 2026-01-01 shadows 1.0.0, 1.1.0 and 1.2.0 for ever


def test_a_newer_flow_starting_while_an_older_step_contract_runs_is_named(tmp_path: Path) -> None:
    """flow 1.1.0 starts on 2026-02-15, routing 1.1.0 (another contract) on 2026-03-01: those two weeks are a warning."""
    shutil.copytree(STEP_VERSIONS.parent / "early_flow", tmp_path / "packs")
    flow = tmp_path / "packs" / "flow" / "1.1.0.yaml"
    flow.write_text(flow.read_text().replace("      region: region\n", ""))
    pack_set, _ = build_pack_set(tmp_path / "packs")
    assert pack_set is not None
    (warning,) = check_pack_set(pack_set)
    assert (warning.code, warning.severity, warning.position.line) == ("step-version-unused", "warning", 13)
    assert warning.message.startswith("from 2026-02-15 until 2026-03-01, flow@1.1.0 runs routing@1.0.0, not routing@1.1.0")
