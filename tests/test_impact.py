"""The impact report: versions compared, kinds of change, causes in the policy's words, money per currency, owners' breakdowns."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from engine import jsonio
from replay.attribution import attribute, kind_of, variants
from replay.decide import decide_both
from replay.history import import_online_retail
from replay.html_report import COLOURS
from replay.kpis import Kpis
from replay.orders import write_orders
from replay.specs import Spec, load_spec
from tests.conftest import PACKS, ROOT, shared
from tests.strategies import one_edit_versions

SIM = [sys.executable, str(ROOT / "simulate.py")]
FLOOR = 'floor_price: round(unit_cost * 110 / 100, 2, "half_up")'
CATCH_ALL = '          - {id: QB5, then: {break_pct: 0, break_code: null}, reason: "Under 24 units take no quantity break."}'


def simulate(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIM, *args], capture_output=True, text=True, cwd=cwd, check=check)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True, capture_output=True)


def pricing_2_0_1() -> str:
    """Pricing 2.0.0 with the margin floor at 15 % and a 1 % break for 12 to 23 units, from 2027-03-01 (the bundled 2.1.0 is later)."""
    source = (PACKS / "pricing" / "2.0.0.yaml").read_text()
    changed = (source.replace("version: 2.0.0", "version: 2.0.1").replace("effective_from: 2027-01-01", "effective_from: 2027-03-01")
               .replace(FLOOR, FLOOR.replace("110", "115"))
               .replace(CATCH_ALL, '          - {id: QB6, when: {quantity: "[12..24)"}, then: {break_pct: 1, break_code: QB12}}\n' + CATCH_ALL))
    assert changed.count("115 / 100") == 1
    assert "QB6" in changed
    assert "version: 2.0.1" in changed
    return changed


def copy_packs(target: Path) -> Path:
    """The bundled packs without the versions taking effect after 2027-01-01: pricing 2.0.0 is the newest, as in the issue."""
    shutil.copytree(PACKS, target)
    for path in target.glob("*/*.yaml"):
        found = re.search(r"^effective_from: (\S+)", path.read_text(), re.MULTILINE)
        if found and dt.date.fromisoformat(found.group(1)) > dt.date(2027, 1, 1):
            path.unlink()
    return target


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 1,500 Online Retail invoices as canonical orders (they hold new margin holds under a 15 % floor)."""
    out = tmp_path_factory.mktemp("retail") / "orders.jsonl"
    write_orders(itertools.islice(import_online_retail(shared("online-retail")), 1500), out)
    return out


