"""Keyset ("seek") pagination of customer lists, for the pages and the API (ADR 0004).

A page is "the next `size` rows after the last row seen", in the list's order (sort key,
then id as the tie-breaker), written in the sargable form the databases can start an
index scan from:

    descending:  key <= x AND (key < x OR id < y)
    ascending:   key >= x AND (key > x OR id > y)

The `key <= x` term bounds the index range; the second term only drops the ties already
shown. (The textbook `key < x OR (key = x AND id < y)` cannot bound the scan and was
measured slower than OFFSET at a million rows.) Every depth costs the same.

The cursor is an opaque base64 JSON of the sort, the boundary row's key and id, and the
direction; it carries no permission: the queryset it is applied to is already scoped.

Totals are counted up to COUNT_CAP ("200+"): an exact count of a large scope reads the
whole scope on every page view.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from guanxi.customers.selectors import SORTS

COUNT_CAP = 200


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    sort: str
    key: Any
    id: int
    backwards: bool = False

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, dt.datetime) else self.key
        raw = json.dumps(
            {"s": self.sort, "k": key, "i": self.id, "b": int(self.backwards)},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
            sort, key, pk, backwards = data["s"], data["k"], int(data["i"]), bool(data["b"])
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise InvalidCursor(text) from None
        if sort not in SORTS or not isinstance(key, str):
            raise InvalidCursor(text)
        if _key_field(sort) != "name":
            key = parse_datetime(key)
            if key is None:
                raise InvalidCursor(text)
        return cls(sort=sort, key=key, id=pk, backwards=backwards)


def _key_field(sort: str) -> str:
    return SORTS[sort][0].lstrip("-")


def _descending(sort: str) -> bool:
    return SORTS[sort][0].startswith("-")


def _after(sort: str, key: Any, pk: int, *, forwards: bool) -> Q:
    """Rows after (key, pk) in the list order (forwards) or before it (backwards)."""
    name = _key_field(sort)
    down = _descending(sort) == forwards
    near, far, ids = ("lte", "lt", "lt") if down else ("gte", "gt", "gt")
    return Q(**{f"{name}__{near}": key}) & (Q(**{f"{name}__{far}": key}) | Q(**{f"id__{ids}": pk}))


def _reversed(order: list[str]) -> list[str]:
    return [o[1:] if o.startswith("-") else f"-{o}" for o in order]


@dataclass
class KeysetPage:
    rows: list[Any]
    sort: str
    has_next: bool
    has_previous: bool
    next_cursor: str | None = None
    previous_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# Reads the rows of a page by id, in the order given (rows missing from the result are
# skipped); the default reads them through the queryset, as model instances.
Fetch = Callable[[list[int]], list[Any]]


def _by_ids(queryset: QuerySet[Any], ids: list[int], fetch: Fetch | None) -> list[Any]:
    if not ids:
        return []
    if fetch is not None:
        return fetch(ids)
    rows = {row.pk: row for row in queryset.filter(pk__in=ids).order_by()}
    return [rows[pk] for pk in ids if pk in rows]


def _fetch(
    queryset: QuerySet[Any], order: list[str], count: int, fetch: Fetch | None = None
) -> list[Any]:
    """The first `count` rows of the queryset in `order`, in two steps: the ids alone (the
    database sorts and limits before computing any annotation — SQLite would otherwise
    evaluate is_mine/has_contacts for every candidate row), then those rows in full."""
    ids = list(queryset.order_by(*order).values_list("pk", flat=True)[:count])
    return _by_ids(queryset, ids, fetch)


def keyset_page(
    queryset: QuerySet[Any],
    *,
    sort: str,
    cursor: Cursor | None,
    size: int,
    fetch: Fetch | None = None,
) -> KeysetPage:
    """One page of a list already ordered by SORTS[sort] (customer_list does). `fetch`
    reads the page's rows from their ids (a page that needs no model instances)."""
    if sort not in SORTS:
        sort = "updated"
    order = SORTS[sort]
    if cursor is not None and cursor.sort != sort:
        cursor = None  # the sort changed under the cursor: start again
    if cursor is None:
        rows = _fetch(queryset, order, size + 1, fetch)
        has_next, has_previous = len(rows) > size, False
        rows = rows[:size]
    elif not cursor.backwards:
        after = _after(sort, cursor.key, cursor.id, forwards=True)
        rows = _fetch(queryset.filter(after), order, size + 1, fetch)
        has_next, has_previous = len(rows) > size, True
        rows = rows[:size]
    else:
        before = _after(sort, cursor.key, cursor.id, forwards=False)
        rows = _fetch(queryset.filter(before), _reversed(order), size + 1, fetch)
        has_next, has_previous = True, len(rows) > size
        rows = rows[:size][::-1]
    page = KeysetPage(rows=rows, sort=sort, has_next=has_next, has_previous=has_previous)
    key = _key_field(sort)
    if rows and has_next:
        last = rows[-1]
        page.next_cursor = Cursor(sort, getattr(last, key), last.pk).encode()
    if rows and has_previous:
        first = rows[0]
        page.previous_cursor = Cursor(sort, getattr(first, key), first.pk, True).encode()
    return page


def parse_cursor(text: str | None) -> Cursor | None:
    """A cursor from a query string; a damaged one means the first page (pages)."""
    if not text:
        return None
    try:
        return Cursor.decode(text)
    except InvalidCursor:
        return None


