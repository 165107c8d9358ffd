"""Review pages: the annual review cycle (年度评定) with its 《客户等级评定表》 and
《年度重要顾客一览表》, the lifecycle lists (due reviews, elimination candidates, growth
ranking, treatment applications) and the management dashboard.

Views parse input, call one selector or service and render. Entries and customers are
fetched through scope (404 when missing or out of scope); the action permission is checked
by the decorator and again by the service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi import policy
from guanxi.core.errors import DomainError, NotFound, PermissionDenied
from guanxi.customers.forms import show_domain_error
from guanxi.org.scopes import CHANGE, VIEW
from guanxi.reviews import exports, grading_adapter, selectors, services
from guanxi.reviews.forms import (
    CycleOpenForm,
    EntryFilterForm,
    GradeForm,
    NoteForm,
    TreatmentApplyForm,
)
from guanxi.reviews.models import ReviewCycle, TreatmentApplication

PAGE_SIZE = 50
Status = ReviewCycle.Status


def _found(fetch: Any, **kwargs: Any) -> Any:
    try:
        return fetch(**kwargs)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


def _message(exc: DomainError) -> str:
    """The error's message with its field messages, for a flash message."""
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
    return " ".join([str(exc.message), *details])


# --- cycles ------------------------------------------------------------------------------------
@login_required
@permission_required("reviews.view_reviewcycle", raise_exception=True)
def reviews_home(request: HttpRequest) -> HttpResponse:
    cycles = selectors.cycle_list()
    current = selectors.cycle_in_progress()
    progress = (
        selectors.progress_total(selectors.cycle_progress(actor=request.user, cycle=current))
        if current
        else None
    )
    return render(
        request,
        "reviews/home.html",
        {"cycles": cycles[:20], "current": current, "progress": progress},
    )


@login_required
@permission_required("reviews.open_reviewcycle", raise_exception=True)
def cycle_open(request: HttpRequest) -> HttpResponse:
    year, starts_on, ends_on = services.default_window()
    form = CycleOpenForm(
        request.POST or None, initial={"year": year, "starts_on": starts_on, "ends_on": ends_on}
    )
    if request.method == "POST" and form.is_valid():
        try:
            cycle = services.cycle_open(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("年度评定已开启，系统已为每个客户给出建议等级。"))
            return redirect("review_cycle", pk=cycle.pk)
    return render(request, "reviews/cycle_open.html", {"form": form})


def _entry_filters(request: HttpRequest) -> dict[str, Any]:
    form = EntryFilterForm(request.GET or None)
    if not form.is_valid():
        return {"form": EntryFilterForm(), "state": "", "department_id": None, "mine": False}
    data = form.cleaned_data
    return {
        "form": form,
        "state": data["q_state"],
        "department_id": data["department"],
        "mine": data["mine"],
    }


@login_required
@permission_required("reviews.view_reviewentry", raise_exception=True)
def cycle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = _found(selectors.cycle_get, pk=pk)
    user = request.user
    filters = _entry_filters(request)
    rows = selectors.entry_list(
        actor=user,
        cycle=cycle,
        department_id=filters["department_id"],
        state=filters["state"],
        mine=filters["mine"],
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    progress = selectors.cycle_progress(actor=user, cycle=cycle)
    can_rate = cycle.status == Status.OPEN and user.has_perm("reviews.rate_reviewentry")
    can_adjust = cycle.status == Status.REVIEW and user.has_perm("reviews.adjust_reviewcycle")
    editable = (
        selectors.editable_entries(actor=user, entry_ids=[e.pk for e in page.object_list])
        if can_rate or can_adjust
        else set()
    )
    return render(
        request,
        "reviews/cycle_detail.html",
        {
            "cycle": cycle,
            "page": page,
            "filters": filters["form"],
            "state": filters["state"],
            "progress": progress,
            "total": selectors.progress_total(progress),
            "can_rate": can_rate,
            "can_adjust": can_adjust,
            "editable": editable,
            "grade_form": GradeForm(),
            "labels": {b["code"]: b["label"] for b in grading_adapter.bands()},
            "note_form": NoteForm(),
            "can_export": user.has_perm("reviews.export_reviewentry"),
        },
    )


def _back_to_cycle(request: HttpRequest, cycle_id: int, anchor: str = "") -> HttpResponse:
    url = reverse("review_cycle", kwargs={"pk": cycle_id})
    back = request.POST.get("next", "")
    if back.startswith(url):  # only back to the same page (its filters and page number)
        url = back
    return redirect(url + (f"#{anchor}" if anchor else ""))


def _grade_step(request: HttpRequest, pk: int, service: Any, done: str) -> HttpResponse:
    entry = _found(selectors.entry_get, actor=request.user, pk=pk, action=VIEW)
    form = GradeForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            " ".join(str(m) for errors in form.errors.values() for m in errors),
        )
        return _back_to_cycle(request, entry.cycle_id, f"entry-{entry.pk}")
    try:
        service(actor=request.user, entry_id=entry.pk, **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, done % {"name": entry.customer.name})
    return _back_to_cycle(request, entry.cycle_id, f"entry-{entry.pk}")


