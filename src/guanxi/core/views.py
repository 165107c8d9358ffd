"""首页 · 我的工作: what a user should look at today.

Counts of my customers and of their incomplete archives (customers.required_fields),
the recently updated customers in my scope, and my customers' special dates and
contacts' birthdays in the coming days. Everything starts from the data scope.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from guanxi.customers.completeness import completeness
from guanxi.customers.selectors import customer_list, special_dates_upcoming

UPCOMING_DAYS = 30
RECENT_COUNT = 10
INCOMPLETE_SHOWN = 8


@login_required
def home(request: HttpRequest) -> HttpResponse:
    actor = request.user
    context: dict[str, Any] = {"can_view_customers": actor.has_perm("customers.view_customer")}
    if context["can_view_customers"]:
        today = timezone.localdate()
        scope = customer_list(actor=actor)
        # is_mine and has_contacts are annotations of customer_list (unknown to the stubs).
        mine = list(scope.filter(is_mine=True).prefetch_related(None))  # type: ignore[misc]
        scored = [
            (customer, completeness(customer, has_contacts=customer.has_contacts))  # type: ignore[attr-defined]
            for customer in mine
        ]
        incomplete = sorted(
            (pair for pair in scored if pair[1].score < 100), key=lambda pair: pair[1].score
        )
        upcoming = special_dates_upcoming(actor=actor, today=today, days=UPCOMING_DAYS)
        context.update(
            {
                "today": today,
                "my_count": len(mine),
                "scope_count": scope.count(),
                "incomplete_count": len(incomplete),
                "incomplete": incomplete[:INCOMPLETE_SHOWN],
                "recent": scope[:RECENT_COUNT],
                "upcoming": upcoming,
                "upcoming_days": UPCOMING_DAYS,
            }
        )
    return render(request, "core/home.html", context)
