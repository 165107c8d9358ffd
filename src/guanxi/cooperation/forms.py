"""Forms of the cooperation pages: widgets, labels and type parsing only. The rules (which
change is a downgrade, what it needs) live in cooperation.services; the view puts a
DomainError back on the form (customers.forms.show_domain_error)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.cooperation.ladder import Ladder
from guanxi.cooperation.rules import PERIODS
from guanxi.core.forms import ModelChoiceField
from guanxi.customers.forms import DateInput

TEXT_MAX = 2000


class StatusForm(forms.Form):
    """One customer's status change (the ladder is rendered as coloured buttons)."""

    status = forms.ChoiceField(label=_("合作状态"), widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("原因（书面解释）"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("降级必填。"),
    )
    plan = forms.CharField(
        label=_("后期解决办法/跟进计划"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("降级必填。"),
    )

    def __init__(self, *args: Any, ladder: Ladder, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = ladder.choices()


class DecideForm(forms.Form):
    """The sales director's record of a special review (专题会议)."""

    meeting_on = forms.DateField(label=_("会议日期"), required=False, widget=DateInput())
    outcome = forms.CharField(
        label=_("会议结论"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("研究降级原因的结论与后续安排。"),
    )
    new_owner = ModelChoiceField(
        label=_("更换负责人"),
        queryset=None,
        required=False,
        empty_label=_("不更换"),
        help_text=_("必要时更换业务负责人（客户档案的负责人随之变更，并记入历史）。"),
    )
    close = forms.BooleanField(label=_("同时结束评审"), required=False, initial=True)

    def __init__(self, *args: Any, users: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = users


class MonthForm(forms.Form):
    month = forms.RegexField(
        label=_("月份"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        widget=forms.TextInput(attrs={"type": "month"}),
        error_messages={"invalid": _("请按 YYYY-MM 填写月份。")},
    )


class LeaderboardForm(forms.Form):
    period = forms.ChoiceField(
        label=_("周期"),
        required=False,
        choices=[("month", _("月")), ("quarter", _("季度")), ("year", _("年"))],
    )
    date = forms.DateField(label=_("周期内任一天"), required=False, widget=DateInput())

    def clean_period(self) -> str:
        value = self.cleaned_data.get("period") or ""
        return value if value in PERIODS else ""


class StatisticsFilterForm(forms.Form):
    q = forms.CharField(label=_("客户"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("合作状态"), required=False)
    department = ModelChoiceField(
        label=_("分支机构"), queryset=None, required=False, empty_label=_("全部")
    )

    def __init__(self, *args: Any, ladder: Ladder, departments: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("全部")), *ladder.choices()]
        self.fields["department"].queryset = departments
