"""Shadow mode: the champion answers, the challenger is compared off the request path, agreement is measured."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.metrics import Metrics
from api.settings import Settings
from api.shadow import Shadow, compare, parse_challengers
from api.shadow_worker import Comparer, Config, differing
from engine import jsonio
from engine.registry import require_pack_set
from tests.conftest import PACKS
from tests.test_api import EXAMPLE

# tier C, 3 % over the limit: 1.0.0 holds it within tolerance (TOLERANCE_C), 1.1.0's 2 % makes it OVER_LIMIT
TIER_C = (b'{"order_amount": 3000, "open_receivables": 100000, "open_orders": 0, "credit_limit": 100000,'
          b' "days_past_due": 0, "risk_tier": "C", "segment": "smb", "payment_terms": "net30", "account_age_days": 900}')


def _metric(text: str, line_start: str) -> float:
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(line_start)]
    assert len(found) == 1, (line_start, text)
    return float(found[0])


def _shadowed(tmp_path: Path, challenger: str) -> TestClient:
    client = TestClient(create_app(PACKS, decision_log=tmp_path / "d.jsonl", settings=Settings(shadow=(challenger,))))
    client.__enter__()
    return client


def test_agreement_moves_when_the_challenger_differs(tmp_path: Path) -> None:
    """credit 1.1.0 shadows 1.0.0: answers are the champion's; the tier-C order disagrees on hold_code only."""
    client = _shadowed(tmp_path, "credit=1.1.0")
    plain = TestClient(create_app(PACKS))
    for body in (EXAMPLE, TIER_C):
        answer = client.post("/v1/decisions/credit?as_of=2026-06-01", content=body)
        assert answer.json()["version"] == "1.0.0"
        assert answer.json()["output"] == plain.post("/v1/decisions/credit?as_of=2026-06-01", content=body).json()["output"]
    client.app.state.service.shadow.drain()  # type: ignore[attr-defined]
    text = client.get("/metrics").text
    assert _metric(text, 'arbiter_shadow_agreement_ratio{pack="credit",output="*"}') == 0.5
    assert _metric(text, 'arbiter_shadow_agreement_ratio{pack="credit",output="decision"}') == 1.0
    assert _metric(text, 'arbiter_shadow_agreement_ratio{pack="credit",output="hold_code"}') == 0.5
    assert _metric(text, 'arbiter_shadow_comparisons_total{pack="credit",result="disagree"}') == 1
    client.__exit__(None, None, None)
    decisions = [jsonio.loads(line) for line in (tmp_path / "d.jsonl").read_bytes().splitlines()]
    shadows = [jsonio.loads(line) for line in (tmp_path / "d.shadow.jsonl").read_bytes().splitlines()]
    assert [s["decision_id"] for s in shadows] == [d["decision_id"] for d in decisions]
    assert [s["agree"] for s in shadows] == [True, False]
    assert shadows[1]["disagree"] == ["hold_code"]
    assert (shadows[1]["output"]["hold_code"], shadows[1]["challenger"]["output"]["hold_code"]) == (
        "TOLERANCE_C", "OVER_LIMIT")
    assert shadows[1]["challenger"]["version"] == "1.1.0"
    assert "order_amount_gbp" in shadows[1]["challenger"]["one_side"]  # 1.1.0's new output: named, not a disagreement


def test_a_batch_is_shadowed_item_by_item(tmp_path: Path) -> None:
    """Each batch item is compared; the batch's bytes are those of an unshadowed server."""
    client = _shadowed(tmp_path, "credit=1.1.0")
    body = b'{"inputs": [' + EXAMPLE + b"," + TIER_C + b"," + TIER_C + b"]}"
    shadowed = client.post("/v1/decisions/credit/batch?as_of=2026-06-01", content=body, headers={"x-request-id": "b"})
    plain = TestClient(create_app(PACKS)).post("/v1/decisions/credit/batch?as_of=2026-06-01", content=body,
                                               headers={"x-request-id": "b"})
    assert shadowed.content == plain.content
    client.app.state.service.shadow.drain()  # type: ignore[attr-defined]
    text = client.get("/metrics").text
    assert _metric(text, 'arbiter_shadow_comparisons_total{pack="credit",result="agree"}') == 1
    assert _metric(text, 'arbiter_shadow_comparisons_total{pack="credit",result="disagree"}') == 2
    client.__exit__(None, None, None)


