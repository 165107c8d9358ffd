"""Cooperation status pages: the owner's monthly update, who has not updated (per
department), the sales director's special reviews, the upgrade leaderboard, the
客户统计表 and the status change of one customer.

Views parse input, call one selector or service and render. Customers and reviews are
fetched through scope (404 when missing or out of scope); the action permission is
checked by the decorator and again by the service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi import policy
from guanxi.cooperation import selectors, services
from guanxi.cooperation.forms import (
    DecideForm,
    LeaderboardForm,
    MonthForm,
    StatisticsFilterForm,
    StatusForm,
)
from guanxi.cooperation.ladder import period_end, period_label, period_start
from guanxi.cooperation.models import SpecialReview
from guanxi.core.api import MAX_ID
from guanxi.core.errors import DomainError, NotFound, PermissionDenied
from guanxi.customers.forms import show_domain_error
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get, phones_visible
from guanxi.org.selectors import departments_visible_to, users_visible_to

PAGE_SIZE = 50


def _found(fetch: Any, **kwargs: Any) -> Any:
    try:
        return fetch(**kwargs)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


def _customer(actor: Any, pk: int) -> Customer:
    if int(pk) > MAX_ID:  # the URL takes any digits; the database only bigints
        raise Http404(_("记录不存在或您无权访问。"))
    return _found(customer_get, actor=actor, pk=pk)


@login_required
def cooperation_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.has_perm("cooperation.add_monthlyupdate"):
        return redirect("cooperation_monthly")
    if user.has_perm("cooperation.view_specialreview"):
        return redirect("special_review_list")
    if user.has_perm("customers.view_customer"):
        return redirect("cooperation_statistics")
    raise DjangoPermissionDenied


# --- the monthly update ------------------------------------------------------------------------
def _entries(post: Any, customer_ids: list[int]) -> list[dict[str, Any]]:
    """The rows of the monthly form that carry a status (a customer without any status and
    no choice stays unconfirmed)."""
    entries = []
    for pk in customer_ids:
        status = post.get(f"status_{pk}", "")
        if status:
            entries.append(
                {
                    "customer": pk,
                    "status": status,
                    "reason": post.get(f"reason_{pk}", ""),
                    "plan": post.get(f"plan_{pk}", ""),
                }
            )
    return entries


@login_required
@permission_required("cooperation.add_monthlyupdate", raise_exception=True)
def monthly_update(request: HttpRequest) -> HttpResponse:
    """The owner's monthly update: every customer they own, one row each, the ladder as
    coloured buttons; reason and plan are required on a downgrade (checked by the service;
    the page marks them as soon as a lower status is chosen)."""
    month = selectors.current_month()
    rows = list(selectors.monthly_rows(actor=request.user, month=month))
    errors: dict[int, dict[str, list[str]]] = {}
    top_error = ""
    posted: dict[str, str] = {}
    if request.method == "POST":
        entries = _entries(request.POST, [row.pk for row in rows])
        posted = {key: request.POST.get(key, "") for key in request.POST}
        try:
            result = services.monthly_update_submit(actor=request.user, entries=entries)
        except DomainError as exc:
            if isinstance(exc, NotFound | PermissionDenied):
                raise DjangoPermissionDenied(str(exc.message)) from exc
            top_error = str(exc.message)
            for entry, problems in zip(entries, exc.detail.get("entries", []), strict=False):
                if isinstance(problems, dict) and problems:
                    errors[entry["customer"]] = {
                        k: [str(m) for m in v] for k, v in problems.items()
                    }
        else:
            opened = sum(1 for change in result.changed if change.review_opened)
            text = _("已确认 %(n)d 个客户本月的合作状态，其中 %(c)d 个有变化。") % {
                "n": result.confirmed,
                "c": len(result.changed),
            }
            if opened:
                text += " " + _("%(n)d 个客户降级较多，已为销售总监开启专题评审。") % {"n": opened}
            messages.success(request, text)
            return redirect("cooperation_monthly")
    ladder = selectors.ladder_now()
    due_on = selectors.monthly_due_date(month)
    for row in rows:
        row.step = ladder.get(row.cooperation_status)
        row.status_field = f"status_{row.pk}"
        row.chosen = posted.get(f"status_{row.pk}", row.confirmed_status or row.cooperation_status)
        row.reason_value = posted.get(f"reason_{row.pk}", "")
        row.plan_value = posted.get(f"plan_{row.pk}", "")
        row.errors = errors.get(row.pk, {})
    return render(
        request,
        "cooperation/monthly.html",
        {
            "month": month,
            "rows": rows,
            "ladder": ladder,
            "due_on": due_on,
            "overdue": timezone.localdate() > due_on,
            "done": sum(1 for row in rows if row.confirmed_status),
            "top_error": top_error,
            "active": "monthly",
        },
    )


def _month_of(request: HttpRequest) -> tuple[MonthForm, dt.date]:
    form = MonthForm(request.GET or None)
    month = selectors.current_month()
    if form.is_valid() and form.cleaned_data.get("month"):
        year, number = form.cleaned_data["month"].split("-")
        month = dt.date(int(year), int(number), 1)
    return form, month


@login_required
@permission_required("cooperation.view_update_progress", raise_exception=True)
def monthly_progress(request: HttpRequest) -> HttpResponse:
    """Who has not updated this month, per department (owners of customers in scope)."""
    form, month = _month_of(request)
    departments = selectors.monthly_progress(actor=request.user, month=month)
    due_on = selectors.monthly_due_date(month)
    return render(
        request,
        "cooperation/progress.html",
        {
            "form": form,
            "month": month,
            "departments": departments,
            "due_on": due_on,
            "overdue": timezone.localdate() > due_on,
            "missing_count": sum(len(d.missing) for d in departments),
            "active": "progress",
        },
    )


# --- special reviews ---------------------------------------------------------------------------
@login_required
@permission_required("cooperation.view_specialreview", raise_exception=True)
def special_review_list(request: HttpRequest) -> HttpResponse:
    wanted = request.GET.get("status", SpecialReview.Status.OPEN)
    if wanted not in {*SpecialReview.Status.values, "all"}:
        wanted = SpecialReview.Status.OPEN
    rows = selectors.special_review_list(
        actor=request.user, status=None if wanted == "all" else wanted
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cooperation/reviews.html",
        {
            "page": page,
            "wanted": wanted,
            "ladder": selectors.ladder_now(),
            "active": "reviews",
        },
    )


@login_required
@permission_required("cooperation.view_specialreview", raise_exception=True)
def special_review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = _found(selectors.special_review_get, actor=request.user, pk=pk)
    can_decide = (
        request.user.has_perm("cooperation.decide_specialreview")
        and review.status == SpecialReview.Status.OPEN
    )
    users = users_visible_to(request.user).exclude(pk=review.customer.owner_id).order_by("name")
    form = DecideForm(
        request.POST or None,
        users=users,
        initial={"outcome": review.outcome, "meeting_on": review.meeting_on},
    )
    if request.method == "POST":
        if not can_decide:
            raise DjangoPermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.special_review_decide(
                    actor=request.user,
                    review_id=review.pk,
                    outcome=data["outcome"],
                    meeting_on=data["meeting_on"],
                    new_owner=data["new_owner"],
                    close=data["close"],
                )
            except DomainError as exc:
                show_domain_error(form, exc)
            else:
                messages.success(request, _("专题会议结论已记录。"))
                return redirect("special_review_detail", pk=review.pk)
    changes = selectors.status_change_list(actor=request.user, customer_id=review.customer_id)
    return render(
        request,
        "cooperation/review_detail.html",
        {
            "review": review,
            "form": form,
            "can_decide": can_decide,
            "changes": changes[:20],
            "ladder": selectors.ladder_now(),
            "active": "reviews",
        },
    )


@login_required
@permission_required("cooperation.decide_specialreview", raise_exception=True)
@require_POST
def special_review_close(request: HttpRequest, pk: int) -> HttpResponse:
    review = _found(selectors.special_review_get, actor=request.user, pk=pk)
    try:
        services.special_review_close(actor=request.user, review_id=review.pk)
    except (NotFound, PermissionDenied):
        raise Http404(_("记录不存在或您无权访问。")) from None
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("专题评审已结束。"))
    return redirect("special_review_detail", pk=review.pk)


# --- leaderboard -------------------------------------------------------------------------------
@login_required
@permission_required("cooperation.view_update_progress", raise_exception=True)
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Upgrades counted per owner and period (for rewards), best first."""
    form = LeaderboardForm(request.GET or None)
    period, day = policy.get("cooperation.upgrade_period"), timezone.localdate()
    if form.is_valid():
        period = form.cleaned_data["period"] or period
        day = form.cleaned_data["date"] or day
    start = period_start(period, day)
    rows = selectors.leaderboard(actor=request.user, period=period, start=start)
    credits = selectors.upgrade_credit_list(actor=request.user, period=period, start=start)
    previous = period_start(period, start - dt.timedelta(days=1))
    return render(
        request,
        "cooperation/leaderboard.html",
        {
            "form": form,
            "period": period,
            "label": period_label(period, start),
            "rows": rows,
            "credits": credits[:100],
            "previous": previous,
            "next": period_end(period, start),
            "ladder": selectors.ladder_now(),
            "active": "leaderboard",
        },
    )


