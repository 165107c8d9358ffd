"""Grading: reads used outside the app. Every customer is fetched through its data scope.

- grade_get(*, actor, customer_id) -> GradeView: the customer's current grade, score,
  policy version and breakdown (the latest run; computed now, unstored, if never graded).
- grade_history(*, customer, limit=20) -> list[dict]: the customer's grades over the runs.
- grade_treatment(customer_or_grade, *, at=None) -> Treatment: visit frequency, service
  tier and reception budget of the customer's grade (grading.treatment).
- grade_treatments(grades, *, at=None) -> dict[grade, Treatment]: the bulk form, e.g.
  `grade_treatments(qs.values_list("grade", flat=True))` then look up per row.
- grade_distribution(*, actor) -> list[(code, label, count)]: customers in scope per grade.
- role_scores(*, customer) -> list[RoleScore]: current role scores of a customer.
- graded_outside_since(*, grades, since) -> Exists: for a Customer queryset, "a finished
  run graded the customer outside `grades` since `since`" (e.g. a C never raised to B).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get
from guanxi.grading import engine
from guanxi.grading.models import GradeScore, GradingRun, RoleScore


@dataclass
class GradeView:
    customer_id: int
    grade: str
    grade_label: str
    score: Decimal
    policy_version: int
    breakdown: list[dict[str, Any]]
    computed_at: Any = None
    run_id: int | None = None
    stored: bool = True
    history: list[dict[str, Any]] = field(default_factory=list)


def latest_score(customer_id: int) -> GradeScore | None:
    return (
        GradeScore.objects.filter(customer_id=customer_id, run__status=GradingRun.Status.DONE)
        .select_related("run")
        .order_by("-run_id")
        .first()
    )


def _label(bands: list[dict[str, Any]], code: str) -> str:
    return next((b["label"] for b in bands if b["code"] == code), code)


def grade_view(customer: Customer, *, live: bool = True) -> GradeView | None:
    """The grade of a customer the caller already fetched through scope: the latest run's;
    never graded: computed now, unstored, when `live` (percentiles over all customers, so
    not for pages), else None."""
    row = latest_score(customer.pk)
    if row is not None:
        return GradeView(
            customer_id=customer.pk,
            grade=row.grade,
            grade_label=_label(row.run.bands, row.grade),
            score=row.score,
            policy_version=row.run.policy_version,
            breakdown=engine.breakdown(row.run.model, row.values, row.points),
            computed_at=row.computed_at,
            run_id=row.run_id,
        )
    if not live:
        return None
    from guanxi.grading.services import grade_preview, resolved_pack

    pack = resolved_pack()
    scored = grade_preview(customer_ids=[customer.pk], pack=pack)[customer.pk]
    return GradeView(
        customer_id=customer.pk,
        grade=scored.grade,
        grade_label=pack.band_label(scored.grade),
        score=scored.score,
        policy_version=pack.version,
        breakdown=engine.breakdown(
            pack.frozen_model(), [_plain(v) for v in scored.values], scored.points
        ),
        stored=False,
    )


def _plain(value: Any) -> Any:
    return None if value is None else str(value)


def grade_get(*, actor: Any, customer_id: Any) -> GradeView:
    """Scoped: NotFound for a customer missing or out of the actor's scope."""
    view = grade_view(customer_get(actor=actor, pk=customer_id))
    assert view is not None
    return view


def grade_history(*, customer: Customer, limit: int = 20) -> list[dict[str, Any]]:
    rows = (
        GradeScore.objects.filter(customer_id=customer.pk, run__status=GradingRun.Status.DONE)
        .select_related("run")
        .order_by("-run_id")[: limit + 1]
    )
    rows = list(rows)
    history = []
    for index, row in enumerate(rows[:limit]):
        before = rows[index + 1].grade if index + 1 < len(rows) else None
        history.append(
            {
                "grade": row.grade,
                "label": _label(row.run.bands, row.grade),
                "score": row.score,
                "policy_version": row.run.policy_version,
                "computed_at": row.computed_at,
                "as_of": row.run.as_of,
                "changed": before is not None and before != row.grade,
                "previous": before,
            }
        )
    return history


