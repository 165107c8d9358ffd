"""The cooperation status on pages:

    {% load cooperation_tags %}{% customer_cooperation_panel customer request.user %}
    {% status_badge code ladder %}

The panel shows the customer's status with its colour, meaning and work plan
(cooperation.ladder), an open special review, and the history of changes. The customer
page has already fetched the customer through the user's data scope.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from guanxi.cooperation import selectors
from guanxi.cooperation.ladder import Ladder, Step
from guanxi.cooperation.models import SpecialReview
from guanxi.core.templatetags.guanxi_tags import colour

register = template.Library()
PANEL_ROWS = 8


@register.inclusion_tag("cooperation/_panel.html")
def customer_cooperation_panel(customer: Any, user: Any) -> dict[str, Any]:
    ladder = selectors.ladder_now()
    changes = list(
        selectors.status_change_list(actor=user, customer_id=customer.pk)[: PANEL_ROWS + 1]
    )
    open_review = (
        selectors.special_review_list(actor=user)
        .filter(customer_id=customer.pk, status=SpecialReview.Status.OPEN)
        .first()
        if user.has_perm("cooperation.view_specialreview")
        else None
    )
    return {
        "customer": customer,
        "ladder": ladder,
        "step": ladder.get(customer.cooperation_status),
        "changes": changes[:PANEL_ROWS],
        "more": len(changes) > PANEL_ROWS,
        "open_review": open_review,
        "can_change": selectors.can_change_status(actor=user, customer=customer),
    }


@register.simple_tag
def status_badge(code: str, ladder: Ladder) -> str:
    """A badge in the status colour (white gets a border so it shows on white)."""
    step = ladder.get(code) if code else None
    if step is None:
        return format_html('<span class="badge text-bg-light border">{}</span>', code or "—")
    return format_html(
        '<span class="badge border gx-status" data-status="{}" '
        'style="background-color: {}; color: {}">{}</span>',
        step.code,
        colour(step.colour),
        step.text_colour,
        step.label,
    )


@register.filter
def step_of(code: str, ladder: Ladder) -> Step | None:
    return ladder.get(code) if code else None


@register.simple_tag
def swatch(step: Step | None) -> str:
    """The 表示颜色 cell: a colour square and the colour's name."""
    if step is None:
        return "—"
    return format_html(
        '<span class="d-inline-block rounded border align-middle me-1" '
        'style="width: 1rem; height: 1rem; background-color: {}"></span>{}',
        colour(step.colour),
        step.colour_name or step.colour,
    )
