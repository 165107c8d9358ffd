"""Forms of the review pages: parsing only. The services validate (grades against
grading.bands, required reasons) and the views put their messages back on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.reviews import grading_adapter


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class CycleOpenForm(forms.Form):
    year = forms.IntegerField(label=_("评定年度"), min_value=2000, max_value=2999)
    starts_on = forms.DateField(label=_("评定开始日期"), widget=DateInput())
    ends_on = forms.DateField(label=_("评定截止日期"), widget=DateInput())
    note = forms.CharField(label=_("说明"), max_length=300, required=False)


class GradeForm(forms.Form):
    """An initial rating, an adjustment or a provisional review: grade and reason."""

    grade = forms.ChoiceField(label=_("等级"))
    reason = forms.CharField(label=_("理由"), max_length=500)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = [
            (band["code"], band["label"]) for band in grading_adapter.bands()
        ]


class NoteForm(forms.Form):
    note = forms.CharField(label=_("意见"), max_length=300, required=False)


class EntryFilterForm(forms.Form):
    STATES = [
        ("", _("全部")),
        ("unrated", _("未初评")),
        ("rated", _("已初评")),
        ("adjusted", _("已复评调整")),
    ]
    q_state = forms.ChoiceField(label=_("进度"), choices=STATES, required=False)
    department = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    mine = forms.BooleanField(label=_("只看我负责的"), required=False)


class TreatmentApplyForm(forms.Form):
    customer = forms.IntegerField(label=_("客户ID"), min_value=1, max_value=2**63 - 1)
    reason = forms.CharField(label=_("申请理由"), max_length=500)
