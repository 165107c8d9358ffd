"""What the customer list needs to know about the signed-in user on every request,
cached between requests (ADR 0005).

Per user: permissions, roles, data scope (view), department, and the owners they may filter
by. Per archive: the region and tag choices, and the names of users, departments and tags
the rows show. Without a cache these are nine queries per
page view; with it they are one: the version tokens of customers_cache_version (migration
0007), which database triggers replace whenever a source table changes — in any process,
through any write path. Every cache key holds the user's id and the tokens read in this
request, so an entry is only ever served to the user it was built for, and never after a
change to the facts it was built from.

The cache is Django's (locmem by default: per process, nothing shared between users but
keys that name them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import connection

from guanxi.org.scopes import VIEW, Scope, resolve_scope

SECONDS = 600


@dataclass(frozen=True)
class Viewer:
    """The cached facts about one user."""

    user_id: int
    permissions: frozenset[str]
    roles: list[Any]
    scope: Scope
    department: Any
    owner_choices: list[tuple[int, str]]


@dataclass(frozen=True)
class Reference:
    """Names the list shows, by id: filter choices, owners, departments, tag badges."""

    regions: list[tuple[int, str]]
    tags: list[tuple[int, str]]
    tag_badges: dict[int, tuple[str, str]]  # id: (name, colour)
    user_names: dict[int, str]  # id: display name
    department_names: dict[int, str]


def versions() -> dict[str, int]:
    """The current version tokens (one small query). On PostgreSQL also 'customers:written':
    1 when this transaction has written customer rows (migration 0014, page_cache)."""
    sql = "SELECT name, token FROM customers_cache_version"
    if connection.vendor == "postgresql":
        sql += (
            " UNION ALL SELECT 'customers:written', coalesce("
            "(current_setting('guanxi.customers_page_bumped', true) = 'on')::int, 0)"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def _key(*parts: Any) -> str:
    return ":".join(str(part) for part in ("gx-list", connection.alias, *parts))


def _build_viewer(user: Any) -> Viewer:
    from guanxi.org.selectors import users_visible_to

    backend = ModelBackend()
    permissions = frozenset(backend.get_all_permissions(user))
    roles = list(user.roles())
    scope = resolve_scope(user, VIEW)
    department = user.department if user.department_id else None
    owners = [(u.pk, str(u)) for u in users_visible_to(user).prefetch_related(None)]
    return Viewer(user.pk, permissions, roles, scope, department, owners)


def viewer(user: Any, tokens: dict[str, int]) -> Viewer:
    """The user's facts, from the cache when the org tables have not changed since."""
    key = _key("viewer", user.pk, tokens.get("org"))
    found = cache.get(key)
    if isinstance(found, Viewer) and found.user_id == user.pk:
        return found
    built = _build_viewer(user)
    cache.set(key, built, SECONDS)
    return built


def apply(user: Any, facts: Viewer) -> None:
    """Put the facts where Django and the org app look for them, so permission checks,
    roles, scope and the department need no query in this request."""
    if facts.user_id != user.pk:  # never: keys name the user; a guard all the same
        raise ValueError("cached facts of another user")
    if user.is_active:
        user._perm_cache = set(facts.permissions)
    user._roles_cache = list(facts.roles)
    user.__dict__.setdefault("_scope_cache", {})[VIEW] = facts.scope
    if facts.department is not None and user.department_id == facts.department.pk:
        user._state.fields_cache["department"] = facts.department


def reference(tokens: dict[str, int]) -> Reference:
    from guanxi.customers.models import Region, Tag
    from guanxi.org.models import Department, User

    key = _key("reference", tokens.get("reference"), tokens.get("org"))
    found = cache.get(key)
    if isinstance(found, Reference):
        return found
    tags = list(Tag.objects.all())
    built = Reference(
        regions=[(r.pk, str(r)) for r in Region.objects.all()],
        tags=[(t.pk, str(t)) for t in tags],
        tag_badges={t.pk: (t.name, t.colour) for t in tags},
        user_names={u.pk: u.display_name for u in User.objects.all()},
        department_names=dict(Department.objects.values_list("pk", "name")),
    )
    cache.set(key, built, SECONDS)
    return built
