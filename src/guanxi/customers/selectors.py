"""Every read of the archive used outside this app. All start from visible_to(actor).

Search: Chinese substring of the customer name, credit code, customer phone, contact
names and contact phones, through the trigger-kept index of customers.search.index
(FTS5 / pg_trgm plus a gram table for one- and two-character queries; ADR 0004), always
inside visible_to(actor). Deep pages: customers.search.pagination (keyset).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from guanxi import policy
from guanxi.core.china import mask_phone
from guanxi.core.errors import NotFound
from guanxi.core.ids import parse_id
from guanxi.customers.models import Contact, ContactRelation, Customer, SpecialDate
from guanxi.customers.search import index as search_index
from guanxi.org.scopes import VIEW, Scope, resolve_scope

SORTS = {
    "updated": ["-updated_at", "-id"],
    "-updated": ["updated_at", "id"],
    "name": ["name", "id"],
    "-name": ["-name", "-id"],
    "created": ["-created_at", "-id"],
    "-created": ["created_at", "id"],
}


def customer_scope_sql(*, actor: Any, action: str = VIEW, column: str = "c.id") -> tuple[str, list]:
    """The actor's data scope (visible_to) as an SQL condition on a customer id column, for
    hot raw statements (recording a shipment or payment): compiled once per scope, not per
    call — the ORM spends about a millisecond compiling the scoped query each time."""
    scope = resolve_scope(actor, action)
    if scope.nothing:
        return "1 = 0", []
    if scope.everything:
        return "1 = 1", []
    sql, params = _scope_subquery(scope)
    return f"{column} IN ({sql})", list(params)


@functools.lru_cache(maxsize=512)
def _scope_subquery(scope: Scope) -> tuple[str, tuple[Any, ...]]:
    # The SQL depends on the scope's value only (user, departments), so it is shared by
    # every request of users with that scope; a change of roles gives a different scope.
    query = Customer.objects.filter(Customer.scope_filter(scope)).values("pk").query
    sql, params = query.sql_with_params()
    return sql, tuple(params)


def _is_mine(actor: Any) -> Case:
    co_owned = Exists(
        Customer.co_owners.through.objects.filter(customer_id=OuterRef("pk"), user_id=actor.pk)
    )
    return Case(
        When(Q(owner_id=actor.pk) | Q(co_owned), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def customer_list(
    *,
    actor: Any,
    search: str = "",
    customer_type: str = "",
    region_id: int | None = None,
    owner_id: int | None = None,
    department_id: int | None = None,
    tag_ids: list[int] | None = None,
    sort: str = "updated",
) -> QuerySet[Customer]:
    """Live customers in the actor's scope, filtered, searched and sorted."""
    return _customer_list(
        actor=actor,
        within=search_index.small_scope_ids(actor),
        search=search,
        customer_type=customer_type,
        region_id=region_id,
        owner_id=owner_id,
        department_id=department_id,
        tag_ids=tag_ids,
        sort=sort,
    )


def _customer_list(
    *,
    actor: Any,
    within: tuple[int, ...] | None,
    search: str,
    customer_type: str,
    region_id: int | None,
    owner_id: int | None,
    department_id: int | None,
    tag_ids: list[int] | None,
    sort: str,
) -> QuerySet[Customer]:
    customers = Customer.objects.visible_to(actor, VIEW).alive()
    # A small scope is read from its ids (an equivalent filter the index lookups can drive).
    if within is not None:
        customers = customers.filter(search_index.ids_q(within))
    query = search_index.parse(search or "", actor=actor, within=within)
    if query is not None:
        customers = customers.filter(search_index.search_q(query))
    if customer_type:
        customers = customers.filter(customer_type=customer_type)
    if region_id:
        customers = customers.filter(region_id=region_id)
    if owner_id:
        customers = customers.filter(owner_id=owner_id)
    if department_id:
        customers = customers.filter(department_id=department_id)
    for tag_id in tag_ids or []:
        customers = customers.filter(tags__id=tag_id)
    return (
        customers.select_related("owner", "department", "region", "industry")
        .prefetch_related("tags")
        .annotate(
            is_mine=_is_mine(actor),
            has_contacts=Exists(
                Contact.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True)
            ),
        )
        .order_by(*SORTS.get(sort, SORTS["updated"]))
    )