@dataclass(frozen=True)
class Treatment:
    grade: str
    visit_every_months: int
    visits_per_year: Decimal
    service_tier: str
    service_label: str
    reception_class: str
    reception_budget: Decimal


def _treatment(table: dict[str, Any], grade: str) -> Treatment:
    entry = table.get(grade) or table["*"]
    months = int(entry["visit_every_months"])
    return Treatment(
        grade=grade,
        visit_every_months=months,
        visits_per_year=(Decimal(12) / Decimal(months)).quantize(Decimal("0.01")),
        service_tier=entry["service_tier"],
        service_label=entry.get("service_label", entry["service_tier"]),
        reception_class=entry.get("reception_class", ""),
        reception_budget=Decimal(str(entry.get("reception_budget", "0"))),
    )


def grade_treatments(
    grades: Iterable[str], *, at: dt.datetime | None = None, table: dict[str, Any] | None = None
) -> dict[str, Treatment]:
    """Treatment per distinct grade code (one policy read for any number of customers)."""
    table = table if table is not None else policy.get("grading.treatment", at=at)
    return {grade: _treatment(table, grade) for grade in set(grades)}


# The grade a customer is *treated* as may be higher than its grade (an approved
# A-treatment application, reviews app). Such capabilities register a function
# (customers, at) -> {customer id: treatment grade} here in their AppConfig.ready(), so that
# grade_treatment stays the one selector every later capability calls.
TREATMENT_GRADE_HOOKS: list[Callable[..., dict[int, str]]] = []  # (customers, *, at)


def treatment_grade(customer: Customer, *, at: dt.datetime | None = None) -> str:
    grade = customer.grade
    for hook in TREATMENT_GRADE_HOOKS:
        grade = hook([customer], at=at).get(customer.pk, grade)
    return grade


def grade_treatment(customer: Customer | str, *, at: dt.datetime | None = None) -> Treatment:
    """What a customer gets: visit frequency, service tier, reception budget
    (grading.treatment; '*' for grades not listed and for ungraded customers). Given a
    customer, its treatment grade (its grade, raised by the registered hooks); given a
    grade code, that grade's treatment."""
    grade = customer if isinstance(customer, str) else treatment_grade(customer, at=at)
    return grade_treatments([grade], at=at)[grade]


def grade_distribution(*, actor: Any) -> list[tuple[str, str, int]]:
    counts = dict(
        Customer.objects.visible_to(actor)
        .alive()
        .values("grade")
        .annotate(n=Count("pk"))
        .values_list("grade", "n")
    )
    bands = policy.get("grading.bands")
    rows = [(b["code"], b["label"], counts.pop(b["code"], 0)) for b in bands]
    for code, n in sorted(counts.items()):
        rows.append((code, code or str(_("未评级")), n))
    return rows


def role_scores(*, customer: Customer) -> list[RoleScore]:
    return list(
        RoleScore.objects.filter(customer_id=customer.pk, current=True).select_related("scored_by")
    )


def role_score_history(*, customer: Customer, limit: int = 30) -> list[RoleScore]:
    return list(
        RoleScore.objects.filter(customer_id=customer.pk)
        .select_related("scored_by")
        .order_by("-scored_at", "-id")[:limit]
    )


def latest_runs(limit: int = 10) -> list[GradingRun]:
    return list(GradingRun.objects.select_related("started_by").order_by("-id")[:limit])


def graded_outside_since(*, grades: list[str], since: dt.datetime) -> Exists:
    """Exists() over the stored grade history for annotating/filtering customers."""
    return Exists(
        GradeScore.objects.filter(
            customer_id=OuterRef("pk"),
            run__status=GradingRun.Status.DONE,
            computed_at__gte=since,
        ).exclude(grade__in=grades)
    )
