"""Forms of the import pages: upload, and the column mapping of the preview."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.core.forms import ModelChoiceField
from guanxi.customers.imports.columns import TARGETS


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Excel 或 CSV 文件"),
        help_text=_("支持 .xlsx 和 .csv（UTF-8 或 GBK 编码）；第一张工作表，表头在前几行内。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.csv"}),
    )
    mapping = ModelChoiceField(
        queryset=None,
        label=_("列对应方案"),
        required=False,
        empty_label=_("自动识别表头"),
    )

    def __init__(self, *args: Any, mappings: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["mapping"].queryset = mappings


class MappingForm(forms.Form):
    """One select per spreadsheet header, plus the import options."""

    valid_only = forms.BooleanField(
        label=_("仅导入有效行"),
        required=False,
        help_text=_("不勾选时，只要有一行有错误就全部不导入（默认）。"),
    )
    save_as = forms.CharField(
        label=_("保存列对应为方案"),
        required=False,
        max_length=60,
        help_text=_("填写名称即可保存，下次导入同样格式的表格时选用。"),
    )

    def __init__(self, *args: Any, headers: list[str], mapping: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [("", _("（不导入）")), *((t.key, t.label) for t in TARGETS)]
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=mapping.get(header, "")
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{index}"] for index in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        self.is_valid()
        return {
            header: self.cleaned_data.get(f"col_{index}") or ""
            for index, header in enumerate(self.headers)
        }
