"""Importing shipments and payments from ERP exports: all rows or none, per-row Chinese
errors, customers matched by credit code or name within scope, no limit refusal for
history, audited as an import."""

import io

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import PermissionDenied
from guanxi.core.testing import valid_credit_code
from guanxi.ledger.imports import ledger_import
from guanxi.ledger.models import CustomerBalance, Payment, Shipment


def xlsx(rows):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


SHIPMENT_HEAD = ["客户", "日期", "金额", "数量", "成本", "订单号"]


def test_shipments_import_all_rows(books):
    content = xlsx([
        SHIPMENT_HEAD,
        [books.bj.name, "2025-03-01", 12000, 3, 9000, "SO-1"],
        [books.bj.name, "2025/04/02", "8,000.50", 1, "", "SO-2"],
        [books.sh.name, "2025-05-03", 500, 0, 0, ""],
    ])  # fmt: skip
    result = ledger_import(
        actor=books.org.finance, kind="shipments", name="erp.xlsx", content=content
    )
    assert (result.ok, result.rows, result.written) == (True, 3, 3)
    assert CustomerBalance.objects.get(customer=books.bj).balance == 20000.50
    assert AuditEvent.objects.filter(action="shipment.recorded", source="import").count() == 3
    assert AuditEvent.objects.filter(action="ledger.imported").count() == 1


def test_one_bad_row_writes_nothing_and_every_problem_is_listed(books):
    content = xlsx([
        SHIPMENT_HEAD,
        [books.bj.name, "2025-03-01", 12000, 3, 0, ""],
        ["不存在的公司", "2025-03-01", 100, 1, 0, ""],
        [books.bj.name, "2025-13-01", 100, 1, 0, ""],
        [books.bj.name, "2025-03-01", -5, 1, 0, ""],
    ])  # fmt: skip
    result = ledger_import(
        actor=books.org.finance, kind="shipments", name="erp.xlsx", content=content
    )
    assert not result.ok and result.written == 0
    assert [row for row, _message in result.errors] == [3, 4, 5]
    assert "找不到客户“不存在的公司”" in result.errors[0][1]
    assert "日期格式" in result.errors[1][1]
    assert "金额必须大于0" in result.errors[2][1]
    assert not Shipment.objects.exists() and not CustomerBalance.objects.exists()
    assert not AuditEvent.objects.filter(
        action__in=["shipment.recorded", "ledger.imported"]
    ).exists()


def test_payments_from_a_gbk_csv_matched_by_credit_code(books):
    from guanxi.customers.services import customer_update

    code = valid_credit_code(11)
    customer_update(actor=books.org.sales_tj, customer_id=books.tj.pk, data={"credit_code": code})
    text = f"统一社会信用代码,日期,金额,回款方式,凭证号\n{code},2025-06-01,3000,承兑汇票,HP-9\n"
    result = ledger_import(actor=books.org.finance, kind="payments", name="pay.csv",
                           content=text.encode("gb18030"))  # fmt: skip
    assert result.ok, result.errors
    payment = Payment.objects.get()
    assert (payment.customer_id, payment.method, payment.reference) == (
        books.tj.pk,
        "acceptance_bill",
        "HP-9",
    )


def test_only_finance_imports(books):
    with pytest.raises(PermissionDenied):
        ledger_import(actor=books.org.sales_bj, kind="shipments", name="x.csv", content=b"")


def test_import_page(client, books):
    client.force_login(books.org.finance)
    assert client.get(reverse("ledger_import")).status_code == 200
    bad = SimpleUploadedFile("erp.csv", "客户,日期,金额\n无名公司,2025-01-01,1\n".encode())
    page = client.post(reverse("ledger_import"), {"kind": "shipments", "file": bad})
    assert "第 2 行" in page.content.decode()
    good = SimpleUploadedFile("erp.csv", f"客户,日期,金额\n{books.bj.name},2025-01-01,1\n".encode())
    assert (
        client.post(reverse("ledger_import"), {"kind": "shipments", "file": good}).status_code
        == 302
    )
    client.force_login(books.org.sales_bj)
    assert client.get(reverse("ledger_import")).status_code == 403
    client.logout()
    assert client.get(reverse("ledger_import")).status_code == 302
