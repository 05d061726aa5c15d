"""Replay throughput: N orders (Online Retail, repeated with a deterministic perturbation) against two versions.

    .venv/bin/python benchmarks/simulate.py [--orders 1000000] [--workers 2] [--rounds 3] [--only local|dask|cache]...

The history is imported to a JSONL file once; the parent hands the workers parts of it (a byte
range and the round k that ``perturbed`` shifts quantities and dates by), the workers read,
perturb and replay them through the same ``run.replay`` that ``simulate.py run`` uses (the
full ``order`` flow on both sides: baseline ``policy_packs``, candidate credit 1.1.0 +
pricing 2.0.0), so nothing of N size is ever held or shipped (``--ship-lines`` ships the
lines from the parent instead, as for a gzipped file). Prints wall time, CPU per order of
every process (parent, Dask scheduler, nannies and workers), and at checkpoints (a quarter,
half and all of the orders) the RSS now of the parent and of each worker, read the same way
on the pool and on Dask (``Memory``), to show memory stays flat as N grows.

In one run, on the same orders, in ``--rounds`` rounds each taking the runs in a rotated order:
the floor, the local pool, and a local Dask cluster of 2 workers (started once, before the
rounds; its start is reported apart). Then a 1-worker cluster once, and rounds of the outcome
cache: the same replay cold (empty cache), warm (the baseline's outcomes kept by a replay of
another candidate) and warm on both sides. Targets are medians of the rounds' ratios; every
run's tally and diff rows must agree. ``--orders`` takes fewer orders (the machine is
shared: 50,000 is enough to compare).

The issue's run is ``--orders 1000000 --rounds 1``: eight replays of 1,000,000 orders (floor,
local pool, Dask 2 and 1 workers, cache cold, fill, warm, warm both), about 25 minutes on a
quiet 2-core machine at 200k-order speeds times five (round 4: 72, 185, 192, 338, 240, 240,
157 and 75 s). Almost nothing of N size is held: at 1,000,000 orders the parent hands out
2,008 parts of rounds 0-38 of the 25,900-order history at 181 MB (most of it the history
itself, kept for the floor's check and the parts' offsets; measured before the tally kept an
8-byte digest of each order id, 8 MB more a million orders), and the outcome cache's two
temporary folders take about 0.34 and 0.41 KB an order on disk (cold; filled, then warm).

The floor (``benchmarks/replay_floor.py``) parses each order and prices it twice by hand,
reading the same parts through the same pool. The ratio says how far the engine is from the
least any Python replay must do; its order totals are checked equal to the engine's on the
first orders before anything is timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EFFECTIVE_ON = dt.date(2026, 11, 24)
sys.path.insert(0, str(ROOT))

from benchmarks import replay_floor  # noqa: E402
from engine import jsonio  # noqa: E402
from replay import decide, executors, parts, pool, run, specs  # noqa: E402
from replay import orders as order_io  # noqa: E402
from replay import tally as tallying  # noqa: E402

CHECKED = 2000  # orders whose totals the floor must match before it is timed


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


@dataclass(frozen=True)
class RoundPart:
    """Orders of the history file in round ``k`` (``perturbed`` shifts them by k), read by the worker that runs it."""

    part: parts.LinePart
    k: int

    def records(self) -> Iterator[tuple[int, bytes]]:
        return ((self.k, line) for _, line in self.part.records())


class Rounds(parts.Parts):
    """The first ``n`` orders of the history repeated, as parts of the history file: nothing of N size is held or shipped."""

    def __init__(self, path: Path, history: list[bytes], n: int) -> None:
        self.path, self.history, self.n = str(path.resolve()), history, n
        self.offsets = list(itertools.accumulate((len(line) for line in history), initial=0))

    def __iter__(self) -> Iterator[RoundPart]:
        size, left = order_io.CHUNK, self.n
        for k in itertools.count():
            for j in range(0, len(self.history), size):
                end = min(j + size, len(self.history), j + left)
                yield RoundPart(parts.LinePart(self.path, self.offsets[j], self.offsets[end] - self.offsets[j], j + 1), k)
                left -= end - j
                if not left:
                    return

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """The same records as raw lines, for shipping from this process (``--ship-lines``)."""
        for i in range(self.n):
            k, j = divmod(i, len(self.history))
            yield k, self.history[j]


def floor_chunk(part: RoundPart) -> int:
    count = 0
    for k, line in part.records():
        replay_floor.replay_order(line, k % 30, k % 3)
        count += 1
    return count


def check_floor(history: list[bytes], baseline: specs.Spec, candidate: specs.Spec) -> int:
    """The floor's order totals equal the engine's on the first orders of rounds 0 and 1 (else it does not do the work)."""
    base = specs.load_spec(baseline, EFFECTIVE_ON)
    cand = specs.load_spec(candidate, EFFECTIVE_ON)
    compared = 0
    for k in (0, 1):
        for line in history[:CHECKED // 2]:
            _, as_of, value = perturbed((k, line))
            a, b = decide.decide_both(base, cand, "order", value, as_of)
            if "order_total" in a and "order_total" in b:
                totals = replay_floor.replay_order(line, k % 30, k % 3)
                if totals != (a["order_total"], b["order_total"]):
                    raise SystemExit(f"the floor prices round {k} of order {value.get('order_id')} at {totals}, "
                                     f"the engine at {(a['order_total'], b['order_total'])}")
                compared += 1
    return compared


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value, 1)  # to 0.1 MB: 1 byte an order over 100,000 orders


@dataclass
class Memory:
    """One run's memory at its checkpoints, read the same way on the local pool and on Dask.

    Each worker reports its resident memory now (VmRSS, ``replay.pool.resident_mb``) as each of
    its batches ends; at a checkpoint every worker's latest report is shown, with the memory only
    it maps (``private``, read here from /proc: a pool worker is forked from this process and
    its RSS also counts this process's pages it still shares, the history above all; a Dask
    worker is started apart and shares none). ``peak`` is the most any worker held at the end of
    a batch in this run. Not ``ru_maxrss``: a Dask worker outlives runs, and its ``ru_maxrss``
    starts at this process's RSS when the cluster forked it (Linux keeps the larger across the
    exec), so round 5's "Dask workers flat at 203 MB" was this process's memory at cluster
    start, under which the workers' own (80 MB, then growing) stayed hidden. Flat means the
    workers hold no more at the last checkpoint than at the first.
    """

    workers: dict[int, float] = field(default_factory=dict)  # process id -> MB at the end of its latest batch
    peak: float = 0.0
    checkpoints: list[dict[str, Any]] = field(default_factory=list)

    def saw(self, chunk: run.Chunk) -> None:
        if chunk.rss_mb is not None:
            self.workers[chunk.worker] = chunk.rss_mb
            self.peak = max(self.peak, chunk.rss_mb)

    def checkpoint(self, orders: int) -> str:
        """Every process's memory now, kept for the results and said in one line."""
        found = sorted(self.workers.items())
        private = [pool.private_mb(pid) for pid, _ in found]
        now = {"orders": orders, "parent_mb": _mb(pool.resident_mb()), "workers_mb": [_mb(mb) for _, mb in found],
               "workers_private_mb": [_mb(mb) for mb in private]}
        self.checkpoints.append(now)
        workers = ", ".join(f"{mb:.0f} MB" + ("" if p is None else f" ({p:.0f} private)")
                            for mb, p in zip(now["workers_mb"], now["workers_private_mb"], strict=True))
        parent = "n/a" if now["parent_mb"] is None else f"{now['parent_mb']:.0f} MB"
        return f"RSS now: parent {parent}, workers {workers or 'n/a'}; worker peak {self.peak:.0f} MB"

    def results(self) -> dict[str, Any]:
        """The checkpoints, the peaks, and how much more the workers and the parent hold per order from the first to the last."""
        first, last = (self.checkpoints[0], self.checkpoints[-1]) if self.checkpoints else ({}, {})
        orders = last.get("orders", 0) - first.get("orders", 0)

        def growth(key: str) -> int | None:
            a, b = first.get(key), last.get(key)
            if not orders or not a or not b:
                return None
            a, b = (max(a), max(b)) if isinstance(a, list) else (a, b)
            return round((b - a) * 2**20 / orders)

        return {"checkpoints": self.checkpoints, "worker_peak_mb": round(self.peak), "parent_peak_mb": round(max((c["parent_mb"] or 0 for c in self.checkpoints), default=0)),
                "worker_growth_bytes_an_order": growth("workers_mb"), "parent_growth_bytes_an_order": growth("parent_mb")}


