"""What-if replay: historic orders through a baseline and a candidate set of pack versions.

    python simulate.py import {online-retail,northwind} SRC --out ORDERS.{jsonl,jsonl.gz,parquet}
    python simulate.py run --orders ORDERS.jsonl --baseline SPEC --candidate SPEC [--pack order] [--out DIR] [--workers N]
    python simulate.py order {ORDER.json | --orders FILE --order-id ID} --baseline SPEC --candidate SPEC
    python simulate.py cache prune DIR [--keep-days N] [--keep-latest K] [--dry-run]

SPEC is a packs folder or ``git:REF`` (the packs as committed at REF, read with ``git archive``
without touching the work tree), optionally followed by pins: ``policy_packs#credit@1.1.0``.
An unpinned pack runs its newest version effective on ``--effective-on``; without it, on the
date the candidate's new versions take effect (the latest effective_from among them), so
versions are compared, not dates. Both sides on the same versions: exit 2 unless
``--allow-same``. Each order is decided as of its own date, by the same engine as the API.
Results are written in input order whatever ``--workers`` is, so reruns are byte-identical.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine import jsonio
from engine.backends import BACKENDS
from engine.extras import require
from replay.attribution import changed_packs
from replay.caveats import not_compared, outside_windows, repeated
from replay.compare import check_sides, choose_date, resolved, unused
from replay.decide import BOOKKEEPING, decide_both, fired, what_changed
from replay.enrichment import load_enrichment, read_provenance, write_enriched
from replay.errors import BadInput
from replay.executors import executor
from replay.history import import_northwind, import_online_retail
from replay.html_report import report_html
from replay.markdown import report_md
from replay.orders import CHUNK, Logged, Refused, parse_record, read_parquet_records, read_records
from replay.packdiff import diff_packs, render
from replay.parts import FileParts
from replay.prune import prune as prune_cache
from replay.run import DIFF_HEADER, replay, side_kpis
from replay.specs import Production, Spec, SpecPacks, effective_date, load_spec, resolve_spec
from replay.summary import build
from replay.tally import Tally
from replay.text import enrichment_line, summary_lines
from replay.witness import examples, render_examples
from rules.errors import ArbiterError


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
        pq = require("pyarrow.parquet", "reading Parquet orders")
        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def _sides(args: argparse.Namespace, workdir: Path) -> tuple[Spec, Spec, SpecPacks, SpecPacks, str]:
    """Both specs loaded on the chosen date (see replay.compare), checked to differ."""
    candidate_spec = resolve_spec(args.candidate, workdir)
    baseline_spec = resolve_spec(args.baseline, workdir, candidate_spec)
    day = dt.date(2000, 1, 1)  # replaced below, once both sets are known
    baseline = load_spec(baseline_spec, day, args.backend)
    candidate = load_spec(candidate_spec, day, args.backend)
    effective_on, reason = choose_date(baseline.packs, candidate.packs, candidate_spec.pins, args.effective_on)
    baseline.effective_on = candidate.effective_on = effective_on
    check_sides(baseline, candidate, args.pack, getattr(args, "allow_same", True) or isinstance(baseline, Production))
    # the replay's workers take the folders as loaded here, not load them again, where they can (replay.handover)
    baseline_spec, candidate_spec = replace(baseline_spec, packs=baseline.packs), replace(candidate_spec, packs=candidate.packs)
    return baseline_spec, candidate_spec, baseline, candidate, reason


REPORT_FILES = frozenset({"summary.json", "diff.csv", "report.md", "report.html", "cache.json"})


def check_out(out: Path) -> None:
    """Refuse, before any work, an --out the run could not write or would wrongly replace.

    The run replaces ``out`` whole at its end: a folder holding anything but an earlier
    report's files (``--out .``, a packs folder) would be deleted with it.
    """
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: is a file, not a folder")
    if out.is_dir() and not {entry.name for entry in out.iterdir()} <= REPORT_FILES:
        raise BadInput(f"--out {out}: holds files that are not an earlier report's ({', '.join(sorted(REPORT_FILES))}); "
                       "the run replaces the folder whole: choose a new or an earlier report's folder")
    if not out.resolve().parent.is_dir():
        raise BadInput(f"--out {out}: its folder {out.resolve().parent} does not exist")


def _finished(progress: Progress, tally: Tally, orders: Path) -> None:
    """The last progress line; a file that held no orders is refused before anything is written."""
    read = tally.orders + tally.refused.total()
    progress.update(read, final=True)
    if not read:  # a CI gate reading "0 changed" off an empty export would pass a change nobody replayed
        raise BadInput(f"{orders}: no orders (the file is empty or only blank lines): nothing to replay")


def cmd_run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_out(out)
    workdir = Path(tempfile.mkdtemp(prefix="arbiter-sim-"))
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.resolve().parent))
    try:
        baseline_spec, candidate_spec, baseline, candidate, reason = _sides(args, workdir)
        effective_on = baseline.effective_on
        tally = Tally()
        orders = Path(args.orders)
        progress = Progress(_count_orders(orders))
        records: Iterable[Any] | FileParts = read_parquet_records(orders) if orders.suffix == ".parquet" else read_records(orders)
        with (staging / "diff.csv").open("w", newline="", encoding="utf-8") as diff_file:
            writer = csv.writer(diff_file, lineterminator="\n")
            writer.writerow(DIFF_HEADER)
            reused = steps_reused = 0
            with executor(args.executor, args.workers, args.scheduler) as runner:
                if orders.suffix not in (".gz", ".parquet") and runner.sees(orders):  # the workers read the orders
                    records = FileParts(orders, CHUNK)
                for chunk in replay(records, baseline_spec, candidate_spec, effective_on, args.pack, runner,
                                    args.backend, cache=Path(args.cache) if args.cache else None):
                    tally.merge(chunk.tally)
                    reused += chunk.reused
                    steps_reused += chunk.steps_reused
                    writer.writerows(chunk.diff)
                    progress.update(tally.orders + tally.refused.total())
        _finished(progress, tally, orders)
        diff = [line for a, b in changed_packs(baseline, candidate, args.pack) for line in render(diff_packs(a, b), a, b)]
        compared = {"pack": args.pack, "baseline": args.baseline, "candidate": args.candidate, "effective_on": effective_on,
                    "reason": reason, "warnings": unused(tally.versions("candidate"), tally.roots["candidate"], baseline, candidate, args.pack)
                    + outside_windows(tally.days, (baseline, candidate), args.pack) + repeated(tally.ids)}
        command = shlex.join(["python", "simulate.py", "order", "--orders", str(args.orders), "--pack", args.pack,
                              "--baseline", args.baseline, "--candidate", args.candidate,
                              "--effective-on", effective_on.isoformat()])
        rows = {"baseline": baseline.all_rows(args.pack), "candidate": candidate.all_rows(args.pack)}
        versions = {"baseline": resolved(baseline, args.pack), "candidate": resolved(candidate, args.pack)}
        result = build(tally, compared, diff, rows, command)
        result["resolved"] = versions
        result["not_compared"] = not_compared((baseline, candidate), args.pack, side_kpis(candidate_spec, baseline_spec, args.pack))
        provenance = read_provenance(orders)
        if provenance is not None:
            result["enrichment"] = provenance
        (staging / "summary.json").write_bytes(jsonio.dumps(result, pretty=True) + b"\n")
        (staging / "report.md").write_text(report_md(result), encoding="utf-8")
        (staging / "report.html").write_text(report_html(result), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
        print_summary(result)
        if args.cache:  # beside the outputs, not in them: a cached run writes an uncached run's bytes
            (out / "cache.json").write_bytes(jsonio.dumps({"folder": args.cache, "outcomes": 2 * tally.orders, "reused": reused,
                                                           "steps_reused": steps_reused}) + b"\n")
            print(f"cache: reused {reused:,} of {2 * tally.orders:,} outcomes (both sides) and {steps_reused:,} step outcomes "
                  f"of the sides decided from {args.cache}", file=sys.stderr)
        print(f"wrote {out}/summary.json, diff.csv, report.md, report.html", file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)


def print_summary(s: dict[str, Any]) -> None:
    print("\n".join(summary_lines(s)))


def _find_order(path: Path, order_id: str) -> tuple[dt.date, Any]:
    """The order a report names: lines that are not orders are passed over, as the run passed them (its invalid orders)."""
    records = read_parquet_records(path) if path.suffix == ".parquet" else read_records(path)
    unread: list[str] = []
    for record in records:
        try:
            found_id, as_of, value = parse_record(record)
        except (ArbiterError, ValueError, KeyError) as exc:
            unread.append(f"{path}:{record[0]}: {getattr(exc, 'message', exc)}")
            continue
        if found_id == order_id and not isinstance(value, Refused):
            return as_of, value.input if isinstance(value, Logged) else value
    skipped = f" ({len(unread)} line(s) not orders, the first {unread[0]})" if unread else ""
    raise BadInput(f"no order {order_id!r} in {path}{skipped}")


def cmd_order(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="arbiter-sim-"))
    try:
        _, _, base, cand, _ = _sides(args, workdir)
        if args.orders and args.order_id:
            as_of, value = _find_order(Path(args.orders), args.order_id)
        elif args.order:
            value = jsonio.loads(Path(args.order).read_bytes())
            as_of = base.effective_on
        else:
            raise BadInput("give ORDER.json, or --orders FILE --order-id ID")
        if args.as_of:
            as_of = effective_date(args.as_of, "--as-of")
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
        versions = {side: ", ".join(f"{k}@{v}" for k, v in (r.get("steps") or {}).items()) for side, r in (("baseline", a), ("candidate", b))}
        print(f"versions: baseline {versions['baseline'] or '-'}; candidate {versions['candidate'] or '-'}")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def cmd_import(args: argparse.Namespace) -> int:
    source = import_online_retail(Path(args.src)) if args.source == "online-retail" else import_northwind(Path(args.src))
    out = Path(args.out)
    enrichment = load_enrichment(Path(args.enrich)) if args.enrich else None
    count = write_enriched(source, out, enrichment)
    if enrichment is not None:
        print(enrichment_line({"enrichment": enrichment.provenance()}), file=sys.stderr)
    print(f"wrote {count:,} canonical orders to {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simulate.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="real history into canonical orders (JSONL, .jsonl.gz or .parquet, by --out extension)")
    imp.add_argument("source", choices=["online-retail", "northwind"])
    imp.add_argument("src")
    imp.add_argument("--out", required=True)
    imp.add_argument("--enrich", metavar="FILE", help="join the facts this file states (stops, blocks, typed prices, product groups; "
                     "docs/simulation.md) into the orders, recorded beside them as ORDERS.enrichment.json and named in every report")
    imp.set_defaults(func=cmd_import)
    run = sub.add_parser("run", help="replay orders against a baseline and a candidate")
    run.add_argument("--orders", required=True, help="canonical orders (JSONL, .gz or .parquet) or an API decision log")
    run.add_argument("--baseline", required=True)
    run.add_argument("--candidate", required=True)
    run.add_argument("--pack", default="order")
    run.add_argument("--out", default="simulation")
    run.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    run.add_argument("--effective-on", help="which unpinned versions run: those effective on this date "
                     "(default: the date the candidate's new versions take effect)")
    run.add_argument("--executor", choices=["local", "dask"], default="local",
                     help="where the orders are decided: a process pool here (default) or a Dask cluster")
    run.add_argument("--cache", metavar="DIR", help="keep each side's outcomes in DIR (Parquet) and reuse them: a side "
                     "already decided with the same versions is read, not decided again")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster of --workers processes)")
    run.add_argument("--backend", choices=sorted(BACKENDS), default="native",
                     help="who matches the rows; packs durable_rules cannot run stay native (listed)")
    run.add_argument("--allow-same", action="store_true", help="run even when both sides resolve to the same versions")
    run.set_defaults(func=cmd_run)
    one = sub.add_parser("order", help="one order, both decisions side by side")
    one.add_argument("order", nargs="?", help="an order as JSON (or --orders FILE --order-id ID)")
    one.add_argument("--orders", help="an orders file to take the order from")
    one.add_argument("--order-id")
    one.add_argument("--baseline", required=True)
    one.add_argument("--candidate", required=True)
    one.add_argument("--pack", default="order")
    one.add_argument("--as-of")
    one.add_argument("--effective-on")
    one.add_argument("--backend", choices=["native", "durable"], default="native")
    one.set_defaults(func=cmd_order)
    cache = sub.add_parser("cache", help="look after an outcome cache (run --cache DIR)")
    prune = cache.add_subparsers(dest="action", required=True).add_parser(
        "prune", help="remove the cache's folders no run used lately",
        description="Remove the folders of an outcome cache (one a side's versions, one a step version) that no run "
        "read or wrote lately: a folder stays if either option keeps it. Other files in DIR are left alone.")
    prune.add_argument("dir", metavar="DIR")
    prune.add_argument("--keep-days", type=float, metavar="N", help="keep every folder a run used within the last N days")
    prune.add_argument("--keep-latest", type=int, metavar="K",
                       help="keep the K side folders last used (a run uses two: its baseline's and its candidate's) "
                       "and the K last used of each step pack's")
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    prune.set_defaults(func=cmd_cache_prune)
    return parser


def cmd_cache_prune(args: argparse.Namespace) -> int:
    """Remove an outcome cache's stale folders and say which, with the bytes freed."""
    gone, failed = prune_cache(Path(args.dir), args.keep_days, args.keep_latest, args.dry_run)
    for folder in gone:
        print(f"{'would remove' if args.dry_run else 'removed'} {folder.path} ({folder.size:,} bytes, last used "
              f"{dt.datetime.fromtimestamp(folder.used, dt.UTC):%Y-%m-%d %H:%M} UTC)")
    for folder, why in failed:
        print(f"simulate: could not remove {folder.path}: {why}", file=sys.stderr)
    print(f"{len(gone)} folder(s), {sum(f.size for f in gone):,} bytes {'to free' if args.dry_run else 'freed'}", file=sys.stderr)
    return 1 if failed else 0


