"""Import: real history (Online Retail, Northwind) into canonical orders. The derivations are in docs/simulation.md."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from replay.errors import BadInput

CENT = Decimal("0.01")
LIMIT = Decimal("1e18")


def _decimal(text: str) -> object:
    if not abs(Decimal(text)) < LIMIT:  # NaN, infinities and amounts past what the engine decides (1e18)
        raise ValueError(text)
    return None


def _day(text: str) -> object:
    return dt.date.fromisoformat(text[:10])


# what each column the importers read must hold, and how that is said when it does not
WHOLE: tuple[Callable[[str], object], str] = (int, "a whole number")
DECIMAL: tuple[Callable[[str], object], str] = (_decimal, "a decimal number below 1e18")
STAMP: tuple[Callable[[str], object], str] = (_day, "a date and time (YYYY-MM-DD hh:mm:ss)")
DATE: tuple[Callable[[str], object], str] = (dt.date.fromisoformat, "a date (YYYY-MM-DD)")
TEXT: tuple[Callable[[str], object], str] = (str, "text")


def read_rows(path: Path, raw: Iterable[bytes], columns: dict[str, tuple[Callable[[str], object], str]]) -> list[dict[str, str]]:
    """The CSV rows of the file ``raw`` reads, each column of ``columns`` checked; a bad one is BadInput at ``path:line``."""
    reader = csv.DictReader(_utf8_lines(path, raw))
    rows = []
    try:
        missing = sorted(set(columns) - set(reader.fieldnames or ()))
        if missing:
            raise BadInput(f"{path}:1: the header has no column {', '.join(missing)}")
        for row in reader:
            for name, (check, kind) in columns.items():
                value = row[name]
                if value is None:
                    raise BadInput(f"{path}:{reader.line_num}: the row has no {name} (fewer fields than the header)")
                try:
                    check(value)
                except (ValueError, InvalidOperation):
                    raise BadInput(f"{path}:{reader.line_num}: {name} {value!r} is not {kind}") from None
            rows.append(row)
    except (OSError, EOFError, csv.Error) as exc:  # not gzip, a truncated file, a broken quote
        raise BadInput(f"{path}:{reader.line_num + 1}: {exc}") from None
    return rows


def _utf8_lines(path: Path, raw: Iterable[bytes]) -> Iterator[str]:
    """Each line of ``raw`` as text, decoded one line at a time so that a byte that is not UTF-8 is placed on its line."""
    for number, line in enumerate(raw, 1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{path}:{number}: not UTF-8 (byte {exc.start + 1} of the line: {exc.reason})") from None


EU = {"Austria", "Belgium", "Denmark", "Finland", "France", "Germany", "Ireland", "EIRE", "Italy", "Poland", "Portugal",
      "Spain", "Sweden", "Netherlands", "Greece", "Cyprus", "Lithuania", "Malta", "Czech Republic", "Channel Islands",
      "European Community"}
DEPOTS = (("UK-SOUTH", 14), ("UK-NORTH", 7), ("EU-HUB", 3))  # (code, days of average demand held)
DISTANCES = {"domestic": (40, 250, 900), "eu": (700, 900, 120), "international": (5000, 5200, 4800)}


def _zone(country: str, home: str) -> str:
    if country == home:
        return "domestic"
    return "eu" if country in EU else "international"


@dataclass
class CustomerHistory:
    first: dt.date
    invoices: deque[tuple[dt.date, Decimal]] = field(default_factory=deque)  # trailing 365 days of (date, value)
    count: int = 0
    cancelled: int = 0
    last_total: tuple[dt.date, Decimal] | None = None


def _risk_tier(h: CustomerHistory) -> str:
    # In this wholesale history one invoice in seven is a cancellation, mostly small
    # corrections; only customers who cancel far more than that are risky.
    if h.count < 3:
        return "B"
    share = h.cancelled / h.count
    return "A" if share < 0.05 else "B" if share < 0.20 else "C" if share < 0.40 else "D"


def _credit_facts(h: CustomerHistory | None, day: dt.date) -> dict[str, Any]:
    if h is None:  # a first order: the opening limit of a new account
        return {"credit_limit": Decimal(1000), "open_receivables": Decimal(0), "account_age_days": 0, "risk_tier": "B",
                "segment": "smb", "price_group": "list", "trailing": Decimal(0)}
    while h.invoices and (day - h.invoices[0][0]).days > 365:
        h.invoices.popleft()
    spend_90 = sum((v for d, v in h.invoices if (day - d).days <= 90 and v > 0), Decimal(0))
    spend_365 = sum((v for _, v in h.invoices if v > 0), Decimal(0))
    receivables = sum((v for d, v in h.invoices if (day - d).days <= 30 and v > 0), Decimal(0))
    limit = max(Decimal(1000), (spend_90 * 2 / 100).quantize(Decimal(1), ROUND_HALF_UP) * 100)
    segment = "enterprise" if spend_365 > 50000 else "midmarket" if spend_365 > 10000 else "smb"
    return {"credit_limit": limit, "open_receivables": receivables.quantize(CENT), "account_age_days": (day - h.first).days,
            "risk_tier": _risk_tier(h), "segment": segment,
            "price_group": "distributor" if spend_365 > 50000 else "wholesale" if h.count >= 10 else "list",
            "trailing": spend_365}


def _order(order_id: str, day: dt.date, customer_id: str | None, country: str, home: str, currency: str, channel: str,
           items: list[dict[str, Any]], history: dict[str, CustomerHistory], min_price: dict[str, Decimal],
           daily_demand: dict[str, Decimal]) -> dict[str, Any]:
    h = history.get(customer_id) if customer_id else None
    facts = _credit_facts(h, day)
    total = sum((i["quantity"] * i["list_price"] for i in items), Decimal(0))
    guest = customer_id is None
    zone = _zone(country, home)
    duplicate = h is not None and h.last_total == (day, total) and total != 0
    customer = {
        "customer_id": customer_id or "GUEST",
        "price_group": facts["price_group"],
        "risk_tier": facts["risk_tier"],
        "segment": "consumer" if guest else facts["segment"],
        "payment_terms": "cash_in_advance" if guest else "net30",
        "credit_limit": facts["credit_limit"],
        "open_receivables": facts["open_receivables"],
        "open_orders": Decimal(0),
        "days_past_due": 0,
        "account_age_days": facts["account_age_days"],
    }
    if guest:  # a web checkout charged the goods plus the most freight and surcharge could be
        customer["prepaid_amount"] = (max(total, Decimal(0)) + 90).quantize(CENT)
    lines = [{"line_no": n, "sku": i["sku"], "description": i["description"][:200], "quantity": i["quantity"],
              "list_price": i["list_price"], "unit_cost": (min_price.get(i["sku"], i["list_price"]) * Decimal("0.8")).quantize(CENT)}
             for n, i in enumerate(items, start=1)]
    skus = sorted({i["sku"] for i in items})
    warehouses = []
    for (code, days), distance in zip(DEPOTS, DISTANCES[zone], strict=True):
        stock = [{"sku": s, "quantity": int((daily_demand.get(s, Decimal(0)) * days).to_integral_value())} for s in skus]
        warehouses.append({"code": code, "distance_km": distance, "hazmat_certified": code != "UK-NORTH", "stock": stock})
    return {
        "order_id": order_id, "as_of": day, "channel": channel, "currency": currency, "customer": customer,
        "ship_to": {"zone": zone, "country": country, "address_valid": True, "tax_valid": country != "Unspecified"},
        "lines": lines, "warehouses": warehouses, "duplicate_suspected": duplicate,
    }


def _remember(history: dict[str, CustomerHistory], customer_id: str | None, day: dt.date, total: Decimal, cancelled: bool) -> None:
    if customer_id is None:
        return
    h = history.setdefault(customer_id, CustomerHistory(first=day))
    h.invoices.append((day, total))
    h.count += 1
    h.cancelled += int(cancelled)
    h.last_total = (day, total)


def import_online_retail(src: Path) -> Iterator[dict[str, Any]]:
    path = src / "online_retail.csv.gz" if src.is_dir() else src
    with gzip.open(path, "rb") as f:
        rows = read_rows(path, f, {"InvoiceNo": TEXT, "StockCode": TEXT, "Description": TEXT, "Quantity": WHOLE,
                                   "InvoiceDate": STAMP, "UnitPrice": DECIMAL, "CustomerID": TEXT, "Country": TEXT})
    min_price: dict[str, Decimal] = {}
    demand: Counter[str] = Counter()
    days: set[dt.date] = set()
    for r in rows:
        price = Decimal(r["UnitPrice"])
        if price > 0:
            min_price[r["StockCode"]] = min(price, min_price.get(r["StockCode"], price))
        if int(r["Quantity"]) > 0:
            demand[r["StockCode"]] += int(r["Quantity"])
        days.add(dt.date.fromisoformat(r["InvoiceDate"][:10]))
    daily = {sku: Decimal(q) / len(days) for sku, q in demand.items()}
    invoices: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        invoices[r["InvoiceNo"]].append(r)
    ordered = sorted(invoices.items(), key=lambda kv: (kv[1][0]["InvoiceDate"], kv[0]))
    history: dict[str, CustomerHistory] = {}
    for invoice, items in ordered:
        first = items[0]
        day = dt.date.fromisoformat(first["InvoiceDate"][:10])
        customer = first["CustomerID"] or None
        lines: list[dict[str, Any]] = [{"sku": r["StockCode"], "description": r["Description"], "quantity": int(r["Quantity"]),
                                        "list_price": Decimal(r["UnitPrice"])} for r in items]
        yield _order(invoice, day, customer, first["Country"], "United Kingdom", "GBP", "web", lines, history, min_price, daily)
        total = sum((i["quantity"] * i["list_price"] for i in lines), Decimal(0))
        _remember(history, customer, day, total, invoice.startswith("C"))


def import_northwind(src: Path) -> Iterator[dict[str, Any]]:
    folder = src / "csv" if (src / "csv").is_dir() else src

    def table(name: str, columns: dict[str, tuple[Callable[[str], object], str]]) -> list[dict[str, str]]:
        path = folder / f"{name}.csv"
        with path.open("rb") as f:
            return read_rows(path, f, columns)

    products = {p["product_id"]: p for p in table("products", {"product_id": TEXT, "product_name": TEXT})}
    details: dict[str, list[dict[str, str]]] = defaultdict(list)
    for d in table("order_details", {"order_id": TEXT, "product_id": TEXT, "unit_price": DECIMAL, "quantity": WHOLE}):
        if d["product_id"] not in products:
            raise BadInput(f"{folder / 'order_details.csv'}: order {d['order_id']}: no product {d['product_id']!r} "
                           f"in {folder / 'products.csv'}")
        details[d["order_id"]].append(d)
    columns = {"order_id": WHOLE, "customer_id": TEXT, "order_date": DATE, "ship_country": TEXT}
    orders = sorted(table("orders", columns), key=lambda o: (o["order_date"], int(o["order_id"])))
    days = {o["order_date"] for o in orders}
    demand: Counter[str] = Counter()
    min_price: dict[str, Decimal] = {}
    for d in (d for ds in details.values() for d in ds):
        demand[f"NW-{d['product_id']}"] += int(d["quantity"])
        price = Decimal(d["unit_price"]).quantize(CENT, ROUND_HALF_UP)
        min_price[f"NW-{d['product_id']}"] = min(price, min_price.get(f"NW-{d['product_id']}", price))
    daily = {sku: Decimal(q) / len(days) for sku, q in demand.items()}
    history: dict[str, CustomerHistory] = {}
    for o in orders:
        day = dt.date.fromisoformat(o["order_date"])
        lines: list[dict[str, Any]] = [{"sku": f"NW-{d['product_id']}", "description": products[d["product_id"]]["product_name"],
                  "quantity": int(d["quantity"]), "list_price": Decimal(d["unit_price"]).quantize(CENT, ROUND_HALF_UP)}
                 for d in details[o["order_id"]]]
        yield _order(o["order_id"], day, o["customer_id"] or None, o["ship_country"], "USA", "USD", "sales_rep", lines,
                     history, min_price, daily)
        _remember(history, o["customer_id"] or None, day, sum((i["quantity"] * i["list_price"] for i in lines), Decimal(0)), False)



