"""首页 · 我的工作: what a user should look at today.

Counts of my customers and of their incomplete archives (customers.required_fields),
the recently updated customers in my scope, and my customers' special dates and
contacts' birthdays in the coming days. Everything starts from the data scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.customers.completeness import completeness
from guanxi.customers.models import Contact, SpecialDate
from guanxi.customers.selectors import customer_list

UPCOMING_DAYS = 30
RECENT_COUNT = 10
INCOMPLETE_SHOWN = 8


@dataclass(frozen=True)
class Upcoming:
    on: dt.date
    days: int
    kind: str
    customer: Any
    contact_name: str
    note: str


def _next_occurrence(day: dt.date, *, recurring: bool, today: dt.date) -> dt.date | None:
    """The next date on or after today (29 February falls on the 28th in other years)."""
    if not recurring:
        return day if day >= today else None
    for year in (today.year, today.year + 1):
        try:
            candidate = day.replace(year=year)
        except ValueError:
            candidate = dt.date(year, 2, 28)
        if candidate >= today:
            return candidate
    return None


def _upcoming(actor: Any, today: dt.date) -> list[Upcoming]:
    """Special dates and contact birthdays of my own customers in the next days."""
    mine = Q(customer__owner=actor) | Q(customer__co_owners=actor)
    horizon = today + dt.timedelta(days=UPCOMING_DAYS)
    found: dict[tuple[Any, ...], Upcoming] = {}
    dates = (
        SpecialDate.objects.visible_to(actor)
        .alive()
        .filter(mine)
        .filter(Q(contact__isnull=True) | Q(contact__deleted_at__isnull=True))
        .select_related("customer", "contact")
        .distinct()
    )
    for item in dates:
        on = _next_occurrence(item.date, recurring=item.recurring, today=today)
        if on is None or on > horizon:
            continue
        key = (item.customer_id, item.contact_id, item.kind, on)
        found[key] = Upcoming(
            on, (on - today).days, item.get_kind_display(), item.customer,
            item.contact.name if item.contact else "", item.note,
        )  # fmt: skip
    birthdays = (
        Contact.objects.visible_to(actor)
        .alive()
        .filter(mine, birthday__isnull=False)
        .select_related("customer")
        .distinct()
    )
    for contact in birthdays:
        on = _next_occurrence(contact.birthday, recurring=True, today=today)
        if on is None or on > horizon:
            continue
        key = (contact.customer_id, contact.pk, SpecialDate.Kind.BIRTHDAY, on)
        found.setdefault(
            key,
            Upcoming(on, (on - today).days, _("生日"), contact.customer, contact.name, ""),
        )
    return sorted(found.values(), key=lambda item: (item.on, item.customer.name))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    actor = request.user
    context: dict[str, Any] = {"can_view_customers": actor.has_perm("customers.view_customer")}
    if context["can_view_customers"]:
        today = timezone.localdate()
        scope = customer_list(actor=actor)
        mine = list(scope.filter(is_mine=True).prefetch_related(None))
        scored = [
            (customer, completeness(customer, has_contacts=customer.has_contacts))
            for customer in mine
        ]
        incomplete = sorted(
            (pair for pair in scored if pair[1].score < 100), key=lambda pair: pair[1].score
        )
        upcoming = _upcoming(actor, today)
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
