"""Where the replay's batches run: the local process pool (the default) or a Dask cluster.

Both hand back each batch's result in input order, so the tallies merge and the diff rows
are written in the same order whatever runs them: ``summary.json``, ``diff.csv`` and the
reports are byte-identical across executors, partitionings and worker counts.

On Dask (``simulate.py run --executor dask [--scheduler ADDRESS]``; a local cluster of
``--workers`` processes when no address is given) the worker setup, pack folders included
(``replay.specs.packed``), is broadcast once; each worker process loads the pack versions
the first time a batch of that setup reaches it and keeps them for the following batches,
keyed by the setup's digest, so a worker serving two replays in turn reloads only on a change.
A task carries a run of consecutive batches (``groups``) and hands back their results in order.
Workers must run the same Arbiter version with one thread each (the engine is pure Python).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import logging
import os
import pickle
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from replay.pool import in_order, sharing

T = TypeVar("T")
Work = Callable[[Any], Any]
Initializer = Callable[..., None]


class Executor(Protocol):
    def __enter__(self) -> Executor: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None: ...

    def in_order(self, work: Work, batches: Iterable[Any], initializer: Initializer,
                 setup: tuple[Any, ...]) -> Iterator[Any]:
        """``work(batch)`` for each batch, in input order, after ``initializer(*setup)`` in every worker."""
        ...

    def sees(self, path: Path) -> bool:
        """Whether every worker reads ``path`` as this process does, so it can be handed parts of it (``replay.parts``)."""
        ...

    def sharing(self) -> str:
        """How the workers see this process (``replay.pool.sharing``): what they can inherit from it (``replay.handover``)."""
        ...


class LocalPool:
    """A process pool on this machine (``replay.pool.in_order``), or this process for one worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def in_order(self, work: Work, batches: Iterable[Any], initializer: Initializer,
                 setup: tuple[Any, ...]) -> Iterator[Any]:
        return in_order(work, batches, self.workers, initializer, setup)

    def sees(self, path: Path) -> bool:
        return True

    def sharing(self) -> str:
        return sharing(self.workers)


# A local cluster's own bookkeeping, set for the clusters started here (the workers get it from their nannies).
# The workers' sampling profiler walks the deciding thread's stack every 10 ms: about 10 % of the replay's
# CPU (a 1-worker cluster, 5,000 orders, 2 rounds: 803 -> 715 and 662 -> 598 us an order). The event-loop
# tick (20 ms), the memory monitors (100 ms), the system monitors (500 ms) and work stealing (100 ms) kept an
# idle 2-worker cluster at 57-78 ms of CPU a second across its processes; at these intervals, 11 ms. A replay
# batch is a few seconds of one thread's work, so nothing here needs a finer grain.
QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
         "distributed.worker.memory.monitor-interval": "1s", "distributed.admin.system-monitor.interval": "2s",
         "distributed.admin.system-monitor.disk": False, "distributed.scheduler.work-stealing": False}

_loaded: dict[str, str] = {}  # in a Dask worker process: the digest of the setup its globals hold
_counts = {"loads": 0, "batches": 0}  # in a Dask worker process: what it did (the tests read it)
_loading = threading.Lock()


def forget() -> None:
    """In a Dask worker process: drop the setup it holds, so the next batch loads the packs again (benchmarks/simulate.py)."""
    with _loading:
        _loaded.clear()


# Batches a Dask task carries once every worker is busy. A task costs 8-10 ms of CPU across the
# scheduler, the client and the worker's event loop whatever it carries, and a batch of 500 orders is
# 150-250 ms of a worker's: one batch a task, as before, was 2,000 tasks for 1,000,000 orders and
# 37-43 us an order on those threads; eight, 20-26 (30,000 orders, interleaved rounds on a loaded
# machine). The last task, the one a worker may be left waiting on, is still a second or two.
GROUP = 8


def groups(batches: Iterable[T], workers: int, most: int = GROUP) -> Iterator[list[T]]:
    """Runs of consecutive batches, one a task: a batch each for the first ``workers`` tasks, doubling up to ``most``.

    Starting small spreads a short replay over every worker and brings its first results back
    soon; the long ones run in runs of ``most``.
    """
    found = iter(batches)
    size = 1
    for task in itertools.count(1):
        group = list(itertools.islice(found, size))
        if not group:
            return
        yield group
        if task % workers == 0:
            size = min(most, size * 2)