@pytest.fixture(scope="module")
def pricing_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Git repository: the bundled packs on main, pricing 2.0.1 committed on a branch that is checked out."""
    repo = tmp_path_factory.mktemp("repo")
    copy_packs(repo / "policy_packs")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "packs as shipped")
    git(repo, "checkout", "-qb", "pricing-2.0.1")
    (repo / "policy_packs" / "pricing" / "2.0.1.yaml").write_text(pricing_2_0_1())
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pricing 2.0.1")
    return repo


def test_a_pricing_branch_is_compared_by_version_and_its_causes_named(pricing_repo: Path, retail: Path) -> None:
    """git:main against git:HEAD, no --effective-on: 2.0.0 vs 2.0.1 named, new margin holds on the floor, the break price-only."""
    outs = []
    for workers in ("1", "2"):
        out = pricing_repo / f"impact-{workers}"
        simulate("run", "--orders", str(retail), "--baseline", "git:main", "--candidate", "git:HEAD", "--out", str(out),
                 "--workers", workers, cwd=pricing_repo)
        outs.append([(out / name).read_bytes() for name in ("summary.json", "diff.csv", "report.md", "report.html")])
    assert outs[0] == outs[1]  # byte-identical whatever the workers
    out = pricing_repo / "impact-1"
    s = json.loads((out / "summary.json").read_text())
    assert s["effective_on"] == "2027-03-01"
    assert "pricing@2.0.1" in s["effective_on_reason"]
    assert (s["resolved"]["baseline"]["pricing"], s["resolved"]["candidate"]["pricing"]) == ("2.0.0", "2.0.1")
    report = (out / "report.md").read_text().splitlines()
    assert "pricing@2.0.0 (1,500 orders)" in report[2]
    assert "pricing@2.0.1 (1,500 orders)" in report[3]
    causes = {c["cause"]: c for c in s["causes"]}
    floor, qb = causes["pricing: derive floor_price (priced_lines, after)"], causes["pricing: table quantity_break (priced_lines, line-level)"]
    assert floor["transitions"].get("release -> hold", 0) > 0
    assert floor["kinds"]["decision"] == s["headline"]["decision"]["orders"]  # every decision change is the floor's
    assert "decision" not in qb["kinds"]
    assert qb["kinds"]["money"] > 0
    assert "money" not in floor["kinds"]
    assert qb["price_effect"]["GBP"] < 0
    assert qb["rows"]["QB5 -> QB6"] > 0
    assert not floor["price_effect"]  # the floor changes no price
    new_margin_holds = 0
    with (out / "diff.csv").open() as f:
        for row in csv.DictReader(f):
            before, after = json.loads(row["baseline_output"]), json.loads(row["candidate_output"])
            if "MARGIN_BREACH" in after.get("hold_reasons", []) and "MARGIN_BREACH" not in before.get("hold_reasons", []):
                new_margin_holds += 1
                assert "derive floor_price" in row["causes"], row["order_id"]
    assert new_margin_holds >= floor["kinds"]["decision"] > 0
    money = s["money"]["GBP"]
    assert money["price_effect"] < 0
    assert money["decision_effect"]["release -> hold"] > 0
    assert list(s["money"]) == ["GBP"]
    page = (out / "report.html").read_text()
    assert 'width="0.0"' not in page  # no bar of nothing
    for chart in ("Decision mix", "Value by decision (GBP)", "Orders whose decision changed", "Change in value by decision (GBP)",
                  "Price effect by cause (GBP, same decision)", "Changed orders by cause"):
        assert f"<title>{chart}</title>" in page, chart
    price = page[page.index("<title>Price effect by cause (GBP, same decision)</title>"):]
    price = price[:price.index("</svg>")]
    assert "quantity_break" in price
    assert "floor_price" not in price  # the floor moves no price: it is not in a delta chart of prices


def test_arbiter_diff_names_the_edits_in_the_packs_terms(pricing_repo: Path) -> None:
    """`arbiter diff git:main git:HEAD pricing` on 2.0.1's date lists the window, the added row, the derive's expressions, and an example of each."""
    proc = subprocess.run([sys.executable, "-m", "api.cli", "diff", "git:main", "git:HEAD", "pricing", "--effective-on", "2027-03-01"],
                          capture_output=True,
                          text=True, cwd=pricing_repo, check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    lines = proc.stdout.splitlines()
    assert lines[0] == "pricing@2.0.0 -> pricing@2.0.1: 3 change(s)"
    assert "      effective_from: 2027-01-01 -> 2027-03-01" in lines
    assert any(line.strip().startswith("row QB6 added before QB5:") for line in lines)
    assert '      round(unit_cost * 110 / 100, 2, "half_up") -> round(unit_cost * 115 / 100, 2, "half_up")' in lines
    assert any(line.startswith("  inputs pricing@2.0.0 and pricing@2.0.1 decide differently") for line in lines)
    inputs = [jsonio.loads(line.split("input: ", 1)[1]) for line in lines if line.startswith("       input: ")]
    assert 1 <= len(inputs) <= 3
    from engine.registry import require_pack_set

    packs = require_pack_set(pricing_repo / "policy_packs")
    decided = [[packs.get("pricing", v).decide(i, dt.date(2027, 3, 1)).output for v in ("2.0.0", "2.0.1")] for i in inputs]
    for before, after in decided:  # each example, decided again here by both versions, really differs
        assert before != after
        assert before["lines"][0]["floor_price"] != after["lines"][0]["floor_price"] or after["lines"][0]["break_code"] == "QB12"
    # each edit gets its own example before knock-on effects do: the floor's (round() is within the analysis) is among the three
    floor = [i for i, line in enumerate(lines) if line.endswith("  [derive floor_price]")]
    assert len(floor) == 1
    assert lines[floor[0] + 1].startswith("       lines[].floor_price: ")
    assert not any("beyond the table analysis" in line for line in lines)


def test_arbiter_diff_says_when_no_example_input_can_be_produced() -> None:
    """Allocation 1.0.0 -> 1.1.0 computes through sections and map(), beyond the analysis: no example, and the diff says why."""
    proc = subprocess.run([sys.executable, "-m", "api.cli", "diff", f"{PACKS}#allocation@1.0.0", f"{PACKS}#allocation@1.1.0", "allocation"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    lines = proc.stdout.splitlines()
    assert "  no example input: the table analysis cannot encode what these versions compute" in lines
    assert not any(line.startswith("       input: ") for line in lines)
    assert any(line.startswith("  beyond the table analysis, so no example can show them: ") and "map()" in line for line in lines)


def test_arbiter_diff_finds_a_credit_input_whose_hold_code_changes() -> None:
    """Credit 1.0.0 -> 1.1.0 (tier C tolerance 5 % -> 2 %): an input the two decide with other hold codes, decided again here."""
    from engine.registry import require_pack_set

    proc = subprocess.run([sys.executable, "-m", "api.cli", "diff", str(PACKS), f"{PACKS}#credit@1.1.0", "credit", "--effective-on",
                           "2026-06-01"], capture_output=True, text=True, cwd=ROOT, check=True)
    lines = proc.stdout.splitlines()
    inputs = [jsonio.loads(line.split("input: ", 1)[1]) for line in lines if line.startswith("       input: ")]
    assert inputs
    packs = require_pack_set(PACKS)
    for value in inputs:
        before = packs.get("credit", "1.0.0").decide({k: v for k, v in value.items() if k != "currency"}, dt.date(2026, 6, 1)).output
        after = packs.get("credit", "1.1.0").decide(value, dt.date(2026, 6, 1)).output
        assert before["hold_code"] != after["hold_code"]
        assert value["risk_tier"] == "C"  # the tier whose tolerance changed


def test_a_parameter_change_is_its_own_edit_in_the_diff_and_the_causes(tmp_path: Path, retail: Path) -> None:
    """The margin floor as a pack parameter, 10 -> 15: the diff and the impact report name 'param margin_floor_pct 10 -> 15'."""
    packs = copy_packs(tmp_path / "packs")
    param = "params:\n  margin_floor_pct: {type: integer, value: %d, description: net price at least this much over unit cost}\n"
    source = (packs / "pricing" / "2.0.0.yaml").read_text().replace(FLOOR, 'floor_price: round(unit_cost * (100 + margin_floor_pct) / 100, 2, "half_up")')
    assert "margin_floor_pct" in source
    (packs / "pricing" / "2.0.0.yaml").write_text(source.replace("\ninputs:", "\n" + param % 10 + "inputs:", 1))
    (packs / "pricing" / "2.1.0.yaml").write_text(source.replace("\ninputs:", "\n" + param % 15 + "inputs:", 1)
                                                  .replace("version: 2.0.0", "version: 2.1.0").replace("effective_from: 2027-01-01", "effective_from: 2027-03-01"))
    proc = subprocess.run([sys.executable, "-m", "api.cli", "diff", f"{packs}#pricing@2.0.0", f"{packs}#pricing@2.1.0", "pricing", "--examples", "0"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    assert "  changed pricing: param margin_floor_pct 10 -> 15" in proc.stdout.splitlines()
    out = tmp_path / "out"
    simulate("run", "--orders", str(retail), "--baseline", f"{packs}#pricing@2.0.0", "--candidate", f"{packs}#pricing@2.1.0", "--out", str(out),
             "--workers", "2", "--effective-on", "2027-03-01")
    s = json.loads((out / "summary.json").read_text())
    causes = {c["cause"]: c for c in s["causes"]}
    assert list(causes) == ["pricing: param margin_floor_pct 10 -> 15"]  # the one edit, in the author's words
    assert causes["pricing: param margin_floor_pct 10 -> 15"]["transitions"].get("release -> hold", 0) > 0


def _orders_file(path: Path, orders: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in orders))
    return path


def test_a_credit_change_shows_hold_code_transitions(tmp_path: Path) -> None:
    """Credit 1.1.0's tighter tier C tolerance moves holds from one code to another, counted as code -> code."""
    example = json.loads((ROOT / "examples" / "order.json").read_text())
    orders = [dict(example, order_id=f"c{owed}", as_of="2026-06-01",
                   customer=dict(example["customer"], risk_tier="C", credit_limit=10000, open_orders=0, open_receivables=owed))
              for owed in range(9000, 10600, 100)]
    out = tmp_path / "out"
    simulate("run", "--orders", str(_orders_file(tmp_path / "o.jsonl", orders)), "--baseline", str(PACKS),
             "--candidate", f"{PACKS}#credit@1.1.0", "--out", str(out), "--workers", "1", "--effective-on", "2026-06-01")
    s = json.loads((out / "summary.json").read_text())
    assert s["hold_code_transitions"]
    assert all(a != b for a, b in (k.split(" -> ") for k in s["hold_code_transitions"]))
    assert sum(s["hold_code_transitions"].values()) <= s["changed"]
    assert "### Hold codes" in (out / "report.md").read_text()
    assert any(c["cause"] == "credit: data tier_tolerance" for c in s["causes"])


