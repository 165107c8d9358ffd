"""Grading pages: the overview (distribution in scope, runs, start a run in the
background), role scoring for one customer (scoped), and the what-if simulation of a
draft policy version (policy administrators) with publishing.

Views parse input, call one service or selector and render. Customers come through
customers.selectors.customer_get (404 when missing or out of scope)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi import policy
from guanxi.core.api import MAX_ID
from guanxi.core.errors import DomainError, NotFound
from guanxi.customers.forms import show_domain_error
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get
from guanxi.grading import selectors, services
from guanxi.grading.forms import DraftForm, RoleScoreForm
from guanxi.grading.simulation import draft_values, simulate
from guanxi.org.scopes import CHANGE
from guanxi.policy.models import PolicyVersion
from guanxi.policy.services import policy_version_create, policy_version_publish


def _customer(actor: Any, pk: int, action: str) -> Customer:
    if pk > MAX_ID:
        raise Http404(_("记录不存在或您无权访问。"))
    try:
        return customer_get(actor=actor, pk=pk, action=action)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


@login_required
def grading_home(request: HttpRequest) -> HttpResponse:
    """Grade distribution of the customers in the user's scope; runs for those who may
    start one."""
    can_run = request.user.has_perm("grading.run_grading")
    return render(
        request,
        "grading/home.html",
        {
            "distribution": selectors.grade_distribution(actor=request.user),
            "runs": selectors.latest_runs() if can_run else [],
            "can_run": can_run,
            "can_simulate": request.user.has_perm("policy.change_policyversion"),
            "treatment": policy.get("grading.treatment"),
        },
    )


@login_required
@require_POST
def grading_run_start(request: HttpRequest) -> HttpResponse:
    try:
        run = services.grading_run_request(actor=request.user)
    except DomainError as exc:
        if exc.http_status == 403:
            raise DjangoPermissionDenied(str(exc.message)) from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("评级批次 #%(id)s 已提交后台计算。") % {"id": run.pk})
    return redirect("grading_home")


@login_required
def role_score_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Score the role-scored indicators of one customer (the roles named in grading.model;
    customers in the user's scope only)."""
    customer = _customer(request.user, pk, CHANGE)
    indicators = services.scorable_indicators(request.user)
    if not indicators:
        raise DjangoPermissionDenied(_("评分模型没有由您的角色评分的指标。"))
    form = RoleScoreForm(request.POST or None, indicators=indicators)
    if request.method == "POST" and form.is_valid():
        try:
            services.role_score_set(
                actor=request.user,
                customer_id=customer.pk,
                indicator=form.cleaned_data["indicator"],
                points=form.cleaned_data["points"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            messages.success(request, _("评分已保存，下次评级时计入。"))
            return redirect("grading_role_scores", pk=customer.pk)
    return render(
        request,
        "grading/role_scores.html",
        {
            "customer": customer,
            "form": form,
            "current": selectors.role_scores(customer=customer),
            "history": selectors.role_score_history(customer=customer),
            "labels": {i.code: i.label for i in services.role_indicators()},
        },
    )


def _grading_drafts() -> list[PolicyVersion]:
    return list(
        PolicyVersion.objects.filter(
            status=PolicyVersion.Status.DRAFT, values__key__startswith="grading."
        )
        .distinct()
        .order_by("-number")
    )


@login_required
@permission_required("policy.change_policyversion", raise_exception=True)
def grading_simulate(request: HttpRequest) -> HttpResponse:
    """What-if: pick (or create) a draft version with grading rules and see who moves."""
    drafts = _grading_drafts()
    current = {
        "model": policy.get("grading.model"),
        "bands": policy.get("grading.bands"),
        "treatment": policy.get("grading.treatment"),
    }
    form = DraftForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        if not values:
            form.add_error(None, _("请至少修改一项评级规则。"))
        else:
            try:
                version = policy_version_create(
                    actor=request.user,
                    note=form.cleaned_data["note"],
                    effective_from=form.cleaned_data["effective_from"],
                    values=values,
                )
            except DomainError as exc:
                show_domain_error(form, exc, prefixes={})
            else:
                return redirect(f"{request.path}?version={version.pk}")
    elif request.method != "POST":
        form = DraftForm(
            initial={
                "effective_from": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                **{k: json.dumps(v, ensure_ascii=False, indent=2) for k, v in current.items()},
            }
        )
    chosen = None
    result = None
    error = None
    version_id = request.GET.get("version", "")
    if version_id.isdigit() and int(version_id) <= MAX_ID:
        chosen = next((d for d in drafts if d.pk == int(version_id)), None)
        if chosen is None:
            raise Http404(_("草稿不存在或已发布。"))
        try:
            result = simulate(draft_values=draft_values(chosen), list_limit=500)
        except DomainError as exc:
            error = str(exc.message)
    return render(
        request,
        "grading/simulate.html",
        {"drafts": drafts, "chosen": chosen, "result": result, "form": form, "error": error},
    )


@login_required
@require_POST
@permission_required("policy.change_policyversion", raise_exception=True)
def draft_publish(request: HttpRequest, version_id: int) -> HttpResponse:
    chosen = next((d for d in _grading_drafts() if d.pk == version_id), None)
    if chosen is None:
        raise Http404(_("草稿不存在或已发布。"))
    try:
        policy_version_publish(actor=request.user, version_id=chosen.pk)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(f"{reverse('grading_simulate')}?version={chosen.pk}")
    messages.success(
        request,
        _("策略版本 v%(n)s 已发布，自 %(at)s 起生效；重新计算等级后生效到客户。")
        % {
            "n": chosen.number,
            "at": timezone.localtime(chosen.effective_from).strftime("%Y-%m-%d %H:%M"),
        },
    )
    return redirect("grading_home")
