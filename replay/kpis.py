"""What a replay compares and breaks down, declared next to the pack (``<pack>/replay.yml``).

The replay names no output of any pack: a pack without the file is compared on its outputs
as a whole, with no money, queues or breakdowns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from replay.errors import BadInput


@dataclass(frozen=True)
class Kpis:
    decision: str | None = None
    currency: str | None = None
    money: tuple[str, ...] = ()
    compare: tuple[str, ...] = ()
    hold_code: str | None = None
    queue_output: str | None = None
    queue: str = "queue"
    sla_hours: str = "sla_hours"
    approvals: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def outputs(self) -> tuple[str, ...]:
        """Every output an order's outcome keeps, in a stable order."""
        named = (*self.money, *self.compare, self.hold_code, self.queue_output, self.approvals)
        return tuple(dict.fromkeys(n for n in named if n and n != self.decision))


def load_kpis(folder: Path, pack: str) -> Kpis:
    """``folder/pack/replay.yml``, or nothing declared; a malformed file stops the run with its path."""
    path = folder / pack / "replay.yml"
    if not path.is_file():
        return Kpis()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        queues = raw.get("queues") or {}
        return Kpis(decision=raw.get("decision"), currency=raw.get("currency"), money=tuple(raw.get("money") or ()),
                    compare=tuple(raw.get("compare") or ()), hold_code=raw.get("hold_code"),
                    queue_output=queues.get("output"), queue=queues.get("queue", "queue"),
                    sla_hours=queues.get("sla_hours", "sla_hours"), approvals=raw.get("approvals"),
                    dimensions={str(k): str(v) for k, v in (raw.get("dimensions") or {}).items()})
    except (yaml.YAMLError, AttributeError, TypeError) as exc:
        raise BadInput(f"{path}: not a replay declaration ({type(exc).__name__}: {exc})") from None


def field_at(value: Any, path: str) -> Any:
    """``customer.segment`` of an order, or None where the order lacks it."""
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
