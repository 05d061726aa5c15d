"""The bundled packs and the valid test packs: they compile, and their embedded tests hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.registry import require_pack_set
from engine.testing import run_pack_tests
from tests.conftest import PACKS, ROOT

VALID = Path(__file__).parent / "packs" / "valid"
PACK_SETS = [require_pack_set(PACKS), require_pack_set(VALID)]
ALL = [pack for pack_set in PACK_SETS for pack in pack_set]


@pytest.mark.parametrize("pack", ALL, ids=lambda p: p.key)
def test_embedded_tests_pass_and_reach_every_row(pack) -> None:  # type: ignore[no-untyped-def]
    """Every embedded test passes and together they hit every row of every table."""
    report = run_pack_tests(pack)
    failures = [(o.name, o.failures) for o in report.outcomes if not o.passed]
    assert failures == []
    hit, total, missed = report.coverage()
    assert missed == [], f"{pack.key}: rows no test reaches"
    assert hit == total
    assert total > 0 or pack.ir.kind == "flow"  # a flow's rows live in the packs it runs


def test_arbiter_test_ends_with_the_count_line() -> None:
    """`arbiter test` ends with 'N passed, N failed' and exits 0 on the bundled packs."""
    proc = subprocess.run([sys.executable, "-m", "api.cli", "test", str(PACKS)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    passed, failed = last.split(", ")
    assert passed.endswith(" passed")
    assert int(passed.split()[0]) >= 20
    assert failed == "0 failed"


def test_a_failing_embedded_test_is_reported_with_its_position(tmp_path: Path) -> None:
    """A wrong expectation fails `arbiter test` with file:line:col of the test and exit 1."""
    source = (VALID / "expressions" / "1.0.0.yaml").read_text().replace("widget_price: 9.95", "widget_price: 9.96")
    folder = tmp_path / "expressions"
    folder.mkdir()
    (folder / "1.0.0.yaml").write_text(source)
    (folder / "prices.csv").write_text((VALID / "expressions" / "prices.csv").read_text())
    proc = subprocess.run([sys.executable, "-m", "api.cli", "test", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 1
    assert "1.0.0.yaml:" in proc.stdout
    assert "output widget_price: expected 9.96, got 9.95" in proc.stdout
    total = len(yaml.safe_load(source)["tests"])
    assert proc.stdout.strip().splitlines()[-1] == f"{total - 1} passed, 1 failed"


def test_schema_command_prints_the_pack_format() -> None:
    """`arbiter schema` prints a JSON Schema that names the pack's top-level fields."""
    proc = subprocess.run([sys.executable, "-m", "api.cli", "schema"], capture_output=True, text=True, cwd=ROOT, check=True)
    schema = json.loads(proc.stdout)
    assert {"pack", "version", "inputs", "outputs", "tables"} <= set(schema["properties"])
    assert set(schema["required"]) >= {"pack", "version", "description", "owner", "outputs"}


def test_decide_prints_the_same_bytes_as_the_engine() -> None:
    """`arbiter decide` writes exactly Decision.to_json() of the in-process engine."""
    import datetime as dt

    from engine import jsonio

    example = ROOT / "examples" / "credit.json"
    proc = subprocess.run([sys.executable, "-m", "api.cli", "decide", "credit", str(example), "--packs", str(PACKS),
                           "--as-of", "2026-06-01"], capture_output=True, cwd=ROOT, check=True)
    pack = PACK_SETS[0].get("credit", None, dt.date(2026, 6, 1))
    expected = pack.decide(jsonio.loads(example.read_bytes()), dt.date(2026, 6, 1)).to_json()
    assert proc.stdout.rstrip(b"\n") == expected


def test_the_readme_shows_the_decision_its_example_gets() -> None:
    """The README's example decision is what the engine decides for examples/credit.json on 2026-06-01."""
    import datetime as dt
    import re

    from engine import jsonio

    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"```json\n(.*?)```", readme, re.S)
    assert shown is not None
    text = " ".join(shown.group(1).split())
    pack = PACK_SETS[0].get("credit", None, dt.date(2026, 6, 1))
    decision = pack.decide(jsonio.loads((ROOT / "examples" / "credit.json").read_bytes()), dt.date(2026, 6, 1))
    for key, value in decision.output.items():
        assert f'"{key}":{jsonio.dumps(value).decode()}' in text, key
    assert f'"matched":{jsonio.dumps(decision.matched).decode()}' in text.replace(", ", ",")
    assert jsonio.dumps(decision.reasons).decode() in text


def test_the_order_flow_trace_holds_each_step_trace() -> None:
    """`arbiter decide --trace` and HTTP trace=true on the order flow show every step's derived values and tables."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    example = ROOT / "examples" / "order.json"
    proc = subprocess.run([sys.executable, "-m", "api.cli", "decide", "order", str(example), "--packs", str(PACKS),
                           "--as-of", "2026-06-01", "--trace"], capture_output=True, cwd=ROOT, check=True)
    over_http = TestClient(create_app(PACKS)).post("/v1/decisions/order?as_of=2026-06-01&trace=true",
                                                   content=example.read_bytes()).json()
    for trace in (json.loads(proc.stdout)["trace"], over_http["trace"]):
        assert list(trace["steps"]) == ["pricing", "credit", "allocation", "routing"]
        assert trace["steps"]["credit"]["derived"]["exposure"] > 0
        assert trace["steps"]["credit"]["tables"]["credit_decision"]["matched"] != []
        assert trace["steps"]["pricing"]["tables"]["quantity_break"]["matched"] != []