def _on_worker(digest: str, initializer: Initializer, setup: tuple[Any, ...], work: Work, group: list[Any]) -> list[Any]:
    with _loading:  # one setup at a time per worker process; loaded once, not per batch
        if _loaded.get("setup") != digest:
            initializer(*setup)
            _loaded["setup"] = digest
            _counts["loads"] += 1
        _counts["batches"] += len(group)
    return [work(batch) for batch in group]


@contextlib.contextmanager
def _environ_kept(kept: dict[str, str]) -> Iterator[None]:
    """This process's environment put back to ``kept``, whatever Dask sets in it meanwhile.

    A local cluster's nannies run in this process and write their workers' variables
    (``MALLOC_TRIM_THRESHOLD_``, ``OMP_NUM_THREADS``, ``PYTHONHASHSEED``, ...) into its ``os.environ``
    each time they start a worker, restarts included: every process it started afterwards
    inherited them. ``kept`` is taken once, before the cluster starts, so a value a restart
    wrote is never taken for this process's own. The workers keep theirs.
    """
    try:
        yield
    finally:
        for name in set(os.environ) - set(kept):
            del os.environ[name]
        os.environ.update({k: v for k, v in kept.items() if os.environ.get(k) != v})


class DaskExecutor:
    """Batches as tasks on a Dask cluster: the one at ``scheduler``, else a local one started and stopped here."""

    def __init__(self, scheduler: str | None, workers: int, timeout: float = 30.0) -> None:
        self.scheduler = scheduler
        self.workers = max(1, workers)
        self.timeout = timeout
        self.cluster: Any = None
        self.client: Any = None
        self._environ = dict(os.environ)  # taken again as the cluster starts: the environment to put back

    def __enter__(self) -> DaskExecutor:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SystemExit("simulate: --executor dask needs dask.distributed: pip install 'arbiter[dask]'") from None
        if self.scheduler is None:
            import dask

            self._environ = dict(os.environ)
            with dask.config.set(QUIET), _environ_kept(self._environ):
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                            dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)  # type: ignore[no-untyped-call]
        try:
            self.client = Client(self.cluster if self.cluster is not None else self.scheduler, timeout=self.timeout)  # type: ignore[no-untyped-call]
        except OSError as exc:
            self.__exit__(None, None, None)
            raise SystemExit(f"simulate: cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
        # the engine's modules, imported by each worker now rather than by its first batch: the local pool's
        # forked workers inherit them from this process (1-2 s of CPU a worker, in the first replay's time)
        self.client.run(importlib.import_module, "replay.run")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            with _environ_kept(self._environ):  # a nanny restarting a worker as the cluster stops sets them again
                self.cluster.close()
            self.cluster = None

    def in_order(self, work: Work, batches: Iterable[Any], initializer: Initializer,
                 setup: tuple[Any, ...]) -> Iterator[Any]:
        assert self.client is not None, "use the executor as a context manager"
        digest = hashlib.sha256(pickle.dumps(setup)).hexdigest()
        [shipped] = self.client.scatter([setup], broadcast=True, hash=False)
        workers = max(1, len(self.client.scheduler_info()["workers"]))
        window: deque[Any] = deque()
        for group in groups(batches, workers):  # at most two tasks a worker in flight: memory stays flat however long the input
            window.append(self.client.submit(_on_worker, digest, initializer, shipped, work, group, pure=False))
            if len(window) >= 2 * workers:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()

    def sees(self, path: Path) -> bool:
        """Every worker finds the same file at the same path (a shared or copied folder); else the orders are shipped.

        Same size is not enough: a stale copy of the same length would be read as these orders and
        decide others without a word, so the ends of the file are compared too.
        """
        assert self.client is not None, "use the executor as a context manager"
        mine = fingerprint(str(path.resolve()))
        found = self.client.run(fingerprint, str(path.resolve()))
        return mine is not None and bool(found) and all(f == mine for f in found.values())

    def sharing(self) -> str:
        return "none"  # workers in their own processes, maybe on other machines


ENDS = 1 << 16  # bytes read at each end of the orders file: a copy that differs anywhere usually differs there


def fingerprint(path: str) -> tuple[int, str] | None:
    """A file's size and a digest of its first and last ``ENDS`` bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            digest = hashlib.blake2b(f.read(ENDS), digest_size=16)
            if size > ENDS:
                f.seek(max(ENDS, size - ENDS))
                digest.update(f.read(ENDS))
    except OSError:
        return None
    return size, digest.hexdigest()


def executor(kind: str, workers: int, scheduler: str | None = None) -> Executor:
    """The executor ``simulate.py run --executor KIND`` names."""
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    if scheduler is not None:
        raise SystemExit("simulate: --scheduler is for --executor dask")
    return LocalPool(workers)
