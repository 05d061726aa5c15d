"""simulate.py run --cache: outcomes kept between replays are reused, and a cached run writes the uncached bytes."""

from __future__ import annotations

import ast
import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from engine import jsonio
from engine.pairing import PairedDecisions
from replay import run
from replay.cache import (
    DECIDING,
    STEPS_KEPT_PER_ORDER,
    CachedSides,
    KeptSteps,
    SideCache,
    _module_file,
    _StepPart,
    deciding_files,
    decode,
    encode,
    encode_outcome,
    joined,
    parser_digest,
    record_digest,
    source_digest,
)
from replay.cli import main as simulate_main
from replay.orders import parse_record, read_records
from replay.specs import Spec
from replay.tally import Tally
from tests.conftest import PACKS, ROOT, shared
from tests.strategies import decided_values, temporal_values

OUTPUTS = ("summary.json", "diff.csv", "report.md", "report.html")


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All 830 Northwind orders as canonical JSONL."""
    out = tmp_path_factory.mktemp("orders") / "northwind.jsonl"
    subprocess.run([sys.executable, str(ROOT / "simulate.py"), "import", "northwind", str(shared("northwind")), "--out", str(out)],
                   check=True, capture_output=True, timeout=600)
    return out


def _replay(orders: Path, out: Path, candidate: str, *extra: str) -> dict[str, bytes]:
    subprocess.run([sys.executable, str(ROOT / "simulate.py"), "run", "--orders", str(orders), "--baseline", str(PACKS),
                    "--candidate", f"{PACKS}#{candidate}", "--out", str(out), "--effective-on", "2026-11-24", "--workers", "2", *extra],
                   check=True, capture_output=True, timeout=600)
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def _reused(out: Path, what: str = "reused") -> int:
    return int(json.loads((out / "cache.json").read_text())[what])


def test_a_new_candidate_reuses_the_baseline_and_writes_the_uncached_bytes(orders: Path, tmp_path: Path) -> None:
    """Replay 1 fills the cache; replay 2 (a new candidate) reads every baseline outcome and writes replay 2's uncached bytes."""
    cache = str(tmp_path / "cache")
    uncached = _replay(orders, tmp_path / "plain", "credit@1.1.0,pricing@2.0.0")
    _replay(orders, tmp_path / "first", "credit@1.1.0", "--cache", cache)
    assert _reused(tmp_path / "first") == 0
    second = _replay(orders, tmp_path / "second", "credit@1.1.0,pricing@2.0.0", "--cache", cache)
    assert second == uncached
    assert _reused(tmp_path / "second") == 830  # the baseline side of every order, none of the new candidate's
    assert _reused(tmp_path / "second", "steps_reused") == 830  # the candidate's allocation, decided by replay 1, not its pricing
    again = _replay(orders, tmp_path / "again", "credit@1.1.0,pricing@2.0.0", "--cache", cache)
    assert again == uncached
    assert _reused(tmp_path / "again") == 2 * 830
    assert _reused(tmp_path / "again", "steps_reused") == 0  # no side decided: no step read


def test_a_candidate_that_changes_one_step_reads_the_other_kept_steps(orders: Path, tmp_path: Path) -> None:
    """After a replay of new pricing, a candidate with new credit reads pricing's and allocation's outcomes and writes the uncached bytes."""
    cache = str(tmp_path / "cache")
    uncached = _replay(orders, tmp_path / "plain", "credit@1.1.0")
    _replay(orders, tmp_path / "first", "pricing@2.0.0", "--cache", cache)
    assert _reused(tmp_path / "first", "steps_reused") == 0
    second = _replay(orders, tmp_path / "second", "credit@1.1.0", "--cache", cache)
    assert second == uncached
    assert _reused(tmp_path / "second") == 830
    # the candidate's pricing 1.0.0 (replay 1's baseline) and allocation of every order; credit and routing take
    # pricing's total, so they are decided
    assert _reused(tmp_path / "second", "steps_reused") == 2 * 830


def test_a_damaged_part_is_decided_again(orders: Path, tmp_path: Path) -> None:
    """A cache part that is not Parquet is a miss, said on stderr, rewritten; the outputs do not change."""
    cache = tmp_path / "cache"
    clean = _replay(orders, tmp_path / "fill", "credit@1.1.0", "--cache", str(cache))
    parts = sorted(p for p in cache.rglob("part-000000.parquet") if p.parent.parent == cache)
    assert len(parts) == 2  # one per side (beside them, steps/ keeps the steps' outcomes)
    parts[0].write_bytes(b"not parquet")
    assert _replay(orders, tmp_path / "after", "credit@1.1.0", "--cache", str(cache)) == clean
    assert _reused(tmp_path / "after") == 2 * 830 - 500  # the damaged batch's 500 outcomes of one side
    assert _reused(tmp_path / "fill") == 0


