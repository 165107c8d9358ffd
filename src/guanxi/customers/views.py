"""Customer archive pages: list/search/export, the 360 page, forms, recycle bin.

Views parse input, call one selector or service, and render. Every fetch by id goes
through customers.selectors (scope): out of scope answers 404, exactly like missing.
Action permissions are Django permissions checked here; the services check them again.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import wraps
from html import escape
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi import policy
from guanxi.core.errors import DomainError, NotFound, PossibleDuplicate
from guanxi.core.errors import PermissionDenied as DomainPermissionDenied
from guanxi.core.templatetags.guanxi_tags import colour, score_colour, secrecy_badge
from guanxi.customers import selectors, services
from guanxi.customers.completeness import Completeness, completeness, filing_deadline
from guanxi.customers.dedup import selectors as dedup_selectors
from guanxi.customers.forms import (
    AttachmentForm,
    ContactForm,
    CustomerCreateForm,
    CustomerFilterForm,
    CustomerForm,
    DeleteForm,
    RelationForm,
    SpecialDateForm,
    show_domain_error,
)
from guanxi.customers.imports.export import XLSX_CONTENT_TYPE, export_filename
from guanxi.customers.imports.export import customer_export as customer_export_xlsx
from guanxi.customers.models import Contact, Customer, SecrecyLevel
from guanxi.customers.search import page_cache, viewer
from guanxi.customers.search.pagination import (
    COUNT_CAP,
    ListPage,
    first_page,
    list_page,
    parse_cursor,
)
from guanxi.org.scopes import CHANGE, VIEW
from guanxi.policy.selectors import choices as policy_choices
from guanxi.policy.selectors import label_for as policy_label

PAGE_SIZE = 50
HISTORY_LIMIT = 200


# --- helpers ---------------------------------------------------------------------------------
def _customer(actor: Any, pk: Any, action: str = VIEW) -> Customer:
    try:
        return selectors.customer_get(actor=actor, pk=pk, action=action)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


def _contact(actor: Any, pk: Any, action: str = VIEW) -> Contact:
    try:
        return selectors.contact_get(actor=actor, pk=pk, action=action)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


def _can_change(actor: Any, customer: Customer) -> bool:
    if not actor.has_perm("customers.change_customer"):
        return False
    try:
        selectors.customer_get(actor=actor, pk=customer.pk, action=CHANGE)
    except NotFound:
        return False
    return True


def _action_failed(request: HttpRequest, exc: DomainError) -> None:
    """A service refused a one-click action: 404/403 as such, otherwise a message."""
    if isinstance(exc, NotFound):
        raise Http404(str(exc.message)) from exc
    if isinstance(exc, DomainPermissionDenied):
        raise DjangoPermissionDenied(str(exc.message)) from exc
    details = [
        str(m)
        for msgs in exc.detail.values()
        if isinstance(msgs, list)
        for m in msgs
        if isinstance(m, str)
    ]
    messages.error(request, " ".join([str(exc.message), *details]))


def _type_labels() -> dict[str, str]:
    return dict(policy_choices("customers.types"))


def _required_fields() -> set[str]:
    """Fields the policy marks ※ (customers.required_fields), as form field names."""
    required = set(policy.get("customers.required_fields"))
    if "contacts" in required:
        required.add(f"{CustomerCreateForm.CONTACT_PREFIX}name")
    return required


@dataclass
class Row:
    """One line of the list, with masking already decided."""

    customer: ListCustomer
    type_label: str
    completeness: Completeness
    contact: ContactLine | None
    contact_phone: str
    phones_visible: bool
    owner: str
    department: str
    tags: list[tuple[str, str]]  # (name, colour)


@dataclass(frozen=True)
class ContactLine:
    name: str
    mobile: str
    phone: str


# What a list row reads from the customer, besides the fields the completeness policy checks.
_LIST_FIELDS = (
    "id", "name", "credit_code", "secrecy_level", "customer_type", "phone", "created_at",
    "updated_at", "owner", "department",
)  # fmt: skip
_DATETIME_FIELDS = {"created_at", "updated_at"}
_SECRECY_LABELS = dict(SecrecyLevel.choices)


class ListCustomer:
    """A customer as the list shows it: the shown and ※ fields as plain attributes (foreign
    keys as <name>_id), is_mine, and has_contacts once the contacts are read — read by one
    statement, not as model instances (fifty of them cost more than the query)."""

    id: int
    secrecy_level: str
    is_mine: bool
    has_contacts: bool

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @property
    def pk(self) -> int:
        return self.id

    def get_secrecy_level_display(self) -> str:
        return str(_SECRECY_LABELS.get(self.secrecy_level, self.secrecy_level))


def _in(count: int) -> str:
    return ", ".join(["%s"] * count)


def _aware(value: Any) -> Any:
    """A datetime column read by a plain cursor: SQLite returns UTC text."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def _list_columns() -> list[tuple[str, str]]:
    """(attribute, column) of what a row shows and what the completeness policy checks."""
    required = [
        name for name in policy.get("customers.required_fields") if name not in {"contacts"}
    ]
    columns = []
    for name in dict.fromkeys([*_LIST_FIELDS, *required]):
        model_field = Customer._meta.get_field(name)
        columns.append((model_field.attname, model_field.column))  # type: ignore[union-attr]
    return columns


