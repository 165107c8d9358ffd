"""Reads of the annual review cycle and the grade lifecycle. Everything about customers
starts from the actor's data scope (visible_to); cycles themselves are company-wide.

- cycle_list / cycle_get / cycle_in_progress
- entry_list(*, actor, cycle, …) / entry_get: the 《客户等级评定表》 rows in scope
- cycle_progress(*, actor, cycle): per department (of the customer) total, rated, adjusted
- key_customers(*, actor, cycle): 《年度重要顾客一览表》 (effective cycles only)
- provisional_list(*, actor, at, due_only): new customers whose provisional grade is (due
  to be) reviewed (reviews.provisional_months)
- elimination_candidates(*, actor, at): reviews.elimination_grades for
  reviews.elimination_years
- growth_ranking(*, actor, at): year-on-year growth from the ledger's CustomerMonth
- treatment_grade(s) / customer_treatment: the grade whose treatment a customer gets
  (an approved application in force raises it; reviews.treatment_raise)
- dashboard(*, actor, at): the management dashboard's figures
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Cast
from django.utils import timezone

from guanxi import policy
from guanxi.core.errors import NotFound
from guanxi.core.ids import parse_id
from guanxi.customers.models import Customer
from guanxi.ledger.models import CustomerMonth
from guanxi.ledger.periods import add_months, shift_months, start_of_day
from guanxi.org.scopes import CHANGE, VIEW
from guanxi.reviews import grading_adapter
from guanxi.reviews.models import ProvisionalReview, ReviewCycle, ReviewEntry, TreatmentApplication

Status = ReviewCycle.Status


# --- cycles ------------------------------------------------------------------------------------
def cycle_list() -> QuerySet[ReviewCycle]:
    return ReviewCycle.objects.select_related("opened_by", "approved_by").order_by("-year", "-id")


def cycle_get(*, pk: Any) -> ReviewCycle:
    key = parse_id(pk)
    cycle = cycle_list().filter(pk=key).first() if key is not None else None
    if cycle is None:
        raise NotFound()
    return cycle


def cycle_in_progress() -> ReviewCycle | None:
    return cycle_list().filter(in_progress=True).first()


def entry_list(
    *,
    actor: Any,
    cycle: ReviewCycle,
    department_id: int | None = None,
    state: str = "",
    mine: bool = False,
    grade: str = "",
) -> QuerySet[ReviewEntry]:
    """The cycle's entries for the customers in the actor's scope, by customer name.
    state: unrated | rated | adjusted | changed (decided grade differs from the previous)."""
    rows = (
        ReviewEntry.objects.visible_to(actor, VIEW)
        .filter(cycle=cycle, customer__deleted_at__isnull=True)
        .select_related(
            "customer", "customer__department", "customer__owner", "rated_by", "adjusted_by"
        )
    )
    if department_id:
        rows = rows.filter(customer__department_id=department_id)
    if mine:
        rows = rows.filter(customer__owner=actor)
    if state == "unrated":
        rows = rows.filter(initial_grade="")
    elif state == "rated":
        rows = rows.exclude(initial_grade="")
    elif state == "adjusted":
        rows = rows.exclude(adjusted_grade="")
    if grade:
        rows = rows.filter(
            Q(final_grade=grade)
            | Q(final_grade="", adjusted_grade=grade)
            | Q(final_grade="", adjusted_grade="", initial_grade=grade)
            | Q(final_grade="", adjusted_grade="", initial_grade="", proposed_grade=grade)
        )
    return rows.order_by("customer__name", "pk")


def entry_get(*, actor: Any, pk: Any, action: str = VIEW) -> ReviewEntry:
    """One entry through scope: missing and forbidden both raise NotFound."""
    key = parse_id(pk)
    row = (
        ReviewEntry.objects.visible_to(actor, action)
        .filter(pk=key, customer__deleted_at__isnull=True)
        .select_related(
            "cycle",
            "customer__department",
            "customer__owner",
            "rated_by",
            "adjusted_by",
        )
        .first()
        if key is not None
        else None
    )
    if row is None:
        raise NotFound()
    return row


def editable_entries(*, actor: Any, entry_ids: list[int]) -> set[int]:
    """Which of these entries the actor may rate or adjust (CHANGE scope)."""
    return set(
        ReviewEntry.objects.visible_to(actor, CHANGE)
        .filter(pk__in=entry_ids)
        .values_list("pk", flat=True)
    )


@dataclass
class DepartmentProgress:
    department_id: int | None
    name: str
    total: int
    rated: int
    adjusted: int

    @property
    def pending(self) -> int:
        return self.total - self.rated

    @property
    def percent(self) -> int:
        return round(100 * self.rated / self.total) if self.total else 100


def cycle_progress(*, actor: Any, cycle: ReviewCycle) -> list[DepartmentProgress]:
    """Per department of the customer: entries in the actor's scope, how many the owners
    rated and how many the review meeting adjusted. One aggregate query."""
    rows = (
        ReviewEntry.objects.visible_to(actor, VIEW)
        .filter(cycle=cycle, customer__deleted_at__isnull=True)
        .values("customer__department_id", "customer__department__name")
        .annotate(
            total=Count("pk"),
            rated=Count("pk", filter=~Q(initial_grade="")),
            adjusted=Count("pk", filter=~Q(adjusted_grade="")),
        )
        .order_by("customer__department__name", "customer__department_id")
    )
    return [
        DepartmentProgress(
            department_id=row["customer__department_id"],
            name=row["customer__department__name"] or "—",
            total=row["total"],
            rated=row["rated"],
            adjusted=row["adjusted"],
        )
        for row in rows
    ]


def progress_total(progress: list[DepartmentProgress]) -> DepartmentProgress:
    return DepartmentProgress(
        department_id=None,
        name="",
        total=sum(p.total for p in progress),
        rated=sum(p.rated for p in progress),
        adjusted=sum(p.adjusted for p in progress),
    )


def key_customers(*, actor: Any, cycle: ReviewCycle) -> QuerySet[ReviewEntry]:
    """《年度重要顾客一览表》: entries of an effective cycle whose final grade is one of the
    key grades frozen at approval (empty before approval: nothing is produced earlier)."""
    if cycle.status != Status.EFFECTIVE:
        return ReviewEntry.objects.none()
    return (
        entry_list(actor=actor, cycle=cycle)
        .filter(final_grade__in=cycle.key_grades)
        .order_by("-proposed_score", "customer__name", "pk")
    )


# --- lifecycle ---------------------------------------------------------------------------------
def _day_after(day: dt.date) -> dt.datetime:
    return start_of_day(day + dt.timedelta(days=1))


def _confirmed() -> Q:
    """The customer's grade was confirmed by people since it was filed: an effective annual
    review or a provisional review."""
    in_cycle = ReviewEntry.objects.filter(
        customer_id=OuterRef("pk"),
        cycle__status=Status.EFFECTIVE,
        cycle__approved_at__gte=OuterRef("created_at"),
    )
    reviewed = ProvisionalReview.objects.filter(customer_id=OuterRef("pk"))
    return Q(Exists(in_cycle)) | Q(Exists(reviewed))


def provisional_list(
    *, actor: Any, at: dt.datetime | None = None, due_only: bool = True
) -> QuerySet[Customer]:
    """New customers whose grade is still provisional; due_only: filed at least
    reviews.provisional_months ago (the review is due). Oldest first."""
    at = at or timezone.now()
    months = policy.get("reviews.provisional_months", at=at)
    rows = (
        Customer.objects.visible_to(actor, VIEW)
        .alive()
        .exclude(_confirmed())
        .select_related("department", "owner")
    )
    if due_only:
        cutoff = shift_months(timezone.localtime(at).date(), -months)
        rows = rows.filter(created_at__lt=_day_after(cutoff))
    return rows.order_by("created_at", "pk")


def review_due_on(customer: Customer, *, at: dt.datetime | None = None) -> dt.date:
    months = policy.get("reviews.provisional_months", at=at)
    return shift_months(timezone.localtime(customer.created_at).date(), months)


def elimination_candidates(*, actor: Any, at: dt.datetime | None = None) -> QuerySet[Customer]:
    """Customers whose grade is one of reviews.elimination_grades and has not been anything
    better for reviews.elimination_years: filed that long ago, and no grade outside those
    grades since (engine runs, effective annual reviews, provisional reviews)."""
    at = at or timezone.now()
    grades = list(policy.get("reviews.elimination_grades", at=at))
    years = policy.get("reviews.elimination_years", at=at)
    cutoff_day = shift_months(timezone.localtime(at).date(), -12 * years)
    since = _day_after(cutoff_day)
    raised_in_cycle = ReviewEntry.objects.filter(
        customer_id=OuterRef("pk"),
        cycle__status=Status.EFFECTIVE,
        cycle__approved_at__gte=since,
    ).exclude(final_grade__in=grades)
    raised_provisionally = ProvisionalReview.objects.filter(
        customer_id=OuterRef("pk"), reviewed_at__gte=since
    ).exclude(grade__in=grades)
    return (
        Customer.objects.visible_to(actor, VIEW)
        .alive()
        .filter(grade__in=grades, created_at__lt=since)
        .exclude(grading_adapter.higher_grade_since(grades=grades, since=since))
        .exclude(Exists(raised_in_cycle))
        .exclude(Exists(raised_provisionally))
        .select_related("department", "owner")
        .order_by("created_at", "pk")
    )


@dataclass
class GrowthRow:
    rank: int
    customer_id: int
    name: str
    department: str
    owner: str
    grade: str
    previous: Decimal
    current: Decimal

    @property
    def growth(self) -> Decimal:
        return ((self.current - self.previous) / self.previous).quantize(Decimal("0.0001"))

    @property
    def growth_percent(self) -> Decimal:
        return (self.growth * 100).quantize(Decimal("0.1"))

    @property
    def increase(self) -> Decimal:
        return self.current - self.previous


def growth_periods(at: dt.datetime | None = None) -> tuple[dt.date, dt.date, dt.date]:
    """(start of y0, start of y1, end of y1 exclusive): the 12 whole months before this
    month (y1) and the 12 before those (y0), as the grading engine defines them."""
    month = timezone.localtime(at or timezone.now()).date().replace(day=1)
    return add_months(month, -24), add_months(month, -12), month


def growth_ranking(
    *, actor: Any, at: dt.datetime | None = None, limit: int | None = None
) -> list[GrowthRow]:
    """Fastest-growing customers by year-on-year shipped amount (CustomerMonth sums, one
    grouped query); customers below reviews.growth_min_base in y0 are left out."""
    at = at or timezone.now()
    y0, y1, end = growth_periods(at)
    base = Decimal(str(policy.get("reviews.growth_min_base", at=at)))
    limit = limit or policy.get("reviews.growth_ranking_size", at=at)
    visible = Customer.objects.visible_to(actor, VIEW).alive().values("pk")
    rows = (
        CustomerMonth.objects.filter(customer_id__in=visible, month__gte=y0, month__lt=end)
        .values(
            "customer_id",
            "customer__name",
            "customer__grade",
            "customer__department__name",
            "customer__owner__name",
            "customer__owner__username",
        )
        .annotate(
            previous=Sum("shipped_amount", filter=Q(month__lt=y1), default=Decimal(0)),
            current=Sum("shipped_amount", filter=Q(month__gte=y1), default=Decimal(0)),
        )
        .filter(previous__gt=0, previous__gte=base)
        .annotate(
            # As floats for the ordering only (SQLite's NUMERIC arithmetic on whole sums is
            # integer division); the figures shown are computed from the exact sums.
            growth=ExpressionWrapper(
                Cast(F("current") - F("previous"), FloatField())
                / Cast(F("previous"), FloatField()),
                output_field=FloatField(),
            )
        )
        .order_by("-growth", "customer__name", "customer_id")[:limit]
    )
    return [
        GrowthRow(
            rank=index,
            customer_id=row["customer_id"],
            name=row["customer__name"],
            department=row["customer__department__name"] or "—",
            owner=row["customer__owner__name"] or row["customer__owner__username"],
            grade=row["customer__grade"],
            previous=Decimal(row["previous"]),
            current=Decimal(row["current"]),
        )
        for index, row in enumerate(rows, start=1)
    ]


# --- treatment applications -------------------------------------------------------------------
def application_list(*, actor: Any, status: str = "") -> QuerySet[TreatmentApplication]:
    rows = (
        TreatmentApplication.objects.visible_to(actor, VIEW)
        .alive()
        .select_related("customer", "customer__department", "applied_by", "decided_by")
    )
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-applied_at", "-id")


def application_get(*, actor: Any, pk: Any, action: str = VIEW) -> TreatmentApplication:
    key = parse_id(pk)
    row = (
        TreatmentApplication.objects.visible_to(actor, action)
        .alive()
        .select_related("customer", "applied_by", "decided_by")
        .filter(pk=key)
        .first()
        if key is not None
        else None
    )
    if row is None:
        raise NotFound()
    return row


def _in_force(day: dt.date) -> Q:
    return Q(status=TreatmentApplication.Status.APPROVED, valid_until__gte=day)


def active_application(
    *, customer_id: int, at: dt.datetime | None = None
) -> TreatmentApplication | None:
    day = timezone.localtime(at or timezone.now()).date()
    return (
        TreatmentApplication.objects.filter(_in_force(day), customer_id=customer_id)
        .order_by("-valid_until")
        .first()
    )


def treatment_grades(customers: list[Customer], *, at: dt.datetime | None = None) -> dict[int, str]:
    """{customer id: the grade whose treatment the customer gets}: its grade, raised by an
    approved application in force (one query for any number of customers)."""
    day = timezone.localtime(at or timezone.now()).date()
    raised = dict(
        TreatmentApplication.objects.filter(
            _in_force(day), customer_id__in=[c.pk for c in customers]
        ).values_list("customer_id", "requested_grade")
    )
    return {c.pk: raised.get(c.pk, c.grade) for c in customers}


def customer_treatment(customer: Customer, *, at: dt.datetime | None = None) -> Any:
    """grading.selectors.grade_treatment, which applies treatment_grades (registered as a
    treatment hook in ReviewsConfig.ready); kept for this app's callers."""
    from guanxi.grading.selectors import grade_treatment

    return grade_treatment(customer, at=at)


