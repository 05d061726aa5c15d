"""Bundled pack data the language cannot hold to its shape, and reasons a pack's own tests cannot assert."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.registry import build_pack_set, require_pack_set
from tests.conftest import PACKS

WINDOWS_READ = 52  # pricing 2.1.0 reads windows 1, 2, ... up to 52 of a key (data.promotions declares max: 52)


def _pricing_with_windows(tmp_path: Path, windows: list[int]) -> Path:
    """The bundled pricing pack with promotions.csv giving CABLE-07 these window numbers, a week each from 2027-01-04."""
    target = tmp_path / "packs"
    shutil.copytree(PACKS / "pricing", target / "pricing")
    rows = ["scope,key,window,promo_pct,code,starts,ends"]
    for n in windows:
        starts = dt.date(2027, 1, 4) + dt.timedelta(weeks=n - 1)
        rows.append(f"sku,CABLE-07,{n},10,CABLE-{n},{starts},{starts + dt.timedelta(days=6)}")
    (target / "pricing" / "promotions.csv").write_text("\n".join(rows) + "\n")
    return target


def test_pricing_reads_every_window_its_promotions_table_allows() -> None:
    """The window list the pack searches runs 1 to the declared max, for SKUs and for groups alike."""
    pack = require_pack_set(PACKS).get("pricing", "2.1.0")
    window = pack.ir.data["promotions"].columns["window"]
    assert window == "integer"
    text = (PACKS / "pricing" / "2.1.0.yaml").read_text()
    assert f"window: {{type: integer, min: 1, max: {WINDOWS_READ}}}" in text
    assert "numbered: window" in text
    assert text.count(f"first([{', '.join(str(n) for n in range(1, WINDOWS_READ + 1))}] as n") == 2


def test_the_fifty_second_window_of_a_key_applies(tmp_path: Path) -> None:
    """A key with 52 weekly windows: the last week is promoted, the week after is not (no silent cap at 4)."""
    pricing = require_pack_set(_pricing_with_windows(tmp_path, list(range(1, WINDOWS_READ + 1)))).get("pricing", "2.1.0")
    order = {"customer_id": "C999", "price_group": "list", "currency": "GBP", "ship_zone": "domestic",
             "lines": [{"line_no": 1, "sku": "CABLE-07", "quantity": 10, "list_price": 3, "unit_cost": 1}]}
    last = dt.date(2027, 1, 4) + dt.timedelta(weeks=WINDOWS_READ - 1)
    assert pricing.decide(order, last).output["lines"][0]["promo_code"] == f"CABLE-{WINDOWS_READ}"
    assert pricing.decide(order, last + dt.timedelta(days=7)).output["lines"][0]["promo_code"] is None


@pytest.mark.parametrize(("windows", "code", "line", "message"), [
    (list(range(1, WINDOWS_READ + 2)), "data-value", WINDOWS_READ + 2, f"{WINDOWS_READ + 1} is above the column's max {WINDOWS_READ}"),
    ([1, 2, 4], "data-numbering", None, "are [1, 2, 4]; they must run 1 to 3"),
    ([2], "data-numbering", None, "are [2]; they must run 1 to 1"),
])
def test_a_window_the_pack_would_never_read_is_a_located_error(tmp_path: Path, windows: list[int], code: str,
                                                               line: int | None, message: str) -> None:
    """A 53rd window is an error at its CSV line; a gap (or no window 1) an error at the table's csv: field."""
    pack_set, diagnostics = build_pack_set(_pricing_with_windows(tmp_path, windows))
    assert pack_set is None
    [found] = [d for d in diagnostics if d.code == code]
    assert message in found.message
    if line is not None:
        assert found.path.endswith("promotions.csv")
        assert found.position.line == line
        assert found.position.col == len("sku,CABLE-07,") + 1
    else:
        assert found.path.endswith("2.1.0.yaml")
        assert found.position.line > 1


def test_a_credit_decision_lists_every_hold_and_its_reasons_show_the_values_formatted() -> None:
    """Over the limit, overdue and a new account: three holds, and each reason shows its amounts with separators."""
    credit = require_pack_set(PACKS).get("credit", "1.2.0")
    order = {"order_amount": 6000, "open_receivables": 59000, "open_orders": 0, "credit_limit": 60000, "days_past_due": 75,
             "risk_tier": "B", "segment": "smb", "payment_terms": "net30", "account_age_days": 30}
    decision = credit.decide(order, dt.date(2027, 4, 1))
    assert [h["code"] for h in decision.output["holds"]] == ["DPD_60", "OVER_LIMIT", "NEW_ACCOUNT"]
    assert decision.output["decision"] == "hold"
    assert "Exposure 65,000.00 GBP is above the limit with tolerance 63,000.00 GBP (tier B, 5 %)." in decision.reasons
    assert "Account opened 30 days ago (under 90) with an order of 6,000.00 GBP, above 5,000.00 GBP." in decision.reasons
    assert not any(re.search(r"\d{4}\.\d\d", reason) for reason in decision.reasons)  # no amount without its separator


# The live versions compare raw amounts in any currency (the currency-blind money): their
# texts name no currency, rightly, and are left as they run. Every candidate names its amounts.
CURRENCY_BLIND = {("credit", "1.0.0"), ("pricing", "1.0.0"), ("exception_routing", "1.0.0"), ("allocation", "1.0.0"), ("order", "1.0.0")}
AMOUNT = re.compile(r"(\S+) (GBP|EUR|USD|JPY)\b")
FORMATTED = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")
BARE_DIGITS = re.compile(r"(?<![\w.,-])\d{4,}(?![\w])")


def _texts(value: Any) -> Iterator[str]:
    """Every reason and hold text in a decision's output."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("reason", "detail") and isinstance(inner, str):
                yield inner
            else:
                yield from _texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _texts(inner)


def _candidate_reasons() -> Iterator[tuple[str, str]]:
    """(pack@version: test name, text) for every reason a candidate version gives on its own tests."""
    pack_set = require_pack_set(PACKS)
    for pack in pack_set:
        if (pack.name, pack.version) in CURRENCY_BLIND:
            continue
        for test in pack.ir.tests:
            if test.error is not None:
                continue
            decision = pack.decide(test.input, test.as_of or pack.ir.effective_from or dt.date(2000, 1, 1))
            for text in [*decision.reasons, *_texts(decision.output)]:
                yield f"{pack.name}@{pack.version}: {test.name}", text


def test_every_amount_in_every_candidate_reason_reads_with_separators_places_and_currency() -> None:
    """Each amount before a currency code reads like 65,550.55 GBP; no bare run of 4+ digits and no £ sign is left."""
    seen = 0
    for where, text in _candidate_reasons():
        for amount, _ in AMOUNT.findall(text):
            seen += 1
            assert FORMATTED.match(amount.lstrip("(")), f"{where}: {text}"
        assert not BARE_DIGITS.search(text), f"{where}: {text}"
        assert "£" not in text, f"{where}: {text}"
    assert seen >= 40  # the candidates' tests show many amounts: the check is not vacuous
