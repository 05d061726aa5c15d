"""Replay throughput: N orders (Online Retail, repeated with a deterministic perturbation) against two versions.

    .venv/bin/python benchmarks/simulate.py [--orders 1000000] [--workers 2] [--rounds 3] [--only local|dask|cache]...

Raw history lines are streamed into the same ``run.replay`` that ``simulate.py run``
uses, and perturbed in the workers (the full ``order`` flow on both sides: baseline ``policy_packs``,
candidate credit 1.1.0 + pricing 2.0.0), so nothing of N size is ever held. Prints wall
time, orders/s, and the peak RSS of the parent and of the workers at checkpoints, to show
memory stays flat as N grows. Target on the 2-core machine: 1,000,000 orders under 120 s.

In one run, on the same orders: the floor and the local pool in ``--rounds`` interleaved
rounds (medians, and their ratio against the issue's 2.32x), then a local Dask cluster of 1 and of
2 workers (``--executor dask``), and the outcome cache cold (filling) and warm (a new
candidate against the same baseline, whose outcomes are read); every run's tally and diff
rows must agree. ``--orders`` takes fewer orders (the machine is shared: 50,000 is enough
to compare).

The peer, run first on the same orders through the same worker pool, is the replay's floor
(``benchmarks/replay_floor.py``): parsing each order and pricing it twice by hand. The
ratio says how far the engine is from the least any Python replay must do; its order
totals are checked equal to the engine's on the first orders before anything is timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EFFECTIVE_ON = dt.date(2026, 11, 24)
sys.path.insert(0, str(ROOT))

from benchmarks import replay_floor  # noqa: E402
from engine import jsonio  # noqa: E402
from replay import decide, executors, pool, run, specs  # noqa: E402
from replay import orders as order_io  # noqa: E402
from replay import tally as tallying  # noqa: E402

CHECKED = 2000  # orders whose totals the floor must match before it is timed
BASELINE_RATIO = 2.32  # Arbiter / floor when issue #18 was filed: the replay must stay within 10 % of it


def perturbed(record: tuple[int, bytes]) -> tuple[str, dt.date, Any]:
    """Round k of the history shifts quantities by k % 3 and dates by k % 30 days: new orders, same shape.

    Runs in the workers (as ``run.replay``'s parser), so the parent only hands out raw lines.
    """
    k, line = record
    order_id, as_of, value = order_io.parse_record((0, line))
    if k:
        for order_line in value["lines"]:
            order_line["quantity"] += k % 3
    return f"{order_id}-{k}", as_of + dt.timedelta(days=k % 30), value


def rounds(history: list[bytes], n: int) -> Iterator[tuple[int, bytes]]:
    for i in range(n):
        k, j = divmod(i, len(history))
        yield k, history[j]


def floor_chunk(records: list[tuple[int, bytes]]) -> int:
    for k, line in records:
        replay_floor.replay_order(line, k % 30, k % 3)
    return len(records)


def check_floor(history: list[bytes], baseline: specs.Spec, candidate: specs.Spec) -> int:
    """The floor's order totals equal the engine's on the first orders of rounds 0 and 1 (else it does not do the work)."""
    base = specs.load_spec(baseline, EFFECTIVE_ON)
    cand = specs.load_spec(candidate, EFFECTIVE_ON)
    compared = 0
    for k, line in rounds(history[:CHECKED // 2], CHECKED):
        _, as_of, value = perturbed((k, line))
        a, b = decide.decide_both(base, cand, "order", value, as_of)
        if "order_total" in a and "order_total" in b:
            totals = replay_floor.replay_order(line, k % 30, k % 3)
            if totals != (a["order_total"], b["order_total"]):
                raise SystemExit(f"the floor prices round {k} of order {value.get('order_id')} at {totals}, "
                                 f"the engine at {(a['order_total'], b['order_total'])}")
            compared += 1
    return compared


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, history: list[bytes], n: int, baseline: specs.Spec, candidate: specs.Spec, workers: int,
          executor: Any = None, cache: Path | None = None) -> dict[str, Any]:
    """One replay of ``n`` orders: wall seconds, the tally's digest (every run must agree), peak RSS, outcomes reused."""
    tally = tallying.Tally()
    rows: list[list[str]] = []
    worker_rss, reused = 0.0, 0
    start = time.perf_counter()
    first = 0.0  # until the first chunk: the workers load and compile the packs (a few seconds, once)
    checkpoints = [n // 4, n // 2, n]
    for chunk in run.replay(rounds(history, n), baseline, candidate, EFFECTIVE_ON, "order", executor or workers,
                            parse=perturbed, cache=cache):
        first = first or time.perf_counter() - start
        tally.merge(chunk.tally)
        rows += chunk.diff
        worker_rss = max(worker_rss, chunk.peak_rss_mb)
        reused += chunk.reused
        if checkpoints and tally.orders >= checkpoints[0]:
            checkpoints = [c for c in checkpoints if c > tally.orders]
            elapsed = time.perf_counter() - start
            print(f"  {label:<22} {tally.orders:>10,} orders  {elapsed:7.1f} s  {tally.orders / elapsed:7,.0f} orders/s  "
                  f"peak RSS parent {rss_mb():.0f} MB, worker {worker_rss:.0f} MB", flush=True)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(jsonio.dumps([tally.orders, tally.changed, rows])).hexdigest()[:16]
    return {"seconds": round(seconds, 1), "first_chunk_s": round(first, 1), "orders_per_s": round(tally.orders / seconds), "changed": tally.changed,
            "digest": digest, "worker_rss_mb": round(worker_rss), "reused": reused}


def floor_seconds(history: list[bytes], n: int, workers: int) -> float:
    start = time.perf_counter()
    sum(pool.in_order(floor_chunk, pool.chunks(rounds(history, n), order_io.CHUNK), workers))
    return time.perf_counter() - start


def interleaved(history: list[bytes], n: int, baseline: specs.Spec, candidate: specs.Spec, workers: int,
                count: int) -> dict[str, Any]:
    """The floor and Arbiter's local pool in alternating rounds (each goes first every other round): medians and their ratio."""
    floors: list[float] = []
    runs: list[dict[str, Any]] = []
    for r in range(count):
        load = os.getloadavg()[0]
        for which in ("floor", "arbiter") if r % 2 == 0 else ("arbiter", "floor"):
            if which == "floor":
                floors.append(floor_seconds(history, n, workers))
            else:
                runs.append(timed(f"local pool, round {r + 1}", history, n, baseline, candidate, workers))
        print(f"round {r + 1}: floor {floors[-1]:.1f} s, Arbiter {runs[-1]['seconds']:.1f} s, "
              f"ratio {runs[-1]['seconds'] / floors[-1]:.2f}x (load average {load:.1f} at its start)", flush=True)
    if len({run["digest"] for run in runs}) > 1:
        raise SystemExit(f"the rounds disagree: {[run['digest'] for run in runs]}")
    ratios = sorted(run["seconds"] / f for run, f in zip(runs, floors, strict=True))
    ratio = statistics.median(ratios)
    print(f"ratio to the floor: median {ratio:.2f}x over {count} round(s) ({', '.join(f'{x:.2f}' for x in ratios)}); "
          f"the issue's baseline {BASELINE_RATIO}x, within 10 % up to {BASELINE_RATIO * 1.1:.2f}x: "
          f"{'yes' if ratio <= BASELINE_RATIO * 1.1 else 'NO'}; load average now {os.getloadavg()[0]:.1f}", flush=True)
    local = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    return {"floor_seconds": round(statistics.median(floors), 1), "local_pool": local, "floor_ratio_median": round(ratio, 2),
            "floor_ratio_rounds": [round(x, 2) for x in ratios]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-floor", action="store_true", help="time the engine only")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the floor and Arbiter (medians)")
    parser.add_argument("--only", choices=["local", "dask", "cache"], action="append",
                        help="run only these (repeatable); default: all")
    args = parser.parse_args()
    only = set(args.only or ["local", "dask", "cache"])

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "online-retail.jsonl"
        subprocess.run([sys.executable, str(ROOT / "simulate.py"), "import", "online-retail",
                        str(ROOT.parent / "shared" / "data" / "online-retail"), "--out", str(path)], check=True)
        history = [line for _, line in order_io.read_records(path)]
    packs = ROOT / "policy_packs"
    baseline = specs.Spec(str(packs), packs, {})
    candidate = specs.Spec(f"{packs}#credit@1.1.0,pricing@2.0.0", packs, {"credit": "1.1.0", "pricing": "2.0.0"})
    print(f"{len(history):,} historic orders; replaying {args.orders:,} against two versions with {args.workers} workers",
          flush=True)
    results: dict[str, Any] = {"orders": args.orders, "target_seconds_for_1m": 120}
    n, workers = args.orders, args.workers
    if not args.no_floor:
        print(f"floor: order totals equal the engine's on {check_floor(history, baseline, candidate):,} orders", flush=True)
        results.update(interleaved(history, n, baseline, candidate, workers, args.rounds))
    elif "local" in only:
        results["local_pool"] = timed("local pool", history, n, baseline, candidate, workers)
    if "dask" in only:
        for size in (1, 2):
            started = time.perf_counter()
            with executors.DaskExecutor(None, size) as cluster:
                start_s = round(time.perf_counter() - started, 1)
                results[f"dask_{size}"] = timed(f"dask, {size} worker(s)", history, n, baseline, candidate, size, cluster)
            results[f"dask_{size}"]["cluster_start_s"] = start_s
    if "cache" in only:
        with tempfile.TemporaryDirectory() as kept:
            results["cache_cold"] = timed("cache, cold (filling)", history, n, baseline, candidate, workers, cache=Path(kept))
            # a new candidate against the same baseline: the baseline side of every order is read, not decided
            other = specs.Spec(f"{packs}#credit@1.1.0", packs, {"credit": "1.1.0"})
            results["cache_warm"] = timed("cache, warm (new cand.)", history, n, baseline, other, workers, cache=Path(kept))
    digests = {k: v["digest"] for k, v in results.items() if isinstance(v, dict) and k != "cache_warm"}
    if len(set(digests.values())) > 1:
        raise SystemExit(f"the runs disagree: {digests}")
    local = results.get("local_pool", {}).get("seconds")
    for value in results.values():
        if isinstance(value, dict) and local:
            value["x_local_pool"] = round(value["seconds"] / local, 2)
        if isinstance(value, dict) and results.get("floor_seconds"):
            value["x_floor"] = round(value["seconds"] / results["floor_seconds"], 2)
    print(jsonio.dumps(results, pretty=True).decode())
    print_targets(results)
    return 0


def print_targets(results: dict[str, Any]) -> None:
    """The issue's targets as ratios of runs on the same orders in this one run: Arbiter/floor, Dask/local, warm/cold."""
    def seconds(key: str) -> float | None:
        found = results.get(key)
        return found.get("seconds") if isinstance(found, dict) else results.get(key) if key == "floor_seconds" else None

    checks = [("local pool / floor", "local_pool", "floor_seconds", 1.5),
              ("dask, 2 workers / local pool (2 workers)", "dask_2", "local_pool", 1.15),
              ("cache warm / cache cold", "cache_warm", "cache_cold", 0.7)]
    print(f"targets ({results['orders']:,} orders; at small sizes the workers' start, in first_chunk_s, weighs in):")
    for label, top, bottom, target in checks:
        a, b = seconds(top), seconds(bottom)
        if a is None or not b:
            print(f"  {label:<42} not run")
            continue
        # against the floor, the median of the interleaved rounds' ratios when they ran
        ratio = results.get("floor_ratio_median", a / b) if bottom == "floor_seconds" else a / b
        print(f"  {label:<42} {ratio:5.2f}x  target <= {target}x: {'met' if ratio <= target else 'MISSED'}")
    one, two = seconds("dask_1"), seconds("dask_2")
    if one and two:
        print(f"  {'dask, 1 worker / dask, 2 workers':<42} {one / two:5.2f}x  (what a second worker gains)")


if __name__ == "__main__":
    raise SystemExit(main())
