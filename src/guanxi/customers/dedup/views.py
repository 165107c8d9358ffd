"""Pages of duplicate handling: the archive-wide review list, "not a duplicate", the merge
page (side-by-side comparison, preview, confirm) and the list of merges with reversal.

Views parse input, call one selector or service and render; every fetch by id goes through
scope (404 when missing or out of scope).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.core.errors import DomainError, NotFound
from guanxi.core.errors import PermissionDenied as DomainPermissionDenied
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.dedup import selectors, services
from guanxi.customers.dedup.forms import DismissForm, MergeForm, ReviewFilterForm
from guanxi.customers.dedup.matching import SAME_KEY, SAME_PHONE, SIMILAR_NAME
from guanxi.customers.models import Customer
from guanxi.org.scopes import CHANGE

REASON_LABELS = {
    SAME_KEY: gettext_lazy("名称比对键相同"),
    SIMILAR_NAME: gettext_lazy("名称相似"),
    SAME_PHONE: gettext_lazy("电话相同"),
}
MERGE_PERMISSIONS = ["customers.change_customer", "customers.delete_customer"]


def _customer(actor: Any, pk: Any, action: str) -> Customer:
    try:
        return customer_selectors.customer_get(actor=actor, pk=pk, action=action)
    except NotFound:
        raise Http404(_("记录不存在或您无权访问。")) from None


def _refused(request: HttpRequest, exc: DomainError) -> None:
    if isinstance(exc, NotFound):
        raise Http404(str(exc.message)) from exc
    if isinstance(exc, DomainPermissionDenied):
        raise DjangoPermissionDenied(str(exc.message)) from exc
    messages.error(request, str(exc.message))


def _show_merge_error(form: MergeForm, exc: DomainError) -> None:
    """The merge page has no inputs per field to put messages on: all at the top."""
    if isinstance(exc, NotFound):
        raise Http404(str(exc.message)) from exc
    if isinstance(exc, DomainPermissionDenied):
        raise DjangoPermissionDenied(str(exc.message)) from exc
    form.add_error(None, str(exc.message))
    for value in exc.detail.values():
        items = value.values() if isinstance(value, dict) else [value]
        for messages_ in items:
            for message in messages_ if isinstance(messages_, list) else [messages_]:
                form.add_error(None, str(message))


# --- the review list -------------------------------------------------------------------------
@login_required
@permission_required("customers.view_customer", raise_exception=True)
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Candidate pairs among the customers the user may see, a page at a time (keyset)."""
    filters = ReviewFilterForm(request.GET)
    params = filters.params()
    page = selectors.duplicate_review(actor=request.user, **params)
    next_url = None
    if page.next_after is not None:
        query = {"threshold": params["threshold"], "after": page.next_after, "skip": page.next_skip}
        next_url = f"{reverse('duplicate_list')}?{urlencode(query)}"
    rows = [
        {
            "pair": row.pair,
            "first": row.first,
            "second": row.second,
            "reasons": [REASON_LABELS[code] for code in row.pair.reasons],
        }
        for row in page.rows
    ]
    return render(
        request,
        "customers/dedup/duplicates.html",
        {
            "filters": filters,
            "threshold": params["threshold"],
            "rows": rows,
            "page": page,
            "next_url": next_url,
            "resumed": bool(params["after"]),
            "can_merge": request.user.has_perms(MERGE_PERMISSIONS),
            "can_dismiss": request.user.has_perm("customers.change_customer"),
            "dismiss_form": DismissForm(),
        },
    )


@login_required
@permission_required("customers.change_customer", raise_exception=True)
@require_POST
def duplicate_dismiss(request: HttpRequest) -> HttpResponse:
    form = DismissForm(request.POST)
    if not form.is_valid():
        raise Http404(_("记录不存在或您无权访问。"))
    data = form.cleaned_data
    try:
        services.duplicate_dismiss(
            actor=request.user,
            customer_id=data["first"],
            other_id=data["second"],
            reason=data["reason"],
        )
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("已标记为不是重复客户，这一对将不再列出。"))
    target = data.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("duplicate_list")
    return redirect(target)


# --- the merge page --------------------------------------------------------------------------
@login_required
@permission_required(MERGE_PERMISSIONS, raise_exception=True)
def customer_merge(request: HttpRequest, pk: int, other_pk: int) -> HttpResponse:
    """Merge customer `other_pk` into `pk`: compare, choose field by field, preview, confirm."""
    survivor = _customer(request.user, pk, CHANGE)
    merged = _customer(request.user, other_pk, CHANGE)
    if survivor.pk == merged.pk:
        raise Http404(_("记录不存在或您无权访问。"))
    rows = selectors.merge_comparison(actor=request.user, survivor=survivor, merged=merged)
    form = MergeForm(request.POST or None, rows=rows)
    step = request.POST.get("step", "") if request.method == "POST" else ""
    if step == "confirm" and form.is_valid():
        try:
            services.customer_merge(
                actor=request.user,
                survivor_id=survivor.pk,
                merged_id=merged.pk,
                field_choices=form.choices(),
            )
        except DomainError as exc:
            _show_merge_error(form, exc)
        else:
            messages.success(
                request,
                _("客户“%(merged)s”已合并入“%(survivor)s”。")
                % {"merged": merged.name, "survivor": survivor.name},
            )
            return redirect("customer_detail", pk=survivor.pk)
    return render(
        request,
        "customers/dedup/merge.html",
        {
            "survivor": survivor,
            "merged": merged,
            "form": form,
            "result": form.result(),
            "previewing": step in ("preview", "confirm") and form.is_valid(),
            "moves": selectors.merge_moves(merged=merged),
        },
    )


# --- merges and their reversal ----------------------------------------------------------------
@login_required
@permission_required("customers.view_customer", raise_exception=True)
def merge_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.merge_records(actor=request.user), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "customers/dedup/merges.html",
        {
            "page": page,
            "can_reverse": services.can_reverse_merges(request.user),
            "reversible_since": selectors.reversible_since(),
        },
    )


@login_required
@permission_required("customers.restore_customer", raise_exception=True)
@require_POST
def merge_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        record = selectors.merge_get(actor=request.user, pk=pk)
        restored = services.customer_merge_reverse(actor=request.user, merge_id=record.pk)
    except DomainError as exc:
        _refused(request, exc)
        return redirect("merge_list")
    messages.success(request, _("已撤销合并，客户“%(name)s”已恢复。") % {"name": restored.name})
    return redirect("customer_detail", pk=restored.pk)
