"""Orders in: JSONL (optionally gzipped), Parquet or an API decision log; canonical orders out."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine import jsonio, order_contract
from engine.compiled import CompiledPack
from engine.dates import calendar_date
from engine.decode import Decoded, compile_decoder
from engine.extras import require
from replay.pool import chunks
from rules.errors import MalformedRequest

CHUNK = 500
MONEY_SCALE = 6  # Parquet decimal columns: amounts to a millionth
BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark, before the first line of a file some editors save


def holds_text(number: int, line: bytes) -> bool:
    """Whether a line holds more than blanks (and, on line 1, the byte-order mark some editors write first)."""
    return bool((line[len(BOM):] if number == 1 and line.startswith(BOM) else line).strip())


def read_records(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of every non-empty line: workers parse, so the parent only reads."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if holds_text(number, line):
                yield number, line


def read_parquet_records(path: Path) -> Iterator[tuple[int, bytes]]:
    """Rows of a Parquet file as canonical JSON lines, so workers parse them as they parse JSONL."""
    pq = require("pyarrow.parquet", "reading Parquet orders")
    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        for row in batch.to_pylist():
            number += 1
            yield number, jsonio.dumps(_plain_decimals(row))


def _plain_decimals(value: Any) -> Any:
    """A decimal column has one scale, so 2.5 comes back as 2.500000: drop the zeros the column added.

    Parquet keeps every amount's value, not its trailing zeros (14.00 returns as 14); outputs
    are rounded to their declared scale, so replays from either format give the same bytes.
    """
    if isinstance(value, dict):
        # a field the order left out reads back as a null column; leave it out again, so a flow
        # version that does not declare a newer optional field still accepts the order
        return {k: _plain_decimals(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain_decimals(v) for v in value]
    if isinstance(value, Decimal):
        return value.quantize(1) if value == value.to_integral_value() else value.normalize()
    return value


def arrow_type(node: dict[str, Any]) -> Any:
    """The Arrow type of a canonical-order JSON Schema node: decimals as decimal128(38, 6), never a float."""
    pa = require("pyarrow", "Parquet orders")
    if "anyOf" in node:  # "X or null": Arrow columns are nullable anyway
        return arrow_type(next(n for n in node["anyOf"] if n.get("type") != "null"))
    kind = node["type"]
    if kind == "object":
        return pa.struct([pa.field(name, arrow_type(sub)) for name, sub in node["properties"].items()])
    if kind == "array":
        return pa.list_(arrow_type(node["items"]))
    if kind == "number":
        return pa.decimal128(38, MONEY_SCALE)
    return {"string": pa.string(), "integer": pa.int64(), "boolean": pa.bool_()}[kind]


def write_orders(orders: Iterable[dict[str, Any]], out: Path) -> int:
    """Canonical orders to JSONL (optionally .gz) or Parquet, by the file's extension.

    Written beside ``out`` and renamed onto it at the end: an import that fails on a bad
    row leaves the earlier file as it was, not a truncated one. A link or anything but a plain
    file (``/dev/stdout``, a pipe) is written through, as the orders come: renaming onto it
    would replace the link itself.
    """
    if out.is_symlink() or (out.exists() and not out.is_file()):
        return _write_orders(orders, out)
    staged = out.with_name(f".{out.name}.{os.getpid()}.partial{''.join(out.suffixes)}")
    try:
        count = _write_orders(orders, staged)
        os.replace(staged, out)
    finally:
        staged.unlink(missing_ok=True)
    return count


def _write_orders(orders: Iterable[dict[str, Any]], out: Path) -> int:
    count = 0
    if out.suffix == ".parquet":
        pa = require("pyarrow", "writing Parquet orders")
        pq = require("pyarrow.parquet", "writing Parquet orders")
        order_schema = jsonio.loads((Path(__file__).resolve().parent.parent / "schemas" / "order.schema.json").read_bytes())
        schema = pa.schema([pa.field("as_of", pa.date32()), *arrow_type(order_schema)])
        with pq.ParquetWriter(out, schema, compression="zstd") as writer:
            for batch in chunks(orders, 5000):
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
        return count
    opener = gzip.open if out.suffix == ".gz" else open
    with opener(out, "wb") as f:
        for order in orders:
            f.write(jsonio.dumps(order) + b"\n")
            count += 1
    return count


@dataclass(frozen=True)
class Logged:
    """A decision-log record: the input as sent, and what production answered with which versions."""

    pack: str
    version: str
    input: Any
    output: Any
    steps: dict[str, str] | None = None  # a flow's step -> the version it ran (pins included)


@dataclass(frozen=True)
class Refused:
    """A decision-log record of a request the service refused: nothing was decided, so nothing is replayed."""

    status: str  # the HTTP status and the problem's code, e.g. "422 input-invalid"


def _refusal(parsed: dict[str, Any]) -> Refused | None:
    """A refusal record (docs/decision-log.md): it carries a problem, a status other than 200, or no output."""
    status = parsed.get("status", 200)
    if "problem" not in parsed and status == 200 and "output" in parsed:
        return None
    problem = parsed.get("problem")
    code = problem.get("code") if isinstance(problem, dict) else None
    return Refused(f"{status} {code or 'no output'}")


def _logged_id(parsed: dict[str, Any], raw: Any) -> str:
    """The order's own id, else the request id (with the item's place in a batch, whose items share one)."""
    if isinstance(raw, dict) and raw.get("order_id"):
        return str(raw["order_id"])
    index = parsed.get("batch_index")
    return str(parsed["request_id"]) + ("" if index is None else f"[{index}]")


class Checked(dict[str, Any]):
    """An order validated for one pack version in the pass that decoded it: ``decide.admit`` takes it as it is."""

    __slots__ = ("digest",)

    def __init__(self, values: dict[str, Any], digest: str) -> None:
        super().__init__(values)
        self.digest = digest


# a record's own fields, not the pack's unless it declares them, as the decoder reads them: as_of a calendar date
# (YYYY-MM-DD, what calendar_date reads; anything else is the slow path's to refuse)
METADATA: dict[str, Any] = {"order_id": Any, "as_of": dt.date}
_DECODER: list[tuple[str, frozenset[str], Decoded]] = []  # this process's: the replayed root version's


def decode_for(pack: CompiledPack | None) -> None:
    """Decode and validate orders for ``pack`` in one pass from now on (engine.decode); None: parse, validate later.

    A replay sets it in each worker when both sides' root is this one version, so one
    validated order serves both; a pack whose inputs the decoder cannot mirror keeps the old path.
    """
    _DECODER.clear()
    if pack is None:
        return
    declared = frozenset(f.name for f in pack.ir.inputs)
    if "as_of" in declared or {"input", "request_id"} <= declared:  # parse_record reads those as the record's, not the order's
        return
    # an order breaking the canonical order's rules decodes to None: the slow path's validator names its field
    decoder = compile_decoder(pack.ir.inputs, METADATA, order_contract.ITEM_RULES if order_contract.holds(pack.ir) else None)
    if decoder is not None:
        _DECODER.append((pack.digest, frozenset(m for m in METADATA if m not in declared), decoder))


_ABSENT = object()

# An order without an id is named by its line with this prefix; an order whose own id carries it is
# refused at its line (and named so), so a made-up id never meets a real one (docs/simulation.md).
NO_ID = "(no id) line "


def unnamed(number: int | str) -> str:
    """The id the replay gives the order (or unreadable line) at line ``number`` that has none of its own."""
    return f"{NO_ID}{number}"


def _own(order_id: Any, number: int) -> str:
    text = str(order_id)
    if text.startswith(NO_ID):
        raise MalformedRequest(f"line {number}: order_id {text!r} starts with {NO_ID!r}, which names orders without an id")
    return text


def _decoded(number: int, line: bytes) -> tuple[str, dt.date, Checked] | None:
    """The fast path of ``parse_record``: the same id, date and (validated) order, or None to take the slow one."""
    digest, undeclared, decode = _DECODER[0]
    value = decode(line)
    if value is None:
        return None
    as_of = value.pop("as_of", _ABSENT) if "as_of" in undeclared else _ABSENT
    order_id = value.pop("order_id", _ABSENT) if "order_id" in undeclared else value["order_id"]
    if order_id is None or as_of.__class__ is not dt.date:
        return None  # the slow path says what it makes of them
    return unnamed(number) if order_id is _ABSENT else _own(order_id, number), as_of, Checked(value, digest)


def _as_of(value: Any, number: int) -> dt.date:
    """A record's date; anything but its text (null, a number) is the line's problem, not a crash of the run."""
    try:
        return calendar_date(value)  # the API's reading: 20260601 and week dates are not dates here either
    except (TypeError, ValueError):
        raise MalformedRequest(f"line {number}: as_of {value!r} is not a date (YYYY-MM-DD)") from None


def parse_record(record: tuple[int, bytes]) -> tuple[str, dt.date, Any]:
    """(order id, as_of, pack input) from a canonical order or an API decision log line.

    A log line's input is a ``Logged`` (replayed through its own pack), or a ``Refused``.
    A canonical order is a ``Checked`` when this process decodes for its pack (``decode_for``).
    """
    number, line = record
    if number == 1 and line.startswith(BOM):  # a file saved by Excel or PowerShell: its first order is an order too
        line = line[len(BOM):]
    if _DECODER:
        fast = _decoded(number, line)
        if fast is not None:
            return fast
    parsed = jsonio.loads(line)
    if not isinstance(parsed, dict):
        raise MalformedRequest(f"line {number} is not a JSON object")
    if "input" in parsed and "request_id" in parsed:  # a decision log line: replayed through its own pack
        raw = parsed["input"]
        refused = _refusal(parsed)
        if refused is not None:  # its date may be what was wrong with it
            return _own(_logged_id(parsed, raw), number), dt.date.min, refused
        as_of = _as_of(parsed["as_of"], number)
        steps = parsed.get("steps")
        return _own(_logged_id(parsed, raw), number), as_of, Logged(str(parsed["pack"]), str(parsed["version"]), raw, parsed.get("output"),
                                                      {str(k): str(v) for k, v in steps.items()} if isinstance(steps, dict) else None)
    value = parsed
    if "as_of" not in parsed:  # deciding it on some default day would answer for a date nobody gave
        raise MalformedRequest(f"line {number}: no as_of: a replay decides each order on its own date (YYYY-MM-DD)")
    as_of = _as_of(parsed.pop("as_of"), number)
    order_id = parsed.get("order_id")  # null is no id: named by its line like a missing one, not all "None" (a false repeat)
    return unnamed(number) if order_id is None else _own(order_id, number), as_of, value