def test_a_packs_folder_can_be_the_challenger(tmp_path: Path) -> None:
    """pack=folder: the folder's version effective on as_of is the challenger."""
    folder = tmp_path / "candidate" / "credit"
    folder.mkdir(parents=True)
    (folder / "1.0.0.yaml").write_text((PACKS / "credit" / "1.1.0.yaml").read_text().replace("version: 1.1.0", "version: 1.0.0")
                                       .replace("effective_from: 2027-01-01", "effective_from: 2026-01-01"))
    (folder / "fx_rates.csv").write_bytes((PACKS / "credit" / "fx_rates.csv").read_bytes())  # the data beside it
    challengers = parse_challengers((f"credit={tmp_path / 'candidate'}",), require_pack_set(PACKS))
    assert challengers["credit"].resolve(require_pack_set(PACKS), dt.date(2026, 6, 1)).digest != \
        require_pack_set(PACKS).get("credit", "1.0.0").digest
    client = _shadowed(tmp_path, f"credit={tmp_path / 'candidate'}")
    client.post("/v1/decisions/credit?as_of=2026-06-01", content=TIER_C)
    client.app.state.service.shadow.drain()  # type: ignore[attr-defined]
    assert _metric(client.get("/metrics").text, 'arbiter_shadow_comparisons_total{pack="credit",result="disagree"}') == 1
    client.__exit__(None, None, None)


@pytest.mark.parametrize("spec", ["credit", "credit=9.9.9", "nope=1.0.0", "=1.0.0"])
def test_a_wrong_challenger_stops_the_service_at_start(spec: str) -> None:
    """A challenger that is not pack=version or pack=folder, or names nothing served, is refused at start."""
    with pytest.raises(Exception, match=r"ARBITER_SHADOW|pack|version"):
        create_app(PACKS, settings=Settings(shadow=(spec,)))


def test_a_full_buffer_skips_the_comparison_and_counts_it() -> None:
    """With the shadow process behind, the request is not held up: the comparison is skipped and counted, then shed early."""
    packs = require_pack_set(PACKS)
    metrics = Metrics()
    # the process starts after the sends; the first batch is larger than a pipe holds (64 KiB), so
    # its rest waits in the buffer and the next two find it full (1 byte allowed)
    shadow = Shadow(Config(PACKS, ("credit=1.1.0",)), frozenset({"credit"}), metrics, max_bytes=1, start=False)
    decision = packs.get("credit", "1.0.0").decide(jsonio.loads(TIER_C), dt.date(2026, 6, 1))
    decision.output["memo"] = "x" * 200_000  # an output only the champion has: named, not compared
    for request_id in ("r1", "r2", "r3"):
        shadow.submit(decision, jsonio.loads(TIER_C), request_id, packs)
        if request_id == "r3":
            assert not shadow._pending  # behind: shed at submit, before its bytes are even written
        shadow.flush()
    shadow.start()
    shadow.drain()
    shadow.close()
    text = metrics.render()
    assert _metric(text, 'arbiter_shadow_comparisons_total{pack="credit",result="skipped"}') == 2
    assert _metric(text, 'arbiter_shadow_comparisons_total{pack="credit",result="disagree"}') == 1


def test_the_shadow_process_compiles_the_served_folder_again_after_a_reload(tmp_path: Path) -> None:
    """A job from a newer generation of served packs makes the shadow side compile the folder again; an older one does not."""
    shutil.copytree(PACKS / "credit", tmp_path / "credit")
    comparer = Comparer(Config(tmp_path, ("credit=1.1.0",)))
    before = comparer.challengers["credit"].resolve(comparer.served, dt.date(2027, 2, 1)).digest
    path = tmp_path / "credit" / "1.1.0.yaml"
    path.write_text(path.read_text().replace("  Candidate:", "  Edited candidate:", 1))
    comparer.follow(1)
    assert comparer.challengers["credit"].resolve(comparer.served, dt.date(2027, 2, 1)).digest == before
    comparer.follow(2)
    assert comparer.challengers["credit"].resolve(comparer.served, dt.date(2027, 2, 1)).digest != before


