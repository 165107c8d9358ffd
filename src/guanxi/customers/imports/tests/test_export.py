"""Exporting customer lists to .xlsx: the 客户统计表 layout with status colours, the full
layout (importable again), scope, masking, the export limit and the audit — in the list
page, the API and the CLI."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import api_client, make_customer
from guanxi.customers.imports import export as export_module
from guanxi.customers.imports import services
from guanxi.customers.imports.columns import FULL_HEADERS
from guanxi.customers.imports.models import ImportJob
from guanxi.customers.imports.tests.conftest import STATISTICS, cell_fills, read_xlsx
from guanxi.customers.models import Contact, Customer
from guanxi.policy.services import policy_set

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BJ_MOBILE, BJ_MASKED = "13812345678", "138****5678"
TJ_MOBILE, TJ_MASKED = "13987654321", "139****4321"


@pytest.fixture
def data(org):
    bj = make_customer(
        org.sales_bj,
        name="北京星河建材有限公司",
        credit_code="914403001922038216",
        customer_type="trading",
        contacts=[{"name": "王经理", "mobile": BJ_MOBILE, "title": "采购经理"}],
        tags=["重点客户"],
    )
    tj = make_customer(
        org.sales_tj,
        name="天津长城钢构有限公司",
        contacts=[{"name": "李经理", "mobile": TJ_MOBILE}],
    )
    sh = make_customer(org.sales_sh, name="上海宏达物流有限公司", phone="021-66668888")
    # Cooperation status has no writer in customers.services yet (the cooperation app).
    Customer.objects.filter(pk=bj.pk).update(cooperation_status="green")
    Customer.objects.filter(pk=tj.pk).update(cooperation_status="yellow")

    class Data:
        pass

    d = Data()
    d.org, d.bj, d.tj, d.sh = org, bj, tj, sh
    return d


def export(client, user, **params):
    client.force_login(user)
    return client.get(reverse("customer_export"), params)


# --- the list page's export ------------------------------------------------------------------
def test_statistics_layout_scoped_masked_and_coloured(client, data):
    response = export(client, data.org.supervisor_north, layout="statistics", sort="name")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert ".xlsx" in response["Content-Disposition"]
    rows = read_xlsx(response.content)
    assert rows == [
        STATISTICS,
        ["1", "北京星河建材有限公司", "北京分公司", "张伟", BJ_MASKED, "合作良好", "绿色"],
        ["2", "天津长城钢构有限公司", "天津办事处", "李娜", TJ_MASKED, "问题客户", "黄色"],
    ]
    fills = cell_fills(response.content, "G")
    assert fills[2] == "28A745"  # cooperation.ladder colour of 合作良好
    assert fills[3] == "FBC02D"


def test_full_layout_of_own_customers_in_full(client, data):
    response = export(client, data.org.sales_bj)
    rows = read_xlsx(response.content)
    assert rows[0] == FULL_HEADERS
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["客户名称"] == "北京星河建材有限公司"
    assert row["统一社会信用代码"] == "914403001922038216"
    assert row["客户类型"] == "贸易公司"
    assert row["负责人"] == "张伟"
    assert row["联系人"] == "王经理"
    assert row["联系人职务"] == "采购经理"
    assert row["联系人手机"] == BJ_MOBILE  # own customer: not masked
    assert row["标签"] == "重点客户"
    assert row["合作状态"] == "合作良好"


def test_a_full_export_imports_back_without_changes(client, data):
    content = export(client, data.org.supervisor_north).content
    job = services.import_job_create(
        actor=data.org.supervisor_north, file=SimpleUploadedFile("全部.xlsx", content)
    )
    job = services.import_job_start(actor=data.org.supervisor_north, job=job, run_inline=True)
    assert job.status == ImportJob.Status.COMMITTED, job.message
    assert (job.created_count, job.updated_count, job.error_count) == (0, 0, 0)
    # Masked numbers were not written back.
    assert data.tj.contacts.get().mobile == TJ_MOBILE


def test_the_list_page_offers_both_layouts_and_the_import(client, data):
    client.force_login(data.org.sales_bj)
    page = client.get(reverse("customer_list")).content.decode()
    assert reverse("customer_export") + "?layout=statistics" in page
    assert reverse("customer_export") + "?layout=full" in page
    assert reverse("customer_import") in page


def test_export_is_audited_with_its_filters(client, data):
    export(client, data.org.supervisor_north, layout="statistics", q="有限")
    event = AuditEvent.objects.get(action="customer.exported")
    assert event.actor == data.org.supervisor_north
    assert event.changes["count"] == [None, 2]
    assert event.changes["filters"] == [None, {"q": "有限", "layout": "statistics"}]


def test_over_the_limit_is_refused(client, data):
    policy_set(
        actor=data.org.admin,
        values={"customers.export_max_rows": {"supervisor": 1, "*": 100}},
        note="测试",
    )
    response = export(client, data.org.supervisor_north, layout="statistics", q="有限")
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_list") + "?q=%E6%9C%89%E9%99%90"
    page = client.get(response["Location"]).content.decode()
    assert "超过您单次导出的上限 1 条" in page
    assert not AuditEvent.objects.filter(action="customer.exported").exists()


def test_without_the_export_permission_403(client, data):
    assert export(client, data.org.service).status_code == 403
    assert not AuditEvent.objects.filter(action="customer.exported").exists()


# --- API -----------------------------------------------------------------------------------
API = "/api/customers/export/"


def test_api_export_permission_matrix(data):
    assert api_client().get(API).status_code == 401
    denied = api_client(data.org.service).get(API)
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"
    response = api_client(data.org.sales_bj).get(API, {"layout": "statistics"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert [row[1] for row in read_xlsx(response.content)[1:]] == ["北京星河建材有限公司"]
    assert AuditEvent.objects.filter(action="customer.exported", source="api").count() == 1


def test_api_export_filters_and_limit(data):
    client = api_client(data.org.director)
    rows = read_xlsx(client.get(API, {"search": "钢构", "layout": "statistics"}).content)
    assert [row[1] for row in rows[1:]] == ["天津长城钢构有限公司"]
    assert client.get(API, {"layout": "pdf"}).status_code == 400
    policy_set(
        actor=data.org.admin,
        values={"customers.export_max_rows": {"sales_director": 2, "*": 100}},
        note="测试",
    )
    refused = client.get(API)
    assert refused.status_code == 400
    assert "超过您单次导出的上限 2 条" in refused.json()["message"]


# --- CLI -------------------------------------------------------------------------------------
def test_cli_export(data, tmp_path):
    target = tmp_path / "统计表.xlsx"
    call_command(
        "export_customers",
        user="sup_north",
        layout="statistics",
        output=str(target),
        no_progress=True,
    )
    rows = read_xlsx(str(target))
    assert [row[1] for row in rows[1:]] == ["天津长城钢构有限公司", "北京星河建材有限公司"]
    assert AuditEvent.objects.get(action="customer.exported").source == "cli"


def test_cli_export_refused_over_the_limit(data, tmp_path):
    policy_set(
        actor=data.org.admin,
        values={"customers.export_max_rows": {"salesperson": 0, "*": 100}},
        note="测试",
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("export_customers", user="sales_bj", output=str(tmp_path / "x.xlsx"))
    assert excinfo.value.returncode == 1
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize("layout", ["statistics", "full"])
def test_export_queries_do_not_grow_with_the_rows(client, data, layout):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert export(client, data.org.director, layout=layout).status_code == 200
        return len(captured)

    queries()  # warm the session, permission and policy caches
    few = queries()
    for n in range(8):
        make_customer(
            data.org.sales_bj,
            name=f"批量{'甲乙丙丁戊己庚辛'[n]}{'金木水火土风雷电'[n]}科技有限公司",
            contacts=[{"name": f"联系人{n}", "mobile": f"1370000000{n}"}],
            tags=["重点客户"],
        )
    assert queries() == few


def test_formula_like_text_stays_text(client, data):
    """Excel must not evaluate a customer's text as a formula (formula injection)."""
    import io
    import zipfile

    make_customer(data.org.sales_bj, name='=HYPERLINK("http://x")有限公司', notes="+1-2")
    content = export(client, data.org.sales_bj).content
    rows = read_xlsx(content)
    assert '=HYPERLINK("http://x")有限公司' in [row[1] for row in rows]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


