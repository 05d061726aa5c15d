"""The framework's ceiling: a bare FastAPI app serving credit 1.0.0 written by hand.

Standard FastAPI (pydantic body model, response model, ``async def``), the same inputs and
outputs as ``policy_packs/credit/1.0.0.yaml``. ``benchmarks/api.py`` checks that both
servers agree before it measures them. Like Arbiter's app (``engine/heap.py``) it freezes
what it built at startup, so both run with the same garbage-collector settings.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

CENT = Decimal("0.01")
TOLERANCE = {"A": Decimal(10), "B": Decimal(5), "C": Decimal(5), "D": Decimal(0)}


class CreditInput(BaseModel):
    order_amount: Decimal = Field(ge=0)
    open_receivables: Decimal = Field(ge=0)
    open_orders: Decimal = Field(ge=0)
    credit_limit: Decimal = Field(ge=0)
    days_past_due: int = Field(ge=0)
    risk_tier: Literal["A", "B", "C", "D"]
    segment: Literal["smb", "midmarket", "enterprise", "government", "consumer"]
    payment_terms: Literal["net30", "net60", "cash_in_advance"]
    prepaid_amount: Decimal = Field(default=Decimal(0), ge=0)
    account_age_days: int = Field(ge=0)
    intercompany: bool = False


class CreditOutput(BaseModel):
    decision: str
    hold_code: str | None
    approver_level: str
    headroom: Decimal
    exposure: Decimal


def decide_credit(o: CreditInput) -> CreditOutput:
    amount, limit, dpd, tier = o.order_amount, o.credit_limit, o.days_past_due, o.risk_tier
    exposure = o.open_receivables + o.open_orders + amount
    headroom = limit - exposure
    over_limit = exposure > limit
    over_tolerance = exposure > limit * (1 + TOLERANCE[tier] / 100)
    code: str | None = None
    if o.intercompany or (o.payment_terms == "cash_in_advance" and o.prepaid_amount >= amount):
        decision = "release"
    elif o.payment_terms == "cash_in_advance":
        decision, code = "hold", "CIA_UNPAID"
    elif tier == "D" and dpd > 60:
        decision, code = "reject", "DPD_TIER_D"
    elif dpd > 90:
        decision, code = "hold", "DPD_90"
    elif limit == 0:
        decision, code = "hold", "NO_LIMIT"
    elif o.account_age_days < 90 and amount > 5000:
        decision, code = "hold", "NEW_ACCOUNT"
    elif tier == "D" and over_limit:
        decision, code = "reject", "OVER_LIMIT_D"
    elif over_tolerance:
        decision, code = "hold", "OVER_LIMIT"
    elif 61 <= dpd <= 90:
        decision, code = "hold", "DPD_60"
    elif tier == "C" and 31 <= dpd <= 60:
        decision, code = "hold", "DPD_30_TIER_C"
    elif tier in ("C", "D") and over_limit:
        decision, code = "hold", "TOLERANCE_C"
    elif tier in ("A", "B") and over_limit:
        decision = "release"
    elif tier == "D":
        decision, code = "hold", "TIER_D_REVIEW"
    elif o.segment == "government":
        decision = "release"
    elif amount > 250000:
        decision, code = "hold", "LARGE_ORDER"
    elif 31 <= dpd <= 60:
        decision = "release"
    elif o.segment == "consumer" and amount > 20000:
        decision, code = "hold", "CONSUMER_LARGE"
    else:
        decision = "release"
    if decision == "release":
        approver = "none"
    elif amount < 10000:
        approver = "credit_analyst"
    elif amount < 100000:
        approver = "credit_manager"
    elif amount < 500000:
        approver = "finance_director"
    else:
        approver = "cfo"
    return CreditOutput(decision=decision, hold_code=code, approver_level=approver,
                        headroom=headroom.quantize(CENT, ROUND_HALF_EVEN),
                        exposure=exposure.quantize(CENT, ROUND_HALF_EVEN))


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    gc.collect()
    gc.freeze()
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/decide")
async def decide(body: CreditInput) -> CreditOutput:
    return decide_credit(body)


@app.post("/decide/batch")
async def decide_batch(body: list[CreditInput]) -> list[CreditOutput]:
    return [decide_credit(o) for o in body]