def test_a_routing_change_adding_a_queue_shows_items_per_day_and_sla_hours(tmp_path: Path) -> None:
    """A new routing row sending orders over 100 to a review queue: its items per day (mean, peak) and SLA-hours added."""
    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    source = (packs / "exception_routing" / "1.0.0.yaml").read_text()
    row = "      - {id: X09, when: {order_total: \"> 250000\"},"
    changed = source.replace("version: 1.0.0", "version: 1.0.1").replace("effective_from: 2026-01-01", "effective_from: 2026-07-01").replace(row, (
        "      - {id: X11, when: {order_total: \"> 100\"},\n"
        "         then: {exception: LARGE_REVIEW, queue: review, priority: 3, sla_hours: 12, escalation_role: sales_ops_lead}}\n" + row))
    assert "X11" in changed
    assert "effective_from: 2026-07-01" in changed
    (packs / "exception_routing" / "1.0.1.yaml").write_text(changed)
    example = json.loads((ROOT / "examples" / "order.json").read_text())
    days = ["2026-06-01"] * 4 + ["2026-06-02"] * 2
    orders = [dict(example, order_id=f"r{n}", as_of=day) for n, day in enumerate(days)]
    out = tmp_path / "out"
    simulate("run", "--orders", str(_orders_file(tmp_path / "o.jsonl", orders)), "--baseline", str(packs),
             "--candidate", f"{packs}#exception_routing@1.0.1", "--out", str(out), "--workers", "1", "--effective-on", "2026-06-01")
    s = jsonio.loads((out / "summary.json").read_bytes())
    review = s["queues"]["review"]
    assert review["baseline"]["items"] == 0
    assert review["candidate"] == {"items": 6, "per_day_mean": Decimal("3.00"), "per_day_peak": 4, "sla_hours": 72}
    assert (review["items_added"], review["sla_hours_added"]) == (6, 72)
    assert "| review | 0.00 | 3.00 | 0 | 4 | +6 | +72 |" in (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    queues = page[page.index("<title>Items per day by queue</title>"):]
    queues = queues[:queues.index("</svg>")]
    row = queues[queues.index(">review</text>"):]
    assert row.count("<rect") == 1  # the candidate's bar; the baseline has no review queue, so no bar of 0
    assert COLOURS["candidate"] in row
    assert ">0.00</text>" not in row  # nor a label for it
    assert queues.count(f'fill="{COLOURS["baseline"]}"/>') == sum(1 for r in s["queues"].values() if r["baseline"]["items"])
    sla = page[page.index("<title>SLA-hours added by queue</title>"):]
    assert ">+72</text>" in sla[:sla.index("</svg>")]


@pytest.mark.parametrize(("case", "expected"), [
    ("pin", "has no version '9.9.9'"),
    ("ref", "cannot read policy_packs at no-such-ref"),
    ("missing", "cannot read the input"),
    ("parquet", "cannot read the input"),
    ("gzip", "cannot read the input"),
    ("same", "nothing to compare"),
])
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(pricing_repo: Path, tmp_path: Path, case: str, expected: str) -> None:
    """An unknown pin or ref, an unreadable or malformed orders file, or nothing to compare: one line, exit 2, no output folder."""
    orders = _orders_file(tmp_path / "o.jsonl", [json.loads((ROOT / "examples" / "order.json").read_text())])
    baseline, candidate = "git:main", "git:HEAD"
    if case == "pin":
        candidate = "git:HEAD#pricing@9.9.9"
    elif case == "ref":
        baseline = "git:no-such-ref"
    elif case == "missing":
        orders = tmp_path / "absent.jsonl"
    elif case == "parquet":
        orders = tmp_path / "o.parquet"
        orders.write_bytes(b"not parquet at all")
    elif case == "gzip":
        orders = tmp_path / "o.jsonl.gz"
        orders.write_bytes(b"\x1f\x8b\x08\x00broken")
    else:
        candidate = "git:main"
    out = tmp_path / "out"
    proc = simulate("run", "--orders", str(orders), "--baseline", baseline, "--candidate", candidate, "--out", str(out),
                    "--workers", "1", cwd=pricing_repo, check=False)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out-")]


def _side(folder: Path, text: str) -> Path:
    (folder / "toy").mkdir(parents=True)
    (folder / "toy" / "1.0.0.yaml").write_text(text)
    return folder


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=one_edit_versions())
def test_one_edit_is_the_cause_of_every_order_it_changes(tmp_path_factory: pytest.TempPathFactory,
                                                         case: tuple[str, str, str, list[dict[str, object]]]) -> None:
    """Two versions differing in one derive, one row or one data value: every changed order is credited to that one edit."""
    base_text, cand_text, name, orders = case
    root = tmp_path_factory.mktemp("toy")
    day = dt.date(2026, 6, 1)
    base = load_spec(Spec("a", _side(root / "a", base_text), {}), day)
    cand = load_spec(Spec("b", _side(root / "b", cand_text), {}), day)
    made, alone = variants(base, cand, "toy")
    kpis = Kpis(decision="decision", money=("score",))
    for order in orders:
        a, b = decide_both(base, cand, "toy", order, day, None, kpis)
        if jsonio.dumps(a) == jsonio.dumps(b):
            continue
        credits = attribute(made, alone, "toy", order, day, a, b, kpis)
        assert [c.cause for c in credits] == [name], (order, a, b)
        assert kind_of(a, b, kpis) in credits[0].aspects


