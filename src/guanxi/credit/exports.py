"""Excel exports of the credit reports (audited: they leave the system)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from guanxi.audit import services as audit
from guanxi.credit.reports import CreditReport, SalesRow
from guanxi.ledger.exports import Book


def credit_report_workbook(*, actor: Any, report: CreditReport) -> bytes:
    book = Book()
    headers = [_("序号"), _("客户"), _("负责人"), _("分支机构"), _("资信等级"), _("信用额度"),
               _("应收余额"), _("额度占用"), _("逾期应收"),
               *[_("账龄 %(key)s 天") % {"key": key} for key in report.bucket_keys],
               _("按期回款比例"), _("本季变化")]  # fmt: skip
    share_col = len(headers) - 2
    rows = (
        [number, row.customer.name, row.customer.owner.display_name,
         row.customer.department.name, row.level or "—", row.limit, row.balance, row.exposure,
         row.overdue, *[row.ageing[key] for key in report.bucket_keys], row.on_time_share,
         "；".join(row.changes)]
        for number, row in enumerate(report.rows, start=1)
    )  # fmt: skip
    title = _("客户资信报表 %(year)s年第%(quarter)s季度（截至 %(day)s）") % {
        "year": report.year, "quarter": report.quarter, "day": report.as_of.isoformat()}  # fmt: skip
    count = book.sheet(_("客户资信报表"), title, headers, rows, shares=[share_col])
    audit.record(
        actor=actor,
        action="credit_report.exported",
        object_type="credit.report",
        changes={"count": [None, count]},
        note=title,
    )
    return book.close()


def sales_workbook(
    *, actor: Any, rows: list[SalesRow], since: dt.date, until: dt.date, group: str
) -> bytes:
    book = Book()
    label = {"customer": _("客户"), "owner": _("负责人"), "department": _("部门")}[group]
    headers = [_("序号"), label, _("客户数"), _("出货金额"), _("成本"), _("毛利"), _("数量"),
               _("回款金额"), _("回款率"), _("当前应收余额")]  # fmt: skip
    data = (
        [n, r.label, r.customers, r.shipped, r.cost, r.profit, r.quantity, r.paid,
         r.collection_rate, r.balance]
        for n, r in enumerate(rows, start=1)
    )  # fmt: skip
    title = _("销售回款汇总 %(since)s — %(until)s") % {
        "since": since.strftime("%Y-%m"), "until": until.isoformat()}  # fmt: skip
    count = book.sheet(_("销售回款汇总"), title, headers, data, shares=[8])
    audit.record(
        actor=actor,
        action="sales_report.exported",
        object_type="credit.report",
        changes={"count": [None, count]},
        note=title,
    )
    return book.close()
