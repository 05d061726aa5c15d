"""Batches of work in input order on a process pool, at most two batches per worker in flight."""

from __future__ import annotations

import concurrent.futures as cf
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



