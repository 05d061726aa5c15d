"""simulate.py: import real history, replay it against two specs, deterministic whatever the workers."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from engine import jsonio
from replay import decide, html_report, specs
from replay import orders as order_io
from replay import shared as steps
from replay import tally as tallying
from replay.kpis import Kpis
from tests.conftest import PACKS, ROOT, shared

SIM = [sys.executable, str(ROOT / "simulate.py")]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIM, *args], capture_output=True, text=True, cwd=cwd, check=True)


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 400 Northwind orders as canonical orders (import, then cut)."""
    out = tmp_path_factory.mktemp("orders") / "northwind.jsonl"
    run("import", "northwind", str(shared("northwind")), "--out", str(out))
    lines = out.read_bytes().splitlines()
    assert len(lines) == 830
    out.write_bytes(b"\n".join(lines[:400]) + b"\n")
    return out


def test_import_keeps_real_exceptions() -> None:
    """Online Retail import keeps cancellations, guests and zero prices as orders for the packs to route."""
    out = subprocess.run([*SIM, "import", "online-retail", str(shared("online-retail")), "--out", "/dev/stdout"],
                         capture_output=True, cwd=ROOT, check=True).stdout.splitlines()
    assert len(out) == 25900
    first = [jsonio.loads(line) for line in out[:3000]]
    assert any(o["order_id"].startswith("C") and all(line["quantity"] < 0 for line in o["lines"]) for o in first)
    assert any(o["customer"]["customer_id"] == "GUEST" for o in first)
    assert any(line["list_price"] == 0 for o in first for line in o["lines"])


def test_replay_is_byte_identical_whatever_the_workers(orders: Path, tmp_path: Path) -> None:
    """The same command with 1 and with 2 workers writes the same summary.json and diff.csv bytes."""
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        run("run", "--orders", str(orders), "--baseline", str(PACKS), "--candidate", f"{PACKS}#credit@1.1.0,pricing@2.0.0",
            "--out", str(out), "--workers", workers, "--effective-on", "2026-11-24")
        outputs.append(((out / "summary.json").read_bytes(), (out / "diff.csv").read_bytes()))
    assert outputs[0] == outputs[1]
    summary = json.loads(outputs[0][0])
    assert summary["orders"] == 400
    assert summary["candidate"]["versions"]["credit@1.1.0"] == 400
    assert summary["baseline"]["versions"]["credit@1.0.0"] == 400
    assert sum(summary["decision_mix"]["baseline"].values()) == 400
    report = (tmp_path / "w1" / "report.md").read_text()
    assert report.splitlines()[2].startswith("- baseline ")  # the versions compared come first
    assert "credit@1.1.0 (400 orders)" in report.splitlines()[3]
    assert "<svg" in (tmp_path / "w1" / "report.html").read_text()


def test_sharing_steps_between_the_sides_changes_no_outcome(orders: Path) -> None:
    """Steps decided once for both sides (same version, same input) give the outcomes deciding each side alone gives."""
    day = dt.date(2026, 11, 24)
    baseline = specs.Spec(str(PACKS), PACKS, {})
    candidate = specs.Spec("pins", PACKS, {"credit": "1.1.0", "pricing": "2.0.0"})
    shared = steps.SharedSteps()
    sharing = (specs.load_spec(baseline, day, "native", shared), specs.load_spec(candidate, day, "native", shared))
    alone = (specs.load_spec(baseline, day), specs.load_spec(candidate, day))
    example = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    # tier C a few % over the limit: credit 1.1.0's tighter tolerance changes the hold, so routing's inputs differ
    tier_c = [dict(example, customer=dict(example["customer"], risk_tier="C", credit_limit=10000, open_receivables=owed))
              for owed in range(9000, 10600, 100)]
    values = [order_io.parse_record(record)[1:] for record in order_io.read_records(orders)]
    values += [(dt.date(2026, 6, 1), order) for order in tier_c]
    changed = 0
    for as_of, value in values:
        outcomes = decide.decide_both(*sharing, "order", value, as_of)
        assert outcomes == decide.decide_both(*alone, "order", value, as_of)
        changed += outcomes[0] != outcomes[1]
    assert changed > 0
    # allocation, at least, on every order; routing too where pricing 2.0.0's freight in dollars leaves the total as it was
    assert shared.reused >= 400 + 10


