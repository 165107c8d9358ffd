"""Forms of the grading pages."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class RoleScoreForm(forms.Form):
    indicator = forms.ChoiceField(label=_("指标"))
    points = forms.DecimalField(
        label=_("评分（0–5）"),
        min_value=0,
        max_value=5,
        max_digits=3,
        decimal_places=2,
        help_text=_("是 = 5，否 = 0，部分符合按比例评分。"),
    )
    note = forms.CharField(label=_("评分说明"), max_length=300, required=False)

    def __init__(self, *args: Any, indicators: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].choices = [(i.code, i.label) for i in indicators]


class JSONText(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 8, "class": "font-monospace small"})

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError(_("不是有效的 JSON。")) from None


class DraftForm(forms.Form):
    """A draft policy version with grading rules, for the what-if simulation."""

    note = forms.CharField(label=_("修订说明"), max_length=200)
    effective_from = forms.DateTimeField(
        label=_("生效时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    model = JSONText(label=_("评分模型 grading.model"), required=False)
    bands = JSONText(label=_("等级分段 grading.bands"), required=False)
    treatment = JSONText(label=_("等级待遇 grading.treatment"), required=False)

    KEYS = {"model": "grading.model", "bands": "grading.bands", "treatment": "grading.treatment"}

    def values(self) -> dict[str, Any]:
        return {
            key: self.cleaned_data[name]
            for name, key in self.KEYS.items()
            if self.cleaned_data.get(name) is not None
        }