def _customer_rows(actor: Any, ids: list[int]) -> list[ListCustomer]:
    """The page's customers by id (already chosen through the scoped list), with is_mine:
    the actor owns or co-owns them (selectors._is_mine), in the order of `ids`."""
    if not ids:
        return []
    columns = _list_columns()
    quote = connection.ops.quote_name
    co_owners = Customer.co_owners.through._meta.db_table
    sql = (
        "SELECT {columns}, (c.owner_id = %s OR EXISTS (SELECT 1 FROM {co_owners} o"
        " WHERE o.customer_id = c.id AND o.user_id = %s)) FROM {table} c"
        " WHERE c.id IN ({ids}) AND c.deleted_at IS NULL"
    ).format(
        columns=", ".join(f"c.{quote(column)}" for _name, column in columns),
        co_owners=quote(co_owners),
        table=quote(Customer._meta.db_table),
        ids=_in(len(ids)),
    )
    names = [name for name, _column in columns]
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [actor.pk, actor.pk, *ids])
        for record in cursor.fetchall():
            values = dict(zip(names, record, strict=False))
            for name in _DATETIME_FIELDS:
                values[name] = _aware(values[name])
            values["is_mine"] = bool(record[-1])
            found[values["id"]] = ListCustomer(values)
    return [found[pk] for pk in ids if pk in found]


def _list_rows_only(customers: Any) -> Any:
    """The list's queryset for choosing and counting the page (ids only: the rows are read
    by _customer_rows), without joins or prefetches."""
    return customers.select_related(None).prefetch_related(None)


def _rows(actor: Any, customers: list[ListCustomer], reference: Any) -> list[Row]:
    """The rows in one pass: two plain queries (live contacts, tags) for the page."""
    labels = _type_labels()
    masked = selectors.phones_masked(actor=actor)
    required = policy.get("customers.required_fields")
    ids = [customer.pk for customer in customers]
    contacts: dict[int, ContactLine] = {}
    tags: dict[int, list[tuple[str, str]]] = {}
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT customer_id, name, mobile, phone FROM customers_contact"
                f" WHERE customer_id IN ({_in(len(ids))}) AND deleted_at IS NULL"
                " ORDER BY customer_id, is_primary DESC, id",
                ids,
            )
            for customer_id, name, mobile, phone in cursor.fetchall():
                contacts.setdefault(customer_id, ContactLine(name, mobile, phone))
            cursor.execute(
                "SELECT customer_id, tag_id FROM customers_customer_tags"
                f" WHERE customer_id IN ({_in(len(ids))}) ORDER BY customer_id, tag_id",
                ids,
            )
            for customer_id, tag_id in cursor.fetchall():
                if tag_id in reference.tag_badges:
                    tags.setdefault(customer_id, []).append(reference.tag_badges[tag_id])
    rows = []
    for customer in customers:
        # phones_visible's rule, the policy asked once for the page (phones_masked).
        visible = not masked or bool(customer.is_mine)
        contact = contacts.get(customer.pk)
        customer.has_contacts = contact is not None  # a live contact exists
        number = (contact.mobile or contact.phone) if contact else customer.phone
        rows.append(
            Row(
                customer=customer,
                type_label=labels.get(customer.customer_type, customer.customer_type),
                completeness=completeness(
                    customer, has_contacts=customer.has_contacts, required=required
                ),
                contact=contact,
                contact_phone=selectors.display_phone(number, visible=visible) if number else "",
                phones_visible=visible,
                owner=reference.user_names.get(customer.owner_id, ""),
                department=reference.department_names.get(customer.department_id, ""),
                tags=sorted(tags.get(customer.pk, []), key=lambda tag: tag[0]),
            )
        )
    return rows


