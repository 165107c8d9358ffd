"""The 《客户出货回款信息表》 panel on the customer page:

    {% load ledger_tags %}{% customer_ledger_panel customer request.user %}

Shown only to users who may see the ledger (ledger.view_shipment); the customer page has
already fetched the customer through the user's data scope.
"""

from __future__ import annotations

from typing import Any

from django import template

from guanxi.ledger.panel import PANEL_ROWS, panel_context

register = template.Library()


@register.inclusion_tag("ledger/_panel.html")
def customer_ledger_panel(customer: Any, user: Any) -> dict[str, Any]:
    if not user.has_perm("ledger.view_shipment"):
        return {"hidden": True}
    return panel_context(actor=user, customer=customer, limit_rows=PANEL_ROWS)


@register.filter
def percent(value: Any) -> str:
    """0.8512 → 85.1%"""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"


@register.filter
def sub(value: Any, other: Any) -> Any:
    """{{ a|sub:b }} → a − b (amounts)."""
    try:
        return value - other
    except TypeError:
        return ""
