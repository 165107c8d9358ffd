"""Searching the audit log (administrators) and a customer's history (anyone who may see
the customer — the caller checks that through customer_get)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import PermissionDenied


def audit_search(
    *,
    actor: Any,
    text: str = "",
    action: str = "",
    actor_id: int | None = None,
    customer_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    if not actor.has_perm("audit.view_auditevent"):
        raise PermissionDenied()
    events = AuditEvent.objects.all()
    if text:
        events = events.filter(
            Q(object_repr__icontains=text) | Q(actor_name__icontains=text) | Q(ip__startswith=text)
            if _looks_like_ip(text)
            else Q(object_repr__icontains=text)
            | Q(actor_name__icontains=text)
            | Q(note__icontains=text)
        )
    if action:
        events = events.filter(action__startswith=action)
    if actor_id:
        events = events.filter(actor_id=actor_id)
    if customer_id:
        events = events.filter(customer_id=customer_id)
    if since:
        events = events.filter(at__date__gte=since)
    if until:
        events = events.filter(at__date__lte=until)
    return events


def _looks_like_ip(text: str) -> bool:
    return all(part.isdigit() for part in text.split(".")) and "." in text


def customer_history(*, customer_id: int) -> QuerySet[AuditEvent]:
    """Changes only (views and exports are audited but are not history)."""
    return AuditEvent.objects.filter(customer_id=customer_id).exclude(
        action__in=["customer.viewed", "customer.exported", "attachment.downloaded"]
    )
