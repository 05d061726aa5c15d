"""Facts a history does not record, joined into imported orders from a stated file, never silently.

Online Retail and Northwind hold no account stops, order blocks, typed prices or product
groups, so a replay of them cannot show what the 2027 versions do with those. An enrichment
file (JSON, amounts as exact decimals; docs/simulation.md) states them by key: the importer
joins it when given (``simulate.py import ... --enrich FILE``) and writes beside the orders
what it applied (``ORDERS.enrichment.json``), which ``run`` reads and every report shows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine import jsonio
from replay.errors import BadInput
from replay.orders import write_orders

BLOCKS = ("dispute", "legal", "customer_request", "data_check")  # the canonical order's order_block values but none


@dataclass
class Enrichment:
    """What one enrichment file states, and how often each kind was applied."""

    name: str
    description: str
    file: str
    sha256: str
    stops: list[tuple[str, dt.date, dt.date]]  # (customer_id, first day, last day) on stop
    blocks: dict[str, str]  # order_id -> why it is blocked
    overrides: dict[tuple[str, str], Decimal]  # (order_id, sku) -> the net unit price a person typed
    groups: list[tuple[str, str]]  # (a word of the line's description, its product group), first match wins
    applied: Counter[str] = field(default_factory=Counter)

    def provenance(self) -> dict[str, Any]:
        """What a report says: the file, its digest, and the orders and lines each kind changed."""
        return {"name": self.name, "description": self.description, "file": self.file, "sha256": self.sha256,
                "applied": {k: self.applied[k] for k in ("orders", "account_on_stop", "order_block", "override_price", "product_group")}}


def _field(raw: dict[str, Any], key: str, where: str, kind: type) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadInput(f"{where}/{key}: expected a {kind.__name__}, got {jsonio.dumps(value).decode()}")
    return value


def _day(raw: dict[str, Any], key: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(_field(raw, key, where, str))
    except ValueError:
        raise BadInput(f"{where}/{key}: not a date (YYYY-MM-DD): {raw[key]!r}") from None


def _entries(doc: dict[str, Any], key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    entries = doc.get(key, [])
    if not isinstance(entries, list):
        raise BadInput(f"/{key}: expected a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise BadInput(f"/{key}/{i}: expected an object")
        yield f"/{key}/{i}", entry


def load_enrichment(path: Path) -> Enrichment:
    """The file's statements, each checked; a bad one is BadInput naming its JSON pointer."""
    try:
        raw = path.read_bytes()
        doc = jsonio.loads(raw)
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read the enrichment file: {exc}") from None
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: an enrichment file is a JSON object")
    stops = [(_field(e, "customer_id", w, str), _day(e, "from", w), _day(e, "to", w)) for w, e in _entries(doc, "stops")]
    blocks: dict[str, str] = {}
    for w, e in _entries(doc, "blocks"):
        reason = _field(e, "reason", w, str)
        if reason not in BLOCKS:
            raise BadInput(f"{w}/reason: one of {', '.join(BLOCKS)}, not {reason!r}")
        blocks[_field(e, "order_id", w, str)] = reason
    overrides: dict[tuple[str, str], Decimal] = {}
    for w, e in _entries(doc, "overrides"):
        price = e.get("price")
        if not isinstance(price, Decimal | int) or isinstance(price, bool) or price < 0:
            raise BadInput(f"{w}/price: a decimal amount of at least 0, got {jsonio.dumps(price).decode()}")
        overrides[(_field(e, "order_id", w, str), _field(e, "sku", w, str))] = Decimal(price)
    groups = [(_field(e, "description_contains", w, str).upper(), _field(e, "group", w, str)) for w, e in _entries(doc, "product_groups")]
    return Enrichment(_field(doc, "name", "", str), _field(doc, "description", "", str), str(path),
                      hashlib.sha256(raw).hexdigest(), stops, blocks, overrides, groups)


def enrich(orders: Iterator[dict[str, Any]], e: Enrichment) -> Iterator[dict[str, Any]]:
    """Each order with the file's facts joined by customer, order id, and (order id, SKU) or description."""
    for order in orders:
        changed = False
        customer, day = order["customer"]["customer_id"], order["as_of"]
        if any(c == customer and start <= day <= end for c, start, end in e.stops):
            order["customer"]["account_on_stop"] = True
            e.applied["account_on_stop"] += 1
            changed = True
        if order["order_id"] in e.blocks:
            order["order_block"] = e.blocks[order["order_id"]]
            e.applied["order_block"] += 1
            changed = True
        for line in order["lines"]:
            price = e.overrides.get((order["order_id"], line["sku"]))
            if price is not None:
                line["override_price"] = price
                e.applied["override_price"] += 1
                changed = True
            group = next((g for word, g in e.groups if word in line.get("description", "").upper()), None)
            if group is not None:
                line["product_group"] = group
                e.applied["product_group"] += 1
                changed = True
        e.applied["orders"] += changed
        yield order


def sidecar(orders: Path) -> Path:
    """Where the importer records the enrichment it applied to ``orders``."""
    return orders.with_name(orders.name + ".enrichment.json")


def read_provenance(orders: Path) -> dict[str, Any] | None:
    """The enrichment recorded beside ``orders``, or None for orders imported as the history has them."""
    path = sidecar(orders)
    return jsonio.loads(path.read_bytes()) if path.is_file() else None


def write_enriched(orders: Iterator[dict[str, Any]], out: Path, enrichment: Enrichment | None) -> int:
    """Write the orders, joined with ``enrichment`` if given, and record it beside them (or remove an earlier record)."""
    count = write_orders(enrich(orders, enrichment) if enrichment else orders, out)
    sidecar(out).unlink(missing_ok=True)  # a record from an earlier import would name facts these orders lack
    if enrichment is not None:
        sidecar(out).write_bytes(jsonio.dumps(enrichment.provenance(), pretty=True) + b"\n")
    return count