def test_a_decision_log_is_checked_against_production_before_the_candidate(tmp_path: Path) -> None:
    """--baseline logged: each record through the version it names; outputs reproduced byte for byte are counted, the rest listed."""
    from engine.registry import require_pack_set

    credit = require_pack_set(PACKS).get("credit", "1.0.0")
    example = jsonio.loads((ROOT / "examples" / "credit.json").read_bytes())
    records = []
    for n, owed in enumerate(range(0, 60000, 5000)):
        value = dict(example, open_receivables=owed)
        d = credit.decide(value, dt.date(2026, 6, 1))
        records.append({"request_id": f"r{n}", "pack": "credit", "version": "1.0.0", "digest": credit.digest, "as_of": "2026-06-01",
                        "input": value, "output": d.output, "matched": d.matched})
    records[3]["output"] = dict(records[3]["output"], hold_code="TAMPERED")  # what production answered, and 1.0.0 no longer does
    log = tmp_path / "decisions.jsonl"
    log.write_bytes(b"".join(jsonio.dumps(r) + b"\n" for r in records))
    out = tmp_path / "out"
    proc = simulate("run", "--orders", str(log), "--baseline", "logged", "--candidate", f"{PACKS}#credit@1.1.0", "--pack", "order",
                    "--out", str(out), "--workers", "1", "--effective-on", "2026-06-01")
    assert "production check: 11 of 12 logged outputs reproduced byte for byte; 1 differ" in proc.stdout
    s = json.loads((out / "summary.json").read_text())
    assert s["logged"]["mismatches"] == [{"order_id": "r3", "version": "credit@1.0.0", "differs": ["hold_code"], "detail": ""}]
    assert s["orders"] == 12
    assert s["errors"] == {"baseline": {}, "candidate": {}}  # credit records in a run of --pack order go through credit


