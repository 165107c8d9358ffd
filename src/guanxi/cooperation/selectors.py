"""Reads of the cooperation status, each starting from the actor's data scope
(visible_to). Policy: cooperation.ladder, cooperation.monthly_update_due_day,
cooperation.upgrade_period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from guanxi import policy
from guanxi.cooperation.ladder import Ladder, ladder_at, month_start, period_end
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview, StatusChange, UpgradeCredit
from guanxi.core.errors import NotFound
from guanxi.core.ids import parse_id
from guanxi.customers.models import Contact, Customer
from guanxi.org.scopes import CHANGE, VIEW


# --- one customer ------------------------------------------------------------------------------
def status_change_list(*, actor: Any, customer_id: int | None = None) -> QuerySet[StatusChange]:
    """Status changes of the customers the actor sees, newest first."""
    rows = StatusChange.objects.visible_to(actor, VIEW).select_related(
        "changed_by", "owner", "special_review"
    )
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows.order_by("-changed_at", "-id")


def can_change_status(*, actor: Any, customer: Customer) -> bool:
    return actor.has_perm("cooperation.add_statuschange") and (
        Customer.objects.visible_to(actor, CHANGE).filter(pk=customer.pk).exists()
    )


# --- special reviews ---------------------------------------------------------------------------
def special_review_list(*, actor: Any, status: str | None = SpecialReview.Status.OPEN) -> QuerySet:
    """Special reviews of the customers in the actor's scope (open ones by default)."""
    rows = SpecialReview.objects.visible_to(actor, VIEW).filter(customer__deleted_at__isnull=True)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related(
        "customer", "customer__department", "customer__owner", "owner", "new_owner", "closed_by"
    ).order_by("-opened_at", "-id")


def special_review_get(*, actor: Any, pk: Any) -> SpecialReview:
    """One review through scope: missing and forbidden both raise NotFound."""
    pk = parse_id(pk)
    review = special_review_list(actor=actor, status=None).filter(pk=pk).first() if pk else None
    if review is None:
        raise NotFound()
    return review


# --- the monthly update ------------------------------------------------------------------------
def current_month(now: dt.datetime | None = None) -> dt.date:
    return month_start(timezone.localdate(now or timezone.now()))


def monthly_due_date(month: dt.date) -> dt.date:
    """The day of `month` by which its update is due (cooperation.monthly_update_due_day)."""
    day = policy.get("cooperation.monthly_update_due_day")
    return month.replace(day=day)


def monthly_rows(*, actor: Any, month: dt.date) -> QuerySet[Customer]:
    """The actor's own live customers (the ones they update monthly), with this month's
    confirmed status (confirmed_status, '' when not yet confirmed)."""
    confirmed = MonthlyUpdate.objects.filter(customer_id=OuterRef("pk"), month=month)
    return (
        Customer.objects.visible_to(actor, CHANGE)
        .alive()
        .filter(owner=actor)
        .select_related("department")
        .annotate(
            confirmed_status=Subquery(confirmed.values("status")[:1]),
            confirmed_at=Subquery(confirmed.values("confirmed_at")[:1]),
        )
        .order_by("name", "pk")
    )


@dataclass
class OwnerProgress:
    owner_id: int
    name: str
    total: int
    done: int

    @property
    def pending(self) -> int:
        return self.total - self.done


@dataclass
class DepartmentProgress:
    department_id: int | None
    name: str
    owners: list[OwnerProgress] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(o.total for o in self.owners)

    @property
    def done(self) -> int:
        return sum(o.done for o in self.owners)

    @property
    def missing(self) -> list[OwnerProgress]:
        return [o for o in self.owners if o.pending]


def monthly_progress(*, actor: Any, month: dt.date) -> list[DepartmentProgress]:
    """Per department (of the owner), each owner's customers in the actor's scope and how
    many have this month's update; one aggregate query."""
    confirmed = MonthlyUpdate.objects.filter(customer_id=OuterRef("pk"), month=month)
    rows = (
        Customer.objects.visible_to(actor, VIEW)
        .alive()
        .values(
            "owner_id",
            "owner__name",
            "owner__username",
            "owner__department_id",
            "owner__department__name",
        )
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(Exists(confirmed))))
        .order_by("owner__department__name", "owner__name", "owner_id")
    )
    departments: dict[int | None, DepartmentProgress] = {}
    for row in rows:
        key = row["owner__department_id"]
        if key not in departments:
            departments[key] = DepartmentProgress(key, row["owner__department__name"] or "—")
        departments[key].owners.append(
            OwnerProgress(
                owner_id=row["owner_id"],
                name=row["owner__name"] or row["owner__username"],
                total=row["total"],
                done=row["done"],
            )
        )
    return list(departments.values())


# --- leaderboard -------------------------------------------------------------------------------
@dataclass
class LeaderRow:
    rank: int
    owner_id: int
    name: str
    department: str
    upgrades: int


def leaderboard(*, actor: Any, period: str, start: dt.date) -> list[LeaderRow]:
    """Upgrades counted per owner in the period starting at `start` (credits of customers
    in the actor's scope), best first; ties share a rank."""
    end = period_end(period, start)
    rows = (
        UpgradeCredit.objects.visible_to(actor, VIEW)
        .filter(period_start__gte=start, period_start__lt=end)
        .values("owner_id", "owner__name", "owner__username", "owner__department__name")
        .annotate(upgrades=Count("pk"))
        .order_by("-upgrades", "owner__name", "owner_id")
    )
    result: list[LeaderRow] = []
    for row in rows:
        rank = len(result) + 1
        if result and result[-1].upgrades == row["upgrades"]:
            rank = result[-1].rank
        result.append(
            LeaderRow(
                rank=rank,
                owner_id=row["owner_id"],
                name=row["owner__name"] or row["owner__username"],
                department=row["owner__department__name"] or "—",
                upgrades=row["upgrades"],
            )
        )
    return result


def upgrade_credit_list(*, actor: Any, period: str, start: dt.date) -> QuerySet[UpgradeCredit]:
    end = period_end(period, start)
    return (
        UpgradeCredit.objects.visible_to(actor, VIEW)
        .filter(period_start__gte=start, period_start__lt=end)
        .select_related("owner", "customer", "change")
        .order_by("-created_at", "-id")
    )


# --- 客户统计表 -----------------------------------------------------------------------------
def statistics_rows(*, actor: Any, status: str = "", **filters: Any) -> QuerySet[Customer]:
    """The customer statistics table (客户统计表): the actor's customer list (scoped,
    customers.selectors.customer_list filters) with the primary contact's phone."""
    from guanxi.customers.selectors import customer_list

    contact = Contact.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True).order_by(
        "-is_primary", "id"
    )
    rows = customer_list(actor=actor, sort="name", **filters)
    if status:
        rows = rows.filter(cooperation_status=status)
    return rows.prefetch_related(None).annotate(
        contact_mobile=Subquery(contact.values("mobile")[:1]),
        contact_phone=Subquery(contact.values("phone")[:1]),
    )


def status_counts(*, actor: Any) -> dict[str, int]:
    """Live customers in scope per status code ('' for none)."""
    rows = (
        Customer.objects.visible_to(actor, VIEW)
        .alive()
        .values("cooperation_status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["cooperation_status"]: row["n"] for row in rows}


def ladder_now() -> Ladder:
    return ladder_at(timezone.now())


def months_back(month: dt.date, count: int) -> list[dt.date]:
    """`count` months ending with `month`, oldest first."""
    months = [month]
    for _ in range(count - 1):
        months.insert(0, month_start(months[0] - dt.timedelta(days=1)))
    return months