@dataclass(frozen=True)
class ListStatements:
    """The SQL of a list page without a search (customer_list's ids in order, and its
    bounded count), compiled from customer_list's queryset once per scope and filters."""

    ids_sql: str
    ids_params: tuple[Any, ...]
    count_sql: str
    count_params: tuple[Any, ...]
    # A cheaper first count, when it can settle the capped case: the live customers the
    # actor owns (a subset of the list without filters), read by the owner index. When
    # they already exceed the cap, so does the list; otherwise count_sql runs.
    owned_sql: str | None = None
    owned_params: tuple[Any, ...] = ()


_LIST_STATEMENTS: dict[tuple[Any, ...], ListStatements | None] = {}
_LIST_STATEMENTS_MAX = 512


def customer_list_statements(
    *,
    actor: Any,
    size: int,
    cap: int,
    customer_type: str = "",
    region_id: int | None = None,
    owner_id: int | None = None,
    department_id: int | None = None,
    tag_ids: list[int] | None = None,
    sort: str = "updated",
) -> ListStatements | None:
    """customer_list (no search) as two statements: the first `size` ids in the list's
    order, and the count of at most `cap` + 1 rows; None when no row can match (a scope
    that sees nothing).

    Building and compiling the scoped queryset costs 3-4 ms of Python per page view, more
    than the queries take to run; the SQL depends only on the values in the key (the scope
    is a value: a change of roles or departments gives another scope), so it is compiled
    once per key, as customer_scope_sql does for the shipment path."""
    scope = resolve_scope(actor, VIEW)
    if scope.nothing:
        return None
    sort = sort if sort in SORTS else "updated"
    within = search_index.small_scope_ids(actor)
    if within == ():
        return None  # a small scope without customers
    filters = (customer_type, region_id, owner_id, department_id, tuple(tag_ids or ()))
    # A small scope's ids are one parameter: compiled with a stand-in, set at each call
    # (the key does not hold the ids, and a book that changes reuses its statements).
    small = within is not None
    key = (connection.alias, connection.vendor, scope, small, filters, sort, size, cap)
    if key not in _LIST_STATEMENTS:
        if len(_LIST_STATEMENTS) >= _LIST_STATEMENTS_MAX:
            _LIST_STATEMENTS.clear()
        _LIST_STATEMENTS[key] = _compile_list_statements(
            actor, scope, _WITHIN_STAND_IN if small else None, filters, sort, size, cap
        )
    statements = _LIST_STATEMENTS[key]
    if statements is None or within is None:
        return statements
    stand_in, ids = _ids_parameter(_WITHIN_STAND_IN), _ids_parameter(within)
    return replace(
        statements,
        ids_params=tuple(ids if p == stand_in else p for p in statements.ids_params),
        count_params=tuple(ids if p == stand_in else p for p in statements.count_params),
    )


# No customer has a negative id.
_WITHIN_STAND_IN = (-20261206,)


def _ids_parameter(ids: tuple[int, ...]) -> Any:
    """The one query parameter search_index.ids_q passes the ids as."""
    ((_lookup, subquery),) = search_index.ids_q(ids).children  # type: ignore[misc]
    return subquery.params[0]


