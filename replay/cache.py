"""Outcomes kept between replays (``simulate.py run --cache DIR``): a side decided once is not decided again.

An outcome is what one side decided for one order, in the shape the tally reads. It is
keyed by the digest of the order (its id, date and content) and the digest of what decided
it: the pack versions the side runs for the replayed pack and its steps, the outputs compared,
the backend, and the engine's own code, so a change to any of them is a miss, never a stale
hit. Each side's outcomes live in ``DIR/<side digest>/part-<batch>.parquet`` (pyarrow: the
order digest and the outcome as exact JSON), one part per batch of the orders file, written
by the worker that decided the batch, so a replay with a new candidate against the same
baseline reads the baseline's part for each batch and decides only the candidate side.

A cached outcome decodes to exactly what deciding gives (decimals keep their digits and
stay decimals, dates stay dates, key order is kept), so ``summary.json``, ``diff.csv`` and
the reports of a cached run are the bytes of an uncached one; how many outcomes were reused
is said on the console and in ``cache.json`` beside them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from engine import jsonio
from engine.demand import Wanted
from replay.decide import admit, decide_both, outcome
from replay.kpis import Kpis
from replay.specs import SpecPacks
from rules import temporal

ROOT = Path(__file__).resolve().parent.parent
# the temporal values are dataclasses: passed to _tagged, not written field by field and read back as dicts
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


@functools.cache
def code_digest() -> str:
    """The engine's, the compiler's and the replay's source, and the canonical order's schema (which fields each version drops)."""
    digest = hashlib.sha256()
    for package, pattern in (("engine", "*.py"), ("rules", "*.py"), ("replay", "*.py"), ("schemas", "*.json")):
        for path in sorted((ROOT / package).rglob(pattern)):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def side_digest(side: SpecPacks, pack: str, outputs: Wanted, kpis: Kpis | None, backend: str) -> str:
    """What decides one side's outcomes: its versions of ``pack`` and of each step, what is compared, the code."""
    root = side.get(pack)
    versions = [root.key, root.digest]
    for step in root.ir.steps:
        used = side.get(step.pack, step.version)
        versions += [used.key, used.digest]
    what = [versions, sorted(outputs) if outputs is not None else None, repr(kpis), backend, code_digest()]
    return hashlib.sha256(jsonio.dumps(what)).hexdigest()[:32]


def order_digest(order_id: str, as_of: dt.date, value: Any) -> str:
    return hashlib.blake2b(jsonio.dumps([order_id, as_of, value]), digest_size=16).hexdigest()


def _tagged(value: Any) -> Any:
    if isinstance(value, Decimal):
        text = str(value)  # an exponent keeps 15 a decimal: read back, "15" would be an integer
        return orjson.Fragment(text if "." in text or "E" in text else text + "E0")
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return list(value)
    if (tag := _TEMPORAL_TAGS.get(type(value))) is not None:  # FEEL text, read back by the same class's parser
        return {tag: str(value)}
    raise TypeError(f"cannot keep {type(value).__name__} in the outcome cache")


def encode(result: dict[str, Any]) -> bytes:
    """An outcome as JSON that decodes to the same values, types and key order."""
    try:
        return orjson.dumps(result, default=_tagged, option=_OPTIONS)
    except TypeError:  # a whole number beyond 64 bits, which orjson does not write: tagged as text
        return orjson.dumps(_big_ints(result), default=_tagged, option=_OPTIONS)


