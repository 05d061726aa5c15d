"""Bad order files for simulate.py: exit 2 with file:line, no traceback, and nothing written or replaced."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from replay import cli
from tests.conftest import PACKS, ROOT

HEADER = b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ROW = b"536365,85123A,HEART HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
MANY = gzip.compress(HEADER + b"".join(ROW.replace(b"536365", str(n).encode()) for n in range(100000, 102000)))

# (the gzipped CSV's text, or raw bytes for the file itself; what the one line on stderr must say)
ONLINE_RETAIL = [
    (HEADER + ROW + ROW.replace(b"2.55", b"abc"), ":3: UnitPrice 'abc' is not a decimal number"),
    (HEADER + ROW.replace(b"2.55", b"NaN"), ":2: UnitPrice 'NaN' is not a decimal number"),
    (HEADER + ROW.replace(b"2.55", b"1e400"), ":2: UnitPrice '1e400' is not a decimal number below 1e18"),
    (HEADER + ROW.replace(b",6,", b",six,"), ":2: Quantity 'six' is not a whole number"),
    (HEADER + ROW.replace(b"2010-12-01", b"2010-13-45"), ":2: InvoiceDate '2010-13-45 08:26:00' is not a date"),
    (HEADER + b"536365,85123A\n", ":2: the row has no Description (fewer fields than the header)"),
    (b"InvoiceNo,StockCode\n536365,85123A\n", ":1: the header has no column Country, CustomerID, Description"),
    (b"", ":1: the header has no column"),
    (HEADER + ROW + ROW.replace(b"HEART", b"CAF\xc9"), ":3: not UTF-8 (byte 18 of the line"),
]


def _simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("text", "says"), ONLINE_RETAIL)
def test_a_bad_online_retail_row_is_refused_at_its_line_and_the_earlier_orders_stay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: bytes, says: str) -> None:
    """A bad value, a short row, a missing column or a byte that is not UTF-8: exit 2 at file:line, the old file kept."""
    source = tmp_path / "online_retail.csv.gz"
    source.write_bytes(gzip.compress(text))
    out = tmp_path / "orders.jsonl"
    out.write_bytes(b'{"earlier": "import"}\n')
    code, _, err = _simulate(capsys, "import", "online-retail", str(source), "--out", str(out))
    assert code == 2
    assert "Traceback" not in err
    assert f"{source}{says}" in err, err
    assert out.read_bytes() == b'{"earlier": "import"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["online_retail.csv.gz", "orders.jsonl"]


@pytest.mark.parametrize(("raw", "says"), [
    (b"InvoiceNo\n", "Not a gzipped file"),
    (MANY[: len(MANY) // 2], "Compressed file ended before the end-of-stream marker was reached"),
])
def test_a_file_that_is_not_whole_gzip_is_refused_with_its_name(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                raw: bytes, says: str) -> None:
    """Not gzip at all, or cut short: exit 2 naming the file, and no orders file written."""
    source = tmp_path / "online_retail.csv.gz"
    source.write_bytes(raw)
    code, _, err = _simulate(capsys, "import", "online-retail", str(source), "--out", str(tmp_path / "orders.parquet"))
    assert code == 2
    assert str(source) in err, err
    assert says in err, err
    assert not (tmp_path / "orders.parquet").exists()


def test_a_northwind_detail_with_a_bad_quantity_is_refused_at_its_line(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The Northwind importer checks its tables as the Online Retail one does."""
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "products.csv").write_text("product_id,product_name\n11,Queso\n")
    (folder / "orders.csv").write_text("order_id,customer_id,order_date,ship_country\n10248,VINET,1996-07-04,France\n")
    (folder / "order_details.csv").write_text("order_id,product_id,unit_price,quantity,discount\n10248,11,14,12,0\n"
                                              "10248,11,14,twelve,0\n")
    code, _, err = _simulate(capsys, "import", "northwind", str(tmp_path), "--out", str(tmp_path / "orders.jsonl"))
    assert code == 2
    assert f"{folder / 'order_details.csv'}:3: quantity 'twelve' is not a whole number" in err, err
    assert not (tmp_path / "orders.jsonl").exists()


def test_a_good_import_still_writes_every_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The checks refuse only what is wrong: two good rows of one invoice are one order."""
    source = tmp_path / "online_retail.csv.gz"
    source.write_bytes(gzip.compress(HEADER + ROW + ROW))
    code, _, err = _simulate(capsys, "import", "online-retail", str(source), "--out", str(tmp_path / "orders.jsonl"))
    assert code == 0, err
    [order] = [json.loads(line) for line in (tmp_path / "orders.jsonl").read_text().splitlines()]
    assert order["order_id"] == "536365"
    assert len(order["lines"]) == 2


def _refused_out(tmp_path: Path, capsys: pytest.CaptureFixture[str], out: Path) -> str:
    code, _, err = _simulate(capsys, "run", "--orders", str(tmp_path / "none.jsonl"), "--baseline", str(PACKS),
                             "--candidate", f"{PACKS}#credit@1.1.0", "--out", str(out))
    assert code == 2
    return err


def test_run_refuses_an_out_folder_that_is_not_an_earlier_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out is replaced whole: a folder holding anything else (--out ., a packs folder) is refused and kept."""
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "sub" / "data.txt").write_text("precious")
    assert "holds files that are not an earlier report's" in _refused_out(tmp_path, capsys, victim)
    assert (victim / "sub" / "data.txt").read_text() == "precious"
    (tmp_path / "afile").write_text("x")
    assert "is a file, not a folder" in _refused_out(tmp_path, capsys, tmp_path / "afile")
    assert "does not exist" in _refused_out(tmp_path, capsys, tmp_path / "missing" / "impact")