@login_required
@permission_required("reviews.rate_reviewentry", raise_exception=True)
@require_POST
def entry_rate(request: HttpRequest, pk: int) -> HttpResponse:
    return _grade_step(request, pk, services.entry_rate, _("已保存 %(name)s 的初评。"))


@login_required
@permission_required("reviews.adjust_reviewcycle", raise_exception=True)
@require_POST
def entry_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    return _grade_step(request, pk, services.entry_adjust, _("已保存 %(name)s 的复评调整。"))


# Stage changes: (service, permission, message).
STEPS = {
    "start-review": (
        services.cycle_start_review,
        "reviews.adjust_reviewcycle",
        _("复评已开始，初评已关闭。"),
    ),  # noqa: E501
    "submit": (services.cycle_submit, "reviews.adjust_reviewcycle", _("已提交总经理批准。")),
    "return": (services.cycle_return, "reviews.approve_reviewcycle", _("已退回复评。")),
    "approve": (
        services.cycle_approve,
        "reviews.approve_reviewcycle",
        _("已批准，评定等级已生效。"),
    ),  # noqa: E501
    "cancel": (services.cycle_cancel, "reviews.open_reviewcycle", _("年度评定已取消。")),
}


@login_required
@require_POST
def cycle_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404()
    service, perm, done = STEPS[step]
    if not request.user.has_perm(perm):
        raise DjangoPermissionDenied()
    cycle = _found(selectors.cycle_get, pk=pk)
    form = NoteForm(request.POST)
    kwargs: dict[str, Any] = {}
    if step in ("submit", "return", "approve", "cancel"):
        kwargs["note"] = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        service(actor=request.user, cycle_id=cycle.pk, **kwargs)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, str(done))
    return redirect("review_cycle", pk=cycle.pk)


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=exports.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
@permission_required("reviews.export_reviewentry", raise_exception=True)
def cycle_export(request: HttpRequest, pk: int) -> HttpResponse:
    """《客户等级评定表》 as .xlsx, the rows in the user's scope (and the page's filters)."""
    cycle = _found(selectors.cycle_get, pk=pk)
    filters = _entry_filters(request)
    rows = selectors.entry_list(
        actor=request.user,
        cycle=cycle,
        department_id=filters["department_id"],
        state=filters["state"],
        mine=filters["mine"],
    )
    try:
        content = exports.rating_form_workbook(actor=request.user, cycle=cycle, rows=rows)
    except DomainError as exc:
        messages.error(request, _message(exc))
        return redirect("review_cycle", pk=cycle.pk)
    return _xlsx(content, _("客户等级评定表") + f"-{cycle.year}-{timezone.localdate():%Y%m%d}.xlsx")


@login_required
@permission_required("reviews.view_reviewentry", raise_exception=True)
def key_customers(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = _found(selectors.cycle_get, pk=pk)
    rows = selectors.key_customers(actor=request.user, cycle=cycle)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/key_customers.html",
        {
            "cycle": cycle,
            "page": page,
            "labels": {b["code"]: b["label"] for b in grading_adapter.bands()},
            "can_export": request.user.has_perm("reviews.export_reviewentry"),
        },
    )


