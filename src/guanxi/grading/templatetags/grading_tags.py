"""The grading panel on the customer page:

    {% load grading_tags %}{% customer_grading_panel customer request.user %}

Grade, score, policy version, breakdown, history, and what the grade gets (visit
frequency, service tier, reception budget). The breakdown shows sales figures, so it is
shown to users who may see the ledger (ledger.view_shipment); the customer page has
already fetched the customer through the user's data scope.
"""

from __future__ import annotations

from typing import Any

from django import template

from guanxi.grading import selectors, services

register = template.Library()


@register.inclusion_tag("grading/_panel.html")
def customer_grading_panel(customer: Any, user: Any) -> dict[str, Any]:
    treatment = selectors.grade_treatment(customer)
    context: dict[str, Any] = {
        "customer": customer,
        "treatment": treatment,
        "can_score": bool(services.scorable_indicators(user)),
        "detailed": user.has_perm("ledger.view_shipment"),
    }
    if context["detailed"]:
        context["view"] = selectors.grade_view(customer, live=False)
        context["history"] = selectors.grade_history(customer=customer, limit=10)
    return context


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """{{ labels|get_item:code }}"""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