def _one_more(record: tuple[int, bytes]) -> tuple[str, dt.date, Any]:
    """Another parser of the same lines: each line of the order one unit more."""
    order_id, as_of, value = parse_record(record)
    for line in value["lines"]:
        line["quantity"] += 1
    return order_id, as_of, value


def _replayed(records: list[tuple[int, bytes]], parse: Any, cache: Path | None) -> tuple[Tally, list[list[str]], int]:
    candidate = Spec(f"{PACKS}#pricing@2.0.0", PACKS, {"pricing": "2.0.0"})
    tally, diff, reused = Tally(), [], 0
    for chunk in run.replay(records, Spec(str(PACKS), PACKS, {}), candidate, dt.date(2026, 11, 24), "order", 1, parse=parse,
                            cache=cache):
        tally.merge(chunk.tally)
        diff += chunk.diff
        reused += chunk.reused
    return tally, diff, reused


def test_the_same_lines_read_by_another_parser_are_not_read_from_the_cache(orders: Path, tmp_path: Path) -> None:
    """Orders are keyed by their lines and the parser that read them: another parser's orders are decided, not read."""
    records = list(itertools.islice(read_records(orders), 40))
    _replayed(records, parse_record, tmp_path)
    assert _replayed(records, parse_record, tmp_path)[2] == 2 * 40  # the same lines, the same parser: both sides read
    tally, diff, reused = _replayed(records, _one_more, tmp_path)
    assert reused == 0
    assert (tally, diff) == _replayed(records, _one_more, None)[:2]
    assert tally != _replayed(records, parse_record, None)[0]  # the parsers do read other orders


def test_a_record_is_keyed_by_its_number_its_bytes_and_its_parser() -> None:
    """Each part of a line record changes its key; a closure, whose state no source shows, is keyed by content (None)."""
    salt = parser_digest(parse_record)
    assert salt is not None
    assert salt != parser_digest(_one_more)
    keys = {record_digest(salt, (1, b"{}")), record_digest(salt, (2, b"{}")), record_digest(salt, (1, b"{ }")),
            record_digest(parser_digest(_one_more) or b"", (1, b"{}"))}
    assert len(keys) == 4
    assert record_digest(salt, {"order_id": "1"}) is None
    bump = 1
    assert parser_digest(lambda record: (record, bump)) is None


def test_a_step_part_keeps_this_runs_outcomes_first_and_stays_bounded(tmp_path: Path) -> None:
    """A step version's part is rewritten with this run's outcomes, then the latest kept ones, up to its bound an order."""
    cache = SideCache(tmp_path / "steps", "allocation-1.0.0-0123")
    cache.write(0, {f"old-{i}": b"{}" for i in range(10)})
    steps = KeptSteps(tmp_path, "native")
    steps.load(0)
    steps.begin("an order's digest", {})
    steps.end()
    steps.parts["0123"] = _StepPart(cache, cache.read(0), {"old-5": b"{}", "new": b"{}"}, decided=1)
    steps.flush()
    assert list(cache.read(0)) == ["old-5", "new", "old-0", "old-1"][:STEPS_KEPT_PER_ORDER]


@given(decided_values)
@settings(max_examples=200, deadline=None)
def test_a_kept_outcome_reads_back_as_decided(value: Any) -> None:
    """Decimals keep their digits and stay decimals, integers stay integers, dates stay dates, key order is kept."""
    outcome = {"decision": "approve", "value": value}
    back = decode(encode(outcome))
    assert repr(back) == repr(outcome)