@login_required
@permission_required("reviews.export_reviewentry", raise_exception=True)
def key_customers_export(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = _found(selectors.cycle_get, pk=pk)
    if cycle.status != Status.EFFECTIVE:
        raise Http404(_("年度评定批准生效后才产生年度重要顾客一览表。"))
    rows = selectors.key_customers(actor=request.user, cycle=cycle)
    try:
        content = exports.key_customers_workbook(actor=request.user, cycle=cycle, rows=rows)
    except DomainError as exc:
        messages.error(request, _message(exc))
        return redirect("review_key_customers", pk=cycle.pk)
    return _xlsx(content, _("%(year)s年度重要顾客一览表") % {"year": cycle.year} + ".xlsx")


# --- lifecycle ---------------------------------------------------------------------------------
@login_required
@permission_required("reviews.view_lifecycle", raise_exception=True)
def provisional_list(request: HttpRequest) -> HttpResponse:
    due_only = request.GET.get("all") != "1"
    rows = selectors.provisional_list(actor=request.user, due_only=due_only)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    months = policy.get("reviews.provisional_months")
    for customer in page.object_list:
        customer.review_due_on = selectors.review_due_on(customer)
    return render(
        request,
        "reviews/provisional.html",
        {
            "page": page,
            "due_only": due_only,
            "months": months,
            "today": timezone.localdate(),
            "grade_form": GradeForm(),
            "can_confirm": request.user.has_perm("reviews.add_provisionalreview"),
        },
    )


@login_required
@permission_required("reviews.add_provisionalreview", raise_exception=True)
@require_POST
def provisional_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    form = GradeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for e in form.errors.values() for m in e))
        return redirect("review_provisional")
    try:
        row = services.provisional_confirm(actor=request.user, customer_id=pk, **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已确认 %(name)s 的等级。") % {"name": row.customer.name})
    return redirect("review_provisional")


@login_required
@permission_required("reviews.view_lifecycle", raise_exception=True)
def elimination_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.elimination_candidates(actor=request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/elimination.html",
        {
            "page": page,
            "grades": policy.get("reviews.elimination_grades"),
            "years": policy.get("reviews.elimination_years"),
        },
    )


@login_required
@permission_required("reviews.view_lifecycle", raise_exception=True)
def growth_ranking(request: HttpRequest) -> HttpResponse:
    y0, y1, end = selectors.growth_periods()
    return render(
        request,
        "reviews/growth.html",
        {
            "rows": selectors.growth_ranking(actor=request.user),
            "y0": y0,
            "y1": y1,
            "end": end,
            "base": policy.get("reviews.growth_min_base"),
        },
    )


@login_required
@permission_required("reviews.view_treatmentapplication", raise_exception=True)
def treatment_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", TreatmentApplication.Status.PENDING)
    if status not in TreatmentApplication.Status.values:
        status = ""
    rows = selectors.application_list(actor=request.user, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    form = TreatmentApplyForm(initial={"customer": request.GET.get("customer", "")})
    return render(
        request,
        "reviews/treatment.html",
        {
            "page": page,
            "status": status,
            "statuses": TreatmentApplication.Status.choices,
            "form": form,
            "rule": policy.get("reviews.treatment_raise"),
            "can_apply": request.user.has_perm("reviews.add_treatmentapplication"),
            "can_decide": request.user.has_perm("reviews.decide_treatmentapplication"),
        },
    )


@login_required
@permission_required("reviews.add_treatmentapplication", raise_exception=True)
@require_POST
def treatment_apply(request: HttpRequest) -> HttpResponse:
    form = TreatmentApplyForm(request.POST)
    if form.is_valid():
        try:
            services.treatment_apply(
                actor=request.user,
                customer_id=form.cleaned_data["customer"],
                reason=form.cleaned_data["reason"],
            )
        except NotFound:
            messages.error(request, _("客户不存在或不在您的数据范围内。"))
        except DomainError as exc:
            messages.error(request, _message(exc))
        else:
            messages.success(request, _("申请已提交，等待销售总监或总经理审批。"))
            return redirect("review_treatment")
    else:
        messages.error(request, " ".join(str(m) for e in form.errors.values() for m in e))
    return redirect("review_treatment")


@login_required
@permission_required("reviews.decide_treatmentapplication", raise_exception=True)
@require_POST
def treatment_decide(request: HttpRequest, pk: int) -> HttpResponse:
    row = _found(selectors.application_get, actor=request.user, pk=pk, action=CHANGE)
    approve = request.POST.get("decision") == "approve"
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.treatment_decide(
            actor=request.user, application_id=row.pk, approve=approve, note=note
        )
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已批准。") if approve else _("已驳回。"))
    return redirect(reverse("review_treatment") + "?status=all")


# --- dashboard ---------------------------------------------------------------------------------
@login_required
@permission_required("reviews.view_dashboard", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    data = selectors.dashboard(actor=request.user)
    return render(request, "reviews/dashboard.html", {"data": data, "charts": _charts(data)})


@login_required
@permission_required("reviews.view_dashboard", raise_exception=True)
def dashboard_data(request: HttpRequest) -> JsonResponse:
    data = selectors.dashboard(actor=request.user)
    return JsonResponse(
        {**data, "charts": _charts(data)}, json_dumps_params={"ensure_ascii": False}
    )


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    """The two distributions in the shape the page's ECharts code reads."""
    return {
        "grades": {
            "title": _("客户等级分布"),
            "labels": [row["label"] for row in data["grades"]],
            "values": [row["count"] for row in data["grades"]],
        },
        "statuses": {
            "title": _("合作状态分布"),
            "items": [
                {"name": row["label"], "value": row["count"], "colour": row["colour"]}
                for row in data["statuses"]
            ],
        },
    }