def cpu_seconds() -> float:
    """CPU of this process (the Dask scheduler's thread included), its ended children and its live descendants (Dask's)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = time.process_time() + children.ru_utime + children.ru_stime
    try:
        import psutil
    except ImportError:
        return total
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


@dataclass
class Bench:
    """What every run shares: the orders, the two sides, and how the orders reach the workers."""

    source: Rounds
    baseline: specs.Spec
    candidate: specs.Spec
    workers: int
    ship_lines: bool = False

    def timed(self, label: str, executor: Any = None, cache: Path | None = None, candidate: specs.Spec | None = None) -> dict[str, Any]:
        """One replay: wall seconds, CPU per order (all processes), the tally's digest (every run must agree), memory."""
        n = self.source.n
        tally = tallying.Tally()
        rows: list[list[str]] = []
        memory, reused, steps_reused = Memory(), 0, 0
        if executor is not None:  # each run loads the packs in every worker, as the local pool's fresh processes do
            executor.client.run(executors.forget)
        cpu, start = cpu_seconds(), time.perf_counter()
        first = 0.0  # until the first chunk: the workers load and compile the packs (a few seconds, once a worker)
        checkpoints = [n // 4, n // 2, n]
        records = self.source.lines() if self.ship_lines else self.source
        for chunk in run.replay(records, self.baseline, candidate or self.candidate, EFFECTIVE_ON, "order",
                                executor or self.workers, parse=perturbed, cache=cache):
            first = first or time.perf_counter() - start
            tally.merge(chunk.tally)
            rows += chunk.diff
            memory.saw(chunk)
            reused += chunk.reused
            steps_reused += chunk.steps_reused
            if checkpoints and tally.orders >= checkpoints[0]:
                checkpoints = [c for c in checkpoints if c > tally.orders]
                elapsed = time.perf_counter() - start
                print(f"  {label:<26} {tally.orders:>10,} orders  {elapsed:7.1f} s  {tally.orders / elapsed:7,.0f} orders/s  "
                      f"{memory.checkpoint(tally.orders)}", flush=True)
        seconds = time.perf_counter() - start
        cpu_us = (cpu_seconds() - cpu) / n * 1e6
        digest = hashlib.sha256(jsonio.dumps([tally.orders, tally.changed, rows])).hexdigest()[:16]
        return {"seconds": round(seconds, 1), "cpu_us_per_order": round(cpu_us), "first_chunk_s": round(first, 1),
                "orders_per_s": round(tally.orders / seconds), "changed": tally.changed, "digest": digest,
                "memory": memory.results(), "reused": reused, "steps_reused": steps_reused}

    def floor(self) -> dict[str, Any]:
        cpu, start = cpu_seconds(), time.perf_counter()
        sum(pool.in_order(floor_chunk, self.source, self.workers))
        seconds = time.perf_counter() - start
        return {"seconds": round(seconds, 1), "cpu_us_per_order": round((cpu_seconds() - cpu) / self.source.n * 1e6)}


def interleaved(bench: Bench, kinds: list[str], count: int, cluster: Any) -> dict[str, Any]:
    """The floor, the local pool and Dask (2 workers, started once) in rotating order each round: medians and ratios."""
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for r in range(count if kinds else 0):  # --only cache --no-floor times none of them
        load = os.getloadavg()[0]
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            if kind == "floor":
                runs[kind].append(bench.floor())
            else:
                runs[kind].append(bench.timed(f"{kind}, round {r + 1}", cluster if kind == "dask_2" else None))
        print(f"round {r + 1} (load average {load:.1f} at its start): "
              + ", ".join(f"{kind} {runs[kind][-1]['seconds']:.1f} s" for kind in kinds), flush=True)
    results: dict[str, Any] = {}
    for kind in kinds:
        if len({run.get("digest") for run in runs[kind]}) > 1:
            raise SystemExit(f"the rounds of {kind} disagree: {[run['digest'] for run in runs[kind]]}")
        results[kind] = sorted(runs[kind], key=lambda run: run["seconds"])[len(runs[kind]) // 2]
        results[kind]["rounds_s"] = [run["seconds"] for run in runs[kind]]
    for top, bottom in (("local_pool", "floor"), ("dask_2", "local_pool")):
        if top in runs and bottom in runs:
            ratios = [a["seconds"] / b["seconds"] for a, b in zip(runs[top], runs[bottom], strict=True)]
            results[f"{top}_over_{bottom}"] = ratio_summary(ratios)
    return results


def ratio_summary(ratios: list[float]) -> dict[str, Any]:
    """The rounds' ratios and their median, unrounded: a verdict on a ratio rounded to 0.70 called 0.705 met."""
    return {"median": statistics.median(ratios), "rounds": ratios}


def cached(bench: Bench, count: int, other: specs.Spec) -> dict[str, Any]:
    """Rounds of the same replay with the cache cold, warm (the baseline kept by a replay of another candidate) and both warm."""
    runs: dict[str, list[dict[str, Any]]] = {"cache_cold": [], "cache_warm": [], "cache_warm_both": [], "cache_fill": []}
    for r in range(count):
        with tempfile.TemporaryDirectory() as cold, tempfile.TemporaryDirectory() as warm:
            runs["cache_cold"].append(bench.timed(f"cache cold, round {r + 1}", cache=Path(cold)))
            runs["cache_fill"].append(bench.timed(f"cache fill, round {r + 1}", cache=Path(warm), candidate=other))
            # a new candidate against the same baseline: its baseline side is read, not decided
            runs["cache_warm"].append(bench.timed(f"cache warm, round {r + 1}", cache=Path(warm)))
            runs["cache_warm_both"].append(bench.timed(f"cache warm both, round {r + 1}", cache=Path(warm)))
        print(f"cache round {r + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f} s" for k, v in runs.items()), flush=True)
    results: dict[str, Any] = {}
    for kind, found in runs.items():
        results[kind] = sorted(found, key=lambda run: run["seconds"])[len(found) // 2]
        results[kind]["rounds_s"] = [run["seconds"] for run in found]
    for kind in ("cache_warm", "cache_warm_both"):
        ratios = [a["seconds"] / b["seconds"] for a, b in zip(runs[kind], runs["cache_cold"], strict=True)]
        results[f"{kind}_over_cache_cold"] = ratio_summary(ratios)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-floor", action="store_true", help="time the engine only")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--only", choices=["local", "dask", "cache"], action="append",
                        help="run only these (repeatable); default: all")
    parser.add_argument("--ship-lines", action="store_true",
                        help="this process reads the orders and ships them to the workers (else they read parts of the file)")
    args = parser.parse_args()
    only = set(args.only or ["local", "dask", "cache"])
    started = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "online-retail.jsonl"
        subprocess.run([sys.executable, str(ROOT / "simulate.py"), "import", "online-retail",
                        str(ROOT.parent / "shared" / "data" / "online-retail"), "--out", str(path)], check=True)
        history = [line for _, line in order_io.read_records(path)]
        packs = ROOT / "policy_packs"
        baseline = specs.Spec(str(packs), packs, {})
        candidate = specs.Spec(f"{packs}#credit@1.1.0,pricing@2.0.0", packs, {"credit": "1.1.0", "pricing": "2.0.0"})
        bench = Bench(Rounds(path, history, args.orders), baseline, candidate, args.workers, args.ship_lines)
        print(f"{len(history):,} historic orders; replaying {args.orders:,} against two versions with {args.workers} workers"
              f" ({'shipped as lines' if args.ship_lines else 'read by the workers from parts of the file'})", flush=True)
        results: dict[str, Any] = {"orders": args.orders, "target_seconds_for_1m": 120, "load_average_start": os.getloadavg()[0]}
        if not args.no_floor:
            print(f"floor: order totals equal the engine's on {check_floor(history, baseline, candidate):,} orders", flush=True)
        kinds = [k for k, on in (("floor", not args.no_floor), ("local_pool", "local" in only or not args.no_floor),
                                 ("dask_2", "dask" in only)) if on]
        results.update(on_dask(bench, kinds, args.rounds) if "dask" in only else interleaved(bench, kinds, args.rounds, None))
        if "cache" in only:
            results.update(cached(bench, args.rounds, specs.Spec(f"{packs}#credit@1.1.0", packs, {"credit": "1.1.0"})))
    results["load_average_end"] = os.getloadavg()[0]
    results["wall_s"] = round(time.perf_counter() - started)
    digests = {k: v["digest"] for k, v in results.items() if isinstance(v, dict) and "digest" in v and k != "cache_fill"}
    if len(set(digests.values())) > 1:
        raise SystemExit(f"the runs disagree: {digests}")
    print(jsonio.dumps(results, pretty=True).decode())
    print_targets(results)
    print_memory(results)
    return 0


def on_dask(bench: Bench, kinds: list[str], count: int) -> dict[str, Any]:
    """Each local cluster started once, its start timed apart: 2 workers in the interleaved rounds, then 1 worker."""
    started = time.perf_counter()
    with executors.DaskExecutor(None, bench.workers) as cluster:
        start_2 = round(time.perf_counter() - started, 1)
        results = interleaved(bench, kinds, count, cluster)
    started = time.perf_counter()
    with executors.DaskExecutor(None, 1) as cluster:
        start_1 = round(time.perf_counter() - started, 1)
        results["dask_1"] = bench.timed("dask_1", cluster)
    results["dask_2"]["cluster_start_s"], results["dask_1"]["cluster_start_s"] = start_2, start_1
    return results


def print_targets(results: dict[str, Any]) -> None:
    """The issue's targets as medians of per-round ratios of runs on the same orders in this one run."""
    checks = [("local pool / floor", "local_pool_over_floor", 1.5),
              ("dask, 2 workers / local pool (cluster start apart)", "dask_2_over_local_pool", 1.15),
              ("cache warm / cache cold", "cache_warm_over_cache_cold", 0.7),
              ("cache warm both sides / cache cold", "cache_warm_both_over_cache_cold", None)]
    print(f"targets ({results['orders']:,} orders, medians of the rounds' ratios; load average "
          f"{results['load_average_start']:.1f} at the start, {results['load_average_end']:.1f} at the end; "
          f"{results['wall_s']:,} s in all):")
    for label, key, target in checks:
        found = results.get(key)
        if found is None:
            print(f"  {label:<50} not run")
            continue
        verdict = "" if target is None else f"  target <= {target}x: {'met' if found['median'] <= target else 'MISSED'}"
        if verdict and len(found["rounds"]) < 3:
            verdict += f" ({len(found['rounds'])} round: indicative only)"  # one ratio on a shared machine is not a verdict
        print(f"  {label:<50} {found['median']:6.3f}x{verdict}  (rounds {', '.join(f'{x:.3f}' for x in found['rounds'])})")
    warm, plain = results.get("cache_warm"), results.get("local_pool")
    if warm and plain:  # the cold run also writes both sides' outcomes, so warm/cold alone flatters the cache
        ratio = statistics.median(warm["rounds_s"]) / statistics.median(plain["rounds_s"])
        print(f"  {'cache warm / local pool (no cache)':<50} {ratio:6.3f}x  (below 1: the cache saves work over none at all)")
    one, two = results.get("dask_1"), results.get("dask_2")
    if one and two:
        print(f"  {'dask, 1 worker / dask, 2 workers':<50} {one['seconds'] / two['seconds']:6.3f}x  (what a second worker gains)")
        print(f"  cluster start (not in the times above): 2 workers {two['cluster_start_s']} s, 1 worker {one['cluster_start_s']} s")


def print_memory(results: dict[str, Any]) -> None:
    """Each run's memory from its first checkpoint (a quarter of the orders) to its last: flat is about 0 bytes an order."""
    print("memory (RSS now, the most of the workers', at the first and last checkpoints; peak at a batch's end):")
    for kind, found in results.items():
        memory = found.get("memory") if isinstance(found, dict) else None
        if not memory or not memory["checkpoints"]:
            continue
        first, last = memory["checkpoints"][0], memory["checkpoints"][-1]
        print(f"  {kind:<16} workers {max(first['workers_mb'], default=None)} -> {max(last['workers_mb'], default=None)} MB "
              f"({memory['worker_growth_bytes_an_order']} bytes an order), peak {memory['worker_peak_mb']} MB; "
              f"parent {first['parent_mb']} -> {last['parent_mb']} MB ({memory['parent_growth_bytes_an_order']} bytes an order)")


if __name__ == "__main__":
    raise SystemExit(main())