def test_shared_steps_reuse_a_decision_only_for_the_same_input() -> None:
    """Reused: equal scalars, the same list. Decided again: another value, 1.0 for 1.00, an equal copy of a list, another day."""
    day = dt.date(2026, 6, 1)
    packs = specs.load_spec(specs.Spec(str(PACKS), PACKS, {}), day)
    credit, allocation = packs.get("credit"), packs.get("allocation")
    shared = steps.SharedSteps()
    values = credit.validate(jsonio.loads((ROOT / "examples" / "credit.json").read_bytes()))
    first = shared.decide(credit, values, day, frozenset())
    assert shared.decide(credit, dict(values), day, frozenset()) is first
    amount = values["order_amount"]
    for other in ({**values, "order_amount": amount + 1}, {**values, "order_amount": amount.quantize(Decimal("0.001"))}):
        assert other["order_amount"] != amount or str(other["order_amount"]) != str(amount)
        assert shared.decide(credit, other, day, frozenset()) is not first
    assert shared.decide(credit, values, day + dt.timedelta(days=1), frozenset()) is not first
    order = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    step = {"no_split": False, "lines": order["lines"], "warehouses": order["warehouses"]}
    placed = shared.decide(allocation, step, day, frozenset())
    assert shared.decide(allocation, dict(step), day, frozenset()) is placed
    assert shared.decide(allocation, {**step, "lines": [dict(line) for line in order["lines"]]}, day, frozenset()) is not placed
    assert shared.reused == 2


def test_parquet_orders_replay_as_their_jsonl(tmp_path: Path) -> None:
    """Orders imported to Parquet (typed decimals and dates) replay to the bytes their JSONL gives."""
    outputs = []
    for name in ("orders.jsonl", "orders.parquet"):
        path = tmp_path / name
        run("import", "northwind", str(shared("northwind")), "--out", str(path))
        out = tmp_path / f"out-{path.suffix[1:]}"
        run("run", "--orders", str(path), "--baseline", str(PACKS), "--candidate", f"{PACKS}#credit@1.1.0,pricing@2.0.0",
            "--out", str(out), "--workers", "1", "--effective-on", "2026-11-24")
        # each cause's command names the orders file it came from; the rest must not differ
        summary = (out / "summary.json").read_bytes().replace(path.name.encode(), b"ORDERS")
        outputs.append((summary, (out / "diff.csv").read_bytes()))
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0][0])["orders"] == 830
    import pyarrow.parquet as pq

    schema = pq.read_schema(tmp_path / "orders.parquet")
    assert str(schema.field("as_of").type) == "date32[day]"
    assert str(schema.field("lines").type.value_type.field("list_price").type) == "decimal128(38, 6)"
    flow = specs.load_spec(specs.Spec(str(PACKS), PACKS, {}), dt.date(2026, 11, 24)).get("order")
    from_parquet = list(order_io.read_parquet_records(tmp_path / "orders.parquet"))
    from_jsonl = list(order_io.read_records(tmp_path / "orders.jsonl"))
    assert len(from_parquet) == len(from_jsonl) == 830
    for (_, a), (_, b) in zip(from_parquet, from_jsonl, strict=True):
        assert decide.admit(flow, jsonio.loads(a)) == decide.admit(flow, jsonio.loads(b))  # what the packs see
    first_cost = jsonio.loads(from_parquet[0][1])["lines"][0]["unit_cost"]
    assert str(first_cost) == "11.2"  # the column's six places are not handed on