def list_rows(
    actor: Any, selected: dict[str, Any], *, tokens: dict[str, Any], cursor: str | None = None,
    number: str | None = None,
) -> tuple[ListPage, list[Row], Any]:  # fmt: skip
    """The list page's data for the selector arguments `selected`: the keyset page (ids
    chosen and counted through customer_list's scoped queryset), its rows, and the cached
    reference names (customers.search.viewer) for the version tokens read this request."""
    offset = bool(number and number.isdigit() and int(number) > 1)
    if not selected.get("search") and parse_cursor(cursor) is None and not offset:
        # The first page without a search: customer_list's statements, compiled once.
        arguments = {name: value for name, value in selected.items() if name != "search"}
        statements = selectors.customer_list_statements(
            actor=actor, size=PAGE_SIZE + 1, cap=COUNT_CAP, **arguments
        )
        page = first_page(
            statements,
            sort=selected.get("sort", "updated"),
            size=PAGE_SIZE,
            fetch=lambda ids: _customer_rows(actor, ids),
        )
        reference = viewer.reference(tokens)
        return page, _rows(actor, page.rows, reference), reference
    page = list_page(
        _list_rows_only(selectors.customer_list(actor=actor, **selected)),
        actor=actor,
        sort=selected.get("sort", "updated"),
        search=selected.get("search", ""),
        cursor=cursor,
        number=number,
        size=PAGE_SIZE,
        fetch=lambda ids: _customer_rows(actor, ids),
    )
    reference = viewer.reference(tokens)
    return page, _rows(actor, page.rows, reference), reference


# The list's rows, built in one pass in Python (customers/_list_results.html includes the
# result): fifty rows through the template engine cost more than the queries behind them.
_ROW = (
    "<tr>"
    '<td><a href="{url}" class="fw-medium text-decoration-none">{name}</a>{secrecy}{code}</td>'
    "<td>{type}</td><td>{department}</td><td>{owner}{mine}</td>"
    "<td>{contact}{phone}</td>"
    '<td style="min-width: 7rem"><div class="d-flex align-items-center gap-2" title="{missing}">'
    '<div class="progress gx-progress flex-grow-1" role="progressbar" aria-valuenow="{score}"'
    ' aria-valuemin="0" aria-valuemax="100"><div class="progress-bar bg-{colour}"'
    ' style="width: {score}%"></div></div><span class="small">{score}%</span></div></td>'
    "<td>{tags}</td>"
    '<td class="small text-secondary text-nowrap">{updated}</td>'
    "</tr>\n"
)
_NONE = '<span class="text-secondary">—</span>'