def _compile_list_statements(
    actor: Any,
    scope: Scope,
    within: tuple[int, ...] | None,
    filters: tuple[Any, ...],
    sort: str,
    size: int,
    cap: int,
) -> ListStatements | None:
    customer_type, region_id, owner_id, department_id, tag_ids = filters
    customers = (
        _customer_list(
            actor=actor,
            within=within,
            search="",
            customer_type=customer_type,
            region_id=region_id,
            owner_id=owner_id,
            department_id=department_id,
            tag_ids=list(tag_ids),
            sort=sort,
        )
        .select_related(None)
        .prefetch_related(None)
    )
    # The same statements as customers.search.pagination asks of the queryset (keyset_page's
    # ids, count_up_to's bounded count).
    ids = customers.order_by(*SORTS[sort]).values_list("pk", flat=True)[:size]
    counted = customers.order_by().values("pk")[: cap + 1]
    statements: ListStatements | None
    try:
        ids_sql, ids_params = ids.query.sql_with_params()
        count_sql, count_params = counted.query.sql_with_params()
    except EmptyResultSet:  # a filter no row can pass (a small scope of no customers)
        statements = None
    else:
        statements = ListStatements(
            ids_sql=ids_sql,
            ids_params=tuple(ids_params),
            count_sql=f"SELECT COUNT(*) FROM ({count_sql}) subquery",
            count_params=tuple(count_params),
        )
        if not scope.everything and not any(filters):
            # The scope (owner OR co-owner OR departments) has no index to count from: a
            # salesperson's bounded count read ~2,000 rows at 1 M (1 ms) where the owner
            # index answers in 0.1 ms.
            owned = Customer.objects.alive().filter(owner_id=scope.user_id).values("pk")
            sql, params = owned[: cap + 1].query.sql_with_params()
            statements = replace(
                statements,
                owned_sql=f"SELECT COUNT(*) FROM ({sql}) subquery",
                owned_params=tuple(params),
            )
    return statements


def _search_q(text: str, *, actor: Any = None) -> Q:
    """Customers matching the search text (customers.search.index); Q() for no text. The
    plan (index or LIKE) depends on how much of the archive the actor sees."""
    query = search_index.parse(text, actor=actor)
    return search_index.search_q(query) if query is not None else Q()


def customer_get(
    *, actor: Any, pk: Any, action: str = VIEW, include_deleted: bool = False
) -> Customer:
    """One customer by id, through scope: missing and forbidden both raise NotFound."""
    pk = parse_id(pk)
    if pk is None:
        raise NotFound()
    customers = Customer.objects.visible_to(actor, action)
    if not include_deleted:
        customers = customers.alive()
    customer = (
        customers.select_related("owner", "department", "region", "industry", "created_by")
        .prefetch_related("tags", "co_owners")
        .annotate(is_mine=_is_mine(actor))
        .filter(pk=pk)
        .first()
    )
    if customer is None:
        raise NotFound()
    return customer


def customer_contacts(*, customer: Customer) -> QuerySet[Contact]:
    """Contacts of a customer the caller already fetched through customer_get."""
    return customer.contacts.filter(deleted_at__isnull=True).prefetch_related(
        Prefetch("relations_out", queryset=ContactRelation.objects.select_related("target"))
    )


def _customer_with_is_mine(actor: Any) -> Prefetch:
    """Each contact's customer, annotated so phone masking needs no query per row."""
    return Prefetch("customer", queryset=Customer.objects.annotate(is_mine=_is_mine(actor)))


def contact_get(*, actor: Any, pk: Any, action: str = VIEW) -> Contact:
    pk = parse_id(pk)
    if pk is None:
        raise NotFound()
    contact = (
        Contact.objects.visible_to(actor, action)
        .alive()
        .prefetch_related(_customer_with_is_mine(actor))
        .filter(pk=pk)
        .first()
    )
    if contact is None:
        raise NotFound()
    return contact


def contact_list(
    *, actor: Any, customer_id: int | None = None, search: str = ""
) -> QuerySet[Contact]:
    contacts = (
        Contact.objects.visible_to(actor, VIEW)
        .alive()
        .prefetch_related(_customer_with_is_mine(actor))
    )
    if customer_id:
        contacts = contacts.filter(customer_id=customer_id)
    if search:
        contacts = contacts.filter(Q(name__icontains=search) | Q(mobile__contains=search))
    return contacts.order_by("customer_id", "-is_primary", "id")


