"""Test helpers for grading: hand-built customers whose default-model points are known.

At NOW (10 June 2025) "last year" is June 2024 – May 2025 (y1), y0 is June 2023 – May
2024, y3 June 2022 – May 2023.
"""

from __future__ import annotations

from typing import Any

from guanxi.core.testing import make_customer
from guanxi.ledger.testing import NOW, approve_limit, pay, ship

__all__ = ["NOW", "build_trader", "score_roles"]


def build_trader(org: Any, *, name: str, paid: bool = True, **data: Any) -> Any:
    """A Beijing customer with: y1 shipments 2 × ¥600,000 (cost ¥450,000 each), y0
    ¥500,000, y3 ¥300,000; paid on time when `paid`. Default-model points: order amount 5,
    profit 5 and yoy growth 5 (when it is the best of all customers), collection 5 / 0,
    days late 5 / 0, 3-year growth 5, order count 1, stagnant orders 5. Computed part of
    the score: 72.80 when paid, 52.80 when not."""
    customer = make_customer(org.sales_bj, name=name, **data)
    approve_limit(org, customer, 10_000_000)
    for on, amount, cost, paid_on in [
        ("2022-12-01", 300_000, 225_000, "2022-12-15"),
        ("2023-12-01", 500_000, 375_000, "2023-12-15"),
        ("2024-09-01", 600_000, 450_000, "2024-09-20"),
        ("2025-01-10", 600_000, 450_000, "2025-01-20"),
    ]:
        ship(org.finance, customer, on, amount, cost=cost)
        if paid:
            pay(org.finance, customer, paid_on, amount)
    return customer


def score_roles(org: Any, customer: Any, **points: Any) -> None:
    """Role scores by the sales director (a role the default model names for all three)."""
    from guanxi.grading.services import role_score_set

    for indicator, value in points.items():
        role_score_set(actor=org.director, customer_id=customer.pk, indicator=indicator,
                       points=value)  # fmt: skip
