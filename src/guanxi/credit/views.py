"""Credit pages: the dashboard (warnings, approvals, investigations, the quarterly round),
a customer's credit page, proposals and approvals, overrides, investigations and the two
reports with their Excel exports.

Views parse input, call one selector or service and render; records are fetched through
scope (404), the permission is checked by the decorator and again by the service (403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.api import MAX_ID
from guanxi.core.errors import DomainError, NotFound
from guanxi.credit import exports, reports, selectors, services
from guanxi.credit.forms import (
    DecisionForm,
    FindingsForm,
    LimitApproveForm,
    LimitProposalForm,
    LimitRejectForm,
    OverrideRequestForm,
    QuarterForm,
    SalesFilterForm,
)
from guanxi.credit.models import CreditInvestigation, CreditLimit, CreditOverride
from guanxi.customers.forms import show_domain_error
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get
from guanxi.ledger.exports import XLSX
from guanxi.org.scopes import CHANGE, VIEW

PAGE_SIZE = 50
DASHBOARD_ROWS = 20


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


def _message(request: HttpRequest, exc: DomainError) -> None:
    from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

    from guanxi.core.errors import PermissionDenied

    if isinstance(exc, NotFound):
        raise Http404(str(exc.message)) from exc
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc.message)) from exc
    details = [
        str(m)
        for msgs in exc.detail.values()
        if isinstance(msgs, list)
        for m in msgs
        if isinstance(m, str)
    ]
    messages.error(request, " ".join([str(exc.message), *details]))


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# --- dashboard -------------------------------------------------------------------------------
@login_required
@permission_required("credit.view_creditlimit", raise_exception=True)
def credit_home(request: HttpRequest) -> HttpResponse:
    actor = request.user
    now = timezone.now()
    pending = selectors.credit_limit_list(actor=actor, status=CreditLimit.Status.PENDING)
    drafts = selectors.credit_limit_list(actor=actor, status=CreditLimit.Status.DRAFT, mine=True)
    rounds = list(selectors.round_list()[:1])
    current_round = rounds[0] if rounds and selectors.round_is_open(rounds[0], at=now) else None
    context = {
        "now": now,
        "warnings": selectors.credit_warnings(actor=actor, at=now)[:DASHBOARD_ROWS],
        "pending": list(pending.order_by("due_at", "id")[:DASHBOARD_ROWS]),
        "pending_count": pending.count(),
        "overdue_count": pending.filter(due_at__lt=now).count(),
        "drafts": list(drafts[:DASHBOARD_ROWS]),
        "investigations": list(
            selectors.investigation_list(actor=actor, status=CreditInvestigation.Status.OPEN)[
                :DASHBOARD_ROWS
            ]
        ),
        "overrides": list(
            selectors.override_list(actor=actor, status=CreditOverride.Status.PENDING)[
                :DASHBOARD_ROWS
            ]
        ),
        "current_round": current_round,
        "can_open_round": actor.has_perm("credit.open_creditround")
        and current_round is None
        and services.round_target(now) is not None,
        "can_approve": actor.has_perm("credit.approve_creditlimit"),
        "can_decide_override": actor.has_perm("credit.approve_creditoverride"),
    }
    return render(request, "credit/home.html", context)


@login_required
@permission_required("credit.open_creditround", raise_exception=True)
@require_POST
def round_open(request: HttpRequest) -> HttpResponse:
    try:
        row = services.credit_round_open(actor=request.user)
    except DomainError as exc:
        _message(request, exc)
    else:
        messages.success(
            request,
            _("已开启%(round)s额度申报，生成 %(count)s 条建议，请各负责人调整后提交。")
            % {"round": row, "count": row.proposals},
        )
    return redirect("credit_home")


# --- a customer's credit ---------------------------------------------------------------------
@login_required
@permission_required("credit.view_creditlimit", raise_exception=True)
def credit_customer(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    customer = _customer(actor, pk)
    can_change = True
    try:
        customer_get(actor=actor, pk=customer.pk, action=CHANGE)
    except NotFound:
        can_change = False
    context = {
        "customer": customer,
        "overview": selectors.credit_overview(customer=customer),
        "limits": list(selectors.credit_limit_list(actor=actor, customer_id=customer.pk)[:30]),
        "ratings": list(selectors.rating_list(actor=actor, customer_id=customer.pk)[:10]),
        "overrides": list(selectors.override_list(actor=actor, customer_id=customer.pk)[:20]),
        "can_propose": can_change and actor.has_perm("credit.add_creditlimit"),
        "can_override": can_change and actor.has_perm("credit.add_creditoverride"),
        "can_rate": can_change and actor.has_perm("credit.add_creditrating"),
        "now": timezone.now(),
    }
    return render(request, "credit/customer.html", context)


@login_required
@permission_required("credit.add_creditrating", raise_exception=True)
@require_POST
def customer_rate(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    try:
        services.credit_rate(actor=request.user, customer_id=customer.pk)
    except DomainError as exc:
        _message(request, exc)
    else:
        messages.success(request, _("资信等级已重新评定。"))
    return redirect("credit_customer", pk=customer.pk)


# --- limits ----------------------------------------------------------------------------------
@login_required
@permission_required("credit.add_creditlimit", raise_exception=True)
def limit_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    suggestion = services.credit_limit_suggestion(customer=customer)
    form = LimitProposalForm(request.POST or None, initial={"amount": suggestion["amount"]})
    if request.method == "POST" and form.is_valid():
        try:
            row = services.credit_limit_propose(
                actor=request.user, customer_id=customer.pk, **form.cleaned_data
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("额度申请已提交，等待总经理审批。"))
            return redirect("credit_limit_detail", pk=row.pk)
    return render(
        request,
        "credit/limit_form.html",
        {
            "form": form,
            "customer": customer,
            "suggestion": suggestion,
            "overview": selectors.credit_overview(customer=customer),
        },
    )


@login_required
@permission_required("credit.view_creditlimit", raise_exception=True)
def limit_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in CreditLimit.Status.values:
        status = ""
    overdue = request.GET.get("overdue") == "1"
    rows = selectors.credit_limit_list(actor=request.user, status=status, overdue=overdue)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "credit/limits.html",
        {
            "page": page,
            "status": status,
            "overdue": overdue,
            "statuses": CreditLimit.Status.choices,
            "now": timezone.now(),
        },
    )


@login_required
@permission_required("credit.view_creditlimit", raise_exception=True)
def limit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.credit_limit_get, actor=request.user, pk=pk)
    return _limit_page(request, row)


def _limit_page(request: HttpRequest, row: CreditLimit, **forms: Any) -> HttpResponse:
    actor = request.user
    can_decide = row.status == CreditLimit.Status.PENDING and actor.has_perm(
        "credit.approve_creditlimit"
    )
    return render(
        request,
        "credit/limit_detail.html",
        {
            "row": row,
            "customer": row.customer,
            "overdue": selectors.is_overdue(row),
            "overview": selectors.credit_overview(customer=row.customer),
            "can_decide": can_decide,
            "approve_form": forms.get("approve_form") or LimitApproveForm(),
            "reject_form": forms.get("reject_form") or LimitRejectForm(),
            "can_submit": row.status == CreditLimit.Status.DRAFT
            and actor.has_perm("credit.add_creditlimit"),
        },
    )


@login_required
@permission_required("credit.approve_creditlimit", raise_exception=True)
@require_POST
def limit_approve(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.credit_limit_get, actor=request.user, pk=pk, action=CHANGE)
    form = LimitApproveForm(request.POST)
    if form.is_valid():
        try:
            services.credit_limit_approve(actor=request.user, limit_id=row.pk, **form.cleaned_data)
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("信用额度已批准。"))
            return redirect("credit_limit_detail", pk=row.pk)
    return _limit_page(request, row, approve_form=form)


@login_required
@permission_required("credit.approve_creditlimit", raise_exception=True)
@require_POST
def limit_reject(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.credit_limit_get, actor=request.user, pk=pk, action=CHANGE)
    form = LimitRejectForm(request.POST)
    if form.is_valid():
        try:
            services.credit_limit_reject(actor=request.user, limit_id=row.pk, **form.cleaned_data)
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("额度申请已驳回。"))
            return redirect("credit_limit_detail", pk=row.pk)
    return _limit_page(request, row, reject_form=form)


# --- overrides -------------------------------------------------------------------------------
@login_required
@permission_required("credit.add_creditoverride", raise_exception=True)
def override_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk, CHANGE)
    form = OverrideRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.credit_override_request(
                actor=request.user, customer_id=customer.pk, **form.cleaned_data
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("特批申请已提交，等待信用控制审批。"))
            return redirect("credit_customer", pk=customer.pk)
    return render(
        request,
        "credit/simple_form.html",
        {"form": form, "customer": customer, "title": _("申请超额度出货特批")},
    )


@login_required
@permission_required("credit.view_creditoverride", raise_exception=True)
def override_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", CreditOverride.Status.PENDING)
    if status not in CreditOverride.Status.values:
        status = ""
    rows = selectors.override_list(actor=request.user, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "credit/overrides.html",
        {
            "page": page,
            "status": status,
            "statuses": CreditOverride.Status.choices,
            "can_decide": request.user.has_perm("credit.approve_creditoverride"),
        },
    )


@login_required
@permission_required("credit.approve_creditoverride", raise_exception=True)
@require_POST
def override_decide(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.override_get, actor=request.user, pk=pk, action=CHANGE)
    form = DecisionForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    if form.is_valid():
        try:
            services.credit_override_decide(
                actor=request.user, override_id=row.pk, approve=approve, **form.cleaned_data
            )
        except DomainError as exc:
            _message(request, exc)
        else:
            messages.success(request, _("特批已批准。") if approve else _("特批已驳回。"))
    return redirect("credit_override_list")


# --- investigations --------------------------------------------------------------------------
@login_required
@permission_required("credit.view_creditinvestigation", raise_exception=True)
def investigation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", CreditInvestigation.Status.OPEN)
    if status not in CreditInvestigation.Status.values:
        status = ""
    mine = request.GET.get("mine") == "1"
    rows = selectors.investigation_list(actor=request.user, status=status, mine=mine)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "credit/investigations.html",
        {"page": page, "status": status, "mine": mine,
         "statuses": CreditInvestigation.Status.choices},
    )  # fmt: skip


@login_required
@permission_required("credit.change_creditinvestigation", raise_exception=True)
def investigation_close(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.investigation_get, actor=request.user, pk=pk, action=CHANGE)
    form = FindingsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.investigation_close(
                actor=request.user, investigation_id=row.pk, **form.cleaned_data
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("资信调查已结案。"))
            return redirect("credit_investigation_list")
    return render(
        request,
        "credit/simple_form.html",
        {"form": form, "customer": row.customer, "title": _("资信调查结案"), "entry": row},
    )


# --- reports ---------------------------------------------------------------------------------
@login_required
@permission_required("credit.view_credit_report", raise_exception=True)
def report_credit(request: HttpRequest) -> HttpResponse:
    """客户资信报表 (quarterly), with ?format=xlsx for Excel."""
    form = QuarterForm(request.GET or None)
    today = timezone.localdate()
    year, quarter = today.year, (today.month - 1) // 3 + 1
    if form.is_valid():
        year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    report = reports.credit_report(actor=request.user, year=year, quarter=quarter)
    if request.GET.get("format") == "xlsx":
        content = exports.credit_report_workbook(actor=request.user, report=report)
        return _xlsx(content, _("客户资信报表") + f"-{year}Q{quarter}.xlsx")
    page = Paginator(report.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "credit/report_credit.html", {"form": form, "report": report, "page": page}
    )


@login_required
@permission_required("credit.view_credit_report", raise_exception=True)
def report_sales(request: HttpRequest) -> HttpResponse:
    """销售回款汇总 per customer / owner / department, with ?format=xlsx for Excel."""
    form = SalesFilterForm(request.GET or None)
    today = timezone.localdate()
    since, until, group = today.replace(month=1, day=1), today, "customer"
    if form.is_valid():
        since = form.cleaned_data["since"] or since
        until = form.cleaned_data["until"] or until
        group = form.cleaned_data["group"] or group
    rows = reports.sales_summary(actor=request.user, since=since, until=until, group=group)
    if request.GET.get("format") == "xlsx":
        content = exports.sales_workbook(
            actor=request.user, rows=rows, since=since, until=until, group=group
        )
        return _xlsx(content, _("销售回款汇总") + f"-{since:%Y%m}-{until:%Y%m}.xlsx")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = {
        "shipped": sum((r.shipped for r in rows), start=0),
        "profit": sum((r.profit for r in rows), start=0),
        "paid": sum((r.paid for r in rows), start=0),
        "balance": sum((r.balance for r in rows), start=0),
    }
    return render(
        request,
        "credit/report_sales.html",
        {"form": form, "page": page, "group": group, "since": since, "until": until,
         "totals": totals, "query": request.GET.urlencode()},
    )  # fmt: skip