def recycle_bin(*, actor: Any) -> QuerySet[Customer]:
    """Deleted customers in scope still inside the retention period (restorable)."""
    keep_days = policy.get("customers.recycle_bin_days")
    since = timezone.now() - dt.timedelta(days=keep_days)
    return (
        Customer.objects.visible_to(actor, VIEW)
        .deleted()
        .filter(deleted_at__gte=since, merged_into__isnull=True)
        .select_related("owner", "deleted_by", "department")
        .order_by("-deleted_at")
    )


def phones_masked(*, actor: Any) -> bool:
    """Whether the actor sees phone numbers masked outside their own customers
    (compliance.mask_phones). Callers with many rows ask once, then apply phones_visible's
    rule per row from customer_list's is_mine."""
    return bool(policy.get("compliance.mask_phones"))


def phones_visible(*, actor: Any, customer: Customer) -> bool:
    """Phone numbers are shown in full only on the actor's own customers (or when the
    company switches masking off: compliance.mask_phones)."""
    if not phones_masked(actor=actor):
        return True
    mine = getattr(customer, "is_mine", None)
    if mine is None:
        mine = customer.owner_id == actor.pk or customer.co_owners.filter(pk=actor.pk).exists()
    return bool(mine)


def display_phone(value: str, *, visible: bool) -> str:
    return value if visible else mask_phone(value)


def export_limit(*, actor: Any) -> int:
    """Largest number of rows the actor may export at once (customers.export_max_rows)."""
    limits = policy.get("customers.export_max_rows")
    if actor.is_superuser:
        return max(limits.values())
    codes = actor.role_codes()
    own = [limits[code] for code in codes if code in limits]
    return max(own) if own else limits["*"]


@dataclass(frozen=True)
class Upcoming:
    on: dt.date
    days: int
    kind: str
    customer: Any
    contact_name: str
    note: str


def next_occurrence(day: dt.date, *, recurring: bool, today: dt.date) -> dt.date | None:
    """The next date on or after today (29 February falls on the 28th in other years)."""
    if not recurring:
        return day if day >= today else None
    for year in (today.year, today.year + 1):
        try:
            candidate = day.replace(year=year)
        except ValueError:
            candidate = dt.date(year, 2, 28)
        if candidate >= today:
            return candidate
    return None


def special_dates_upcoming(*, actor: Any, today: dt.date, days: int) -> list[Upcoming]:
    """Special dates and contact birthdays of the actor's own customers in the next `days`."""
    mine = Q(customer__owner=actor) | Q(customer__co_owners=actor)
    horizon = today + dt.timedelta(days=days)
    found: dict[tuple[Any, ...], Upcoming] = {}
    dates = (
        SpecialDate.objects.visible_to(actor)
        .alive()
        .filter(mine)
        .filter(Q(contact__isnull=True) | Q(contact__deleted_at__isnull=True))
        .select_related("customer", "contact")
        .distinct()
    )
    for item in dates:
        on = next_occurrence(item.date, recurring=item.recurring, today=today)
        if on is None or on > horizon:
            continue
        key = (item.customer_id, item.contact_id, item.kind, on)
        found[key] = Upcoming(
            on, (on - today).days, item.get_kind_display(), item.customer,
            item.contact.name if item.contact else "", item.note,
        )  # fmt: skip
    birthdays = (
        Contact.objects.visible_to(actor)
        .alive()
        .filter(mine, birthday__isnull=False)
        .select_related("customer")
        .distinct()
    )
    for contact in birthdays:
        on = next_occurrence(contact.birthday, recurring=True, today=today)
        if on is None or on > horizon:
            continue
        key = (contact.customer_id, contact.pk, SpecialDate.Kind.BIRTHDAY, on)
        found.setdefault(
            key,
            Upcoming(
                on,
                (on - today).days,
                str(SpecialDate.Kind.BIRTHDAY.label),
                contact.customer,
                contact.name,
                "",
            ),
        )
    return sorted(found.values(), key=lambda item: (item.on, item.customer.name))
