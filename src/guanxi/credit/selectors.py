"""Reads of credit control used outside this app. Lists start from visible_to(actor); fetch
by id goes through scope (missing and forbidden both raise NotFound). Policy: credit.*.

Time-derived state is computed here, at read time: the limit in force, whether a pending
approval is overdue, whether a rating is due, whether a customer is near or over its limit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from guanxi import policy
from guanxi.core.errors import NotFound
from guanxi.credit.models import (
    CreditInvestigation,
    CreditLimit,
    CreditOverride,
    CreditRating,
    CreditRound,
)
from guanxi.customers.models import Customer
from guanxi.ledger import analytics
from guanxi.ledger import selectors as ledger
from guanxi.ledger.models import CustomerBalance
from guanxi.ledger.periods import shift_months
from guanxi.org.scopes import VIEW
from guanxi.policy.selectors import label_for


def _pk(value: Any) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if pk <= 0 or pk > 2**63 - 1:
        raise NotFound()
    return pk


# --- limits in force -------------------------------------------------------------------------
def _in_force(at: dt.datetime) -> QuerySet[CreditLimit]:
    return CreditLimit.objects.filter(
        status=CreditLimit.Status.APPROVED, effective_from__lte=at
    ).order_by("-effective_from", "-decided_at", "-id")


def limit_in_force(*, customer_id: int, at: dt.datetime | None = None) -> CreditLimit | None:
    """The approved limit with the latest effective_from ≤ at (None: no approved limit)."""
    return _in_force(at or timezone.now()).filter(customer_id=customer_id).first()


def default_limit(*, at: dt.datetime | None = None) -> Decimal:
    """What a customer without an approved limit may owe (credit.limit_without_approval)."""
    return analytics.to_money(policy.get("credit.limit_without_approval", at=at))


def effective_limit(*, customer_id: int, at: dt.datetime | None = None) -> Decimal:
    row = limit_in_force(customer_id=customer_id, at=at)
    return row.amount if row is not None else default_limit(at=at)


@dataclass(frozen=True)
class Limit:
    """The amount a customer may owe and whether it is an approved limit (else the policy
    default for customers without one)."""

    amount: Decimal
    approved: bool


def limit_amount(*, customer_id: int, at: dt.datetime | None = None) -> Limit:
    """Like effective_limit, in one narrow query (the shipment check's hot path)."""
    at = at or timezone.now()
    found = list(_in_force(at).filter(customer_id=customer_id).values_list("amount", flat=True)[:1])
    if found:
        return Limit(amount=found[0], approved=True)
    return Limit(amount=default_limit(at=at), approved=False)


def limit_in_force_sql(*, customer_id: int, at: dt.datetime) -> tuple[str, tuple[Any, ...]]:
    """SQL (and parameters) of a scalar subquery: the amount of the customer's limit in
    force at `at`, NULL without an approved one (the shipment check's conditional update).
    Written out rather than compiled by the ORM on every shipment; the same rows and order
    as _in_force (a test holds the two together)."""
    sql = (
        f"SELECT l.amount FROM {CreditLimit._meta.db_table} l"
        " WHERE l.customer_id = %s AND l.status = %s AND l.effective_from <= %s"
        " ORDER BY l.effective_from DESC, l.decided_at DESC, l.id DESC LIMIT 1"
    )
    at_param = connection.ops.adapt_datetimefield_value(at)
    return sql, (customer_id, CreditLimit.Status.APPROVED.value, at_param)


def limit_subquery(at: dt.datetime) -> Subquery:
    """Annotation: the amount of the limit in force for OuterRef("pk") (customers)."""
    return Subquery(_in_force(at).filter(customer_id=OuterRef("pk")).values("amount")[:1])


def warning_state(*, exposure: Decimal, limit: Decimal, at: dt.datetime | None = None) -> str:
    """ "over" above the limit, "near" from credit.warning_share of it, else ""."""
    if exposure > limit:
        return "over"
    share = Decimal(str(policy.get("credit.warning_share", at=at)))
    if limit > 0 and exposure >= share * limit:
        return "near"
    return ""


# --- ratings ---------------------------------------------------------------------------------
def rating_current(*, customer_id: int) -> CreditRating | None:
    return (
        CreditRating.objects.filter(customer_id=customer_id)
        .order_by("-rated_at", "-id")
        .select_related("rated_by")
        .first()
    )


def rating_list(*, actor: Any, customer_id: int | None = None) -> QuerySet[CreditRating]:
    rows = CreditRating.objects.visible_to(actor, VIEW).filter(customer__deleted_at__isnull=True)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    return rows.select_related("rated_by").order_by("-rated_at", "-id")


def rating_due(rating: CreditRating | None, *, at: dt.datetime | None = None) -> bool:
    """A rating is due when there is none or the last is older than
    credit.rating_valid_months (half-yearly by default)."""
    if rating is None:
        return True
    at = at or timezone.now()
    months = policy.get("credit.rating_valid_months", at=at)
    rated_on = timezone.localtime(rating.rated_at).date()
    return rated_on <= shift_months(timezone.localtime(at).date(), -months)


# --- the credit picture of one customer ------------------------------------------------------
@dataclass
class CreditOverview:
    customer: Customer
    level: str
    level_label: str
    rating: CreditRating | None
    rating_due: bool
    limit: Decimal
    limit_row: CreditLimit | None
    balance: Decimal
    open_orders: Decimal
    exposure: Decimal
    available: Decimal
    state: str
    receivable: analytics.Receivable
    timeliness: analytics.Timeliness
    pending: CreditLimit | None
    upcoming: CreditLimit | None

    @property
    def has_limit(self) -> bool:
        return self.limit_row is not None


def credit_overview(*, customer: Customer, at: dt.datetime | None = None) -> CreditOverview:
    """Level, limit, exposure, balance, ageing and timeliness of a customer the caller
    fetched through customers.selectors.customer_get."""
    at = at or timezone.now()
    today = timezone.localtime(at).date()
    rating = rating_current(customer_id=customer.pk)
    row = limit_in_force(customer_id=customer.pk, at=at)
    limit = row.amount if row is not None else default_limit(at=at)
    balance = ledger.balance_of(customer_id=customer.pk)
    exposure = ledger.exposure_of(balance, at=at)
    level = rating.level if rating else ""
    return CreditOverview(
        customer=customer,
        level=level,
        level_label=label_for("credit.levels", level, at=at) if level else "",
        rating=rating,
        rating_due=rating_due(rating, at=at),
        limit=limit,
        limit_row=row,
        balance=balance.balance,
        open_orders=balance.open_orders,
        exposure=exposure,
        available=limit - exposure,
        state=warning_state(exposure=exposure, limit=limit, at=at),
        receivable=ledger.receivable_of(customer_id=customer.pk, as_of=today),
        timeliness=ledger.timeliness_of(customer_id=customer.pk, as_of=today),
        pending=CreditLimit.objects.filter(
            customer_id=customer.pk, status__in=CreditLimit.OPEN_STATUSES
        ).first(),
        upcoming=CreditLimit.objects.filter(
            customer_id=customer.pk, status=CreditLimit.Status.APPROVED, effective_from__gt=at
        )
        .order_by("effective_from")
        .first(),
    )


# --- limits and approvals --------------------------------------------------------------------
def is_overdue(limit: CreditLimit, *, at: dt.datetime | None = None) -> bool:
    at = at or timezone.now()
    return (
        limit.status == CreditLimit.Status.PENDING
        and limit.due_at is not None
        and limit.due_at < at
    )


def credit_limit_list(
    *,
    actor: Any,
    status: str = "",
    overdue: bool = False,
    customer_id: int | None = None,
    round_id: int | None = None,
    mine: bool = False,
    at: dt.datetime | None = None,
) -> QuerySet[CreditLimit]:
    rows = CreditLimit.objects.visible_to(actor, VIEW).filter(customer__deleted_at__isnull=True)
    if status:
        rows = rows.filter(status=status)
    if overdue:
        rows = rows.filter(status=CreditLimit.Status.PENDING, due_at__lt=at or timezone.now())
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if round_id:
        rows = rows.filter(round_id=round_id)
    if mine:
        rows = rows.filter(Q(customer__owner=actor) | Q(customer__co_owners=actor)).distinct()
    return rows.select_related(
        "customer", "customer__owner", "proposed_by", "decided_by", "round"
    ).order_by("-created_at", "-id")


def credit_limit_get(*, actor: Any, pk: Any, action: str = VIEW) -> CreditLimit:
    row = (
        CreditLimit.objects.visible_to(actor, action)
        .filter(customer__deleted_at__isnull=True, pk=_pk(pk))
        .select_related("customer", "customer__owner", "proposed_by", "decided_by", "round")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def approvals_overdue(*, at: dt.datetime | None = None, batch: int = 500) -> list[CreditLimit]:
    """Pending approvals past their deadline not yet escalated (for the sweeper only: no
    actor, no scope — it notifies, it shows nothing)."""
    return list(
        CreditLimit.objects.filter(
            status=CreditLimit.Status.PENDING,
            due_at__lt=at or timezone.now(),
            escalated_at__isnull=True,
        )
        .select_related("customer")
        .order_by("due_at", "id")[:batch]
    )


# --- rounds ----------------------------------------------------------------------------------
def round_list() -> QuerySet[CreditRound]:
    return CreditRound.objects.select_related("opened_by").order_by("-year", "-quarter")


def round_is_open(credit_round: CreditRound, *, at: dt.datetime | None = None) -> bool:
    from guanxi.ledger.periods import quarter_first_day, start_of_day

    at = at or timezone.now()
    return at < start_of_day(quarter_first_day(credit_round.year, credit_round.quarter))


# --- overrides and investigations ------------------------------------------------------------
def override_list(
    *, actor: Any, status: str = "", customer_id: int | None = None, usable: bool = False
) -> QuerySet[CreditOverride]:
    rows = CreditOverride.objects.visible_to(actor, VIEW).filter(customer__deleted_at__isnull=True)
    if status:
        rows = rows.filter(status=status)
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if usable:
        rows = rows.filter(status=CreditOverride.Status.APPROVED, shipment__isnull=True)
    return rows.select_related("customer", "requested_by", "decided_by", "shipment").order_by(
        "-requested_at", "-id"
    )


def override_get(*, actor: Any, pk: Any, action: str = VIEW) -> CreditOverride:
    row = (
        CreditOverride.objects.visible_to(actor, action)
        .filter(customer__deleted_at__isnull=True, pk=_pk(pk))
        .select_related("customer", "requested_by", "decided_by", "shipment")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def investigation_list(
    *, actor: Any, status: str = "", mine: bool = False
) -> QuerySet[CreditInvestigation]:
    rows = CreditInvestigation.objects.visible_to(actor, VIEW).filter(
        customer__deleted_at__isnull=True
    )
    if status:
        rows = rows.filter(status=status)
    if mine:
        rows = rows.filter(customer__owner=actor)
    return rows.select_related("customer", "customer__owner", "closed_by").order_by(
        "-opened_at", "-id"
    )


def investigation_get(*, actor: Any, pk: Any, action: str = VIEW) -> CreditInvestigation:
    row = (
        CreditInvestigation.objects.visible_to(actor, action)
        .filter(customer__deleted_at__isnull=True, pk=_pk(pk))
        .select_related("customer", "customer__owner")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


# --- customers over or near their limit ------------------------------------------------------
@dataclass
class Warning:
    customer: Customer
    limit: Decimal
    has_limit: bool
    exposure: Decimal
    balance: Decimal
    share: Decimal | None
    state: str
    investigation_open: bool


def credit_warnings(*, actor: Any, at: dt.datetime | None = None, state: str = "") -> list[Warning]:
    """Customers in scope whose exposure is over their limit or at/above
    credit.warning_share of it, worst first. Customers without an approved limit appear
    when they owe more than credit.limit_without_approval."""
    at = at or timezone.now()
    share = Decimal(str(policy.get("credit.warning_share", at=at)))
    orders = policy.get("credit.orders_in_exposure", at=at)
    fallback = default_limit(at=at)
    exposure = F("balance") + F("open_orders") if orders else F("balance")
    money_field = DecimalField(max_digits=16, decimal_places=2)
    balances = (
        CustomerBalance.objects.filter(
            customer__in=Customer.objects.visible_to(actor, VIEW).alive().values("pk")
        )
        .annotate(
            limit_amount=Subquery(
                _in_force(at).filter(customer_id=OuterRef("customer_id")).values("amount")[:1]
            ),
        )
        .annotate(
            effective=Coalesce("limit_amount", Value(fallback), output_field=money_field),
            exposure=ExpressionWrapper(exposure, output_field=money_field),
            investigating=Exists(
                CreditInvestigation.objects.filter(
                    customer_id=OuterRef("customer_id"), status=CreditInvestigation.Status.OPEN
                )
            ),
        )
        # without an approved limit only what is owed counts (orders alone: a cash customer)
        .filter(Q(limit_amount__isnull=False) | Q(balance__gt=0))
        .filter(
            Q(exposure__gt=F("effective"))
            | Q(effective__gt=0, exposure__gte=F("effective") * Value(share))
        )
        .select_related("customer", "customer__owner", "customer__department")
    )
    found = []
    for row in balances:
        limit = analytics.to_money(row.effective)
        exposure_now = analytics.to_money(row.exposure)
        current = warning_state(exposure=exposure_now, limit=limit, at=at)
        if not current or (state and current != state):
            continue
        found.append(
            Warning(
                customer=row.customer,
                limit=limit,
                has_limit=row.limit_amount is not None,
                exposure=exposure_now,
                balance=row.balance,
                share=(exposure_now / limit).quantize(Decimal("0.0001")) if limit > 0 else None,
                state=current,
                investigation_open=row.investigating,
            )
        )
    found.sort(key=lambda w: (w.state != "over", -(w.share or Decimal(10**9)), w.customer.pk))
    return found