@given(temporal_values)
@settings(max_examples=200, deadline=None)
def test_a_kept_time_or_duration_reads_back_as_decided(value: Any) -> None:
    """A FEEL time, date and time or duration output is kept as its text and read back as the same value, not a dict of fields."""
    outcome = {"decision": "approve", "value": value, "values": [value]}
    back = decode(encode(outcome))
    assert type(back["value"]) is type(value)
    assert type(back["values"][0]) is type(value)
    assert back == outcome  # equal as values: 00:00:00 may come back with fewer zero digits of its seconds
    assert jsonio.dumps(back) == jsonio.dumps(outcome)  # and written the same in every report


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 1,000 orders of Online Retail (two batches) as canonical JSONL."""
    out = tmp_path_factory.mktemp("retail") / "online-retail.jsonl"
    subprocess.run([sys.executable, str(ROOT / "simulate.py"), "import", "online-retail", str(shared("online-retail")), "--out", str(out)],
                   check=True, capture_output=True, timeout=600)
    out.write_bytes(b"".join(out.read_bytes().splitlines(keepends=True)[:1000]))
    return out


def test_online_retail_read_warm_writes_the_uncached_bytes(retail: Path, tmp_path: Path) -> None:
    """On Online Retail, a run reading the baseline (then both sides) from the cache writes an uncached run's bytes."""
    cache = str(tmp_path / "cache")
    uncached = _replay(retail, tmp_path / "plain", "credit@1.1.0,pricing@2.0.0")
    _replay(retail, tmp_path / "fill", "credit@1.1.0", "--cache", cache)
    assert _replay(retail, tmp_path / "warm", "credit@1.1.0,pricing@2.0.0", "--cache", cache) == uncached
    assert _reused(tmp_path / "warm") == 1000
    assert _replay(retail, tmp_path / "both", "credit@1.1.0,pricing@2.0.0", "--cache", cache) == uncached
    assert _reused(tmp_path / "both") == 2000


def _pinned(packs: Path, pins: dict[str, str]) -> Spec:
    return Spec(f"{packs}#" + ",".join(f"{k}@{v}" for k, v in pins.items()), packs, pins)


def _against(records: list[tuple[int, bytes]], pins: dict[str, str], cache: Path | None,
             packs: Path = PACKS, baseline: dict[str, str] | None = None) -> tuple[Tally, list[list[str]], int]:
    tally, diff, reused = Tally(), [], 0
    for chunk in run.replay(records, _pinned(packs, baseline or {}), _pinned(packs, pins), dt.date(2026, 11, 24), "order", 1,
                            cache=cache):
        tally.merge(chunk.tally)
        diff += chunk.diff
        reused += chunk.reused
    return tally, diff, reused


