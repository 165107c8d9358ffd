"""Whole customer-list pages, cached per session between requests (ADR 0006).

A list page is a function of: the rows it shows (customers, contacts, tags, co-owners:
the 'customers:N' version tokens, migration 0014), the viewer's permissions, roles, scope
and names (the 'org' token), the filter choices (the 'reference' token), the policy in
force, the language, the user and the request's path and query. The key holds all of
them, so a page is only ever served to the session it was built for, and never after a
change to what it was built from, by any process or write path.

What the key cannot hold is left out of the cached text: the CSRF token is rendered as a
random placeholder and replaced with the request's own token on every answer. Requests
with a flash message waiting, requests outside a session and requests inside a
transaction that has written customer rows (PostgreSQL; see migration 0014) are rendered
and not cached.

A cached page is answered before the view's permission check and per-user facts
(customers.search.viewer): it was stored by a request of the same user and session that
passed them under the same 'org' token, and that token changes with anything the check
reads (the user's active and superuser flags, groups, permissions, roles).

Off with GUANXI_LIST_PAGE_CACHE=0. The cache is Django's (locmem by default: per process).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.translation import get_language

from guanxi import policy
from guanxi.customers.search import viewer

SECONDS = 600
PREFIX = "customers:"
WRITTEN = "customers:written"
"""Pseudo token (customers.search.viewer.versions on PostgreSQL): 1 when the current
transaction has written customer rows, whose new token only its commit shows others."""


def page_key(request: HttpRequest, tokens: dict[str, int], *, partial: bool) -> str | None:
    """The cache key of this request's page, or None when it must not be cached."""
    shards = sorted((name, token) for name, token in tokens.items() if name.startswith(PREFIX))
    if (
        not settings.LIST_PAGE_CACHE
        or request.method != "GET"
        or tokens.get(WRITTEN)
        or not any(name != WRITTEN for name, _token in shards)
        or "org" not in tokens
        or "reference" not in tokens
    ):
        return None
    session_key = request.session.session_key
    user = request.user
    if not session_key or not user.is_authenticated or len(messages.get_messages(request)):
        return None
    parts = (
        shards, tokens["org"], tokens["reference"], policy.version_at(), get_language(),
        user.pk, user.is_staff, user.is_superuser, session_key, request.get_full_path(),
        bool(partial),
    )  # fmt: skip
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"gx-page:{connection.alias}:{user.pk}:{digest}"


def is_partial(request: HttpRequest) -> bool:
    """An htmx request for the results only (not a history restore: that wants the page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.history_restore_request)


def cached(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer the request from the cache when its page is there (after login_required,
    before the rest: see the module's docstring); otherwise leave the tokens read and the
    key (or None) on the request for the view (tokens_read, key_read)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tokens = viewer.versions()
        key = page_key(request, tokens, partial=is_partial(request))
        if key is not None and (found := cached_page(request, key)) is not None:
            return found
        request._page_cache = (tokens, key)  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def tokens_read(request: HttpRequest) -> dict[str, int] | None:
    return getattr(request, "_page_cache", (None, None))[0]


def key_read(request: HttpRequest) -> str | None:
    return getattr(request, "_page_cache", (None, None))[1]


def cached_page(request: HttpRequest, key: str) -> HttpResponse | None:
    """The page stored under `key`, with this request's CSRF token, or None."""
    found = cache.get(key)
    if not (isinstance(found, tuple) and len(found) == 3 and found[0] == request.user.pk):
        return None
    _user_id, placeholder, body = found
    return HttpResponse(body.replace(placeholder, get_token(request).encode()))


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], key: str
) -> HttpResponse:
    """Render the page with a CSRF placeholder, store it under `key`, answer it with this
    request's token. (The view's context is above the context processors' in the
    template's context, so the placeholder is what {% csrf_token %} renders.)"""
    placeholder = f"gx-csrf-{secrets.token_urlsafe(24)}"
    html = render_to_string(template, {**context, "csrf_token": placeholder}, request)
    body, marker = html.encode(), placeholder.encode()  # stored as the bytes answered
    cache.set(key, (request.user.pk, marker, body), SECONDS)
    return HttpResponse(body.replace(marker, get_token(request).encode()))
