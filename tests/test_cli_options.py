"""The command line as a policy owner types it: options anywhere, a coverage gate, packs found from any folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from api.cli import main
from rules.load import load_pack
from tests.conftest import PACKS, ROOT

EXAMPLE = str(ROOT / "examples" / "order.json")


@pytest.mark.parametrize("argv", [
    ["decide", "order", "--packs", str(PACKS), EXAMPLE, "--as-of", "2026-12-01"],
    ["decide", "--as-of", "2026-12-01", "order", EXAMPLE, "--packs", str(PACKS)],
    ["decide", "order", EXAMPLE, "--packs", str(PACKS), "--as-of", "2026-12-01"],
])
def test_decide_takes_options_before_between_and_after_positionals(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every order of options and positionals gives the same decision."""
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["output"]["order_id"] == "SO-1001"


def test_min_coverage_fails_a_pack_with_an_untested_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`arbiter test --min-coverage 100` exits 1 and names the rows no test reaches; without it the run passes."""
    pack = tmp_path / "credit"
    shutil.copytree(PACKS / "credit", pack)
    assert main(["test", str(tmp_path), "--min-coverage", "100"]) == 0
    capsys.readouterr()
    source = (PACKS / "credit" / "1.0.0.yaml").read_text()
    untested = source.replace("rows:\n      - {id: A1,", "rows:\n      - {id: A0, when: {order_amount: \"< 0\"}, then: {approver_level: cfo}}\n      - {id: A1,", 1)
    assert untested != source
    (pack / "1.0.0.yaml").write_text(untested)
    assert main(["test", str(tmp_path), "--min-coverage", "100"]) == 1
    out = capsys.readouterr().out
    assert "coverage-below-minimum: credit@1.0.0 covers" in out
    assert "approver.A0" in out
    assert main(["test", "--min-coverage", "50", str(tmp_path)]) == 0


@pytest.mark.parametrize("tagged", [
    "  - !!python/object/apply:os.system [echo owned]\n",
    "  - !!map {id: x}\n",
    "  - !custom [1, 2]\n",
])
def test_tags_are_refused_on_lists_and_mappings_too(tmp_path: Path, tagged: str) -> None:
    """A tag on a data row (a list or mapping node) is a yaml-tag error at that row, as on a scalar."""
    path = tmp_path / "p.yaml"
    path.write_text("pack: p\nversion: 1.0.0\ndescription: d\nowner: o\nrows:\n" + tagged)
    result = load_pack(path)
    assert result.pack is None
    if "!!map" in tagged:  # the standard mapping tag written out is still a plain mapping
        assert all(d.code != "yaml-tag" for d in result.diagnostics)
    else:
        assert [(d.position.line, d.position.col) for d in result.diagnostics if d.code == "yaml-tag"] == [(6, 5)]
