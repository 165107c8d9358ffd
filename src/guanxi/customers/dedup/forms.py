"""Forms of the duplicate pages: parsing and widgets only (the services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.customers.dedup.matching import REVIEW_SCORE
from guanxi.customers.dedup.selectors import FieldRow
from guanxi.customers.dedup.services import MERGED, SURVIVOR

THRESHOLDS = [
    (100, _("仅比对键相同")),
    (95, _("≥ 95 分")),
    (90, _("≥ 90 分")),
    (85, _("≥ 85 分（默认）")),
    (80, _("≥ 80 分")),
    (75, _("≥ 75 分")),
]


class ReviewFilterForm(forms.Form):
    """The review list's GET parameters; invalid values fall back to the defaults."""

    threshold = forms.TypedChoiceField(
        label=_("相似度"), choices=THRESHOLDS, coerce=int, required=False
    )
    after = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    skip = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "threshold": data.get("threshold") or REVIEW_SCORE,
            "after": data.get("after") or "",
            "skip": data.get("skip") or 0,
        }


class DismissForm(forms.Form):
    first = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    second = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("原因"), required=False, max_length=200)
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class MergeForm(forms.Form):
    """One radio choice per field whose values differ: keep the survivor's value or take
    the merged customer's."""

    def __init__(self, *args: Any, rows: list[FieldRow], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            if row.differs:
                self.fields[row.name] = forms.ChoiceField(
                    label=row.label,
                    choices=[(SURVIVOR, SURVIVOR), (MERGED, MERGED)],
                    initial=row.default,
                    widget=forms.RadioSelect,
                    required=False,  # not given: the default (the service applies it)
                )

    def choices(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if value}

    def result(self) -> list[tuple[FieldRow, str, Any]]:
        """Each field with the side chosen (or defaulted) and the value the survivor gets."""
        chosen = self.choices() if self.is_bound and self.is_valid() else {}
        result = []
        for row in self.rows:
            side = chosen.get(row.name, row.default) if row.differs else SURVIVOR
            result.append((row, side, row.merged if side == MERGED else row.survivor))
        return result