def test_a_cold_cached_run_pairs_step_versions_and_a_warm_one_decides_no_partner(orders: Path, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sides decided: pricing's two versions by one paired function, as uncached; one side read: no partner decided."""
    records = list(itertools.islice(read_records(orders), 60))
    paired: list[str] = []
    decide = PairedDecisions.decide

    def counted(self: PairedDecisions, a: Any, b: Any, *rest: Any) -> Any:
        paired.append(a.name)
        return decide(self, a, b, *rest)

    monkeypatch.setattr(PairedDecisions, "decide", counted)
    # cold; then the baseline read (a new candidate); then the candidate read (a new baseline)
    for baseline, pins, read in (({}, {"pricing": "2.0.0"}, 0), ({}, {"credit": "1.1.0", "pricing": "2.0.0"}, 60),
                                 ({"credit": "1.1.0"}, {"pricing": "2.0.0"}, 60)):
        uncached = _against(records, pins, None, baseline=baseline)
        alone = paired.count("pricing")  # once an order, and again for the changed orders' full decisions and causes
        paired.clear()
        shutil.rmtree(tmp_path / "steps", ignore_errors=True)  # kept steps are read, not paired: only the sides' outcomes
        tally, diff, reused = _against(records, pins, tmp_path, baseline=baseline)
        assert (tally, diff) == uncached[:2]
        assert reused == read
        assert paired.count("pricing") == alone - read  # each order's decision read beside is not paired
        paired.clear()


def _side_parts(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("part-*.parquet") if p.parent.parent == cache)


def test_a_part_of_another_layout_is_a_miss_said_and_never_read(orders: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A part without this layout's mark, even one holding plausible outcomes for the very orders, is decided again."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = list(itertools.islice(read_records(orders), 30))
    pins = {"pricing": "2.0.0"}
    expected = _against(records, pins, tmp_path)
    for part in _side_parts(tmp_path):
        table = pq.read_table(part)
        kept = (blob.partition(b"\n") for blob in table.column("outcome").to_pylist())
        wrong = [encode_outcome({**joined(decode(body), decode(book)), "decision": "reject"})[0] for body, _, book in kept]
        pq.write_table(pa.table({"order": table.column("order"), "outcome": pa.array(wrong, pa.binary())}), part)
    capsys.readouterr()
    tally, diff, reused = _against(records, pins, tmp_path)
    assert (tally, diff, reused) == (*expected[:2], 0)
    assert capsys.readouterr().err.count("was written by another layout of the cache") == 2
    assert _against(records, pins, tmp_path)[2] == 2 * 30  # rewritten in this layout


def test_an_outcome_that_does_not_read_back_is_decided_again(orders: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Damaged bytes, or an object that is not an outcome, in a part of this layout: decided again, said and rewritten."""
    records = list(itertools.islice(read_records(orders), 30))
    pins = {"pricing": "2.0.0"}
    expected = _against(records, pins, tmp_path)
    part = _side_parts(tmp_path)[0]
    kept = SideCache(part.parent.parent, part.parent.name)
    outcomes = kept.read(0)
    first, second = list(outcomes)[:2]
    kept.write(0, {**outcomes, first: b"not json", second: b'{"output": {}}'})
    capsys.readouterr()
    tally, diff, reused = _against(records, pins, tmp_path)
    assert (tally, diff, reused) == (*expected[:2], 2 * 30 - 2)
    assert "holds an outcome that does not read back" in capsys.readouterr().err
    assert _against(records, pins, tmp_path) == (*expected[:2], 2 * 30)  # the part was repaired: nothing decided again
    assert "does not read back" not in capsys.readouterr().err


def test_a_pack_edited_under_the_same_version_is_not_read_from_the_cache(orders: Path, tmp_path: Path) -> None:
    """Credit 1.0.0 edited in place (any exposure is over tolerance): the outcomes kept before are stale, none is read."""
    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    records = list(itertools.islice(read_records(orders), 30))
    pins = {"pricing": "2.0.0"}
    before = _against(records, pins, tmp_path / "cache", packs)
    credit = packs / "credit" / "1.0.0.yaml"
    text = credit.read_text()
    assert "  over_tolerance: exposure > tolerated_limit\n" in text
    credit.write_text(text.replace("  over_tolerance: exposure > tolerated_limit\n", "  over_tolerance: exposure > 0\n"))
    tally, diff, reused = _against(records, pins, tmp_path / "cache", packs)
    assert reused == 0
    assert (tally, diff) == _against(records, pins, None, packs)[:2]
    assert (tally, diff) != before[:2]  # a stale hit would have shown


SPLIT_OUTCOMES = [  # (outcome, whether its bookkeeping is kept apart)
    ({"decision": "release", "matched": {"t": ["R1"]}, "steps": {"pricing": "2.0.0"}, "dropped": ["x"], "total": Decimal("1.50")}, True),
    ({"decision": "release", "matched": {}, "steps": {}, "total": 1}, True),
    ({"decision": "error", "error": "E", "detail": "d", "matched": {}}, False),
    ({"decision": "release", "matched": {}, "total": 1, "steps": {"credit": "1.0.0"}}, False),  # not where outcome() puts it
    ({"steps": {"credit": "1.0.0"}, "decision": "release", "matched": {}}, False),
]


@pytest.mark.parametrize(("outcome", "apart"), SPLIT_OUTCOMES)
def test_a_side_outcome_is_kept_as_its_decided_part_then_its_bookkeeping(outcome: dict[str, Any], apart: bool) -> None:
    """Taken apart and joined, an outcome has its keys in their order; bookkeeping elsewhere than after the rows stays whole."""
    blob, body = encode_outcome(outcome)
    head, newline, tail = blob.partition(b"\n")
    assert newline
    assert b"\n" not in tail
    back = joined(decode(head), decode(tail))
    assert repr(back) == repr(outcome)
    assert ("steps" in body) is (not apart and "steps" in outcome)


def test_a_warm_run_decodes_only_the_kept_outcomes_the_candidate_decides_otherwise(orders: Path, tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The baseline read beside a new candidate: an order decided alike is compared as bytes, only a changed one is decoded."""
    records = list(itertools.islice(read_records(orders), 120))
    _against(records, {"pricing": "2.0.0"}, tmp_path)
    decoded: list[bytes] = []
    body = CachedSides._body

    def counted(self: CachedSides, blob: bytes) -> Any:
        decoded.append(blob)
        return body(self, blob)

    monkeypatch.setattr(CachedSides, "_body", counted)
    pins = {"credit": "1.1.0", "pricing": "2.0.0"}
    tally, diff, reused = _against(records, pins, tmp_path)
    assert (tally, diff) == _against(records, pins, None)[:2]
    assert reused == 120
    assert 0 < len(decoded) == tally.changed < 120


def test_parts_of_another_layout_are_said_once_a_folder(orders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every part of a cache in another layout is a miss, said once for each folder, not once for each part."""
    import pyarrow.parquet as pq

    records = list(read_records(orders))  # 830 orders: two batches, so two parts a folder
    pins = {"pricing": "2.0.0"}
    expected = _against(records, pins, tmp_path)
    parts = sorted(tmp_path.rglob("part-*.parquet"))
    folders = {p.parent for p in parts}
    assert len(parts) == 2 * len(folders) > 2
    for part in parts:
        table = pq.read_table(part)
        pq.write_table(table.replace_schema_metadata({b"arbiter.cache": b"outcomes 1"}), part)
    capsys.readouterr()
    tally, diff, reused = _against(records, pins, tmp_path)
    assert (tally, diff, reused) == (*expected[:2], 0)
    said = [line for line in capsys.readouterr().err.splitlines() if "was written by another layout" in line]
    assert sorted(line.rsplit("said once for ", 1)[1].rstrip(")") for line in said) == sorted(map(str, folders))


DIGEST_EDITS = [  # (a source file, whether editing it can change an outcome, so must be a miss)
    ("replay/decide.py", True), ("replay/specs.py", True), ("replay/cache.py", True), ("engine/compiled.py", True),
    ("rules/parser.py", True), ("schemas/order.schema.json", True),
    ("replay/tally.py", False), ("replay/html_report.py", False), ("replay/cli.py", False), ("replay/run.py", False),
    ("replay/prune.py", False), ("rules/emit.py", False),
]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the engine's, the compiler's and the replay's source and the schemas, to edit."""
    root = tmp_path_factory.mktemp("source")
    for package in ("engine", "rules", "replay", "schemas"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.mark.parametrize(("path", "deciding"), DIGEST_EDITS)
def test_only_an_edit_that_can_change_an_outcome_changes_the_code_digest(sources: Path, path: str, deciding: bool) -> None:
    """Upgrading a report, the tally or the CLI keeps the cache; the engine, the compiler or how a side decides does not."""
    before = source_digest(sources)
    original = (sources / path).read_bytes()
    try:
        (sources / path).write_bytes(original + (b"\n" if path.endswith(".json") else b"\n# edited\n"))
        assert (source_digest(sources) != before) is deciding
    finally:
        (sources / path).write_bytes(original)


def _aged(cache: Path, days: float) -> None:
    then = time.time() - days * 86400
    for part in cache.rglob("part-*.parquet"):
        os.utime(part, (then, then))


def test_a_run_marks_the_parts_it_reads_used_and_prune_keeps_them(orders: Path, tmp_path: Path) -> None:
    """Parts read warm are touched: pruned by use, the sides' folders stay and the step folders no run read go."""
    records = list(itertools.islice(read_records(orders), 30))
    pins = {"pricing": "2.0.0"}
    expected = _against(records, pins, tmp_path)
    _aged(tmp_path, 10)
    assert _against(records, pins, tmp_path) == (*expected[:2], 2 * 30)  # both sides read: no step needed
    assert simulate_main(["cache", "prune", str(tmp_path), "--keep-days", "1"]) == 0
    assert {p.parent for p in tmp_path.rglob("part-*.parquet")} == {p.parent for p in _side_parts(tmp_path)}
    assert len(_side_parts(tmp_path)) == 2
    assert not list((tmp_path / "steps").iterdir())
    assert _against(records, pins, tmp_path) == (*expected[:2], 2 * 30)


PRUNES = [  # (options, the folders left, how many listed), over sides a (1 day old), b (5), c (40) and steps pricing 1 (2), 2 (50), allocation (60)
    (["--keep-days", "3"], {"a", "p1"}, 4),
    (["--keep-days", "45"], {"a", "b", "c", "p1"}, 2),
    (["--keep-latest", "1"], {"a", "p1", "al"}, 3),
    (["--keep-latest", "2"], {"a", "b", "p1", "p2", "al"}, 1),
    (["--keep-days", "3", "--keep-latest", "2"], {"a", "b", "p1", "p2", "al"}, 1),
    (["--keep-days", "45", "--dry-run"], {"a", "b", "c", "p1", "p2", "al"}, 2),
]


@pytest.mark.parametrize(("options", "left", "listed"), PRUNES)
def test_prune_removes_the_folders_no_option_keeps(tmp_path: Path, options: list[str], left: set[str], listed: int,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A folder stays if used within --keep-days or among the --keep-latest last used of its group; other files stay."""
    names = {"a": "a" * 32, "b": "b" * 32, "c": "c" * 32, "p1": "steps/pricing-1.0.0-" + "1" * 16,
             "p2": "steps/pricing-2.0.0-" + "2" * 16, "al": "steps/allocation-1.0.0-" + "3" * 16}
    for short, days in {"a": 1, "b": 5, "c": 40, "p1": 2, "p2": 50, "al": 60}.items():
        folder = tmp_path / names[short]
        folder.mkdir(parents=True)
        SideCache(folder.parent, folder.name).write(0, {"k": b"{}"})
        _aged(folder, days)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "part-000000.parquet").write_bytes(b"mine")
    assert simulate_main(["cache", "prune", str(tmp_path), *options]) == 0
    assert {short for short, name in names.items() if (tmp_path / name).exists()} == left
    assert (tmp_path / "notes" / "part-000000.parquet").read_bytes() == b"mine"
    out = capsys.readouterr().out
    assert len(out.splitlines()) == out.count("would remove" if "--dry-run" in options else "removed") == listed


def test_prune_without_a_rule_or_folder_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing to go by, or no such folder: one line on stderr, exit 2, nothing removed."""
    (tmp_path / ("a" * 32)).mkdir()
    assert simulate_main(["cache", "prune", str(tmp_path)]) == 2
    assert "--keep-days" in capsys.readouterr().err
    assert simulate_main(["cache", "prune", str(tmp_path / "none"), "--keep-days", "1"]) == 2
    assert "no such cache folder" in capsys.readouterr().err
    assert (tmp_path / ("a" * 32)).is_dir()


@pytest.mark.parametrize("options", [["--keep-days", "nan"], ["--keep-days", "inf"], ["--keep-days", "-1"], ["--keep-latest", "0"]])
def test_prune_refuses_a_rule_that_keeps_nothing_or_no_number(tmp_path: Path, options: list[str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """--keep-days nan (which kept nothing) or --keep-latest 0 (every folder, a running replay's too): exit 2, nothing removed."""
    (tmp_path / ("a" * 32)).mkdir()
    assert simulate_main(["cache", "prune", str(tmp_path), *options]) == 2
    assert "--keep-" in capsys.readouterr().err
    assert (tmp_path / ("a" * 32)).is_dir()


def test_prune_leaves_links_and_says_what_it_could_not_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A link named as a cache folder (or a linked steps folder) is not followed; a folder rmtree fails on is said, exit 1."""
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    for folder in (elsewhere / ("b" * 32), elsewhere / ("pricing-1.0.0-" + "1" * 16), cache / ("a" * 32)):
        folder.mkdir(parents=True)
        SideCache(folder.parent, folder.name).write(0, {"k": b"{}"})
        _aged(folder, 9)
    (cache / ("b" * 32)).symlink_to(elsewhere / ("b" * 32))
    (cache / "steps").symlink_to(elsewhere)
    assert simulate_main(["cache", "prune", str(cache), "--keep-days", "1"]) == 0
    assert (elsewhere / ("b" * 32)).is_dir()
    assert (elsewhere / ("pricing-1.0.0-" + "1" * 16)).is_dir()
    assert not (cache / ("a" * 32)).exists()
    assert capsys.readouterr().out.count("removed") == 1
    (cache / ("c" * 32)).mkdir()
    SideCache(cache, "c" * 32).write(0, {"k": b"{}"})
    _aged(cache / ("c" * 32), 9)

    def refused(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("replay.prune.shutil.rmtree", refused)
    assert simulate_main(["cache", "prune", str(cache), "--keep-days", "1"]) == 1
    captured = capsys.readouterr()
    assert "could not remove" in captured.err
    assert "Permission denied" in captured.err
    assert "removed" not in captured.out


def test_the_deciding_files_are_every_module_the_deciding_ones_import() -> None:
    """The import closure read by pattern equals the one Python's parser finds, lazy imports included."""
    seen: set[Path] = set()
    todo = [_module_file(ROOT, name) for name in DECIDING]
    while todo:
        path = todo.pop()
        if path is None or path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.module:
                todo += [_module_file(ROOT, node.module), *(_module_file(ROOT, f"{node.module}.{a.name}") for a in node.names)]
            elif isinstance(node, ast.Import):
                todo += [_module_file(ROOT, a.name) for a in node.names]
    assert [p for p in deciding_files() if p.suffix == ".py"] == sorted(seen)
    assert {"replay/decide.py", "engine/compiled.py", "rules/parser.py"} <= {p.relative_to(ROOT).as_posix() for p in seen}
