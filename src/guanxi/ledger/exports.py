"""Excel workbooks (XlsxWriter, in memory): a customer's 《客户出货回款信息表》 and the
generic table writer the credit reports use. Text is always written as text (write_string),
so nothing in a cell is ever evaluated as a formula."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.utils.translation import gettext as _

from guanxi.audit import services as audit
from guanxi.customers.models import Customer
from guanxi.ledger.panel import panel_context

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Book:
    """A workbook with the formats every sheet here uses."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"in_memory": True})
        self.title = self.book.add_format({"bold": True, "font_size": 14})
        self.head = self.book.add_format({"bold": True, "bg_color": "#F1F3F5", "border": 1})
        self.money = self.book.add_format({"num_format": "#,##0.00", "border": 1})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd", "border": 1})
        self.cell = self.book.add_format({"border": 1})
        self.share = self.book.add_format({"num_format": "0.0%", "border": 1})

    def sheet(
        self,
        name: str,
        title: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        widths: Sequence[int] | None = None,
        shares: Sequence[int] = (),
    ) -> int:
        sheet = self.book.add_worksheet(name[:31])
        sheet.write_string(0, 0, title, self.title)
        for col, header in enumerate(headers):
            sheet.write_string(2, col, str(header), self.head)
            sheet.set_column(col, col, (widths[col] if widths else 14))
        count = 0
        for number, row in enumerate(rows, start=3):
            count += 1
            for col, value in enumerate(row):
                self.write(sheet, number, col, value, share=col in shares)
        sheet.freeze_panes(3, 0)
        return count

    def write(self, sheet: Any, row: int, col: int, value: Any, *, share: bool = False) -> None:
        if value is None or value == "":
            sheet.write_blank(row, col, None, self.cell)
        elif share:
            sheet.write_number(row, col, float(value), self.share)
        elif isinstance(value, Decimal):
            sheet.write_number(row, col, float(value), self.money)
        elif isinstance(value, bool):
            sheet.write_string(row, col, _("是") if value else _("否"), self.cell)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value, self.cell)
        elif isinstance(value, dt.date):
            sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), self.date)
        else:
            sheet.write_string(row, col, str(value), self.cell)

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def customer_ledger_workbook(*, actor: Any, customer: Customer) -> bytes:
    """《客户出货回款信息表》 of one customer: summary, shipments, payments, months."""
    context = panel_context(actor=actor, customer=customer, limit_rows=None)
    overview = context["overview"]
    book = Book()
    summary = [
        (_("客户"), customer.name),
        (_("负责人"), customer.owner.display_name),
        (_("应收余额"), overview.balance),
        (_("未出货订单"), overview.open_orders),
        (_("额度占用"), overview.exposure),
        (_("信用额度"), overview.limit),
        (_("资信等级"), overview.level_label or "—"),
        (_("逾期应收"), overview.receivable.overdue),
        *[
            (_("账龄 %(key)s 天") % {"key": key}, v)
            for key, v in overview.receivable.ageing.items()
        ],
        (_("账期（天）"), context["terms_days"]),
        (_("单价系数"), context["coefficient"].coefficient if context["coefficient"] else "—"),
    ]
    book.sheet(_("汇总"), _("客户出货回款信息表") + f" · {customer.name}", [_("项目"), _("数值")],
               summary, widths=[20, 40])  # fmt: skip
    book.sheet(
        _("出货"),
        _("出货明细"),
        [_("日期"), _("金额"), _("数量"), _("成本"), _("毛利"), _("订单号"), _("应收日期"),
         _("冲销的出货ID"), _("备注")],
        (
            (s.date, s.amount, s.quantity, s.cost, s.profit, s.order_reference, s.due_date,
             s.reversal_of_id or "", s.note)
            for s in context["shipments"]
        ),
    )  # fmt: skip
    book.sheet(
        _("回款"),
        _("回款明细"),
        [_("日期"), _("金额"), _("回款方式"), _("凭证号"), _("冲销的回款ID"), _("备注")],
        (
            (p.date, p.amount, p.get_method_display(), p.reference, p.reversal_of_id or "", p.note)
            for p in context["payments"]
        ),
    )
    book.sheet(
        _("月度"),
        _("近12个月"),
        [_("月份"), _("出货"), _("成本"), _("数量"), _("回款")],
        (
            (m.month.strftime("%Y-%m"), m.shipped_amount, m.shipped_cost, m.shipped_quantity,
             m.paid_amount)
            for m in context["months"]
        ),
    )  # fmt: skip
    audit.record(
        actor=actor,
        action="ledger.exported",
        obj=customer,
        changes={"count": [None, len(context["shipments"]) + len(context["payments"])]},
    )
    return book.close()