def _rows_html(rows: list[Row]) -> str:
    """The <tr> of every row, escaped (html.escape is what django.utils.html.escape runs)."""
    if not rows:
        return mark_safe("")
    sentinel = 987654321
    url = reverse("customer_detail", args=[sentinel])
    mine = (
        ' <span class="badge text-bg-primary-subtle text-primary-emphasis">'
        f"{escape(str(_('我的')))}</span>"
    )
    zone = timezone.get_current_timezone()
    parts = []
    for row in rows:
        customer = row.customer
        code = customer.credit_code
        tags = "".join(
            f'<span class="badge rounded-pill me-1" style="background-color: '
            f'{colour(tag_colour)}">{escape(tag_name)}</span>'
            for tag_name, tag_colour in row.tags
        )
        contact = escape(row.contact.name) if row.contact else ""
        if row.contact_phone:
            phone = f'<div class="small font-monospace">{escape(row.contact_phone)}</div>'
        else:
            phone = "" if row.contact else _NONE
        parts.append(
            _ROW.format(
                url=url.replace(str(sentinel), str(customer.pk)),
                name=escape(customer.name),
                secrecy=(
                    " " + secrecy_badge(customer) if customer.secrecy_level != "normal" else ""
                ),
                code=(
                    f'<div class="small text-secondary font-monospace">{escape(code)}</div>'
                    if code
                    else ""
                ),
                type=escape(str(row.type_label)) if row.type_label else "—",
                department=escape(row.department),
                owner=escape(row.owner),
                mine=mine if customer.is_mine else "",
                contact=contact,
                phone=phone,
                missing=escape("、".join(str(label) for _f, label in row.completeness.missing)),
                score=row.completeness.score,
                colour=score_colour(row.completeness.score),
                tags=tags or _NONE,
                updated=customer.updated_at.astimezone(zone).strftime("%Y-%m-%d"),
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _options(choices: Any, selected: Any) -> str:
    chosen = "" if selected is None else str(selected)
    return "".join(
        f'<option value="{escape(str(value))}"{" selected" if str(value) == chosen else ""}>'
        f"{escape(str(label))}</option>"
        for value, label in choices
    )


def _filter_fields(filters: CustomerFilterForm, facts: Any, reference: Any) -> list[dict]:
    """The filter selects, their options from the cached choices (no query, no widget
    templates): type, region, owner, tag, sort, as CustomerFilterForm declares them."""
    choices = {
        "type": filters.fields["type"].choices,
        "region": [("", filters.fields["region"].empty_label), *reference.regions],
        "owner": [("", filters.fields["owner"].empty_label), *facts.owner_choices],
        "tag": [("", filters.fields["tag"].empty_label), *reference.tags],
        "sort": filters.fields["sort"].choices,
    }
    fields = []
    for bound in filters:
        if bound.name == "q":
            continue
        invalid = " is-invalid" if bound.errors else ""
        fields.append(
            {
                "id": bound.id_for_label,
                "label": bound.label,
                "html": mark_safe(  # noqa: S308 - names are fixed, options escaped
                    f'<select name="{bound.name}" class="form-select{invalid}" '
                    f'id="{bound.id_for_label}">'
                    f"{_options(choices[bound.name], bound.value())}</select>"
                ),
            }
        )
    return fields


def _with_list_cache(view: Any) -> Any:
    """Put the signed-in user's cached permissions, roles, scope and department on the
    request's user before the permission check (customers.search.viewer)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tokens = page_cache.tokens_read(request) or viewer.versions()
        facts = viewer.viewer(request.user, tokens)
        viewer.apply(request.user, facts)
        request.list_cache = (tokens, facts)
        return view(request, *args, **kwargs)

    return wrapper


# --- list, search, export --------------------------------------------------------------------
@login_required
@page_cache.cached
@_with_list_cache
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    tokens, facts = request.list_cache
    partial = page_cache.is_partial(request)
    key = page_cache.key_read(request)
    filters = CustomerFilterForm(request.GET, actor=request.user)
    selected = filters.selector_kwargs()
    # Keyset pages (customers.search.pagination): every depth costs the same.
    page, rows, reference = list_rows(
        request.user,
        selected,
        tokens=tokens,
        cursor=request.GET.get("cursor"),
        number=request.GET.get("page"),
    )
    context = {
        "filters": filters,
        "page": page,
        "rows": rows,
        "rows_html": _rows_html(rows),
        "sort": selected["sort"],
    }
    if not partial:
        context["filter_fields"] = _filter_fields(filters, facts, reference)
    template = "customers/_list_results.html" if partial else "customers/list.html"
    if key is not None:
        return page_cache.render_page(request, template, context, key)
    return render(request, template, context)


@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as .xlsx — layout=statistics: the 客户统计表 (status colours as
    fills); otherwise every archive column — within customers.export_max_rows, audited
    (customers.imports.export)."""
    filters = CustomerFilterForm(request.GET, actor=request.user)
    layout = request.GET.get("layout", "full")
    output = io.BytesIO()
    try:
        customer_export_xlsx(
            actor=request.user,
            output=output,
            layout=layout,
            filters=filters.selector_kwargs(),
            summary=filters.summary(),
        )
    except DomainError as exc:
        _action_failed(request, exc)
        query = request.GET.copy()
        query.pop("page", None)
        query.pop("layout", None)
        return redirect(f"{reverse('customer_list')}?{query.urlencode()}")
    response = HttpResponse(output.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, export_filename(layout))
    return response


# --- create, edit, delete, restore -----------------------------------------------------------
@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerCreateForm(request.POST or None, actor=request.user)
    duplicates = None
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(
                actor=request.user,
                data=form.service_data(),
                contacts=form.first_contacts(),
                tags=form.tag_names(),
                co_owners=form.co_owner_list(),
                confirm_duplicate=request.POST.get("confirm_duplicate") == "on",
            )
        except PossibleDuplicate as exc:
            # Candidates may lie outside the user's scope: name and score only, linked
            # when the user may open them.
            duplicates = dedup_selectors.with_visibility(
                actor=request.user, candidates=exc.detail["candidates"]
            )
        except DomainError as exc:
            show_domain_error(form, exc, prefixes={"contacts": CustomerCreateForm.CONTACT_PREFIX})
        else:
            messages.success(request, _("客户档案“%(name)s”已建立。") % {"name": customer.name})
            return redirect("customer_detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "customer": None,
            "required_fields": _required_fields(),
            "duplicates": duplicates,
        },
    )


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    masked = not selectors.phones_visible(actor=request.user, customer=customer)
    form = CustomerForm(
        request.POST or None, instance=customer, actor=request.user, mask_phones=masked
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(
                actor=request.user,
                customer_id=customer.pk,
                data=form.service_data(),
                tags=form.tag_names(),
                co_owners=form.co_owner_list(),
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("客户档案已保存。"))
            return redirect("customer_detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": customer, "required_fields": _required_fields()},
    )


@login_required
@permission_required("customers.delete_customer", raise_exception=True)
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_delete(
                actor=request.user, customer_id=customer.pk, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("客户档案“%(name)s”已移入回收站，可在保留期内恢复。") % {"name": customer.name},
            )
            return redirect("customer_list")
    return render(request, "customers/confirm_delete.html", {"form": form, "customer": customer})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def recycle_bin(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.recycle_bin(actor=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "customers/recycle_bin.html", {"page": page})


@login_required
@permission_required("customers.restore_customer", raise_exception=True)
@require_POST
def customer_restore(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = services.customer_restore(actor=request.user, customer_id=pk)
    except DomainError as exc:
        _action_failed(request, exc)
        return redirect("recycle_bin")
    messages.success(request, _("客户档案“%(name)s”已恢复。") % {"name": customer.name})
    return redirect("customer_detail", pk=customer.pk)


# --- the 360 page ----------------------------------------------------------------------------
def _detail_context(request: HttpRequest, customer: Customer, **forms: Any) -> dict[str, Any]:
    actor = request.user
    contacts = list(selectors.customer_contacts(customer=customer))
    live_ids = {contact.pk for contact in contacts}
    relations = [
        relation
        for contact in contacts
        for relation in contact.relations_out.all()
        if relation.target_id in live_ids
    ]
    can_change = _can_change(actor, customer)
    context = {
        "customer": customer,
        "type_label": _type_labels().get(customer.customer_type, customer.customer_type),
        "status_label": policy_label("cooperation.ladder", customer.cooperation_status),
        "grade_label": policy_label("grading.bands", customer.grade),
        "credit_label": policy_label("credit.levels", customer.credit_level),
        "completeness": completeness(customer, has_contacts=bool(contacts)),
        "deadline": filing_deadline(customer),
        "phones_visible": selectors.phones_visible(actor=actor, customer=customer),
        "contacts": contacts,
        "relations": relations,
        "special_dates": customer.special_dates.filter(
            Q(contact__isnull=True) | Q(contact__deleted_at__isnull=True)
        )
        .select_related("contact")
        .order_by("date"),
        "attachments": customer.attachments.filter(deleted_at__isnull=True).select_related(
            "uploaded_by"
        ),
        # Includes the histories of customers merged into this one (customers.dedup).
        "history": dedup_selectors.customer_timeline(customer_id=customer.pk)[:HISTORY_LIMIT],
        "history_limit": HISTORY_LIMIT,
        "can_change": can_change,
        "can_delete": can_change and actor.has_perm("customers.delete_customer"),
    }
    if can_change:
        choices = selectors.customer_contacts(customer=customer)
        context["relation_form"] = forms.get("relation_form") or RelationForm(contacts=choices)
        context["special_date_form"] = forms.get("special_date_form") or SpecialDateForm(
            contacts=choices
        )
        context["attachment_form"] = forms.get("attachment_form") or AttachmentForm()
    context["open_form"] = next(iter(forms), "")
    return context


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        customer = _customer(request.user, pk)
    except Http404:
        # A merged-away customer's URL leads to the survivor (when the user may see it).
        survivor_id = dedup_selectors.merged_survivor_id(actor=request.user, pk=pk)
        if survivor_id is None:
            raise
        return redirect("customer_detail", pk=survivor_id)
    services.customer_view_record(actor=request.user, customer=customer)
    return render(request, "customers/detail.html", _detail_context(request, customer))


def _detail_with_errors(request: HttpRequest, customer: Customer, **forms: Any) -> HttpResponse:
    return render(request, "customers/detail.html", _detail_context(request, customer, **forms))


def _to_detail(customer_id: int, anchor: str) -> HttpResponse:
    return redirect(reverse("customer_detail", kwargs={"pk": customer_id}) + f"#{anchor}")


# --- contacts --------------------------------------------------------------------------------
@login_required
@permission_required("customers.change_customer", raise_exception=True)
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                actor=request.user, customer_id=customer.pk, data=form.service_data()
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("联系人“%(name)s”已添加。") % {"name": contact.name})
            return _to_detail(customer.pk, "contacts")
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": customer, "contact": None},
    )


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request.user, pk, CHANGE)
    customer = contact.customer
    masked = not selectors.phones_visible(actor=request.user, customer=customer)
    form = ContactForm(request.POST or None, instance=contact, mask_phones=masked)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(
                actor=request.user, contact_id=contact.pk, data=form.service_data()
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("联系人已保存。"))
            return _to_detail(customer.pk, "contacts")
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": customer, "contact": contact},
    )


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request.user, pk, CHANGE)
    try:
        services.contact_delete(actor=request.user, contact_id=contact.pk)
    except DomainError as exc:
        _action_failed(request, exc)
    else:
        messages.success(request, _("联系人“%(name)s”已删除。") % {"name": contact.name})
    return _to_detail(contact.customer_id, "contacts")


