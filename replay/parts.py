"""Parts of an orders file that a worker reads itself: the parent hands out byte ranges, not orders.

A JSONL order is about 5 KB (Online Retail), so shipping a batch of lines costs a pickle, a
copy into a pipe or socket and an unpickle (on Dask, through the scheduler too) for every
order. A part names a run of lines by where it starts and how long it is; the worker reads it
from the file and yields exactly what ``replay.orders.read_records`` yields for those lines
(line numbers count blank lines, which are skipped). The parts are cut every ``size`` orders,
the batches the replay has always used, so outputs and the outcome cache's parts
(``replay.cache``) are the same as when the lines are shipped.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from replay.orders import holds_text


class Part(Protocol):
    def records(self) -> Iterator[Any]:
        """The part's records, read where it runs."""
        ...


@dataclass(frozen=True)
class LinePart:
    """``length`` bytes of a JSONL file from ``start``, whose first line is line ``first`` of the file."""

    path: str
    start: int
    length: int
    first: int

    def records(self) -> Iterator[tuple[int, bytes]]:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            data = f.read(self.length)
        for number, line in enumerate(io.BytesIO(data), start=self.first):
            if holds_text(number, line):
                yield number, line


class Parts(ABC):
    """Batches the workers read themselves, in order; ``run.replay`` takes these in place of records."""

    @abstractmethod
    def __iter__(self) -> Iterator[Part]: ...


@dataclass(frozen=True)
class FileParts(Parts):
    """A JSONL file cut every ``size`` orders."""

    path: Path
    size: int

    def __iter__(self) -> Iterator[LinePart]:
        """One pass over the file in the parent, reading lines but never parsing or shipping them."""
        start = offset = count = 0
        first = 1
        with self.path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                offset += len(line)
                if holds_text(number, line):
                    count += 1
                if count == self.size:
                    yield LinePart(str(self.path.resolve()), start, offset - start, first)
                    start, first, count = offset, number + 1, 0
        if count:
            yield LinePart(str(self.path.resolve()), start, offset - start, first)
