"""Test helpers for the ledger and credit apps (used by their tests only).

TODAY is the frozen "now" of most tests: Tuesday 10 June 2025, 10:00 in Shanghai — the
last month of Q2, so the quarterly round window is open.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from guanxi.core.testing import make_customer

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2025, 6, 10, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


class Books:
    """The `org` company with one customer per salesperson."""

    def __init__(self, org: Any):
        self.org = org
        self.bj = make_customer(org.sales_bj, name="北京星河建材有限公司")
        self.tj = make_customer(org.sales_tj, name="天津海港贸易有限公司")
        self.sh = make_customer(org.sales_sh, name="上海浦江工程有限公司")


def approve_limit(
    org: Any, customer: Any, amount: Any, *, effective: str = "now", confirm: bool = False
) -> Any:
    """A limit proposed by finance and approved by the general manager."""
    from guanxi.credit import services

    row = services.credit_limit_propose(
        actor=org.finance,
        customer_id=customer.pk,
        amount=amount,
        reason="测试额度",
        confirm_below_balance=confirm,
    )
    return services.credit_limit_approve(
        actor=org.gm, limit_id=row.pk, effective=effective, confirm_below_balance=confirm
    )


def ship(actor: Any, customer: Any, on: str, amount: Any, **kwargs: Any) -> Any:
    from guanxi.ledger import services

    return services.shipment_record(
        actor=actor, customer_id=customer.pk, date=d(on), amount=amount, **kwargs
    )


def pay(actor: Any, customer: Any, on: str, amount: Any, method: str = "bank_transfer") -> Any:
    from guanxi.ledger import services

    return services.payment_record(
        actor=actor, customer_id=customer.pk, date=d(on), amount=amount, method=method
    )