# --- relationship circle ---------------------------------------------------------------------
@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def relation_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = RelationForm(request.POST, contacts=selectors.customer_contacts(customer=customer))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.contact_relation_create(
                actor=request.user,
                source_id=data["source"].pk,
                target_id=data["target"].pk,
                kind=data["kind"],
                strength=data["strength"],
                note=data["note"],
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("联系人关系已添加。"))
            return _to_detail(customer.pk, "relations")
    return _detail_with_errors(request, customer, relation_form=form)


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def relation_delete(request: HttpRequest, pk: int, relation_pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    if not customer.contact_relations.filter(pk=relation_pk).exists():
        raise Http404(_("记录不存在或您无权访问。"))
    try:
        services.contact_relation_delete(actor=request.user, relation_id=relation_pk)
    except DomainError as exc:
        _action_failed(request, exc)
    else:
        messages.success(request, _("联系人关系已删除。"))
    return _to_detail(customer.pk, "relations")


# --- special dates ---------------------------------------------------------------------------
@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def special_date_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = SpecialDateForm(request.POST, contacts=selectors.customer_contacts(customer=customer))
    if form.is_valid():
        try:
            services.special_date_create(
                actor=request.user, customer_id=customer.pk, data=form.service_data()
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("特殊日期已添加。"))
            return _to_detail(customer.pk, "special-dates")
    return _detail_with_errors(request, customer, special_date_form=form)


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def special_date_delete(request: HttpRequest, pk: int, date_pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    if not customer.special_dates.filter(pk=date_pk).exists():
        raise Http404(_("记录不存在或您无权访问。"))
    try:
        services.special_date_delete(actor=request.user, special_date_id=date_pk)
    except DomainError as exc:
        _action_failed(request, exc)
    else:
        messages.success(request, _("特殊日期已删除。"))
    return _to_detail(customer.pk, "special-dates")


# --- attachments -----------------------------------------------------------------------------
@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = services.attachment_add(
                actor=request.user,
                customer_id=customer.pk,
                file=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                secrecy_level=form.cleaned_data["secrecy_level"],
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("附件“%(name)s”已上传。") % {"name": attachment.name})
            return _to_detail(customer.pk, "attachments")
    return _detail_with_errors(request, customer, attachment_form=form)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def attachment_download(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    """Documents are served only through scope and audited; never from MEDIA_URL."""
    customer = _customer(request.user, pk)
    attachment = customer.attachments.filter(pk=attachment_pk, deleted_at__isnull=True).first()
    if attachment is None:
        raise Http404(_("记录不存在或您无权访问。"))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("附件文件已丢失，请联系档案管理员。")) from None
    try:
        services.attachment_download_record(actor=request.user, attachment=attachment)
    except DomainPermissionDenied as exc:
        handle.close()
        raise DjangoPermissionDenied(exc.message) from None
    return FileResponse(handle, as_attachment=True, filename=attachment.name)


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def attachment_delete(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    if not customer.attachments.filter(pk=attachment_pk, deleted_at__isnull=True).exists():
        raise Http404(_("记录不存在或您无权访问。"))
    try:
        services.attachment_delete(actor=request.user, attachment_id=attachment_pk)
    except DomainError as exc:
        _action_failed(request, exc)
    else:
        messages.success(request, _("附件已删除。"))
    return _to_detail(customer.pk, "attachments")