def count_up_to(queryset: QuerySet[Any], cap: int | None = None) -> tuple[int, bool]:
    """(count, capped): the exact count, or (cap, True) when there are more."""
    cap = COUNT_CAP if cap is None else cap
    found = queryset.order_by().values("pk")[: cap + 1].count()
    return (cap, True) if found > cap else (found, False)


@dataclass(frozen=True)
class _Total:
    count: int


@dataclass
class ListPage:
    """A page of the customer list for the templates: rows, cursors and a bounded total.

    `count` is None when counting would cost more than the page (a common search term:
    the list is read in order and filtered, so the total means reading everything);
    `paginator` lets templates written for Django's Page read `page.paginator.count`.
    """

    rows: list[Any]
    count: int | None
    capped: bool
    has_next: bool
    has_previous: bool
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def paginator(self) -> _Total:
        return _Total(self.count if self.count is not None else len(self.rows))

    @property
    def object_list(self) -> list[Any]:
        return self.rows


def list_page(
    queryset: QuerySet[Any],
    *,
    actor: Any = None,
    sort: str,
    search: str = "",
    cursor: str | None = None,
    number: str | None = None,
    size: int,
    fetch: Fetch | None = None,
) -> ListPage:
    """The page a list URL asks for: `cursor` (keyset), or a legacy `page` number (OFFSET,
    kept so old links work; its next/previous links are cursors), or the first page.
    `fetch`: as for keyset_page."""
    from guanxi.customers.search import index

    position = parse_cursor(cursor)
    if position is None and number and number.isdigit() and int(number) > 1:
        start = (int(number) - 1) * size
        ids = list(queryset.values_list("pk", flat=True)[start : start + size + 1])
        rows = _by_ids(queryset, ids, fetch)
        page = KeysetPage(rows=rows[:size], sort=sort, has_next=len(rows) > size,
                          has_previous=True)  # fmt: skip
        if page.rows:
            key = _key_field(page.sort if page.sort in SORTS else "updated")
            first, last = page.rows[0], page.rows[-1]
            page.previous_cursor = Cursor(sort, getattr(first, key), first.pk, True).encode()
            if page.has_next:
                page.next_cursor = Cursor(sort, getattr(last, key), last.pk).encode()
    else:
        page = keyset_page(queryset, sort=sort, cursor=position, size=size, fetch=fetch)
    if search and index.is_common(search, actor=actor):
        count, capped = None, False
    elif not page.has_next and not page.has_previous:
        count, capped = len(page.rows), False
    else:
        count, capped = count_up_to(queryset)
    return ListPage(
        rows=page.rows,
        count=count,
        capped=capped,
        has_next=page.has_next,
        has_previous=page.has_previous,
        next_cursor=page.next_cursor,
        previous_cursor=page.previous_cursor,
    )


def first_page(statements: Any, *, sort: str, size: int, fetch: Fetch) -> ListPage:
    """list_page's first page (no cursor, no search) from customer_list_statements: the
    same ids and bounded count, by statements compiled once instead of a queryset built
    and compiled per page view. `statements` None: the list is empty."""
    from django.db import connection

    rows: list[Any] = []
    if statements is not None:
        with connection.cursor() as cursor:
            cursor.execute(statements.ids_sql, statements.ids_params)
            ids = [row[0] for row in cursor.fetchall()]
        rows = fetch(ids) if ids else []
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if rows and has_next:
        last = rows[-1]
        next_cursor = Cursor(sort, getattr(last, _key_field(sort)), last.pk).encode()
    count, capped = len(rows), False
    if has_next:
        found = 0
        with connection.cursor() as cursor:
            if statements.owned_sql is not None:
                cursor.execute(statements.owned_sql, statements.owned_params)
                found = cursor.fetchone()[0]
            if found <= COUNT_CAP:
                cursor.execute(statements.count_sql, statements.count_params)
                found = cursor.fetchone()[0]
        count, capped = (COUNT_CAP, True) if found > COUNT_CAP else (found, False)
    return ListPage(
        rows=rows,
        count=count,
        capped=capped,
        has_next=has_next,
        has_previous=False,
        next_cursor=next_cursor,
        previous_cursor=None,
    )


@dataclass
class ApiPage:
    """A keyset page of an API list: {"next", "previous", "results"} (no count)."""

    rows: list[Any]
    next: str | None
    previous: str | None

    def response(self, results: Any) -> Any:
        from rest_framework.response import Response

        return Response({"next": self.next, "previous": self.previous, "results": results})


def api_page(request: Any, queryset: QuerySet[Any], *, sort: str, size: int) -> ApiPage:
    """The keyset page an API request asks for with `?cursor=` (empty: the first page).
    A damaged cursor is a 400 on the `cursor` field."""
    from django.utils.translation import gettext as _
    from rest_framework.exceptions import ValidationError
    from rest_framework.utils.urls import remove_query_param, replace_query_param

    text = request.query_params.get("cursor", "")
    try:
        position = Cursor.decode(text) if text else None
    except InvalidCursor:
        raise ValidationError({"cursor": [_("分页游标无效，请从第一页重新开始。")]}) from None
    page = keyset_page(queryset, sort=sort, cursor=position, size=size)
    url = remove_query_param(request.build_absolute_uri(), "page")

    def link(cursor: str | None) -> str | None:
        return replace_query_param(url, "cursor", cursor) if cursor else None

    return ApiPage(rows=page.rows, next=link(page.next_cursor), previous=link(page.previous_cursor))
