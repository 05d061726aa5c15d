"""Shared vocabularies: a code renamed at one end of the bundled packs fails `arbiter check`, naming both places."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.codes import code_contracts
from engine.registry import build_pack_set
from rules.load import pack_files
from rules.vocabulary import load_vocabularies
from tests.conftest import PACKS, ROOT

# (file, text as it stands, renamed, the code expected at the edited line, what the message must name)
RENAMES = [
    ("credit/1.1.0.yaml", "then: {decision: hold, hold_code: OVER_LIMIT}", "then: {decision: hold, hold_code: OVERLIMIT}", "code-not-in-vocabulary", "vocabulary.yaml"),
    ("credit/1.0.0.yaml", "then: {decision: hold, hold_code: CIA_UNPAID}", "then: {decision: hold, hold_code: CIA_OPEN}", "code-not-in-vocabulary", "vocabulary.yaml"),
    ("exception_routing/1.0.0.yaml", """hold_code: '"CIA_UNPAID"'}""", """hold_code: '"CIA_UNPAYED"'}""",
     "code-not-in-vocabulary", "vocabulary.yaml"),
    ("exception_routing/1.0.0.yaml", "exception: BACKORDER,", "exception: BACK_ORDER,", "code-not-in-vocabulary", "vocabulary.yaml"),
    ("exception_routing/1.0.0.yaml", "queue: tax,", "queue: taxes,", "code-not-in-vocabulary", "vocabulary.yaml"),
    ("credit/1.0.0.yaml", "then: {approver_level: cfo}", "then: {approver_level: ceo}", "unknown-enum-value", ""),
]


def _copy(tmp_path: Path) -> Path:
    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    return packs


@pytest.mark.parametrize(("file", "old", "new", "code", "other"), RENAMES, ids=lambda v: str(v)[:24])
def test_a_code_renamed_at_one_end_fails_check_with_both_places(tmp_path: Path, file: str, old: str, new: str,
                                                                  code: str, other: str) -> None:
    """Renaming one code in one bundled pack is an error at the edited cell that names the other end's file:line:col."""
    packs = _copy(tmp_path)
    path = packs / file
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    line = text[:text.index(old)].count("\n") + 1
    out = subprocess.run([sys.executable, "-m", "api.cli", "check", str(packs), "--no-analysis"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    found = [row for row in out.stdout.splitlines() if row.startswith(f"{path}:{line}:")]
    assert found, out.stdout
    assert f": {code}: " in found[0], out.stdout
    if other:
        assert re.search(rf"\({re.escape(str(packs / other))}:\d+:\d+\)", found[0]), found[0]


def test_the_bundled_packs_declare_their_codes_once_and_use_every_one() -> None:
    """Every vocabulary of policy_packs/vocabulary.yaml is referenced, every code has a description, and check is clean."""
    vocabularies = load_vocabularies(PACKS / "vocabulary.yaml")
    assert vocabularies.diagnostics == []
    used = {m for p in pack_files(PACKS) for m in re.findall(r"vocabulary: (\w+)", p.read_text())}
    assert used == set(vocabularies.entries) == {"hold_code", "exception_code", "queue", "approver_level", "override_approver"}
    assert all(meaning for v in vocabularies.entries.values() for meaning in v.codes.values())
    pack_set, diagnostics = build_pack_set(PACKS)
    assert pack_set is not None
    assert diagnostics == []
    assert code_contracts(pack_set) == []


def test_the_vocabulary_file_is_not_a_pack() -> None:
    """pack_files leaves vocabulary.yaml out: the serving registry never tries to compile it."""
    assert (PACKS / "vocabulary.yaml").is_file()
    assert all(p.name != "vocabulary.yaml" for p in pack_files(PACKS))


def test_a_hold_code_routing_no_longer_tests_is_still_routed_by_its_catch_all(tmp_path: Path) -> None:
    """Routing's X02 takes every hold code but CIA_UNPAID: a new, declared hold code needs no routing row (no error)."""
    packs = _copy(tmp_path)
    vocabulary = packs / "vocabulary.yaml"
    vocabulary.write_text(vocabulary.read_text().replace("    OVER_LIMIT: ", "    OVER_LIMIT_NEW: Renamed.\n    OVER_LIMIT: "))
    credit = packs / "credit" / "1.1.0.yaml"
    credit.write_text(credit.read_text().replace("then: {decision: hold, hold_code: OVER_LIMIT}", "then: {decision: hold, hold_code: OVER_LIMIT_NEW}"))
    pack_set, _ = build_pack_set(packs)
    assert pack_set is not None
    assert code_contracts(pack_set) == []
