"""A replay worker's memory does not grow with the orders it has decided: nothing is kept per order between batches."""

from __future__ import annotations

import datetime as dt
import gc
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import jsonio
from replay import orders as order_io
from replay import pool, run, specs
from tests.conftest import PACKS, ROOT

DAY = dt.date(2026, 11, 24)


ORDERS = 50  # a batch's; 6 batches of distinct orders, so a memo keyed by an order's content would grow too


def changed_orders(batch: int) -> list[bytes]:
    """Tier-C orders a few % over their limit, none like another batch's: credit 1.1.0's tighter tolerance changes most,
    so attribution runs on them."""
    example = jsonio.loads((ROOT / "examples" / "order.json").read_bytes())
    return [jsonio.dumps(dict(example, order_id=f"SO-{batch}-{n}", as_of="2026-06-01",
                              customer=dict(example["customer"], risk_tier="C", credit_limit=10000,
                                            open_receivables=9000 + 24 * n + batch)))
            for n in range(ORDERS)]


@pytest.fixture
def worker(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[None]:
    """This process set up as a pool worker (run._init_worker), then put back: its packs dropped, the collector unfrozen."""
    cache = str(tmp_path / "cache") if request.param else None
    baseline = specs.Spec(str(PACKS), PACKS, {})
    candidate = specs.Spec("pins", PACKS, {"credit": "1.1.0", "pricing": "2.0.0"})
    try:
        run._init_worker(baseline, candidate, DAY, "order", "native", order_io.parse_record, cache)
        yield
    finally:
        run._WORKER.clear()
        order_io.decode_for(None)
        gc.unfreeze()


def replay_batches(first: int, count: int) -> int:
    """``count`` batches as a worker replays them, each chunk dropped as the pool ships it away; the orders that changed."""
    changed = 0
    for index in range(first, first + count):
        chunk = run._replay_chunk((index, list(enumerate(changed_orders(index), start=1))))
        assert chunk.tally.orders == ORDERS
        assert chunk.worker == os.getpid()  # whose memory, for the benchmark to follow each worker
        assert chunk.rss_mb
        changed += chunk.tally.changed
    return changed


def held() -> tuple[int, int]:
    """Objects the collector tracks and bytes Python has allocated (tracemalloc), once the garbage is gone."""
    gc.collect()
    return len(gc.get_objects()), tracemalloc.get_traced_memory()[0]


@pytest.mark.parametrize("worker", [False, True], ids=["no cache", "outcome cache"], indirect=True)
def test_a_worker_holds_nothing_per_order_between_batches(worker: None) -> None:
    """Before 6 more batches of new orders and after them, a worker holds the same objects and about the same bytes."""
    # attribution's variant packs live as long as the worker and kept every changed order's step decisions (issue 25)
    assert replay_batches(0, 2) >= ORDERS  # the stream does reach attribution, on most orders
    tracemalloc.start()
    try:
        # what the worker keeps of its last batch, and what its bounded caches (msgspec's keys) replace, where tracemalloc sees it
        replay_batches(2, 4)
        objects, size = held()
        replay_batches(6, 6)
        more_objects, more_size = held()
    finally:
        tracemalloc.stop()
    assert more_objects - objects < 20, f"the worker keeps {more_objects - objects} more objects after 6 batches"
    # under 55 bytes an order of the 300: a leak of issue 25's size (120-210 bytes an order) fails it
    assert more_size - size < 16 * 1024, f"the worker keeps {more_size - size:,} more bytes after {6 * ORDERS} orders"


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="reads Linux's /proc")
def test_worker_memory_is_read_as_it_is_now_not_at_its_peak() -> None:
    """Freeing 64 MB just written lowers this process's RSS and private memory readings by about that much: they are now.

    A peak (``ru_maxrss``, ``VmHWM``) would not drop. Only the drop is asserted: the rise from a
    reading taken before writing also counts whatever other threads free meanwhile (a Dask
    cluster's, in the same test run), and once read under 60 MB on a loaded machine.
    """
    block = b"x" * (64 << 20)  # written, so resident
    held = pool.resident_mb(), pool.private_mb(os.getpid())
    del block  # 64 MB is past glibc's largest mmap threshold: returned to the system at once
    now = pool.resident_mb(), pool.private_mb()
    peak = pool._proc_kb(None, "status", (b"VmHWM:",))
    for during, after in zip(held, now, strict=True):
        assert during is not None
        assert after is not None
        assert during - after > 60
        assert peak is not None
        assert peak - after > 60
    assert pool.resident_mb(2**22 + 1) is None  # no such process (pid_max is at most 2**22)
