"""Batches of work in input order on a process pool, at most two batches per worker in flight."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def resident_mb(pid: int | None = None) -> float | None:
    """A process's resident memory now (VmRSS, not the peak ``ru_maxrss`` keeps); None where /proc cannot tell.

    A batch's result carries its worker's, read as the batch ends: the same measure of the same
    kind of process on the local pool and on Dask, so "flat as the input grows" reads alike on both.
    """
    return _proc_kb(pid, "status", (b"VmRSS:",))


def private_mb(pid: int | None = None) -> float | None:
    """Memory only this process maps: a forked pool worker's RSS also counts the parent's pages it still shares."""
    return _proc_kb(pid, "smaps_rollup", (b"Private_Clean:", b"Private_Dirty:"))


def _proc_kb(pid: int | None, name: str, fields: tuple[bytes, ...]) -> float | None:
    try:
        with open(f"/proc/{pid or 'self'}/{name}", "rb") as f:
            found = [int(line.split()[1]) for line in f if line.startswith(fields)]
    except (OSError, ValueError, IndexError):  # another system, or the process is gone
        return None
    return sum(found) / 1024 if len(found) == len(fields) else None


def sharing(workers: int) -> str:
    """How ``in_order``'s workers see this process: ``process`` (they are it), ``fork`` (copies of it) or ``none``.

    Forked workers inherit what this process has loaded: their setup is not pickled.
    """
    if workers <= 1:
        return "process"
    return "fork" if multiprocessing.get_start_method() == "fork" else "none"


T = TypeVar("T")
B = TypeVar("B")


def in_order(work: Callable[[B], T], batches: Iterable[B], workers: int,
             initializer: Callable[..., None] | None = None, setup: tuple[Any, ...] = ()) -> Iterator[T]:
    """``work`` of each batch, in input order, on ``workers`` processes (in this one for 1).

    At most two batches per worker are in flight, so memory stays flat however long the input.
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*setup)
        for batch in batches:
            yield work(batch)
        return
    with cf.ProcessPoolExecutor(workers, initializer=initializer, initargs=setup) as pool:
        window: deque[cf.Future[T]] = deque()
        for batch in batches:
            window.append(pool.submit(work, batch))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()



