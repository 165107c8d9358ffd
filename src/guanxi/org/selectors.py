"""Reads of the organisation, through the actor's data scope."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Prefetch, Q, QuerySet

from guanxi.core.errors import NotFound
from guanxi.core.ids import parse_id
from guanxi.org.models import Department, User
from guanxi.org.scopes import resolve_scope


def _pk(value: Any) -> int:
    pk = parse_id(value)
    if pk is None:
        raise NotFound()
    return pk


def user_list(actor: Any, *, include_inactive: bool = False) -> QuerySet[User]:
    """Users of the departments in the actor's scope (and the actor), roles prefetched."""
    scope = resolve_scope(actor)
    users = User.objects.select_related("department").prefetch_related(
        Prefetch(
            "groups",
            queryset=Group.objects.select_related("role").order_by("role__sort_order", "id"),
        )
    )
    if not include_inactive:
        users = users.filter(is_active=True)
    if scope.everything:
        return users
    if scope.nothing:
        return users.none()
    return users.filter(Q(department_id__in=scope.department_ids) | Q(pk=actor.pk))


def users_visible_to(actor: Any) -> QuerySet[User]:
    """Active users an actor may pick as owner or filter by."""
    return user_list(actor)


def user_get(*, actor: Any, pk: Any, include_inactive: bool = True) -> User:
    user = user_list(actor, include_inactive=include_inactive).filter(pk=_pk(pk)).first()
    if user is None:
        raise NotFound()
    return user


def departments_visible_to(actor: Any) -> QuerySet[Department]:
    scope = resolve_scope(actor)
    if scope.everything:
        return Department.objects.all()
    ids = set(scope.department_ids)
    if actor.department_id:
        ids.add(actor.department_id)
    return Department.objects.filter(pk__in=ids)


def department_get(*, actor: Any, pk: Any) -> Department:
    department = departments_visible_to(actor).filter(pk=_pk(pk)).first()
    if department is None:
        raise NotFound()
    return department