# --- cell for cell -------------------------------------------------------------------------
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def archive(org, reference):
    """Six customers the supervisor of 华北 sees, filed in this order: co-owned, another's,
    their own, another's with only deleted contacts, one without any phone, one without a
    status; every ladder colour once."""
    with time_machine.travel(NOW, tick=False):
        co_owned = make_customer(
            org.sales_bj,
            name="北京星河建材有限公司",
            credit_code="914403001922038216",
            legal_representative="王总",
            registered_capital=Decimal("1234.50"),
            business_scope="建材销售",
            address="北京市朝阳区建国路1号",
            postcode="100020",
            phone="010-65001234",
            fax="010-65001235",
            email="info@xinghe.cn",
            website="https://www.xinghe.cn",
            industry=reference.building,
            customer_type="trading",
            region=reference.north,
            source_channel="exhibition",
            value_tier="high",
            first_contact_on=dt.date(2025, 6, 1),
            notes="年度重点",
            co_owners=[org.supervisor_north, org.sales_tj],
            tags=["B类渠道", "A类渠道"],
            contacts=[
                {"name": "甲", "mobile": "13800000001"},
                {"name": "乙", "mobile": "13800000002"},
                {"name": "丙", "title": "采购经理", "phone": "010-62345678", "email": "b@x.cn"},
            ],
        )
        others = make_customer(
            org.sales_tj,
            name="天津长城钢构有限公司",
            phone="022-23456789",
            fax="022-23456780",
            contacts=[{"name": "丁", "mobile": "13900000004"}],
        )
        own = make_customer(org.supervisor_north, name="华北宏达物流有限公司", phone="010-88886666")
        deleted_contacts = make_customer(
            org.sales_bj,
            name="北京金山贸易有限公司",
            phone="13700000007",
            contacts=[{"name": "戊", "mobile": "13600000005"}],
        )
        no_phone = make_customer(org.sales_tj, name="天津海河化工有限公司")
        no_status = make_customer(
            org.sales_bj,
            name="北京远景科技有限公司",
            contacts=[{"name": "己", "phone": "0105556666"}],
        )
        # The primary contact is shown: 乙 is primary but deleted, so 丙 (primary, live)
        # comes before 甲 (older); 戊 is deleted, so the customer's own phone is shown.
        co_owned.contacts.update(is_primary=False)
        co_owned.contacts.filter(name__in=["乙", "丙"]).update(is_primary=True)
        Contact.objects.filter(name__in=["乙", "戊"]).update(deleted_at=NOW)
        Customer.objects.filter(pk=co_owned.pk).update(
            grade="A", credit_level="level1", secrecy_level="confidential"
        )
        for customer, status in [
            (co_owned, "green"),
            (others, "yellow"),
            (own, "blue"),
            (deleted_contacts, "white"),
            (no_phone, "black"),
        ]:
            Customer.objects.filter(pk=customer.pk).update(cooperation_status=status)
    return no_status