def test_a_sample_compares_the_same_requests_every_time(tmp_path: Path) -> None:
    """ARBITER_SHADOW_SAMPLE: a request id is always in or always out; the counts say how many were left out."""
    client = TestClient(create_app(PACKS, decision_log=tmp_path / "d.jsonl",
                                   settings=Settings(shadow=("credit=1.1.0",), shadow_sample=0.5)))
    client.__enter__()
    ids = [f"req-{n}" for n in range(40)]
    for request_id in ids + ids:  # each request sent twice, as a retry would be
        client.post("/v1/decisions/credit?as_of=2026-06-01", content=TIER_C, headers={"x-request-id": request_id})
    client.app.state.service.shadow.drain()  # type: ignore[attr-defined]
    text = client.get("/metrics").text
    client.__exit__(None, None, None)
    sampled = _metric(text, 'arbiter_shadow_decisions_total{pack="credit",sampled="true"}')
    assert sampled + _metric(text, 'arbiter_shadow_decisions_total{pack="credit",sampled="false"}') == 80
    assert 0 < sampled < 80
    compared = Counter(jsonio.loads(line)["request_id"] for line in (tmp_path / "d.shadow.jsonl").read_bytes().splitlines())
    assert set(compared.values()) == {2}  # a retry is compared exactly when its first try was
    assert sum(compared.values()) == sampled
    assert _metric(text, 'arbiter_shadow_comparisons_total{pack="credit",result="disagree"}') == sampled
    assert _metric(text, 'arbiter_shadow_agreement_ratio{pack="credit",output="hold_code"}') == 0.0


def test_the_shadow_process_runs_at_the_configured_lower_priority() -> None:
    """ARBITER_SHADOW_NICE is added to the shadow process's nice value, not the server's."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    if own > 14:
        pytest.skip("this process already runs at nice 15 or more")  # the increment would be capped at 19
    shadow = Shadow(Config(PACKS, ("credit=1.1.0",), nice=5), frozenset({"credit"}), Metrics())
    try:
        assert os.getpriority(os.PRIO_PROCESS, shadow._process.pid or 0) == own + 5
        assert os.sched_getscheduler(shadow._process.pid or 0) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, 0) == own
    finally:
        shadow.close()


def test_at_nice_19_the_shadow_process_is_in_the_idle_scheduling_class() -> None:
    """The default: any other task preempts the shadow process at once, not after its slice."""
    shadow = Shadow(Config(PACKS, ("credit=1.1.0",), nice=19), frozenset({"credit"}), Metrics())
    try:
        assert os.sched_getscheduler(shadow._process.pid or 0) == os.SCHED_IDLE
        assert os.sched_getscheduler(0) != os.SCHED_IDLE
    finally:
        shadow.close()


@pytest.mark.parametrize(("name", "value"), [("ARBITER_SHADOW_SAMPLE", "0"), ("ARBITER_SHADOW_SAMPLE", "1.5"),
                                             ("ARBITER_SHADOW_SAMPLE", "nan"), ("ARBITER_SHADOW_SAMPLE", "half"),
                                             ("ARBITER_SHADOW_NICE", "20"), ("ARBITER_SHADOW_NICE", "-1")])
def test_a_wrong_sample_or_nice_stops_the_service_at_start(name: str, value: str) -> None:
    """A sample rate outside (0, 1] or a nice increment outside 0..19 is refused with the variable's name."""
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_sample_and_nice_are_read_from_the_environment() -> None:
    """Both have defaults (every request, nice +19) and take the operator's values."""
    assert (Settings.from_env({}).shadow_sample, Settings.from_env({}).shadow_nice) == (1.0, 19)
    chosen = Settings.from_env({"ARBITER_SHADOW_SAMPLE": "0.25", "ARBITER_SHADOW_NICE": "0"})
    assert (chosen.shadow_sample, chosen.shadow_nice) == (0.25, 0)


@pytest.mark.parametrize(("champion", "challenger"), [
    ({"when": "2026-06-01"}, {"when": dt.date(2026, 6, 1)}),
    ({"when": "2026-06-01"}, {"when": dt.date(2026, 6, 2)}),
    ({"codes": ["A", "B"]}, {"codes": ("A", "B")}),
    ({"codes": ["A", "B"]}, {"codes": ("B", "A")}),
    ({"amount": Decimal("1.0")}, {"amount": Decimal("1.00")}),
    ({"amount": 1}, {"amount": Decimal("1.5")}),
    ({"rows": [{"x": Decimal("2.5")}]}, {"rows": [{"x": Decimal("2.50")}]}),
    ({"a": "x", "b": "y"}, {"a": "x", "c": "z"}),
])
def test_outputs_compared_as_decided_agree_exactly_when_they_agree_as_json(champion: dict[str, object],
                                                                          challenger: dict[str, object]) -> None:
    """The shadow process compares the challenger's output as decided; the answer is the one JSON would give."""
    assert differing(champion, challenger) == compare(champion, jsonio.loads(jsonio.dumps(challenger)))
