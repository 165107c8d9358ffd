"""Data quality of the archive (数据质量): completeness and freshness per owner and per
department, inside the actor's data scope. Policy: customers.required_fields,
customers.freshness_days.

Everything is counted by the database in one grouped query per table (conditional
counts whose conditions are Q expressions built from the policy's required fields), never
by loading customers into Python. The "to fix" list is an ordinary scoped customer list
filtered by the same conditions, oldest update first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from guanxi import policy
from guanxi.customers.completeness import CHECKABLE_FIELDS
from guanxi.customers.models import Contact, Customer
from guanxi.org.scopes import VIEW

INCOMPLETE = "incomplete"
STALE = "stale"
PROBLEMS = (INCOMPLETE, STALE)
# A condition no row meets (a required field that cannot be empty, e.g. owner).
NEVER = Q(pk__isnull=True)


def missing_q(field: str) -> Q:
    """Customers whose required `field` is empty ("contacts": no live contact)."""
    if field == "contacts":
        return ~Q(
            Exists(Contact.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True))
        )
    model_field = Customer._meta.get_field(field)
    q = Q(**{f"{model_field.attname}__isnull": True}) if model_field.null else Q()
    if model_field.empty_strings_allowed and not model_field.is_relation:
        q |= Q(**{model_field.attname: ""})
    return q if q else NEVER


@dataclass(frozen=True)
class Rules:
    """The policy in force for the page: required fields and the freshness period."""

    required: tuple[str, ...]
    freshness_days: int
    stale_before: dt.datetime

    @property
    def incomplete_q(self) -> Q:
        q = Q()
        for field in self.required:
            q |= missing_q(field)
        return q if self.required else NEVER

    @property
    def stale_q(self) -> Q:
        return Q(updated_at__lt=self.stale_before)

    def problem_q(self, problem: str) -> Q:
        if problem == INCOMPLETE:
            return self.incomplete_q
        if problem == STALE:
            return self.stale_q
        return self.incomplete_q | self.stale_q


def rules(*, at: dt.datetime | None = None) -> Rules:
    at = at or timezone.now()
    required = tuple(
        f for f in policy.get("customers.required_fields", at=at) if f in CHECKABLE_FIELDS
    )
    days = policy.get("customers.freshness_days", at=at)
    return Rules(required=required, freshness_days=days, stale_before=at - dt.timedelta(days=days))


def _counts(rules: Rules) -> dict[str, Count]:
    return {
        "total": Count("pk"),
        "incomplete": Count("pk", filter=rules.incomplete_q),
        "stale": Count("pk", filter=rules.stale_q),
        "either": Count("pk", filter=rules.incomplete_q | rules.stale_q),
    }


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    total: int
    incomplete: int
    stale: int
    either: int

    @property
    def complete_percent(self) -> int:
        return round(100 * (self.total - self.incomplete) / self.total) if self.total else 100

    @property
    def fresh_percent(self) -> int:
        return round(100 * (self.total - self.stale) / self.total) if self.total else 100


@dataclass(frozen=True)
class Summary:
    rules: Rules
    total: int
    incomplete: int
    stale: int
    either: int
    missing: list[tuple[str, str, int]]  # (field, label, customers missing it)
    by_owner: list[GroupRow]
    by_department: list[GroupRow]


def scoped_customers(*, actor: Any) -> QuerySet[Customer]:
    return Customer.objects.visible_to(actor, VIEW).alive()


def quality_summary(*, actor: Any, at: dt.datetime | None = None) -> Summary:
    """Counts for the actor's scope: overall, per required field, per owner, per department
    (three grouped queries; the per-field counts ride on the overall one)."""
    current = rules(at=at)
    customers = scoped_customers(actor=actor)
    per_field = {
        f"missing_{field}": Count("pk", filter=missing_q(field)) for field in current.required
    }
    overall = customers.aggregate(**_counts(current), **per_field)
    missing = [
        (field, str(CHECKABLE_FIELDS[field]), overall[f"missing_{field}"])
        for field in current.required
    ]
    missing.sort(key=lambda item: -item[2])

    def grouped(id_field: str, *name_fields: str) -> list[GroupRow]:
        rows = (
            customers.order_by()
            .values(id_field, *name_fields)
            .annotate(**_counts(current))
            .order_by(id_field)
        )
        found = [
            GroupRow(
                id=row[id_field],
                name=next((str(row[f]) for f in name_fields if row[f]), str(row[id_field])),
                total=row["total"],
                incomplete=row["incomplete"],
                stale=row["stale"],
                either=row["either"],
            )
            for row in rows
        ]
        return sorted(found, key=lambda r: (-r.either, r.name))

    return Summary(
        rules=current,
        total=overall["total"],
        incomplete=overall["incomplete"],
        stale=overall["stale"],
        either=overall["either"],
        missing=missing,
        by_owner=grouped("owner_id", "owner__name", "owner__username"),
        by_department=grouped("department_id", "department__name"),
    )


def customers_to_fix(
    *,
    actor: Any,
    problem: str = "",
    owner_id: int | None = None,
    department_id: int | None = None,
    at: dt.datetime | None = None,
) -> QuerySet[Customer]:
    """Customers in scope with a missing required field or not updated within the period
    (or only one of the two), oldest update first, ready for a keyset page (sort "-updated")."""
    current = rules(at=at)
    customers = scoped_customers(actor=actor).filter(current.problem_q(problem))
    if owner_id:
        customers = customers.filter(owner_id=owner_id)
    if department_id:
        customers = customers.filter(department_id=department_id)
    live = Contact.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True)
    return (
        customers.select_related("owner", "department")
        .annotate(has_contacts=Exists(live))
        .order_by("updated_at", "id")
    )
