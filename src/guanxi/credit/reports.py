"""The quarterly credit report (客户资信报表) and the sales-and-collection summary, inside
the actor's data scope, set-based (a fixed number of queries whatever the scope)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.credit.models import CreditLimit, CreditRating
from guanxi.customers.models import Customer
from guanxi.ledger import analytics
from guanxi.ledger.models import ZERO, CustomerBalance, CustomerMonth
from guanxi.ledger.periods import quarter_first_day, quarter_last_day, start_of_day
from guanxi.org.scopes import VIEW
from guanxi.policy.selectors import choices as policy_choices


def _limit_at(at: dt.datetime) -> Subquery:
    return Subquery(
        CreditLimit.objects.filter(
            customer_id=OuterRef("pk"), status=CreditLimit.Status.APPROVED, effective_from__lte=at
        )
        .order_by("-effective_from", "-decided_at", "-id")
        .values("amount")[:1]
    )


def _level_at(at: dt.datetime) -> Subquery:
    return Subquery(
        CreditRating.objects.filter(customer_id=OuterRef("pk"), rated_at__lte=at)
        .order_by("-rated_at", "-id")
        .values("level")[:1]
    )


def report_customers(*, actor: Any) -> QuerySet[Customer]:
    """Customers in scope with ledger activity or a credit limit."""
    active = Q(pk__in=CustomerBalance.objects.values("customer_id")) | Q(
        pk__in=CreditLimit.objects.filter(status=CreditLimit.Status.APPROVED).values("customer_id")
    )
    return Customer.objects.visible_to(actor, VIEW).alive().filter(active)


@dataclass
class CreditRow:
    customer: Customer
    level: str
    limit: Decimal | None
    balance: Decimal
    exposure: Decimal
    overdue: Decimal
    ageing: dict[str, Decimal]
    on_time_share: Decimal | None
    changes: list[str] = field(default_factory=list)


@dataclass
class CreditReport:
    year: int
    quarter: int
    as_of: dt.date
    bucket_keys: list[str]
    rows: list[CreditRow]


def credit_report(*, actor: Any, year: int, quarter: int) -> CreditReport:
    """客户资信报表 for a quarter, as of its last day (today for the running quarter):
    level, limit, exposure, overdue, ageing, on-time share and the changes of level and
    limit during the quarter."""
    today = timezone.localdate()
    first, last = quarter_first_day(year, quarter), quarter_last_day(year, quarter)
    as_of = min(today, last)
    start, end = start_of_day(first), start_of_day(as_of + dt.timedelta(days=1))
    customers = report_customers(actor=actor)
    rows_qs = (
        customers.annotate(
            limit_now=_limit_at(end),
            limit_before=_limit_at(start),
            level_now=_level_at(end),
            level_before=_level_at(start),
        )
        .select_related("owner", "department")
        .order_by("department__name", "name", "pk")
    )
    open_ = analytics.receivables(as_of=as_of, customers=customers)
    timely = analytics.timeliness(as_of=as_of, customers=customers)
    orders = dict(
        CustomerBalance.objects.filter(customer__in=customers.values("pk")).values_list(
            "customer_id", "open_orders"
        )
    )
    labels = dict(policy_choices("credit.levels"))
    empty = analytics.empty_receivable()
    keys = list(empty.ageing)
    rows = []
    for customer in rows_qs:
        receivable = open_.get(customer.pk, empty)
        changes = []
        if customer.limit_now != customer.limit_before:
            before = "—" if customer.limit_before is None else f"¥{customer.limit_before:,.2f}"
            after = "—" if customer.limit_now is None else f"¥{customer.limit_now:,.2f}"
            changes.append(_("额度 %(before)s → %(after)s") % {"before": before, "after": after})
        if customer.level_now != customer.level_before:
            changes.append(
                _("等级 %(before)s → %(after)s")
                % {
                    "before": labels.get(customer.level_before, customer.level_before or "—"),
                    "after": labels.get(customer.level_now, customer.level_now or "—"),
                }
            )
        balance = receivable.open_total
        exposure = balance + (orders.get(customer.pk, ZERO) if as_of == today else ZERO)
        rows.append(
            CreditRow(
                customer=customer,
                level=labels.get(customer.level_now, customer.level_now or ""),
                limit=analytics.to_money(customer.limit_now)
                if customer.limit_now is not None
                else None,
                balance=balance,
                exposure=analytics.to_money(exposure),
                overdue=receivable.overdue,
                ageing=receivable.ageing,
                on_time_share=timely[customer.pk].on_time_share if customer.pk in timely else None,
                changes=changes,
            )
        )
    return CreditReport(year=year, quarter=quarter, as_of=as_of, bucket_keys=keys, rows=rows)


# --- sales and collection --------------------------------------------------------------------
GROUPS = {
    "customer": ("customer_id", "customer__name"),
    "owner": ("customer__owner_id", "customer__owner__name"),
    "department": ("customer__department_id", "customer__department__name"),
}


@dataclass
class SalesRow:
    key: int
    label: str
    customers: int
    shipped: Decimal
    cost: Decimal
    quantity: int
    paid: Decimal
    balance: Decimal

    @property
    def profit(self) -> Decimal:
        return self.shipped - self.cost

    @property
    def collection_rate(self) -> Decimal | None:
        if self.shipped <= 0:
            return None
        return (self.paid / self.shipped).quantize(Decimal("0.0001"))


def sales_summary(
    *, actor: Any, since: dt.date, until: dt.date, group: str = "customer"
) -> list[SalesRow]:
    """Shipments, profit, payments and collection rate per customer, owner or department
    for the months from `since` to `until` (inclusive), within the actor's scope; balance
    is the current receivable."""
    key, label = GROUPS.get(group, GROUPS["customer"])
    scope = Customer.objects.visible_to(actor, VIEW).alive().values("pk")
    months = CustomerMonth.objects.filter(
        customer__in=scope, month__gte=since.replace(day=1), month__lte=until
    )
    rows = (
        months.values(key, label)
        .annotate(
            customers=Count("customer_id", distinct=True),
            shipped=Sum("shipped_amount"),
            cost=Sum("shipped_cost"),
            quantity=Sum("shipped_quantity"),
            paid=Sum("paid_amount"),
        )
        .order_by(F("shipped").desc(nulls_last=True), key)
    )
    balance_key = key.removeprefix("customer__") if key != "customer_id" else "customer_id"
    balances = dict(
        CustomerBalance.objects.filter(customer__in=scope)
        .values(f"customer__{balance_key}" if key != "customer_id" else "customer_id")
        .annotate(total=Sum("balance"))
        .values_list(f"customer__{balance_key}" if key != "customer_id" else "customer_id", "total")
    )
    return [
        SalesRow(
            key=row[key],
            label=row[label] or "—",
            customers=row["customers"],
            shipped=analytics.to_money(row["shipped"]),
            cost=analytics.to_money(row["cost"]),
            quantity=int(row["quantity"] or 0),
            paid=analytics.to_money(row["paid"]),
            balance=analytics.to_money(balances.get(row[key])),
        )
        for row in rows
    ]
