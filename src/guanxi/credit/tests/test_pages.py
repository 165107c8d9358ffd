"""Credit pages and reports: happy paths (approval by the general manager, overdue marks,
the round, overrides, investigations, both reports and their Excel exports, scoped and
with constant queries) and the permission matrix of every page."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from python_calamine import CalamineWorkbook

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import make_customer, make_user
from guanxi.credit import services
from guanxi.credit.models import CreditInvestigation, CreditLimit, CreditOverride
from guanxi.ledger.testing import approve_limit, pay, ship
from guanxi.org.models import Role


def snapshot():
    return (
        list(CreditLimit.objects.order_by("pk").values()),
        list(CreditOverride.objects.order_by("pk").values()),
        list(CreditInvestigation.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def desk(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    ship(org.sales_bj, bj, "2025-01-15", "50000")
    ship(org.sales_bj, bj, "2025-06-01", "40000")
    pay(org.finance, bj, "2025-02-01", "5000")
    approve_limit(org, books.sh, "20000")
    ship(org.sales_sh, books.sh, "2025-05-01", "19000")
    books.proposal = services.credit_limit_propose(
        actor=org.sales_bj, customer_id=bj.pk, amount="120000", reason="扩大合作"
    )
    books.override = services.credit_override_request(
        actor=org.sales_bj, customer_id=bj.pk, amount="30000", reason="急单"
    )
    books.investigation = CreditInvestigation.objects.get(customer=bj)
    return books


def test_dashboard_for_the_general_manager(client, desk, clock):
    clock.shift(dt.timedelta(days=4))
    client.force_login(desk.org.gm)
    page = client.get(reverse("credit_home")).content.decode()
    assert desk.bj.name in page and desk.sh.name in page
    assert "逾期 1" in page  # the overdue approval is visible
    assert "开启下季度额度申报" in page


def test_dashboard_for_a_salesperson_shows_only_the_scope(client, desk):
    client.force_login(desk.org.sales_bj)
    page = client.get(reverse("credit_home")).content.decode()
    assert desk.bj.name in page and desk.sh.name not in page
    assert "开启下季度额度申报" not in page


def test_approval_in_the_page(client, desk):
    client.force_login(desk.org.gm)
    detail = reverse("credit_limit_detail", args=[desk.proposal.pk])
    assert "approve-form" in client.get(detail).content.decode()
    response = client.post(reverse("credit_limit_approve", args=[desk.proposal.pk]),
                           {"effective": "now", "note": "同意"})  # fmt: skip
    assert response.status_code == 302
    desk.proposal.refresh_from_db()
    assert desk.proposal.status == "approved"
    client.force_login(desk.org.sales_bj)
    assert "approve-form" not in client.get(detail).content.decode()


def test_proposal_page_shows_the_formula_and_refuses_below_balance_without_confirmation(
    client, desk
):
    org = desk.org
    client.force_login(org.sales_sh)
    url = reverse("credit_limit_create", args=[desk.sh.pk])
    page = client.get(url).content.decode()
    assert "公式建议额度" in page and "月销售基数" in page
    response = client.post(url, {"amount": "1000", "reason": "压缩"})
    assert response.status_code == 200
    assert "低于客户当前应收余额 ¥19,000.00" in response.content.decode()
    response = client.post(url, {"amount": "1000", "reason": "压缩", "confirm_below_balance": "on"})
    assert response.status_code == 302


def test_override_and_investigation_pages(client, desk):
    client.force_login(desk.org.finance)
    assert "急单" in client.get(reverse("credit_override_list")).content.decode()
    response = client.post(reverse("credit_override_decide", args=[desk.override.pk]),
                           {"decision": "approve"})  # fmt: skip
    assert response.status_code == 302
    desk.override.refresh_from_db()
    assert desk.override.usable
    client.force_login(desk.org.sales_bj)
    url = reverse("credit_investigation_close", args=[desk.investigation.pk])
    assert client.post(url, {"findings": "客户资金周转正常"}).status_code == 302
    desk.investigation.refresh_from_db()
    assert desk.investigation.status == "closed"


def test_round_opens_from_the_dashboard(client, desk):
    client.force_login(desk.org.finance)
    response = client.post(reverse("credit_round_open"))
    assert response.status_code == 302
    assert CreditLimit.objects.filter(status="draft").count() == 1  # sh; bj has a pending one


def test_credit_report_is_scoped_and_exports(client, desk):
    org = desk.org
    services.credit_rate(actor=org.finance, customer_id=desk.bj.pk)
    client.force_login(org.sales_bj)
    page = client.get(reverse("credit_report")).content.decode()
    assert desk.bj.name in page and desk.sh.name not in page
    assert "额度 — → ¥100,000.00" in page and "等级 — → 三级" in page
    client.force_login(org.finance)
    response = client.get(reverse("credit_report"), {"year": 2025, "quarter": 2, "format": "xlsx"})
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    data = rows.to_python()
    assert data[2][:6] == ["序号", "客户", "负责人", "分支机构", "资信等级", "信用额度"]
    names = [row[1] for row in data[3:]]
    assert sorted(names) == sorted([desk.bj.name, desk.sh.name])
    bj_row = data[3 + names.index(desk.bj.name)]
    assert bj_row[5:9] == [100000, 85000, 85000, 45000]  # limit, balance, exposure, overdue
    assert AuditEvent.objects.filter(action="credit_report.exported").exists()


def test_credit_report_of_an_earlier_quarter(client, desk):
    client.force_login(desk.org.finance)
    page = client.get(reverse("credit_report"), {"year": 2025, "quarter": 1}).content.decode()
    assert "截至 2025-03-31" in page
    assert "¥45,000.00" in page  # Q1: 50,000 shipped, 5,000 paid; no limit yet


def test_sales_report_groups_and_exports(client, desk):
    client.force_login(desk.org.director)
    page = client.get(reverse("credit_sales_report"), {"group": "department"}).content.decode()
    assert "北京分公司" in page and "上海分公司" in page
    assert "¥109,000.00" in page  # 90,000 + 19,000 shipped this year
    response = client.get(reverse("credit_sales_report"), {"group": "owner", "format": "xlsx"})
    data = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    rows = {row[1]: row for row in data.to_python()[3:]}
    assert rows["张伟"][3] == 90000 and rows["张伟"][7] == 5000 and rows["王芳"][3] == 19000
    client.force_login(desk.org.sales_sh)
    page = client.get(reverse("credit_sales_report")).content.decode()
    assert desk.sh.name in page and desk.bj.name not in page


def test_reports_use_a_constant_number_of_queries(client, desk):
    client.force_login(desk.org.finance)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("credit_report"))
        client.get(reverse("credit_sales_report"))
    for number in range(3):
        customer = make_customer(desk.org.sales_tj, name=f"天津客户{number}有限公司")
        approve_limit(desk.org, customer, "5000")
        ship(desk.org.sales_tj, customer, "2025-06-01", "100")
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("credit_report"))
        client.get(reverse("credit_sales_report"))
    assert len(more) == len(few)


# --- permission matrix -----------------------------------------------------------------------
def urls(p):
    org, bj = p.org, p.bj
    return [
        (reverse("credit_home"), "get", None, org.sales_bj, False),
        (reverse("credit_customer", args=[bj.pk]), "get", None, org.sales_bj, True),
        (reverse("credit_customer_rate", args=[bj.pk]), "post", {}, org.finance, True),
        (reverse("credit_limit_create", args=[bj.pk]), "get", None, org.sales_bj, True),
        (reverse("credit_limit_list"), "get", None, org.sales_bj, False),
        (reverse("credit_limit_detail", args=[p.proposal.pk]), "get", None, org.sales_bj, True),
        (reverse("credit_limit_approve", args=[p.proposal.pk]), "post", {"effective": "now"},
         org.gm, True),
        (reverse("credit_limit_reject", args=[p.proposal.pk]), "post", {"note": "不批"},
         org.gm, True),
        (reverse("credit_override_create", args=[bj.pk]), "post",
         {"amount": "100", "reason": "急"}, org.sales_bj, True),
        (reverse("credit_override_list"), "get", None, org.sales_bj, False),
        (reverse("credit_override_decide", args=[p.override.pk]), "post",
         {"decision": "approve"}, org.finance, True),
        (reverse("credit_investigation_list"), "get", None, org.sales_bj, False),
        (reverse("credit_investigation_close", args=[p.investigation.pk]), "post",
         {"findings": "正常"}, org.sales_bj, True),
        (reverse("credit_round_open"), "post", {}, org.finance, False),
        (reverse("credit_report"), "get", None, org.sales_bj, False),
        (reverse("credit_sales_report"), "get", None, org.sales_bj, False),
    ]  # fmt: skip


CASES = range(16)


@pytest.mark.parametrize("case", CASES)
def test_matrix_anonymous_goes_to_login(client, desk, case):
    url, method, data, _user, _scoped = urls(desk)[case]
    before = snapshot()
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_without_permission(client, desk, case):
    url, method, data, _user, _scoped = urls(desk)[case]
    before = snapshot()
    client.force_login(desk.org.keeper)
    assert getattr(client, method)(url, data or {}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_out_of_scope(client, desk, case):
    url, method, data, user, scoped = urls(desk)[case]
    if not scoped:
        pytest.skip("not a record: lists and reports are tested for scope above")
    role = user.roles()[0]
    copy = Role.objects.create(name=f"{role.name}（上海）", code=f"{role.code}-sh",
                               data_scope="department")  # fmt: skip
    copy.permissions.set(role.permissions.all())
    outsider = make_user(department=desk.org.shanghai, username=f"{role.code}-sh")
    outsider.groups.add(copy)
    before = snapshot()
    client.force_login(outsider)
    assert getattr(client, method)(url, data or {}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_in_scope(client, desk, case):
    url, method, data, user, _scoped = urls(desk)[case]
    client.force_login(user)
    response = getattr(client, method)(url, data or {})
    assert response.status_code == (302 if method == "post" else 200)
