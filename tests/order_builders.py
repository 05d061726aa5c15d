"""Canonical orders from real history, for tests: Northwind orders and Online Retail invoices.

Deliberately simple and deterministic: the facts these sources lack (credit standing,
costs, stock) get fixed, documented stand-ins. ``simulate.py import`` owns the real
derivation for replay.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from pathlib import Path
from typing import Any

EU = {"Austria", "Belgium", "Denmark", "Finland", "France", "Germany", "Ireland", "Italy", "Poland", "Portugal",
      "Spain", "Sweden", "Netherlands", "Greece", "Cyprus", "Lithuania", "Malta", "Czech Republic", "EIRE"}
CENT = Decimal("0.01")


def _money(text: str) -> Decimal:
    # Northwind stored money as float4 (e.g. 9.80000019): the cents are the truth
    return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)


def _zone(country: str, home: str) -> str:
    if country == home:
        return "domestic"
    return "eu" if country in EU else "international"


def _customer(customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "price_group": "list", "risk_tier": "B", "segment": "smb",
            "payment_terms": "net30", "credit_limit": Decimal(10000), "open_receivables": Decimal(0),
            "open_orders": Decimal(0), "days_past_due": 0, "account_age_days": 365}


def northwind_orders(root: Path) -> Iterator[dict[str, Any]]:
    products = {r["product_id"]: r for r in csv.DictReader((root / "csv" / "products.csv").open(encoding="utf-8"))}
    details: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader((root / "csv" / "order_details.csv").open(encoding="utf-8")):
        details.setdefault(row["order_id"], []).append(row)
    for order in csv.DictReader((root / "csv" / "orders.csv").open(encoding="utf-8")):
        lines = []
        for i, d in enumerate(details.get(order["order_id"], []), start=1):
            price = _money(d["unit_price"])
            lines.append({"line_no": i, "sku": f"NW-{d['product_id']}", "description": products[d["product_id"]]["product_name"],
                          "quantity": int(d["quantity"]), "list_price": price, "unit_cost": (price * Decimal("0.7")).quantize(CENT)})
        stock = [{"sku": f"NW-{pid}", "quantity": int(p["units_in_stock"])} for pid, p in sorted(products.items(), key=lambda kv: int(kv[0]))]
        yield {
            "order_id": f"NW-{order['order_id']}",
            "channel": "sales_rep",
            "currency": "USD",
            "customer": _customer(order["customer_id"]),
            "ship_to": {"zone": _zone(order["ship_country"], "USA"), "country": order["ship_country"],
                        "address_valid": bool(order["ship_address"]), "tax_valid": True},
            "lines": lines,
            "warehouses": [{"code": "NW-SEATTLE", "distance_km": 0, "hazmat_certified": False, "stock": stock}],
        }


def online_retail_orders(path: Path, limit: int) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        for count, (invoice, group) in enumerate(groupby(rows, key=lambda r: r["InvoiceNo"])):
            if count >= limit:
                return
            items = list(group)
            first = items[0]
            lines = []
            for i, r in enumerate(items, start=1):
                price = Decimal(r["UnitPrice"])
                lines.append({"line_no": i, "sku": r["StockCode"], "description": r["Description"][:200],
                              "quantity": int(r["Quantity"]), "list_price": price,
                              "unit_cost": (price * Decimal("0.6")).quantize(CENT)})
            stock = [{"sku": r["StockCode"], "quantity": abs(int(r["Quantity"])) * 10} for r in items]
            yield {
                "order_id": f"OR-{invoice}",
                "channel": "web",
                "currency": "GBP",
                "customer": _customer(first["CustomerID"] or "UNKNOWN"),
                "ship_to": {"zone": _zone(first["Country"], "United Kingdom"), "country": first["Country"],
                            "address_valid": True, "tax_valid": True},
                "lines": lines,
                "warehouses": [{"code": "UK-DC", "distance_km": 0, "hazmat_certified": False, "stock": stock}],
            }