def test_git_ref_reads_packs_as_committed(tmp_path: Path) -> None:
    """git:REF replays the packs as they were at a commit, without touching the work tree."""
    repo = tmp_path / "repo"
    (repo / "policy_packs" / "credit").mkdir(parents=True)
    source = (PACKS / "credit" / "1.0.0.yaml").read_text()
    (repo / "policy_packs" / "credit" / "1.0.0.yaml").write_text(source)

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "credit as shipped")
    # the second commit makes every release over 100 a hold
    changed = source.replace("      - id: C19\n        then: {decision: release, hold_code: null}",
                             "      - id: C18b\n        when: {order_amount: \"> 100\"}\n        then: {decision: hold, hold_code: REVIEW}\n"
                             "      - id: C19\n        then: {decision: release, hold_code: null}")
    assert changed != source
    (repo / "policy_packs" / "credit" / "1.0.0.yaml").write_text(changed)
    git("commit", "-qam", "hold everything over 100")
    example = json.loads((ROOT / "examples" / "credit.json").read_text())
    example["open_receivables"] = 1000
    example["order_amount"] = 500
    (repo / "orders.jsonl").write_text(json.dumps({"order_id": "o1", "as_of": "2026-06-01", **example}) + "\n")
    run("run", "--orders", "orders.jsonl", "--baseline", "git:HEAD~1", "--candidate", "git:HEAD", "--pack", "credit",
        "--out", "out", "--workers", "1", "--effective-on", "2026-06-01", cwd=repo)
    summary = json.loads((repo / "out" / "summary.json").read_text())
    assert summary["transitions"] == {"release->hold": 1}
    assert summary["rows_causing_changes"][0]["row"] in ("credit_decision:C18b", "credit_decision:C19")
    assert (repo / "policy_packs" / "credit" / "1.0.0.yaml").read_text() == changed


def test_a_decision_log_replays(tmp_path: Path) -> None:
    """Lines of the API's decision log are accepted as orders."""
    example = json.loads((ROOT / "examples" / "credit.json").read_text())
    log = tmp_path / "decisions.jsonl"
    log.write_text(json.dumps({"request_id": "r1", "pack": "credit", "version": "1.0.0", "digest": "x", "as_of": "2026-06-01",
                               "input": example, "output": {}, "matched": {}}) + "\n")
    run("run", "--orders", str(log), "--baseline", str(PACKS), "--candidate", f"{PACKS}#credit@1.1.0", "--pack", "credit",
        "--out", str(tmp_path / "out"), "--workers", "1", "--effective-on", "2026-06-01")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["orders"] == 1
    assert summary["errors"] == {"baseline": {}, "candidate": {}}


def test_lines_that_are_not_orders_are_counted_not_fatal(tmp_path: Path) -> None:
    """A line that is not JSON, or not an object, is an error on both sides; the replay goes on."""
    example = json.loads((ROOT / "examples" / "credit.json").read_text())
    orders = tmp_path / "orders.jsonl"
    orders.write_text("\n".join([json.dumps({"order_id": "o1", "as_of": "2026-06-01", **example}), "{not json", "[1, 2]",
                                  json.dumps({"order_id": "o2", "as_of": "2026-06-01", **example})]) + "\n")
    run("run", "--orders", str(orders), "--baseline", str(PACKS), "--candidate", f"{PACKS}#credit@1.1.0", "--pack", "credit",
        "--out", str(tmp_path / "out"), "--workers", "1", "--effective-on", "2026-06-01")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["orders"] == 4
    assert summary["errors"] == {"baseline": {"request-malformed": 2}, "candidate": {"request-malformed": 2}}


def test_one_order_side_by_side() -> None:
    """`simulate.py order` shows both decisions and the rows only one side fired."""
    proc = run("order", str(ROOT / "examples" / "order.json"), "--baseline", str(PACKS),
               "--candidate", f"{PACKS}#credit@1.1.0,pricing@2.0.0", "--as-of", "2026-06-01", "--effective-on", "2026-06-01")
    assert "decision" in proc.stdout
    assert "versions: baseline" in proc.stdout