def test_run_replaces_an_earlier_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An earlier report's folder is replaced, and an order dated null is refused on its line, said on the console."""
    example = json.loads((ROOT / "examples" / "credit.json").read_text())
    orders = tmp_path / "orders.jsonl"
    orders.write_text("\n".join([json.dumps({"order_id": "o1", "as_of": "2026-06-01", **example}),
                                 json.dumps({"order_id": "o2", "as_of": None, **example})]) + "\n")
    out = tmp_path / "impact"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    code, printed, err = _simulate(capsys, "run", "--orders", str(orders), "--baseline", str(PACKS), "--candidate",
                                   f"{PACKS}#credit@1.1.0", "--pack", "credit", "--out", str(out), "--workers", "1",
                                   "--effective-on", "2026-06-01")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["orders"] == 2
    assert {i["detail"] for i in summary["invalid_orders"]} == {"line 2: as_of None is not a date (YYYY-MM-DD)"}
    assert "warning: 1 order(s) not decided on a side" in printed


def test_an_import_through_a_link_writes_its_target_and_keeps_the_link(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """--out /dev/stdout is a link: the orders go through it, and the link is not replaced by a file."""
    source = tmp_path / "online_retail.csv.gz"
    source.write_bytes(gzip.compress(HEADER + ROW))
    target = tmp_path / "target.jsonl"
    target.write_bytes(b"")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    code, _, err = _simulate(capsys, "import", "online-retail", str(source), "--out", str(link))
    assert code == 0, err
    assert link.is_symlink()
    assert json.loads(target.read_text())["order_id"] == "536365"


EXAMPLE = (ROOT / "examples" / "credit.json").read_bytes()

# (the input file's bytes, extra arguments, what the one line on stderr says after the file's name); each exits 2
DECIDE_INPUTS = [
    (EXAMPLE[:40], [], ":3:10: invalid JSON: EOF while parsing a string"),
    (EXAMPLE.replace(b"18250.40", b"NaN"), [], ":2:19: invalid JSON: expected value"),
    (b"", [], ":1:0: invalid JSON: EOF while parsing a value"),
    (b"\xef\xbb\xbf" + EXAMPLE, [], ":1:1: invalid JSON: expected value"),
    (EXAMPLE.replace(b'"risk_tier": "B"', b'"risk_tier": "B", "risk_tier": "D"'), [],
     ": /risk_tier: duplicate-key: is given more than once in its object"),
    (EXAMPLE.replace(b"18250.40", b'"lots"'), [], ": /order_amount: type: expected a number, got str"),
    (EXAMPLE, ["--as-of", "20260601"], "--as-of '20260601' is not a date (YYYY-MM-DD)"),
    (EXAMPLE, ["--version", "9.9.9"], "unknown-version: pack 'credit' has no version '9.9.9'"),
]


@pytest.mark.parametrize(("raw", "extra", "says"), DECIDE_INPUTS)
def test_arbiter_decide_refuses_bad_input_at_its_place_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                   raw: bytes, extra: list[str], says: str) -> None:
    """Bad JSON at file:line:col, a repeated key or a wrong type at its pointer, a bad date or pin: exit 2, no output.

    A repeated key was decided on its last value, as the API refuses it (422); JSON errors did not name the file.
    """
    from api import cli as arbiter

    given = tmp_path / "input.json"
    given.write_bytes(raw)
    code = arbiter.main(["decide", "credit", str(given), "--packs", str(PACKS), *extra])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert says in captured.err, captured.err
    if not extra:
        assert captured.err.startswith(f"{given}{says}"), captured.err


# (simulate's arguments, the flag refused): fromisoformat read 20270101 and week dates, where the API and `arbiter decide`
# refuse them, and an impossible date was "cannot read the input: ValueError"
SIMULATE_DATES = [
    (["order", str(ROOT / "examples" / "order.json"), "--as-of", "2026-W23-1"], "--as-of '2026-W23-1'"),
    (["order", str(ROOT / "examples" / "order.json"), "--as-of", "2026-13-01"], "--as-of '2026-13-01'"),
    (["order", str(ROOT / "examples" / "order.json"), "--effective-on", "20270101"], "--effective-on '20270101'"),
    (["run", "--orders", str(ROOT / "examples" / "order.json"), "--effective-on", "2027-1-1"], "--effective-on '2027-1-1'"),
]


@pytest.mark.parametrize(("args", "flag"), SIMULATE_DATES)
def test_simulate_reads_a_date_flag_as_the_api_reads_as_of(capsys: pytest.CaptureFixture[str], args: list[str],
                                                           flag: str) -> None:
    """A date flag not written YYYY-MM-DD is one line naming it and exit 2, before any decision."""
    code, out, err = _simulate(capsys, *args, "--baseline", str(PACKS), "--candidate", f"{PACKS}#credit@1.1.0")
    assert (code, out) == (2, "")
    assert err.strip() == f"simulate: {flag} is not a date (YYYY-MM-DD)"
