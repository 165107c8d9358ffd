"""Ledger pages: a customer's 《客户出货回款信息表》, entry forms for shipments, payments
and orders, reversals, payment terms, price coefficients, and the ledger overview.

Views parse input, call one selector or service and render. Customers are fetched through
customers.selectors.customer_get (scope: 404 when missing or out of scope); the action
permission is checked by the decorator and again by the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.core.api import MAX_ID
from guanxi.core.errors import CreditLimitExceeded, DomainError, NotFound
from guanxi.credit.selectors import override_list
from guanxi.customers.forms import show_domain_error
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get
from guanxi.ledger import exports, imports, panel, selectors, services
from guanxi.ledger.forms import (
    CancelOrderForm,
    DecisionForm,
    EntryFilterForm,
    ImportForm,
    OrderForm,
    PaymentForm,
    PriceCoefficientForm,
    ReverseForm,
    ShipmentForm,
    TermsForm,
)
from guanxi.ledger.models import PriceCoefficient
from guanxi.org.scopes import CHANGE, VIEW

PAGE_SIZE = 50


def _customer(actor: Any, pk: Any, action: str = VIEW) -> Customer:
    if int(pk) > MAX_ID:  # the URL takes any digits; the database only bigints
        raise Http404(_("记录不存在或您无权访问。"))
    try:
        return customer_get(actor=actor, pk=pk, action=action)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


def _found(fetch: Any, **kwargs: Any) -> Any:
    try:
        return fetch(**kwargs)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


def _to_ledger(customer_id: int, anchor: str = "") -> HttpResponse:
    url = reverse("ledger_customer", kwargs={"pk": customer_id})
    return redirect(url + (f"#{anchor}" if anchor else ""))


# --- overview --------------------------------------------------------------------------------
@login_required
@permission_required("ledger.view_shipment", raise_exception=True)
def ledger_home(request: HttpRequest) -> HttpResponse:
    """Recent shipments and payments in the user's scope."""
    filters = EntryFilterForm(request.GET or None)
    since = until = None
    if filters.is_valid():
        since, until = filters.cleaned_data["since"], filters.cleaned_data["until"]
    kind = request.GET.get("kind", "shipments")
    if kind == "payments" and request.user.has_perm("ledger.view_payment"):
        rows = selectors.payment_list(actor=request.user, since=since, until=until)
    else:
        kind = "shipments"
        rows = selectors.shipment_list(actor=request.user, since=since, until=until)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/home.html",
        {"filters": filters, "page": page, "kind": kind},
    )


# --- the customer's 《客户出货回款信息表》 -------------------------------------------------------
@login_required
@permission_required("ledger.view_shipment", raise_exception=True)
def ledger_customer(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk)
    context = panel.panel_context(actor=request.user, customer=customer, limit_rows=None)
    return render(request, "ledger/customer.html", context)


@login_required
@permission_required("ledger.view_shipment", raise_exception=True)
def ledger_customer_export(request: HttpRequest, pk: int) -> HttpResponse:
    """《客户出货回款信息表》 as .xlsx."""
    customer = _customer(request.user, pk)
    content = exports.customer_ledger_workbook(actor=request.user, customer=customer)
    filename = _("客户出货回款信息表") + f"-{customer.name}-{timezone.localdate():%Y%m%d}.xlsx"
    response = HttpResponse(content, content_type=exports.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- entries ---------------------------------------------------------------------------------
# kind: (success message, ledger tab, page title)
_ENTRY_PAGES = {
    "shipment": (gettext_lazy("出货已登记。"), "shipments", gettext_lazy("登记出货")),
    "payment": (gettext_lazy("回款已登记。"), "payments", gettext_lazy("登记回款")),
    "order": (gettext_lazy("销售订单已登记。"), "orders", gettext_lazy("登记销售订单")),
    "coefficient": (
        gettext_lazy("单价系数申请已提交，待总经理或销售总监审批。"),
        "price-coefficients",
        gettext_lazy("申请单价系数"),
    ),
}


def _entry_form(
    request: HttpRequest, customer: Any, form: Any, kind: str, service: Callable[..., Any]
) -> HttpResponse:
    """The entry pages' common flow: on a valid POST call the service with the form's data
    (its service_data() when it has one); a domain error is shown on the form, success
    goes back to the customer's ledger tab."""
    done, tab, title = _ENTRY_PAGES[kind]
    if request.method == "POST" and form.is_valid():
        data = form.service_data() if hasattr(form, "service_data") else form.cleaned_data
        try:
            service(actor=request.user, customer_id=customer.pk, **data)
        except CreditLimitExceeded as exc:
            # the message names limit, exposure and shortfall (as the API's); its detail
            # holds the same figures for machines, not for the form's fields
            form.add_error(None, str(exc.message))
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, done)
            return _to_ledger(customer.pk, tab)
    return render(
        request,
        "ledger/entry_form.html",
        {"form": form, "customer": customer, "title": title, "kind": kind},
    )


