"""The five data scopes, resolved once per user and action.

    all · custom departments · own department · own department and below · self

A user with several roles sees the union. Read-only roles contribute to "view" only.
Every user also sees the records they own themselves (through each model's scope_filter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guanxi.org.models import Department, Role

VIEW = "view"
CHANGE = "change"


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    everything: bool = False
    nothing: bool = False
    department_ids: frozenset[int] = field(default_factory=frozenset)


def department_subtree(root_id: int) -> set[int]:
    """root_id and every department below it."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Department.objects.values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, stack = set(), [root_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


def resolve_scope(actor: Any, action: str = VIEW) -> Scope:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Scope(user_id=None, nothing=True)
    cache: dict[str, Scope] = actor.__dict__.setdefault("_scope_cache", {})
    if action in cache:
        return cache[action]
    scope = _resolve(actor, action)
    cache[action] = scope
    return scope


def _resolve(actor: Any, action: str) -> Scope:
    if actor.is_superuser:
        return Scope(user_id=actor.pk, everything=True)
    roles = actor.roles()
    if action != VIEW:
        roles = [role for role in roles if not role.read_only]
        if not roles and actor.roles():
            return Scope(user_id=None, nothing=True)
    departments: set[int] = set()
    for role in roles:
        if role.data_scope == Role.DataScope.ALL:
            return Scope(user_id=actor.pk, everything=True)
        if role.data_scope == Role.DataScope.CUSTOM:
            departments.update(d.pk for d in role.custom_departments.all())
        elif role.data_scope == Role.DataScope.DEPARTMENT and actor.department_id:
            departments.add(actor.department_id)
        elif role.data_scope == Role.DataScope.DEPARTMENT_AND_BELOW and actor.department_id:
            departments.update(department_subtree(actor.department_id))
    return Scope(user_id=actor.pk, department_ids=frozenset(departments))
