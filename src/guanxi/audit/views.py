"""Searching the audit log (who did what to which record, when, from where).

Only for holders of audit.view_auditevent; the selector checks that again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from guanxi.audit.selectors import audit_search as search_events
from guanxi.core.forms import ModelChoiceField
from guanxi.core.templatetags.guanxi_tags import ACTION_LABELS
from guanxi.org.models import User
from guanxi.org.selectors import users_visible_to

PAGE_SIZE = 50
# Prefix choices match every action of one kind of record (the selector uses startswith).
ACTION_GROUPS = [
    ("customer.", _("客户档案（全部操作）")),
    ("contact", _("联系人与关系（全部操作）")),
    ("special_date.", _("特殊日期（全部操作）")),
    ("attachment.", _("附件（全部操作）")),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    text = forms.CharField(label=_("关键词"), required=False, max_length=100)
    action = forms.ChoiceField(label=_("操作"), required=False)
    actor = ModelChoiceField(
        queryset=User.objects.none(), label=_("操作人"), required=False, empty_label=_("全部")
    )
    customer = forms.IntegerField(label=_("客户ID"), required=False, min_value=1)
    since = forms.DateField(label=_("开始日期"), required=False, widget=DateInput())
    until = forms.DateField(label=_("结束日期"), required=False, widget=DateInput())

    def __init__(self, *args: Any, actor: User, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [
            ("", _("全部操作")),
            *ACTION_GROUPS,
            *((code, label) for code, label in ACTION_LABELS.items()),
        ]
        self.fields["actor"].queryset = users_visible_to(actor)
        self.fields["text"].widget.attrs["placeholder"] = _("对象、操作人、备注或IP")

    def selector_kwargs(self) -> dict[str, Any]:
        self.is_valid()
        data = self.cleaned_data
        return {
            "text": (data.get("text") or "").strip(),
            "action": data.get("action") or "",
            "actor_id": data["actor"].pk if data.get("actor") else None,
            "customer_id": data.get("customer"),
            "since": data.get("since"),
            "until": data.get("until"),
        }


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_search(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, actor=request.user)
    events = search_events(actor=request.user, **form.selector_kwargs())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/search.html", {"form": form, "page": page})
