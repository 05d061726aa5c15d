"""Bundled pack data the language cannot hold to its shape, and reasons a pack's own tests cannot assert."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

from engine.registry import require_pack_set
from tests.conftest import PACKS

WINDOWS_READ = 4  # pricing 2.1.0 looks at windows 1 to 4 of a key: first([1, 2, 3, 4] as n, ...)


def promotion_windows(path: Path) -> dict[tuple[str, str], list[int]]:
    """(scope, key) -> the window numbers promotions.csv gives it, in file order."""
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            out[(row["scope"], row["key"])].append(int(row["window"]))
    return out


def test_promotion_windows_are_numbered_from_one_without_gaps_within_what_the_pack_reads() -> None:
    """A key's windows are 1..n with n <= 4: a gap or a fifth window would never apply, silently."""
    pack_text = (PACKS / "pricing" / "2.1.0.yaml").read_text()
    assert f"first([{', '.join(str(n) for n in range(1, WINDOWS_READ + 1))}] as n" in pack_text
    windows = promotion_windows(PACKS / "pricing" / "promotions.csv")
    assert any(len(numbers) > 1 for numbers in windows.values())  # several windows for one key, the point of the table
    for key, numbers in windows.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), key
        assert len(numbers) <= WINDOWS_READ, key


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
