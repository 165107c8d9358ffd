"""Forms of the credit pages: widgets, labels and type parsing only (rules live in
credit.services; errors come back through customers.forms.show_domain_error)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.credit.models import CreditLimit
from guanxi.customers.forms import DateInput


class LimitProposalForm(forms.Form):
    amount = forms.DecimalField(
        label=_("申请额度（元）"), max_digits=16, decimal_places=2, min_value=0
    )
    reason = forms.CharField(
        label=_("理由"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("与公式建议额度不同时必须说明理由。"),
    )
    confirm_below_balance = forms.BooleanField(label=_("确认额度低于当前应收余额"), required=False)


class LimitApproveForm(forms.Form):
    effective = forms.ChoiceField(
        label=_("生效方式"),
        choices=CreditLimit.Effective.choices,
        initial=CreditLimit.Effective.NEXT_QUARTER,
        widget=forms.RadioSelect,
    )
    confirm_below_balance = forms.BooleanField(label=_("确认额度低于当前应收余额"), required=False)
    note = forms.CharField(label=_("审批意见"), max_length=300, required=False)


class LimitRejectForm(forms.Form):
    note = forms.CharField(label=_("驳回意见"), max_length=300)


class OverrideRequestForm(forms.Form):
    amount = forms.DecimalField(label=_("出货金额（元）"), max_digits=16, decimal_places=2)
    reason = forms.CharField(
        label=_("特批理由"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("审批意见"), max_length=300, required=False)


class FindingsForm(forms.Form):
    findings = forms.CharField(
        label=_("调查结论"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


class QuarterForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label=_("季度"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)]
    )

    def __init__(self, data: Any = None, **kwargs: Any):
        today = timezone.localdate()
        super().__init__(data, **kwargs)
        self.fields["year"].initial = today.year
        self.fields["quarter"].initial = (today.month - 1) // 3 + 1


class SalesFilterForm(forms.Form):
    since = forms.DateField(label=_("起始月份"), widget=DateInput(), required=False)
    until = forms.DateField(label=_("截止日期"), widget=DateInput(), required=False)
    group = forms.ChoiceField(
        label=_("汇总方式"),
        required=False,
        choices=[("customer", _("按客户")), ("owner", _("按负责人")), ("department", _("按部门"))],
    )