def _big_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _big_ints(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_big_ints(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return {"$int": str(value)}
    return value


_TEMPORAL_TAGS: dict[type, str] = {temporal.Time: "$time", temporal.DateTime: "$date_time",
                                    temporal.DaysTimeDuration: "$days_time", temporal.YearsMonthsDuration: "$years_months"}
_TAGS: dict[str, Callable[[str], Any]] = {"$date": dt.date.fromisoformat, "$datetime": dt.datetime.fromisoformat, "$int": int,
                                          "$time": temporal.parse_time, "$date_time": temporal.parse_date_time,
                                          "$days_time": temporal.parse_days_time, "$years_months": temporal.parse_years_months}


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and (tag := next(iter(value))) in _TAGS:
            return _TAGS[tag](value[tag])
        return {k: _untagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value


def decode(blob: bytes) -> dict[str, Any]:
    result: dict[str, Any] = jsonio.loads(blob)
    return _untagged(result) if b'"$' in blob else result


class SideCache:
    """One side's outcomes under ``DIR/<side digest>``, read and written a batch's part at a time."""

    def __init__(self, folder: Path, digest: str) -> None:
        self.folder = folder / digest

    def part(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.parquet"

    def read(self, index: int) -> dict[str, bytes]:
        path = self.part(index)
        if not path.exists():
            return {}
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:  # one thread: the replay's workers already fill the cores, and a part is small
            table = pq.ParquetFile(path, memory_map=True).read(use_threads=False)
            return dict(zip(table.column("order").to_pylist(), table.column("outcome").to_pylist(), strict=True))
        except (OSError, KeyError, pa.ArrowException) as exc:  # a damaged part is decided again and rewritten
            print(f"simulate: cache part {path} is unreadable ({exc}); its orders are decided again", file=sys.stderr)
            return {}

    def write(self, index: int, outcomes: dict[str, bytes]) -> None:
        """The batch's part, replaced whole and at once: a reader sees the old part or the new, never half."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        table = pa.table({"order": pa.array(list(outcomes), pa.string()), "outcome": pa.array(list(outcomes.values()), pa.binary())})
        handle, staging = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        os.close(handle)
        # no dictionary and no statistics: every outcome is unique and none is searched by value; with
        # them, writing and reading a part took 65 and 128 us an order, without 16 and 7 (500 orders, 1.1 KB each)
        pq.write_table(table, staging, compression="zstd", use_dictionary=False, write_statistics=False)
        os.replace(staging, self.part(index))


def _alone(side: SpecPacks, name: str, value: Any, as_of: dt.date, outputs: Wanted, kpis: Kpis | None) -> dict[str, Any]:
    side.steps_decided.clear()
    if side.shared is not None:
        side.shared.clear()
    pack = side.get(name)
    return outcome(side, pack, admit(pack, value), as_of, outputs, kpis)


class CachedSides:
    """Both sides' outcomes for the orders of one batch: read from the cache where kept, else decided and kept."""

    def __init__(self, caches: tuple[SideCache, SideCache], index: int) -> None:
        self.caches = caches
        self.index = index
        self.kept = (caches[0].read(index), caches[1].read(index))
        self.fresh: tuple[dict[str, bytes], dict[str, bytes]] = ({}, {})
        self.reused = 0

    def decide(self, sides: tuple[SpecPacks, SpecPacks], name: str, key: str, value: Any, as_of: dt.date,
               outputs: Wanted, kpis: Kpis | None) -> tuple[dict[str, Any], dict[str, Any]]:
        blobs = [kept.get(key) for kept in self.kept]
        if blobs[0] is None and blobs[1] is None:  # both decided together, sharing what they share
            results = list(decide_both(sides[0], sides[1], name, value, as_of, outputs, kpis))
        else:
            results = [decode(blob) if blob is not None else _alone(side, name, value, as_of, outputs, kpis)
                       for side, blob in zip(sides, blobs, strict=True)]
            self.reused += sum(blob is not None for blob in blobs)
        for fresh, blob, result in zip(self.fresh, blobs, results, strict=True):
            fresh[key] = blob if blob is not None else encode(result)
        return results[0], results[1]

    def flush(self) -> None:
        """Each side's part, rewritten where this batch decided something the part did not hold."""
        for cache, kept, fresh in zip(self.caches, self.kept, self.fresh, strict=True):
            if fresh.keys() != kept.keys():
                cache.write(self.index, fresh)
