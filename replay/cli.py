"""What-if replay: historic orders through a baseline and a candidate set of pack versions.

    python simulate.py import {online-retail,northwind} SRC --out ORDERS.{jsonl,jsonl.gz,parquet}
    python simulate.py run --orders ORDERS.jsonl --baseline SPEC --candidate SPEC [--pack order] [--out DIR] [--workers N]
    python simulate.py order ORDER.json --baseline SPEC --candidate SPEC

SPEC is a packs folder or ``git:REF`` (the packs as committed at REF, read with ``git archive``
without touching the work tree), optionally followed by pins: ``policy_packs#credit@1.1.0``.
An unpinned pack runs its newest version effective on ``--effective-on`` (default: today, so
the baseline is what is live; it is recorded in summary.json, and giving it makes reruns on
any day byte-identical); each order is decided as of its own date. Decisions come from the same engine as the API.
Results are written in input order whatever ``--workers`` is, so reruns are byte-identical.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from engine import jsonio
from replay.decide import BOOKKEEPING, decide_both, fired, what_changed
from replay.history import import_northwind, import_online_retail
from replay.html_report import report_html
from replay.markdown import report_md
from replay.orders import read_parquet_records, read_records, write_orders
from replay.run import DIFF_HEADER, replay
from replay.specs import effective_date, load_spec, resolve_spec
from replay.tally import Tally, summary


class Progress:
    def __init__(self, total: int | None) -> None:
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.5 if self.tty else 10):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        if self.total:
            share = done / self.total
            bar = "#" * int(share * 30)
            eta = (self.total - done) / rate if rate else 0
            text = f"[{bar:<30}] {done:,}/{self.total:,} orders  {rate:,.0f}/s  ETA {eta:,.0f}s"
        else:
            text = f"{done:,} orders  {rate:,.0f}/s"
        print(("\r" if self.tty else "") + text, end="\n" if (final or not self.tty) else "", file=sys.stderr, flush=True)


def _count_orders(path: Path) -> int | None:
    if path.suffix == ".gz":
        return None
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def cmd_run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="arbiter-sim-"))
    try:
        baseline_spec = resolve_spec(args.baseline, workdir)
        candidate_spec = resolve_spec(args.candidate, workdir)
        effective_on = effective_date(args.effective_on)
        baseline = load_spec(baseline_spec, effective_on, args.backend)
        candidate = load_spec(candidate_spec, effective_on, args.backend)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        tally = Tally()
        orders = Path(args.orders)
        progress = Progress(_count_orders(orders))
        records = read_parquet_records(orders) if orders.suffix == ".parquet" else read_records(orders)
        with (out / "diff.csv").open("w", newline="", encoding="utf-8") as diff_file:
            writer = csv.writer(diff_file, lineterminator="\n")
            writer.writerow(DIFF_HEADER)
            for chunk in replay(records, baseline_spec, candidate_spec,
                                effective_on, args.pack, args.workers, args.backend):
                tally.merge(chunk.tally)
                writer.writerows(chunk.diff)
                progress.update(tally.orders)
        progress.update(tally.orders, final=True)
        result = summary(tally, baseline, candidate, args)
        (out / "summary.json").write_bytes(jsonio.dumps(result, pretty=True) + b"\n")
        (out / "report.md").write_text(report_md(result), encoding="utf-8")
        (out / "report.html").write_text(report_html(result), encoding="utf-8")
        print_summary(result)
        print(f"wrote {out}/summary.json, diff.csv, report.md, report.html", file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_summary(s: dict[str, Any]) -> None:
    decisions = sorted(set(s["decision_mix"]["baseline"]) | set(s["decision_mix"]["candidate"]))
    print(f"{'':<22}{'baseline':>14}{'candidate':>14}")
    for d in decisions:
        print(f"{d:<22}{s['decision_mix']['baseline'].get(d, 0):>14,}{s['decision_mix']['candidate'].get(d, 0):>14,}")
    print(f"{'touchless %':<22}{s['touchless_pct']['baseline']:>14}{s['touchless_pct']['candidate']:>14}")
    m = s["money"]
    print(f"{'held value':<22}{m['held_value']['baseline']:>14,.2f}{m['held_value']['candidate']:>14,.2f}")
    print(f"{'released margin':<22}{m['released_margin']['baseline']:>14,.2f}{m['released_margin']['candidate']:>14,.2f}")
    print(f"changed: {s['changed']:,} of {s['orders']:,} orders ({s['changed_pct']}%)")


def cmd_order(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="arbiter-sim-"))
    try:
        effective_on = effective_date(args.effective_on)
        base = load_spec(resolve_spec(args.baseline, workdir), effective_on)
        cand = load_spec(resolve_spec(args.candidate, workdir), effective_on)
        value = jsonio.loads(Path(args.order).read_bytes())
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else effective_on
        a, b = decide_both(base, cand, args.pack, value, as_of)
        keys = [k for k in dict.fromkeys([*a, *b]) if k not in BOOKKEEPING]
        print(f"{'':<18}{'baseline':<34}{'candidate':<34}")
        for k in keys:
            va, vb = jsonio.dumps(a.get(k)).decode(), jsonio.dumps(b.get(k)).decode()
            print(f"{k:<18}{va:<34}{vb:<34}{'' if va == vb else '  <- changed'}")
        rows_a, rows_b = fired(a["matched"]).keys(), fired(b["matched"]).keys()
        only_a, only_b = sorted(rows_a - rows_b), sorted(rows_b - rows_a)
        print(f"rows only in the baseline:  {', '.join(only_a) or '-'}")
        print(f"rows only in the candidate: {', '.join(only_b) or '-'}")
        print(f"outputs that differ:        {', '.join(what_changed(a, b, base, cand)) or '-'}")
        print(f"versions: baseline {a.get('steps')}; candidate {b.get('steps')}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)




def cmd_import(args: argparse.Namespace) -> int:
    source = import_online_retail(Path(args.src)) if args.source == "online-retail" else import_northwind(Path(args.src))
    out = Path(args.out)
    count = write_orders(source, out)
    print(f"wrote {count:,} canonical orders to {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simulate.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="real history into canonical orders (JSONL, .jsonl.gz or .parquet, by --out extension)")
    imp.add_argument("source", choices=["online-retail", "northwind"])
    imp.add_argument("src")
    imp.add_argument("--out", required=True)
    imp.set_defaults(func=cmd_import)
    run = sub.add_parser("run", help="replay orders against a baseline and a candidate")
    run.add_argument("--orders", required=True, help="canonical orders (JSONL, .gz or .parquet) or an API decision log")
    run.add_argument("--baseline", required=True)
    run.add_argument("--candidate", required=True)
    run.add_argument("--pack", default="order")
    run.add_argument("--out", default="simulation")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    run.add_argument("--effective-on", help="which unpinned versions run: those effective on this date (default: today)")
    run.add_argument("--backend", choices=["native", "durable"], default="native",
                     help="who matches the rows; packs durable_rules cannot run stay native (listed)")
    run.set_defaults(func=cmd_run)
    one = sub.add_parser("order", help="one order, both decisions side by side")
    one.add_argument("order")
    one.add_argument("--baseline", required=True)
    one.add_argument("--candidate", required=True)
    one.add_argument("--pack", default="order")
    one.add_argument("--as-of")
    one.add_argument("--effective-on")
    one.set_defaults(func=cmd_order)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())


