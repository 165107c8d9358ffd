"""Importing shipments or payments from an ERP export (.xlsx or .csv). Permission:
ledger.import_ledger (finance). All or nothing: every row goes through the same services
as the forms and the API (ledger.services.shipment_record / payment_record) inside one
transaction; if any row fails, nothing is written and every failing row is reported in
Chinese. Imported shipments are history that already happened in the ERP: they are not
refused by the credit limit (enforce_limit=False), but they move balances, monthly sums
and warnings like any entry, and each is audited with source "import".

Columns (header row, Chinese names as the ERP exports them; order free):
    shipments: 客户 or 统一社会信用代码, 日期, 金额, 数量, 成本, 订单号, 备注
    payments:  客户 or 统一社会信用代码, 日期, 金额, 回款方式, 凭证号, 备注
The customer is matched by credit code, else by exact name, within the importer's scope.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.audit import services as audit
from guanxi.audit.context import AuditContext, current, using
from guanxi.core.errors import DomainError, PermissionDenied, ValidationFailed
from guanxi.customers.models import Customer
from guanxi.ledger import services
from guanxi.ledger.models import Payment
from guanxi.org.scopes import CHANGE

MAX_ROWS = 20_000
KINDS = ("shipments", "payments")
HEADERS = {
    "客户": "customer",
    "客户名称": "customer",
    "统一社会信用代码": "credit_code",
    "日期": "date",
    "出货日期": "date",
    "回款日期": "date",
    "金额": "amount",
    "数量": "quantity",
    "成本": "cost",
    "订单号": "order_reference",
    "备注": "note",
    "回款方式": "method",
    "凭证号": "reference",
}
METHODS = {str(label): value for value, label in Payment.Method.choices} | {
    value: value for value in Payment.Method.values
}


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    written: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_rows(name: str, content: bytes) -> list[list[Any]]:
    """All rows of the first sheet (xlsx, xls, ods via calamine) or of a CSV (UTF-8 or GBK)."""
    if name.lower().endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed(detail={"file": [_("无法识别CSV文件的编码。")]})
        return list(csv.reader(io.StringIO(text)))
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        return book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types
        raise ValidationFailed(
            detail={"file": [_("无法读取该文件，请上传 .xlsx 或 .csv。")]}
        ) from exc


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("日期格式应为 2025-06-10。")) from None


def _decimal(value: Any, label: str) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        raise ValueError(_("%(label)s不是数字。") % {"label": label}) from None


def _customers(actor: Any) -> tuple[dict[str, int], dict[str, int]]:
    rows = (
        Customer.objects.visible_to(actor, CHANGE).alive().values_list("pk", "name", "credit_code")
    )
    by_code = {code: pk for pk, _name, code in rows if code}
    by_name = {name: pk for pk, name, _code in rows}
    return by_code, by_name


def _message(exc: DomainError) -> str:
    details = [
        str(m)
        for msgs in exc.detail.values()
        if isinstance(msgs, list)
        for m in msgs
        if isinstance(m, str)
    ]
    return " ".join(details) or str(exc.message)


def ledger_import(*, actor: Any, kind: str, name: str, content: bytes) -> ImportResult:
    """Import all rows or none (see the module doc)."""
    if not actor.has_perm("ledger.import_ledger"):
        raise PermissionDenied()
    if kind not in KINDS:
        raise ValidationFailed(detail={"kind": [_("请选择导入出货还是回款。")]})
    table = read_rows(name, content)
    result = ImportResult(kind=kind)
    if not table:
        result.errors.append((1, _("文件是空的。")))
        return result
    columns = [HEADERS.get(str(cell).strip()) for cell in table[0]]
    if (
        "date" not in columns
        or "amount" not in columns
        or not ("customer" in columns or "credit_code" in columns)
    ):
        result.errors.append((1, _("表头应包含：客户（或统一社会信用代码）、日期、金额。")))
        return result
    body = [row for row in table[1:] if any(str(cell).strip() for cell in row)]
    result.rows = len(body)
    if result.rows > MAX_ROWS:
        result.errors.append((1, _("一次最多导入 %(max)s 行。") % {"max": MAX_ROWS}))
        return result
    by_code, by_name = _customers(actor)
    with using(AuditContext(ip=current().ip, source="import")), transaction.atomic():
        for number, row in enumerate(body, start=2):
            values = {col: cell for col, cell in zip(columns, row, strict=False) if col}
            try:
                _write(actor, kind, values, by_code, by_name)
            except ValueError as exc:
                result.errors.append((number, str(exc)))
            except DomainError as exc:
                result.errors.append((number, _message(exc)))
            else:
                result.written += 1
        if result.errors:
            result.written = 0
            transaction.set_rollback(True)
        else:
            audit.record(
                actor=actor,
                action="ledger.imported",
                object_type=f"ledger.{kind}",
                changes={"count": [None, result.rows]},
                note=name[:200],
            )
    return result


def _write(
    actor: Any, kind: str, values: dict[str, Any], by_code: dict[str, int], by_name: dict[str, int]
) -> None:
    code = str(values.get("credit_code") or "").strip().upper()
    customer_name = str(values.get("customer") or "").strip()
    customer_id = by_code.get(code) if code else by_name.get(customer_name)
    if customer_id is None:
        raise ValueError(_("找不到客户“%(name)s”，或不在您的数据范围内。") % {
            "name": code or customer_name})  # fmt: skip
    date = _date(values.get("date"))
    amount = _decimal(values.get("amount"), _("金额"))
    note = str(values.get("note") or "")[:200]
    with transaction.atomic():
        if kind == "shipments":
            quantity = _decimal(values.get("quantity"), _("数量"))
            if quantity != quantity.to_integral_value():
                raise ValueError(_("数量应为整数。"))
            services.shipment_record(
                actor=actor,
                customer_id=customer_id,
                date=date,
                amount=amount,
                quantity=int(quantity),
                cost=_decimal(values.get("cost"), _("成本")),
                order_reference=str(values.get("order_reference") or "")[:60],
                note=note,
                enforce_limit=False,
            )
        else:
            method = METHODS.get(str(values.get("method") or "").strip(), "")
            if not method:
                raise ValueError(_("回款方式应为：%(choices)s。") % {
                    "choices": "、".join(str(label) for _v, label in Payment.Method.choices)})  # fmt: skip
            services.payment_record(
                actor=actor,
                customer_id=customer_id,
                date=date,
                amount=amount,
                method=method,
                reference=str(values.get("reference") or "")[:60],
                note=note,
            )
