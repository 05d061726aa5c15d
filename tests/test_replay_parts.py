"""Parts of an orders file, read by the workers, are the records the parent would have shipped, batch for batch."""

from __future__ import annotations

import gzip
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from replay.orders import read_records
from replay.parts import FileParts
from tests.strategies import jsonl_files


@given(jsonl_files, st.integers(min_value=1, max_value=4))
def test_parts_read_the_records_read_records_yields(content: bytes, size: int) -> None:
    """Every part but the last holds ``size`` records; together they are read_records' line numbers and bytes."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.jsonl"
        path.write_bytes(content)
        parts = [list(part.records()) for part in FileParts(path, size)]
        assert [record for part in parts for record in part] == list(read_records(path))
        assert all(len(part) == size for part in parts[:-1])
        assert all(parts)


def test_a_gzipped_file_is_read_in_the_parent_as_before(tmp_path: Path) -> None:
    """The same lines gzipped give the same records (the parent reads and ships them: a gzip cannot be cut)."""
    lines = b'{"order_id":"A"}\n\n{"order_id":"B"}\n'
    (tmp_path / "o.jsonl").write_bytes(lines)
    (tmp_path / "o.jsonl.gz").write_bytes(gzip.compress(lines))
    assert list(read_records(tmp_path / "o.jsonl.gz")) == [r for p in FileParts(tmp_path / "o.jsonl", 1) for r in p.records()]