def exported(actor, layout: str) -> bytes:
    output = io.BytesIO()
    with time_machine.travel(NOW, tick=False):
        export_module.customer_export(
            actor=actor, output=output, layout=layout, filters={"sort": "-created"}
        )
    return output.getvalue()


def test_statistics_layout_cell_for_cell(org, archive):
    content = exported(org.supervisor_north, "statistics")
    assert read_xlsx(content) == [
        STATISTICS,
        ["1", "北京星河建材有限公司", "北京分公司", "张伟", "010-62345678", "合作良好", "绿色"],
        ["2", "天津长城钢构有限公司", "天津办事处", "李娜", "139****0004", "问题客户", "黄色"],
        ["3", "华北宏达物流有限公司", "华北大区", "刘洋", "010-88886666", "维持良好", "蓝色"],
        ["4", "北京金山贸易有限公司", "北京分公司", "张伟", "137****0007", "没有合作", "白色"],
        ["5", "天津海河化工有限公司", "天津办事处", "李娜", "", "拒绝合作", "黑色"],
        ["6", "北京远景科技有限公司", "北京分公司", "张伟", "******6666", "", ""],
    ]
    # The ladder's colours as fills; no status, no 表示颜色 cell at all.
    assert cell_fills(content, "G") == {
        1: "1D3557",
        2: "28A745",
        3: "FBC02D",
        4: "1E88E5",
        5: "FFFFFF",
        6: "212121",
    }


