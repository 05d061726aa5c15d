"""Registries keyed by name: each record declared once."""

from __future__ import annotations

from typing import Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=Named)


def by_name(*records: R) -> dict[str, R]:
    """The records by their names, in the order given; a name declared twice is a programming error."""
    out: dict[str, R] = {}
    for record in records:
        assert record.name not in out, f"{record.name} is declared twice"
        out[record.name] = record
    return out
