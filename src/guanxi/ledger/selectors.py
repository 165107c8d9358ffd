"""Reads of the ledger used outside this app. Lists start from visible_to(actor); fetch by
id goes through scope (missing and forbidden both raise NotFound).

Per-customer figures (balance, exposure, ageing, timeliness, monthly sums) take a
customer the caller already fetched through customers.selectors.customer_get.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from guanxi import policy
from guanxi.core.errors import NotFound
from guanxi.ledger import analytics
from guanxi.ledger.models import (
    ZERO,
    CustomerBalance,
    CustomerMonth,
    CustomerTerms,
    Order,
    Payment,
    PriceCoefficient,
    Shipment,
)
from guanxi.ledger.periods import add_months, month_start
from guanxi.org.scopes import VIEW


def _pk(value: Any) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if pk <= 0 or pk > 2**63 - 1:
        raise NotFound()
    return pk


# --- lists and single entries ----------------------------------------------------------------
def shipment_list(
    *,
    actor: Any,
    customer_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Shipment]:
    rows = Shipment.objects.visible_to(actor, VIEW).filter(customer__deleted_at__isnull=True)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if since:
        rows = rows.filter(date__gte=since)
    if until:
        rows = rows.filter(date__lte=until)
    return rows.select_related("customer", "created_by", "order").order_by("-date", "-id")


def shipment_get(*, actor: Any, pk: Any, action: str = VIEW) -> Shipment:
    row = (
        Shipment.objects.visible_to(actor, action)
        .filter(customer__deleted_at__isnull=True, pk=_pk(pk))
        .select_related("customer", "created_by", "order")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def payment_list(
    *,
    actor: Any,
    customer_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Payment]:
    rows = Payment.objects.visible_to(actor, VIEW).filter(customer__deleted_at__isnull=True)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if since:
        rows = rows.filter(date__gte=since)
    if until:
        rows = rows.filter(date__lte=until)
    return rows.select_related("customer", "created_by").order_by("-date", "-id")


def payment_get(*, actor: Any, pk: Any, action: str = VIEW) -> Payment:
    row = (
        Payment.objects.visible_to(actor, action)
        .filter(customer__deleted_at__isnull=True, pk=_pk(pk))
        .select_related("customer", "created_by")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def order_list(
    *, actor: Any, customer_id: int | None = None, open_only: bool = False
) -> QuerySet[Order]:
    rows = Order.objects.visible_to(actor, VIEW).filter(customer__deleted_at__isnull=True)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if open_only:
        rows = rows.filter(status=Order.Status.OPEN)
    return rows.select_related("customer", "created_by").order_by("-date", "-id")


def order_get(*, actor: Any, pk: Any, action: str = VIEW) -> Order:
    row = (
        Order.objects.visible_to(actor, action)
        .filter(customer__deleted_at__isnull=True, pk=_pk(pk))
        .select_related("customer")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def price_coefficient_list(
    *, actor: Any, customer_id: int | None = None, status: str = ""
) -> QuerySet[PriceCoefficient]:
    rows = PriceCoefficient.objects.visible_to(actor, VIEW).filter(
        customer__deleted_at__isnull=True
    )
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("customer", "proposed_by", "decided_by").order_by(
        "-proposed_at", "-id"
    )


def price_coefficient_get(*, actor: Any, pk: Any, action: str = VIEW) -> PriceCoefficient:
    row = (
        PriceCoefficient.objects.visible_to(actor, action)
        .filter(customer__deleted_at__isnull=True, pk=_pk(pk))
        .select_related("customer", "proposed_by", "decided_by")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


# --- per-customer figures --------------------------------------------------------------------
def terms_days(*, customer_id: int) -> int:
    """The customer's payment terms, or ledger.default_payment_terms_days."""
    days = CustomerTerms.objects.filter(customer_id=customer_id).values_list("days", flat=True)
    found = list(days[:1])
    return found[0] if found else policy.get("ledger.default_payment_terms_days")


def price_coefficient_in_force(*, customer_id: int, on: dt.date) -> PriceCoefficient | None:
    return (
        PriceCoefficient.objects.filter(
            customer_id=customer_id,
            status=PriceCoefficient.Status.APPROVED,
            effective_from__lte=on,
        )
        .order_by("-effective_from", "-decided_at", "-id")
        .first()
    )


def balance_of(*, customer_id: int) -> CustomerBalance:
    """The running totals (an unsaved zero row when the customer has no entries yet)."""
    row = CustomerBalance.objects.filter(customer_id=customer_id).first()
    return row or CustomerBalance(customer_id=customer_id)


def exposure_of(balance: CustomerBalance, *, at: dt.datetime | None = None) -> Decimal:
    """Exposure = receivable balance (+ open orders when credit.orders_in_exposure)."""
    exposure = balance.balance
    if policy.get("credit.orders_in_exposure", at=at):
        exposure += balance.open_orders
    return exposure


def receivable_of(*, customer_id: int, as_of: dt.date | None = None) -> analytics.Receivable:
    as_of = as_of or timezone.localdate()
    found = analytics.receivables(as_of=as_of, customers=[customer_id])
    return found.get(customer_id) or analytics.empty_receivable()


def timeliness_of(*, customer_id: int, as_of: dt.date | None = None) -> analytics.Timeliness:
    as_of = as_of or timezone.localdate()
    return analytics.timeliness(as_of=as_of, customers=[customer_id]).get(
        customer_id, analytics.Timeliness()
    )


@dataclass(frozen=True)
class SalesFigures:
    annual_sales: Decimal  # the 12 complete months before the as-of month
    monthly_sales: Decimal  # mean of the 3 complete months before the as-of month
    annual_profit: Decimal
    annual_paid: Decimal


def sales_figures(
    *, customer_ids: list[int] | None, as_of: dt.date, id_range: range | None = None
) -> dict[int, SalesFigures]:
    """Yearly and recent monthly sums from CustomerMonth (a dozen rows per customer)."""
    this_month = month_start(as_of)
    year_from, recent_from = add_months(this_month, -12), add_months(this_month, -3)
    months = CustomerMonth.objects.filter(month__gte=year_from, month__lt=this_month)
    if customer_ids is not None:
        months = months.filter(customer_id__in=customer_ids)
    if id_range is not None:
        months = months.filter(customer_id__gte=id_range.start, customer_id__lt=id_range.stop)
    annual = {
        row["customer_id"]: row
        for row in months.values("customer_id").annotate(
            shipped=Sum("shipped_amount"), cost=Sum("shipped_cost"), paid=Sum("paid_amount")
        )
    }
    recent = dict(
        months.filter(month__gte=recent_from)
        .values("customer_id")
        .annotate(shipped=Sum("shipped_amount"))
        .values_list("customer_id", "shipped")
    )
    found = {}
    for customer_id, row in annual.items():
        shipped = analytics.to_money(row["shipped"])
        found[customer_id] = SalesFigures(
            annual_sales=shipped,
            monthly_sales=analytics.to_money(
                analytics.to_money(recent.get(customer_id)) / Decimal(3)
            ),
            annual_profit=analytics.to_money(shipped - analytics.to_money(row["cost"])),
            annual_paid=analytics.to_money(row["paid"]),
        )
    return found


def zero_sales() -> SalesFigures:
    return SalesFigures(ZERO, ZERO, ZERO, ZERO)


def customer_months(*, customer_id: int, since: dt.date) -> QuerySet[CustomerMonth]:
    return CustomerMonth.objects.filter(customer_id=customer_id, month__gte=since).order_by(
        "-month"
    )