def full_row(**cells: str) -> list[str]:
    row = dict.fromkeys(FULL_HEADERS, "")
    row.update({"密级": "普通", "建档时间": "2026-03-02 09:30", "更新时间": "2026-03-02 09:30"})
    row.update(cells)
    assert list(row) == FULL_HEADERS
    return list(row.values())


def test_full_layout_cell_for_cell(org, archive):
    content = exported(org.supervisor_north, "full")
    common = {"分支机构": "北京分公司", "负责人": "张伟"}
    tianjin = {"分支机构": "天津办事处", "负责人": "李娜"}
    assert read_xlsx(content) == [
        FULL_HEADERS,
        full_row(
            序号="1",
            客户名称="北京星河建材有限公司",
            统一社会信用代码="914403001922038216",
            法定代表人="王总",
            **{"注册资本（万元）": "1234.5"},
            经营范围="建材销售",
            地址="北京市朝阳区建国路1号",
            邮编="100020",
            电话="010-65001234",  # co-owned by the supervisor: in full
            传真="010-65001235",
            电子邮箱="info@xinghe.cn",
            网址="https://www.xinghe.cn",
            行业="建材",
            客户类型="贸易公司",
            区域="华北",
            **common,
            协作负责人="李娜、刘洋",
            来源渠道="展会",
            价值分类="高价值",
            合作状态="合作良好",
            表示颜色="绿色",
            客户等级="A类",
            资信等级="一级",
            密级="机密",
            首次接触日期="2025-06-01",
            标签="A类渠道、B类渠道",
            联系人="丙",
            联系人职务="采购经理",
            联系人电话="010-62345678",
            联系人邮箱="b@x.cn",
            备注="年度重点",
        ),
        full_row(
            序号="2",
            客户名称="天津长城钢构有限公司",
            电话="********6789",
            传真="********6780",
            **tianjin,
            合作状态="问题客户",
            表示颜色="黄色",
            联系人="丁",
            联系人手机="139****0004",
        ),
        full_row(
            序号="3",
            客户名称="华北宏达物流有限公司",
            电话="010-88886666",
            分支机构="华北大区",
            负责人="刘洋",
            合作状态="维持良好",
            表示颜色="蓝色",
        ),
        full_row(
            序号="4",
            客户名称="北京金山贸易有限公司",
            电话="137****0007",
            **common,
            合作状态="没有合作",
            表示颜色="白色",
        ),
        full_row(
            序号="5",
            客户名称="天津海河化工有限公司",
            **tianjin,
            合作状态="拒绝合作",
            表示颜色="黑色",
        ),
        full_row(
            序号="6",
            客户名称="北京远景科技有限公司",
            **common,
            联系人="己",
            联系人电话="******6666",
        ),
    ]
    assert cell_fills(content, "V") == {
        1: "1D3557",
        2: "28A745",
        3: "FBC02D",
        4: "1E88E5",
        5: "FFFFFF",
        6: "212121",
    }


def test_without_masking_every_phone_in_full(org, archive):
    with time_machine.travel(NOW, tick=False):
        policy_set(actor=org.admin, values={"compliance.mask_phones": False}, note="测试")
    rows = read_xlsx(exported(org.supervisor_north, "statistics"))
    assert [row[4] for row in rows[1:]] == [
        "010-62345678",
        "13900000004",
        "010-88886666",
        "13700000007",
        "",
        "0105556666",
    ]