def _service_log(path: Path) -> None:
    """A decision log written by the service itself: credit 1.0.0 and 1.1.0 decisions, order flows, and five refusals."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    credit = jsonio.loads((ROOT / "examples" / "credit.json").read_bytes())
    order = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    calls = [(f"credit?as_of=2026-06-01{pin}", dict(credit, open_receivables=owed), f"c{owed}{'-v11' if pin else ''}")
             for owed in (0, 20000, 45000) for pin in ("", "&version=1.1.0")]
    calls += [("order?as_of=2026-06-01", dict(order, order_id=f"o{n}"), f"o{n}") for n in range(2)]
    calls += [("credit?as_of=2026-06-01", {"order_amount": -1}, "bad-422"), ("credit?as_of=2026-06-01&version=9.9.9", credit, "bad-404"),
              ("nosuch?as_of=2026-06-01", credit, "bad-pack"), ("credit/batch?as_of=2026-06-01", {"inputs": [credit, {"order_amount": 1}]}, "b")]
    with TestClient(create_app(PACKS, decision_log=path)) as client:
        for route, body, request_id in calls:
            client.post(f"/v1/decisions/{route}", content=jsonio.dumps(body), headers={"x-request-id": request_id})
        client.post("/v1/decisions/credit?as_of=2026-06-01", content=b"{not json", headers={"x-request-id": "bad-json"})


def test_a_service_log_with_refusals_and_mixed_versions_replays_each_record_through_its_own_version(tmp_path: Path) -> None:
    """A real log: refusals counted and skipped, each record through its own pack and version, every version named with its count."""
    log = tmp_path / "decisions.jsonl"
    _service_log(log)
    lines = log.read_bytes().splitlines()
    assert len(lines) == 14
    tampered = [jsonio.loads(line) for line in lines]
    changed = next(r for r in tampered if r["request_id"] == "c20000")
    changed["output"] = dict(changed["output"], hold_code="TAMPERED")  # production answered this; 1.0.0 no longer does
    log.write_bytes(b"".join(jsonio.dumps(r) + b"\n" for r in tampered))
    out = tmp_path / "out"
    proc = simulate("run", "--orders", str(log), "--baseline", "logged", "--candidate", f"{PACKS}#credit@1.1.0", "--pack", "credit",
                    "--out", str(out), "--workers", "1", "--effective-on", "2026-06-01")
    assert "5 refused requests in the log, not replayed (422 input-invalid: 2, 400 request-malformed: 1, " \
           "404 unknown-pack: 1, 404 unknown-version: 1)" in proc.stdout
    assert "production check: 8 of 9 logged outputs reproduced byte for byte; 1 differ" in proc.stdout
    s = jsonio.loads((out / "summary.json").read_bytes())
    assert s["orders"] == 9
    assert s["errors"] == {"baseline": {}, "candidate": {}}  # no refusal replayed as an order; order records went through the flow
    assert s["baseline"]["packs"] == {"credit@1.0.0": 4, "credit@1.1.0": 3, "order@1.0.0": 2}
    assert s["candidate"]["packs"] == {"credit@1.1.0": 7, "order@1.0.0": 2}
    assert s["baseline"]["versions"]["credit@1.0.0"] == 2  # the flows' credit step, as each record names it
    assert s["candidate"]["versions"]["credit@1.1.0"] == 2
    assert s["logged"]["mismatches"] == [{"order_id": "c20000", "version": "credit@1.0.0", "differs": ["hold_code"], "detail": ""}]
    report = (out / "report.md").read_text()
    assert "credit@1.0.0 (4 orders), credit@1.1.0 (3 orders), order@1.0.0 (2 orders)" in report.splitlines()[2]
    assert "5 refused requests in the log, not replayed" in report
    with (out / "diff.csv").open() as f:
        ids = {row["order_id"] for row in csv.DictReader(f)}
    assert "b[0]" in ids  # a batch item is named by its request and its place
    assert not ids & {"c0-v11", "c20000-v11", "c45000-v11"}  # records of 1.1.0 decide as the 1.1.0 candidate does
    assert {"c0", "c20000", "c45000"} <= ids
