"""The replay on a Dask cluster writes what the local pool writes, byte for byte."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from replay import executors
from replay.cli import main
from replay.executors import groups as grouped
from replay.pool import chunks
from tests.conftest import PACKS, ROOT, shared

OUTPUTS = ("summary.json", "diff.csv", "report.md", "report.html")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A local cluster of two worker processes on 127.0.0.1, stopped when the module's tests are done."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is part of scripts/setup")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as running:
        yield running


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """All of Northwind (830 orders) and the first 1,500 orders of Online Retail, as canonical JSONL."""
    folder = tmp_path_factory.mktemp("histories")
    paths = {}
    for source, keep in (("northwind", None), ("online-retail", 1500)):
        out = folder / f"{source}.jsonl"
        subprocess.run([sys.executable, str(ROOT / "simulate.py"), "import", source, str(shared(source)), "--out", str(out)],
                       check=True, capture_output=True, timeout=600)
        if keep is not None:
            out.write_bytes(b"".join(out.read_bytes().splitlines(keepends=True)[:keep]))
        paths[source] = out
    return paths


def _replay(orders: Path, out: Path, *extra: str) -> dict[str, bytes]:
    code = main(["run", "--orders", str(orders), "--baseline", str(PACKS), "--candidate", f"{PACKS}#credit@1.1.0,pricing@2.0.0",
                 "--out", str(out), "--effective-on", "2026-11-24", *extra])
    assert code == 0
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.mark.parametrize("source", ["northwind", "online-retail"])
def test_dask_replay_is_byte_identical_to_the_local_pool(source: str, cluster: Any, histories: dict[str, Path],
                                                         tmp_path: Path) -> None:
    """summary.json, diff.csv and both reports are the same bytes on a 2-worker Dask cluster and on the local pool."""
    orders = histories[source]
    local = _replay(orders, tmp_path / "local", "--workers", "2")
    on_dask = _replay(orders, tmp_path / "dask", "--executor", "dask", "--scheduler", cluster.scheduler_address)
    assert on_dask == local
    assert b'"orders": ' in local["summary.json"]


@pytest.mark.parametrize("source", ["northwind", "online-retail"])
def test_tasks_of_several_batches_give_the_same_bytes(source: str, cluster: Any, histories: dict[str, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches two to a task (Northwind's 284 changed orders span both of its batches) write what the local pool writes."""
    sizes: list[int] = []

    def two_a_task(batches: Iterable[Any], workers: int) -> Iterator[list[Any]]:
        for group in chunks(batches, 2):
            sizes.append(len(group))
            yield group

    monkeypatch.setattr(executors, "groups", two_a_task)
    orders = histories[source]
    local = _replay(orders, tmp_path / "local", "--workers", "2")
    on_dask = _replay(orders, tmp_path / "dask", "--executor", "dask", "--scheduler", cluster.scheduler_address)
    assert sizes == {"northwind": [2], "online-retail": [2, 1]}[source]
    assert on_dask == local


# (batches, workers, most) -> batches a task: one each for the first round of tasks, doubling up to `most`
GROUPS = [
    ((0, 2, 8), []),
    ((3, 2, 8), [1, 1, 1]),
    ((20, 2, 8), [1, 1, 2, 2, 4, 4, 6]),
    ((40, 2, 8), [1, 1, 2, 2, 4, 4, 8, 8, 8, 2]),
    ((7, 1, 8), [1, 2, 4]),
    ((30, 1, 4), [1, 2, 4, 4, 4, 4, 4, 4, 3]),
    ((5, 3, 1), [1, 1, 1, 1, 1]),
]


@pytest.mark.parametrize(("shape", "sizes"), GROUPS)
def test_tasks_take_every_batch_in_order_in_growing_runs(shape: tuple[int, int, int], sizes: list[int]) -> None:
    """A task carries one batch until every worker has one, then twice as many a round up to the limit; none is lost or moved."""
    count, workers, most = shape
    found = list(grouped(range(count), workers, most))
    assert [len(group) for group in found] == sizes
    assert [batch for group in found for batch in group] == list(range(count))


def test_workers_load_the_packs_once_not_per_partition(cluster: Any, histories: dict[str, Path]) -> None:
    """Each worker process loads a setup the first time a batch of it arrives; its later batches reuse it."""
    import distributed

    def reset() -> None:
        executors._loaded.clear()
        executors._counts.update(loads=0, batches=0)

    with distributed.Client(cluster.scheduler_address) as client:
        client.run(reset)
        orders = histories["online-retail"]  # 1,500 orders: three batches on two workers
        _replay(orders, orders.parent / "once", "--executor", "dask", "--scheduler", cluster.scheduler_address)
        counts = list(client.run(lambda: dict(executors._counts)).values())
    assert sum(c["batches"] for c in counts) == 3
    assert all(c["loads"] == (1 if c["batches"] else 0) for c in counts)


def test_a_local_cluster_leaves_this_process_environment_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting, restarting and stopping a local cluster changes nothing in os.environ; its workers still get Dask's settings."""
    pytest.importorskip("distributed", reason="the dask extra is part of scripts/setup")
    for name in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    with executors.DaskExecutor(None, 1) as running:
        during = dict(os.environ)
        assert running.client is not None
        on_workers = running.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        running.client.restart()  # a nanny starting a worker again writes its variables again
    assert during == before
    assert dict(os.environ) == before
    assert list(on_workers.values()) == ["65536"]  # distributed's pre-spawn setting: the workers return freed memory


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    """A scheduler nobody listens at stops the run with its address, not a traceback."""
    with pytest.raises(SystemExit, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"), \
            executors.DaskExecutor("tcp://127.0.0.1:9", 1, timeout=2):
        pass


@pytest.mark.parametrize("size", [10, executors.ENDS + 10, 3 * executors.ENDS])
def test_a_stale_copy_of_the_same_size_is_not_taken_for_the_orders(tmp_path: Path, size: int) -> None:
    """A worker's file at the same path and of the same size but other content does not count as the orders file."""
    orders, stale, same = tmp_path / "orders.jsonl", tmp_path / "stale.jsonl", tmp_path / "same.jsonl"
    orders.write_bytes(b"a" * size)
    stale.write_bytes(b"a" * (size - 1) + b"b")  # the last byte differs
    same.write_bytes(b"a" * size)
    assert executors.fingerprint(str(orders)) == executors.fingerprint(str(same))
    assert executors.fingerprint(str(orders)) != executors.fingerprint(str(stale))
    assert executors.fingerprint(str(tmp_path / "missing")) is None
