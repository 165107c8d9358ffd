"""Forms of the ledger pages: widgets, labels and type parsing only. Business validation
lives in ledger.services; the view puts a DomainError back on the form
(customers.forms.show_domain_error)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.customers.forms import DateInput
from guanxi.ledger.models import Order, Payment


def _money_field(label: Any, **kwargs: Any) -> forms.DecimalField:
    kwargs.setdefault("max_digits", 16)
    kwargs.setdefault("decimal_places", 2)
    return forms.DecimalField(label=label, **kwargs)


class ShipmentForm(forms.Form):
    date = forms.DateField(label=_("出货日期"), widget=DateInput())
    amount = _money_field(_("金额（元）"))
    quantity = forms.IntegerField(
        label=_("数量（件/台）"), min_value=0, max_value=1_000_000_000, initial=0
    )
    cost = _money_field(_("成本（元）"), required=False, help_text=_("用于计算毛利；可不填。"))
    order = forms.TypedChoiceField(
        label=_("销售订单"), required=False, coerce=int, empty_value=None
    )
    order_reference = forms.CharField(label=_("订单号"), max_length=60, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)
    paid_now = forms.BooleanField(
        label=_("现款出货（同时登记等额回款）"),
        required=False,
        help_text=_("没有信用额度的客户只能现款出货。"),
    )
    payment_method = forms.ChoiceField(
        label=_("现款方式"), choices=Payment.Method.choices, initial=Payment.Method.CASH
    )
    override = forms.TypedChoiceField(
        label=_("超额度特批"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("超出额度时，选择已批准的特批（仅能使用一次）。"),
    )

    def __init__(self, *args: Any, orders: Any = (), overrides: Any = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()
        self.fields["order"].choices = [("", "---------")] + [
            (order.pk, f"{order.reference or order.pk} · ¥{order.remaining:,.2f}")
            for order in orders
        ]
        self.fields["override"].choices = [("", "---------")] + [
            (row.pk, f"#{row.pk} · ¥{row.amount:,.2f} · {row.reason[:20]}") for row in overrides
        ]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["cost"] = data.get("cost") or 0
        data["order_id"] = data.pop("order")
        data["override_id"] = data.pop("override")
        return data


class PaymentForm(forms.Form):
    date = forms.DateField(label=_("回款日期"), widget=DateInput())
    amount = _money_field(_("金额（元）"))
    method = forms.ChoiceField(label=_("回款方式"), choices=Payment.Method.choices)
    reference = forms.CharField(label=_("凭证号"), max_length=60, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()


class OrderForm(forms.Form):
    date = forms.DateField(label=_("订单日期"), widget=DateInput())
    amount = _money_field(_("订单金额（元）"))
    reference = forms.CharField(label=_("订单号"), max_length=60, required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("冲销原因"), max_length=200)
    date = forms.DateField(label=_("冲销日期"), widget=DateInput(), required=False)


class CancelOrderForm(forms.Form):
    reason = forms.CharField(label=_("取消原因"), max_length=500)


class TermsForm(forms.Form):
    days = forms.IntegerField(label=_("账期（天）"), min_value=0, max_value=365)


class PriceCoefficientForm(forms.Form):
    coefficient = forms.DecimalField(
        label=_("单价系数"), max_digits=6, decimal_places=4, help_text=_("如 0.95 表示九五折。")
    )
    effective_from = forms.DateField(label=_("生效日期"), widget=DateInput())
    reason = forms.CharField(label=_("申请理由"), max_length=200)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("审批意见"), max_length=300, required=False)


class EntryFilterForm(forms.Form):
    since = forms.DateField(label=_("起始日期"), required=False, widget=DateInput())
    until = forms.DateField(label=_("截止日期"), required=False, widget=DateInput())


ORDER_STATUS_LABELS = dict(Order.Status.choices)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("导入内容"), choices=[("shipments", _("出货")), ("payments", _("回款"))]
    )
    file = forms.FileField(
        label=_("文件"),
        help_text=_(
            "ERP 导出的 .xlsx 或 .csv；第一行为表头（客户/统一社会信用代码、日期、金额…）。"
        ),
    )
