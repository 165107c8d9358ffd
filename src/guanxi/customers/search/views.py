"""The data quality page (数据质量): completeness and freshness per owner and department in
the user's scope, and the list of customers to fix. Policy: customers.required_fields,
customers.freshness_days."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from guanxi.customers.completeness import completeness
from guanxi.customers.search import quality
from guanxi.customers.search.pagination import keyset_page, parse_cursor

PAGE_SIZE = 50


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def data_quality(request: HttpRequest) -> HttpResponse:
    actor = request.user
    problem = request.GET.get("problem", "")
    if problem not in quality.PROBLEMS:
        problem = ""
    owner_id, department_id = _id(request.GET.get("owner")), _id(request.GET.get("department"))
    summary = quality.quality_summary(actor=actor)
    to_fix = quality.customers_to_fix(
        actor=actor, problem=problem, owner_id=owner_id, department_id=department_id
    )
    page = keyset_page(
        to_fix, sort="-updated", cursor=parse_cursor(request.GET.get("cursor")), size=PAGE_SIZE
    )
    rows = [
        (customer, completeness(customer, has_contacts=customer.has_contacts))
        for customer in page.rows
    ]
    owners = {row.id: row.name for row in summary.by_owner}
    departments = {row.id: row.name for row in summary.by_department}
    context = {
        "summary": summary,
        "page": page,
        "rows": rows,
        "problem": problem,
        "owner_name": owners.get(owner_id, "") if owner_id else "",
        "department_name": departments.get(department_id, "") if department_id else "",
        "stale_before": summary.rules.stale_before,
    }
    return render(request, "customers/quality/index.html", context)