@login_required
@permission_required("ledger.add_shipment", raise_exception=True)
def shipment_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    orders = selectors.order_list(actor=request.user, customer_id=customer.pk, open_only=True)
    overrides = override_list(actor=request.user, customer_id=customer.pk, usable=True)
    form = ShipmentForm(request.POST or None, orders=orders, overrides=overrides)
    return _entry_form(request, customer, form, "shipment", services.shipment_record)


@login_required
@permission_required("ledger.add_payment", raise_exception=True)
def payment_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = PaymentForm(request.POST or None)
    return _entry_form(request, customer, form, "payment", services.payment_record)


@login_required
@permission_required("ledger.add_order", raise_exception=True)
def order_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = OrderForm(request.POST or None)
    return _entry_form(request, customer, form, "order", services.order_record)


def _reverse_page(request: HttpRequest, row: Any, service: Any, field: str, title: str) -> Any:
    form = ReverseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service(
                actor=request.user,
                reason=form.cleaned_data["reason"],
                date=form.cleaned_data["date"],
                **{field: row.pk},
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("已冲销。"))
            return _to_ledger(row.customer_id)
    return render(
        request,
        "ledger/entry_form.html",
        {"form": form, "customer": row.customer, "title": title, "entry": row, "kind": "reverse"},
    )


@login_required
@permission_required("ledger.reverse_entry", raise_exception=True)
def shipment_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.shipment_get, actor=request.user, pk=pk, action=CHANGE)
    return _reverse_page(request, row, services.shipment_reverse, "shipment_id", _("冲销出货"))


@login_required
@permission_required("ledger.reverse_entry", raise_exception=True)
def payment_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.payment_get, actor=request.user, pk=pk, action=CHANGE)
    return _reverse_page(request, row, services.payment_reverse, "payment_id", _("冲销回款"))


@login_required
@permission_required("ledger.change_order", raise_exception=True)
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _found(selectors.order_get, actor=request.user, pk=pk, action=CHANGE)
    form = CancelOrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.order_cancel(
                actor=request.user, order_id=order.pk, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("订单已取消。"))
            return _to_ledger(order.customer_id, "orders")
    return render(
        request,
        "ledger/entry_form.html",
        {
            "form": form,
            "customer": order.customer,
            "title": _("取消销售订单"),
            "entry": order,
            "kind": "cancel",
        },
    )


@login_required
@permission_required("ledger.change_customerterms", raise_exception=True)
def terms_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = TermsForm(
        request.POST or None, initial={"days": selectors.terms_days(customer_id=customer.pk)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_terms_set(
                actor=request.user, customer_id=customer.pk, days=form.cleaned_data["days"]
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("账期已保存，适用于此后的出货。"))
            return _to_ledger(customer.pk)
    return render(
        request,
        "ledger/entry_form.html",
        {"form": form, "customer": customer, "title": _("设置账期"), "kind": "terms"},
    )


# --- import ----------------------------------------------------------------------------------
@login_required
@permission_required("ledger.import_ledger", raise_exception=True)
def ledger_import(request: HttpRequest) -> HttpResponse:
    """Upload an ERP export of shipments or payments: all rows or none."""
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = imports.ledger_import(
                actor=request.user,
                kind=form.cleaned_data["kind"],
                name=upload.name,
                content=upload.read(),
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            if result.ok:
                messages.success(request, _("已导入 %(count)s 行。") % {"count": result.written})
                return redirect("ledger_home")
    return render(request, "ledger/import.html", {"form": form, "result": result})


# --- price coefficients ----------------------------------------------------------------------
@login_required
@permission_required("ledger.add_pricecoefficient", raise_exception=True)
def price_coefficient_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = PriceCoefficientForm(
        request.POST or None, initial={"effective_from": timezone.localdate()}
    )
    return _entry_form(request, customer, form, "coefficient", services.price_coefficient_propose)


@login_required
@permission_required("ledger.view_pricecoefficient", raise_exception=True)
def price_coefficient_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", PriceCoefficient.Status.PENDING)
    if status not in PriceCoefficient.Status.values:
        status = ""
    rows = selectors.price_coefficient_list(actor=request.user, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/price_coefficients.html",
        {
            "page": page,
            "status": status,
            "statuses": PriceCoefficient.Status.choices,
            "form": DecisionForm(),
            "can_decide": request.user.has_perm("ledger.approve_pricecoefficient"),
        },
    )


@login_required
@permission_required("ledger.approve_pricecoefficient", raise_exception=True)
@require_POST
def price_coefficient_decide(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.price_coefficient_get, actor=request.user, pk=pk, action=CHANGE)
    form = DecisionForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    if form.is_valid():
        try:
            services.price_coefficient_decide(
                actor=request.user,
                coefficient_id=row.pk,
                approve=approve,
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            messages.error(request, " ".join([str(exc.message), *_details(exc)]))
        else:
            messages.success(request, _("已批准。") if approve else _("已驳回。"))
    return redirect("price_coefficient_list")


def _details(exc: DomainError) -> list[str]:
    return [
        str(m)
        for msgs in exc.detail.values()
        if isinstance(msgs, list)
        for m in msgs
        if isinstance(m, str)
    ]