def cmd_diff(args: argparse.Namespace) -> int:
    """What changed between the versions two specs run, in the packs' terms."""
    workdir = Path(tempfile.mkdtemp(prefix="arbiter-diff-"))
    try:
        sides = [load_spec(resolve_spec(text, workdir), effective_date(args.effective_on)) for text in (args.spec_a, args.spec_b)]
        names = [args.pack] if args.pack else sorted(set(sides[0].packs.names()) | set(sides[1].packs.names()))
        for name in names:
            a, b = (side.get(name) if args.effective_on or name in side.pins else side.packs.versions(name)[-1] for side in sides)
            edits = diff_packs(a.ir, b.ir)
            print("\n".join(render(edits, a.ir, b.ir)))
            if edits and args.examples:
                day = effective_date(args.effective_on) if args.effective_on else b.ir.effective_from or effective_date(None)
                edited = frozenset(e.path[-1] for e in edits)
                print("\n".join(render_examples(examples(a, b, day, args.examples, edited), a, b, day, set(edited))))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def diff_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbiter diff", description="What changed between two versions of the packs, "
                                     "in the packs' terms: rows added, removed or changed cell by cell, derives, data rows, "
                                     "outputs, steps, effective windows. Each SPEC as in simulate.py (a folder or git:REF, with pins); "
                                     "a pack runs its pinned version, else its newest (or the one effective on --effective-on).")
    parser.add_argument("spec_a")
    parser.add_argument("spec_b")
    parser.add_argument("pack", nargs="?")
    parser.add_argument("--effective-on")
    parser.add_argument("--examples", type=int, default=3, metavar="N",
                        help="at most N inputs the two versions decide differently, found by the table analysis and "
                        "decided by both (on --effective-on, else the date the second version takes effect); 0: none")
    parser.set_defaults(func=cmd_diff)
    return parser


def diff_main(argv: list[str]) -> int:
    return _guarded(diff_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    return _guarded(build_parser().parse_args(argv))


def _guarded(args: argparse.Namespace) -> int:
    """Run a command; input it cannot run on is one line on stderr and exit 2."""
    try:
        code: int = args.func(args)
    except BadInput as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    except ArbiterError as exc:  # an unknown pack or version in a pin
        print(f"simulate: {exc.message}", file=sys.stderr)
        return 2
    except (OSError, EOFError, ValueError) as exc:  # an orders file that cannot be read
        print(f"simulate: cannot read the input: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())