# --- 客户统计表 -----------------------------------------------------------------------------
@login_required
@permission_required("customers.view_customer", raise_exception=True)
def statistics(request: HttpRequest) -> HttpResponse:
    """序号, 客户, 分支机构, 主要负责人, 联系方式, 合作状态, 表示颜色 — scoped, coloured."""
    ladder = selectors.ladder_now()
    form = StatisticsFilterForm(
        request.GET or None, ladder=ladder, departments=departments_visible_to(request.user)
    )
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "search": data["q"],
            "status": data["status"],
            "department_id": data["department"].pk if data["department"] else None,
        }
    rows = selectors.statistics_rows(actor=request.user, **filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for number, customer in enumerate(page.object_list, start=page.start_index()):
        customer.number = number
        customer.step = ladder.get(customer.cooperation_status)
        phone = customer.contact_mobile or customer.contact_phone or customer.phone
        customer.phones_visible = phones_visible(actor=request.user, customer=customer)
        customer.contact_number = phone or ""
    counts = selectors.status_counts(actor=request.user)
    legend = [(step, counts.get(step.code, 0)) for step in ladder]
    return render(
        request,
        "cooperation/statistics.html",
        {
            "form": form,
            "page": page,
            "legend": legend,
            "unset": counts.get("", 0),
            "active": "statistics",
        },
    )


# --- one customer ------------------------------------------------------------------------------
@login_required
@permission_required("cooperation.add_statuschange", raise_exception=True)
def status_change(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request.user, pk)
    if not selectors.can_change_status(actor=request.user, customer=customer):
        raise DjangoPermissionDenied
    ladder = selectors.ladder_now()
    form = StatusForm(
        request.POST or None, ladder=ladder, initial={"status": customer.cooperation_status}
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = services.status_change(
                actor=request.user, customer_id=customer.pk, **form.cleaned_data
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            text = _("合作状态已更新为“%(label)s”。") % {
                "label": ladder.label(result.change.to_status)
            }
            if result.review_opened:
                text += " " + _("已为销售总监开启专题评审。")
            messages.success(request, text)
            return redirect(reverse("customer_detail", kwargs={"pk": customer.pk}) + "#cooperation")
    return render(
        request,
        "cooperation/status_form.html",
        {
            "customer": customer,
            "form": form,
            "ladder": ladder,
            "current": ladder.get(customer.cooperation_status),
            "chosen": form["status"].value() or customer.cooperation_status,
        },
    )
