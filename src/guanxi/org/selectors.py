from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.org.models import Department, User
from guanxi.org.scopes import resolve_scope


def users_visible_to(actor: Any) -> QuerySet[User]:
    """Users an actor may pick as owner or filter by: those of the departments in scope."""
    scope = resolve_scope(actor)
    users = User.objects.filter(is_active=True).select_related("department")
    if scope.everything:
        return users
    if scope.nothing:
        return users.none()
    from django.db.models import Q

    return users.filter(Q(department_id__in=scope.department_ids) | Q(pk=actor.pk))


def departments_visible_to(actor: Any) -> QuerySet[Department]:
    scope = resolve_scope(actor)
    if scope.everything:
        return Department.objects.all()
    ids = set(scope.department_ids)
    if actor.department_id:
        ids.add(actor.department_id)
    return Department.objects.filter(pk__in=ids)
