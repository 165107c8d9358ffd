"""What the 《客户出货回款信息表》 shows for one customer: balance, exposure against the limit,
ageing, timeliness, monthly sums, the latest shipments, payments and orders, the payment
terms and the price coefficient in force. Used by the customer page panel (template tag)
and the full ledger page. The customer was fetched through scope by the caller."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from guanxi.credit import selectors as credit_selectors
from guanxi.customers.models import Customer
from guanxi.ledger import selectors
from guanxi.ledger.models import Order, PriceCoefficient
from guanxi.ledger.periods import add_months, month_start
from guanxi.org.scopes import CHANGE

PANEL_ROWS = 8


def _can_change(actor: Any, customer: Customer) -> bool:
    from guanxi.core.errors import NotFound
    from guanxi.customers.selectors import customer_get

    try:
        customer_get(actor=actor, pk=customer.pk, action=CHANGE)
    except NotFound:
        return False
    return True


def panel_context(*, actor: Any, customer: Customer, limit_rows: int | None) -> dict[str, Any]:
    today = timezone.localdate()
    overview = credit_selectors.credit_overview(customer=customer)
    shipments = selectors.shipment_list(actor=actor, customer_id=customer.pk)
    payments = selectors.payment_list(actor=actor, customer_id=customer.pk)
    orders = selectors.order_list(actor=actor, customer_id=customer.pk)
    if limit_rows is not None:
        shipments, payments, orders = (
            shipments[:limit_rows],
            payments[:limit_rows],
            orders.filter(status=Order.Status.OPEN)[:limit_rows],
        )
    months = list(
        selectors.customer_months(
            customer_id=customer.pk, since=add_months(month_start(today), -11)
        )
    )
    can_change = _can_change(actor, customer)
    reversed_shipments = set(
        selectors.shipment_list(actor=actor, customer_id=customer.pk)
        .filter(reversal_of__isnull=False)
        .values_list("reversal_of_id", flat=True)
    )
    reversed_payments = set(
        selectors.payment_list(actor=actor, customer_id=customer.pk)
        .filter(reversal_of__isnull=False)
        .values_list("reversal_of_id", flat=True)
    )
    coefficients = list(
        selectors.price_coefficient_list(actor=actor, customer_id=customer.pk)[:PANEL_ROWS]
    )
    return {
        "customer": customer,
        "overview": overview,
        "shipments": list(shipments),
        "payments": list(payments),
        "orders": list(orders),
        "months": months,
        "year_shipped": sum((m.shipped_amount for m in months), start=0),
        "year_paid": sum((m.paid_amount for m in months), start=0),
        "reversed_shipments": reversed_shipments,
        "reversed_payments": reversed_payments,
        "terms_days": selectors.terms_days(customer_id=customer.pk),
        "coefficient": selectors.price_coefficient_in_force(customer_id=customer.pk, on=today),
        "coefficients": coefficients,
        "pending_status": PriceCoefficient.Status.PENDING,
        "can_change": can_change,
        "can": {
            "ship": can_change and actor.has_perm("ledger.add_shipment"),
            "pay": can_change and actor.has_perm("ledger.add_payment"),
            "order": can_change and actor.has_perm("ledger.add_order"),
            "cancel_order": can_change and actor.has_perm("ledger.change_order"),
            "reverse": can_change and actor.has_perm("ledger.reverse_entry"),
            "terms": can_change and actor.has_perm("ledger.change_customerterms"),
            "coefficient": can_change and actor.has_perm("ledger.add_pricecoefficient"),
            "credit": actor.has_perm("credit.view_creditlimit"),
            "propose": can_change and actor.has_perm("credit.add_creditlimit"),
            "override": can_change and actor.has_perm("credit.add_creditoverride"),
        },
        "compact": limit_rows is not None,
    }
