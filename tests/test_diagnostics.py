"""Bad packs: every mistake is reported at its file:line:col, all at once, sorted, without a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rules.load import load_pack

INVALID = Path(__file__).parent / "packs" / "invalid"
EXPECT = re.compile(r"^# expect: (\d+):(\d+) ([a-z-]+)$", re.MULTILINE)


def _expected(path: Path) -> list[tuple[int, int, str]]:
    return sorted((int(line), int(col), code) for line, col, code in EXPECT.findall(path.read_text()))


@pytest.mark.parametrize("path", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_invalid_pack_reports_each_mistake_where_it_stands(path: Path) -> None:
    """A flawed pack yields exactly the diagnostics its '# expect:' lines declare."""
    expected = _expected(path)
    assert expected, f"{path.name} declares no '# expect:' lines"
    result = load_pack(path)
    assert result.pack is None
    actual = sorted((d.position.line, d.position.col, d.code) for d in result.diagnostics)
    assert actual == expected


def test_diagnostics_come_sorted_by_position() -> None:
    """Diagnostics of one pack are ordered by line, then column."""
    result = load_pack(INVALID / "five_mistakes.yaml")
    positions = [(d.position.line, d.position.col) for d in result.diagnostics]
    assert positions == sorted(positions)
    assert len(positions) == 5


def test_check_command_prints_file_line_col_and_exits_1() -> None:
    """`arbiter check` prints path:line:col: code: message for each error and exits 1, no traceback."""
    path = INVALID / "five_mistakes.yaml"
    proc = subprocess.run([sys.executable, "-m", "api.cli", "check", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 5
    for line in lines:
        assert re.match(rf"^{re.escape(str(path))}:\d+:\d+: [a-z-]+: .+", line), line


def test_did_you_mean_names_the_close_candidate() -> None:
    """An unknown name or field suggests the declared one it is closest to."""
    messages = [d.message for d in load_pack(INVALID / "five_mistakes.yaml").diagnostics]
    assert any("did you mean 'amount'" in m for m in messages)
    assert any("did you mean 'description'" in m for m in messages)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just a string",
        "- a list\n- of things",
        "pack: [unclosed",
        "\t\tpack: tabs",
        "pack: x\npack: y\n",
        "pack: !!python/object:os.system echo\n",
        "a: &x [*x]\n",
    ],
)
def test_garbage_is_a_diagnostic_not_a_crash(tmp_path: Path, text: str) -> None:
    """Any file content gives diagnostics with positions, never an exception."""
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = load_pack(path)
    assert result.pack is None
    assert result.diagnostics
    assert all(d.position.line >= 1 for d in result.diagnostics)


def test_a_flow_with_a_broken_line_is_still_checked_as_a_flow(tmp_path: Path) -> None:
    """A YAML mistake in a flow is reported alone: the flow still sees its steps' packs."""
    import shutil

    from engine.registry import build_pack_set
    from tests.conftest import PACKS

    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    flow = packs / "order" / "1.0.0.yaml"
    lines = flow.read_text().splitlines()
    lines[13] += "}"  # `channel: {...}}`
    flow.write_text("\n".join(lines) + "\n")
    served, diagnostics = build_pack_set(packs)
    assert served is None
    codes = {d.code for d in diagnostics}
    assert "yaml-syntax" in codes
    assert "unknown-pack" not in codes


def test_yaml_errors_keep_pyyaml_s_own_words(tmp_path: Path) -> None:
    """A syntax error names the character that broke it, whichever YAML parser read the file first."""
    path = tmp_path / "p.yaml"
    path.write_text("pack: x\nversion: @1\n")
    messages = [d.message for d in load_pack(path).diagnostics if d.code == "yaml-syntax"]
    assert messages == ["while scanning for the next token; found character '@' that cannot start any token"]


def test_an_unquoted_no_is_named_as_yamls_boolean_where_it_stands() -> None:
    """Norway's NO, read by YAML as false, is said to be a boolean to quote, in the enum's values and in a cell."""
    messages = [d.message for d in load_pack(INVALID / "adv_norway.yaml").diagnostics]
    assert len(messages) == 2
    assert all("as false" in m or "boolean false" in m for m in messages), messages
    assert all("quote it" in m for m in messages), messages