# --- dashboard ---------------------------------------------------------------------------------
def dashboard(*, actor: Any, at: dt.datetime | None = None) -> dict[str, Any]:
    """The management dashboard's figures, all in the actor's data scope."""
    from guanxi.cooperation.selectors import ladder_now, special_review_list, status_counts
    from guanxi.grading.selectors import grade_distribution

    grades = [
        {"code": code, "label": str(label), "count": count}
        for code, label, count in grade_distribution(actor=actor)
    ]
    counts = status_counts(actor=actor)
    ladder = ladder_now()
    statuses = [
        {"code": step.code, "label": str(step.label), "colour": step.colour,
         "count": counts.pop(step.code, 0)}
        for step in ladder
    ]  # fmt: skip
    unset = sum(counts.values())
    if unset:
        statuses.append({"code": "", "label": "—", "colour": "#adb5bd", "count": unset})
    cycle = cycle_in_progress()
    progress = None
    if cycle is not None:
        total = progress_total(cycle_progress(actor=actor, cycle=cycle))
        progress = {
            "cycle": cycle.pk,
            "title": str(cycle),
            "status": cycle.status,
            "status_label": str(cycle.get_status_display()),
            "total": total.total,
            "rated": total.rated,
            "adjusted": total.adjusted,
            "percent": total.percent,
        }
    return {
        "grades": grades,
        "statuses": statuses,
        "due_reviews": provisional_list(actor=actor, at=at).count(),
        "elimination_candidates": elimination_candidates(actor=actor, at=at).count(),
        "open_special_reviews": special_review_list(actor=actor).count(),
        "pending_applications": application_list(
            actor=actor, status=TreatmentApplication.Status.PENDING
        ).count(),
        "cycle": progress,
    }