def test_a_change_in_a_computed_value_is_traced_to_the_outputs_it_moves(tmp_path: Path) -> None:
    """The discount ceiling (a derived value, no row) shows as pricing.lines[].discount_pct in summary, report and diff."""
    example = json.loads((ROOT / "examples" / "order.json").read_text())
    # a distributor's 15 % plus the 1,000-unit break's 12 %: 27 %, over pricing 2.0.0's 25 % ceiling, under 1.0.0's 30 %
    capped = dict(example, order_id="capped", as_of="2026-03-01", customer=dict(example["customer"], price_group="distributor"),
                  lines=[dict(example["lines"][0], sku="WIDGET-09", quantity=1000)])
    unchanged = dict(example, order_id="same", as_of="2026-03-01", lines=[dict(example["lines"][0], sku="WIDGET-09")])
    orders = tmp_path / "orders.jsonl"
    orders.write_text("\n".join(json.dumps(o) for o in (capped, unchanged)) + "\n")
    out = tmp_path / "out"
    run("run", "--orders", str(orders), "--baseline", str(PACKS), "--candidate", f"{PACKS}#pricing@2.0.0",
        "--out", str(out), "--workers", "1", "--effective-on", "2026-03-01")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["changed"] == 1
    assert summary["rows_causing_changes"] == []  # the same rows fire on both sides
    changed = {o["output"]: o["orders"] for o in summary["outputs_changed"]}
    for output in ("order_total", "pricing.lines[].discount_pct", "pricing.lines[].net_price", "pricing.subtotal"):
        assert changed[output] == 1
    assert not any(name.startswith(("allocation.", "routing.")) for name in changed)  # shared steps, same input
    assert "pricing.lines[].discount_pct" in (out / "report.md").read_text()
    rows = (out / "diff.csv").read_text().splitlines()
    assert rows[1].startswith("capped,2026-03-01,")
    assert "pricing.lines[].ceiling_applied" in rows[1]


def test_differences_name_each_path_and_tell_written_forms_apart() -> None:
    """Objects by field, lists of objects element-wise under [], lists of other lengths whole; 1.0 is not 1.00."""
    x = {"total": Decimal("1.0"), "lines": [{"p": 1, "q": 2}, {"p": 3, "q": 4}], "codes": ["A"], "same": "s"}
    y = {"total": Decimal("1.00"), "lines": [{"p": 1, "q": 5}, {"p": 3, "q": 4}], "codes": ["A", "B"], "same": "s"}
    assert decide.differences(x, y, "step") == ["step.total", "step.lines[].q", "step.codes"]
    assert decide.differences(x, dict(x), "step") == []
    assert decide.differences({"a": 1}, {"a": True}, "s") == ["s.a"]  # 1 == True in Python, not in JSON
    assert decide.differences({"a": 1}, {}, "s") == ["s.a"]


def test_arbiter_simulate_is_simulate_py() -> None:
    """`arbiter simulate ...` gives what `python simulate.py ...` gives, --help included."""
    arbiter = [sys.executable, "-m", "api.cli", "simulate"]
    args = ["order", str(ROOT / "examples" / "order.json"), "--baseline", str(PACKS), "--candidate", f"{PACKS}#pricing@2.0.0",
            "--as-of", "2026-06-01", "--effective-on", "2026-06-01"]
    for rest in (["--help"], args):
        through_arbiter = subprocess.run([*arbiter, *rest], capture_output=True, text=True, cwd=ROOT, check=True)
        assert through_arbiter.stdout == run(*rest).stdout
    assert "outputs that differ:" in through_arbiter.stdout


def test_the_html_report_escapes_what_packs_name() -> None:
    """Decision values and row names a pack author wrote are text in report.html, never markup."""
    from replay.summary import build

    t = tallying.Tally()
    hostile = {"decision": "<script>x</script>", "matched": {"t": ["<b>R1</b>"]}, "steps": None}
    t.order("o-1", "", None, hostile, {"decision": "release", "matched": {"t": ["R2"]}, "steps": None}, Kpis())
    t.changed_outputs.update(["<i>out</i>"])
    compared = {"pack": "p", "baseline": "a", "candidate": "b", "effective_on": dt.date(2026, 1, 1), "reason": "given", "warnings": []}
    s = build(t, compared, ["<u>diff</u>"], {"baseline": [], "candidate": []}, "cmd")
    s["resolved"] = {"baseline": {"p": "1.0.0"}, "candidate": {"p": "1.1.0"}}
    page = html_report.report_html(s)
    for markup in ("<script>", "<b>R1", "<i>out", "<u>diff"):
        assert markup not in page
    assert "&lt;script&gt;" in page
