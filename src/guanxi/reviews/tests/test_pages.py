"""Review pages: the permission matrix (anonymous → login, no permission 403, out of scope
404, in scope 200), scope of lists and exports, the whole cycle through the pages, refused
posts that change nothing, the dashboard, and query counts that do not grow with rows."""

import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from python_calamine import CalamineWorkbook

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import make_customer
from guanxi.customers.models import Customer
from guanxi.reviews import services
from guanxi.reviews.models import ReviewCycle, ReviewEntry


@pytest.fixture
def cycle(company):
    return services.cycle_open(actor=company.org.admin)


def entry_of(cycle, customer):
    return ReviewEntry.objects.get(cycle=cycle, customer=customer)


def test_cycle_page_permission_matrix(client, company, cycle):
    url = reverse("review_cycle", args=[cycle.pk])
    assert client.get(url).status_code == 302  # anonymous → login
    client.force_login(company.org.service)  # customer service: no review permissions
    assert client.get(url).status_code == 403
    client.force_login(company.org.sales_bj)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "北京星河建材有限公司" in html and "北京远方工程有限公司" in html
    assert "天津海港贸易有限公司" not in html and "上海浦江工程有限公司" not in html
    assert reverse("review_entry_rate", args=[entry_of(cycle, company.bj1).pk]) in html
    assert client.get(reverse("review_cycle", args=[cycle.pk + 99])).status_code == 404


def test_rating_through_the_page_and_refused_out_of_scope(client, company, cycle):
    org = company.org
    client.force_login(org.sales_bj)
    own = entry_of(cycle, company.bj1)
    response = client.post(reverse("review_entry_rate", args=[own.pk]),
                           {"grade": "A", "reason": "年度订单大幅增长"})  # fmt: skip
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.initial_grade, own.rated_by) == ("A", org.sales_bj)
    other = entry_of(cycle, company.tj)
    before = AuditEvent.objects.count()
    response = client.post(reverse("review_entry_rate", args=[other.pk]),
                           {"grade": "A", "reason": "越权"})  # fmt: skip
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.initial_grade == "" and AuditEvent.objects.count() == before
    # a missing reason comes back as a message, nothing saved
    response = client.post(reverse("review_entry_rate", args=[entry_of(cycle, company.bj2).pk]),
                           {"grade": "B", "reason": ""}, follow=True)  # fmt: skip
    assert "理由" in response.content.decode()
    assert entry_of(cycle, company.bj2).initial_grade == ""


def test_the_whole_cycle_through_the_pages(client, company, cycle):
    org = company.org
    step = lambda name: reverse("review_cycle_step", args=[cycle.pk, name])  # noqa: E731
    client.force_login(org.sales_bj)
    assert client.post(step("approve"), {"note": "x"}).status_code == 403
    client.force_login(org.director)
    client.post(step("start-review"))
    client.post(reverse("review_entry_adjust", args=[entry_of(cycle, company.sh).pk]),
                {"grade": "B", "reason": "评审会议上调"})  # fmt: skip
    client.post(step("submit"), {"note": ""})
    cycle.refresh_from_db()
    assert cycle.status == "submitted"
    assert Customer.objects.get(pk=company.sh.pk).grade == ""
    client.force_login(org.gm)
    page = client.get(reverse("review_cycle", args=[cycle.pk])).content.decode()
    assert 'id="approve-cycle"' in page
    response = client.post(step("approve"), {"note": "同意"}, follow=True)
    assert "已批准，评定等级已生效。" in response.content.decode()
    cycle.refresh_from_db()
    assert cycle.status == "effective"
    assert Customer.objects.get(pk=company.sh.pk).grade == "B"


def test_rating_form_export_is_scoped_and_audited(client, company, cycle):
    org = company.org
    services.entry_rate(actor=org.sales_bj, entry_id=entry_of(cycle, company.bj1).pk,
                        grade="A", reason="增长快")  # fmt: skip
    client.force_login(org.sales_bj)
    response = client.get(reverse("review_cycle_export", args=[cycle.pk]))
    assert response.status_code == 200
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        .get_sheet_by_name("客户等级评定表")
        .to_python()
    )
    assert rows[2][:5] == ["序号", "客户名称", "分支机构", "负责人", "原等级"]
    body = {row[1]: row for row in rows[3:]}
    assert set(body) == {"北京星河建材有限公司", "北京远方工程有限公司"}
    assert body["北京星河建材有限公司"][7:9] == ["A类", "增长快"]
    event = AuditEvent.objects.get(action="review_cycle.rating_form_exported")
    assert event.actor == org.sales_bj and event.changes == {"rows": [None, 2]}
    client.force_login(org.service)
    assert client.get(reverse("review_cycle_export", args=[cycle.pk])).status_code == 403


def test_key_customer_list_exists_only_after_approval(client, company, cycle):
    org = company.org
    services.entry_rate(actor=org.sales_bj, entry_id=entry_of(cycle, company.bj1).pk,
                        grade="A", reason="重点客户")  # fmt: skip
    services.entry_rate(actor=org.sales_tj, entry_id=entry_of(cycle, company.tj).pk,
                        grade="A", reason="重点客户")  # fmt: skip
    client.force_login(org.gm)
    export = reverse("review_key_customers_export", args=[cycle.pk])
    assert client.get(export).status_code == 404
    assert (
        "批准年度评定后才产生"
        in client.get(reverse("review_key_customers", args=[cycle.pk])).content.decode()
    )
    services.cycle_start_review(actor=org.director, cycle_id=cycle.pk)
    services.cycle_submit(actor=org.director, cycle_id=cycle.pk)
    services.cycle_approve(actor=org.gm, cycle_id=cycle.pk)
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(client.get(export).content))
        .get_sheet_by_name("年度重要顾客一览表")
        .to_python()
    )
    assert rows[0][0] == "2026年度重要顾客一览表"
    assert sorted(row[1] for row in rows[3:]) == ["北京星河建材有限公司", "天津海港贸易有限公司"]
    client.force_login(org.sales_tj)
    page = client.get(reverse("review_key_customers", args=[cycle.pk])).content.decode()
    assert "天津海港贸易有限公司" in page and "北京星河建材有限公司" not in page


def test_dashboard_counts_and_charts_are_scoped(client, company, cycle):
    org = company.org
    Customer.objects.filter(pk__in=[company.bj1.pk, company.tj.pk]).update(grade="A")
    client.force_login(org.sales_bj)
    assert client.get(reverse("reviews_dashboard")).status_code == 403
    client.force_login(org.supervisor_north)
    page = client.get(reverse("reviews_dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/echarts/echarts.min.js" in html and 'id="dashboard-charts"' in html
    data = client.get(reverse("reviews_dashboard_data")).json()
    grades = {row["code"]: row["count"] for row in data["grades"]}
    assert grades["A"] == 2 and grades["C"] == 0 and grades.get("") == 1  # north: bj1, bj2, tj
    assert data["cycle"]["total"] == 3 and data["cycle"]["rated"] == 0
    assert data["charts"]["grades"]["values"][0] == 2
    assert sum(item["value"] for item in data["charts"]["statuses"]["items"]) == 3
    assert data["open_special_reviews"] == 0
    embedded = html.split('id="dashboard-charts" type="application/json">')[1].split("</script>")[0]
    assert json.loads(embedded)["grades"]["values"] == data["charts"]["grades"]["values"]
    client.force_login(org.gm)
    assert client.get(reverse("reviews_dashboard_data")).json()["cycle"]["total"] == 4


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_pages_do_not_grow_queries_with_rows(client, company):
    org = company.org
    client.force_login(org.gm)
    urls = lambda c: [  # noqa: E731
        reverse("review_cycle", args=[c.pk]),
        reverse("review_provisional") + "?all=1",
        reverse("review_elimination"),
        reverse("review_growth"),
        reverse("review_treatment") + "?status=all",
        reverse("reviews_dashboard"),
        reverse("reviews_home"),
    ]

    def add(count, start):
        for index in range(start, start + count):
            owner = [org.sales_bj, org.sales_tj, org.sales_sh][index % 3]
            customer = make_customer(owner, name=f"加量客户{index}有限公司")
            Customer.objects.filter(pk=customer.pk).update(grade="B")
            services.treatment_apply(actor=owner, customer_id=customer.pk, reason="价格高付款好")

    add(1, 0)
    first = services.cycle_open(actor=org.admin)
    small = [_count_queries(client, url) for url in urls(first)]
    services.cycle_cancel(actor=org.admin, cycle_id=first.pk, note="重开")
    add(12, 1)
    second = services.cycle_open(actor=org.admin)
    for entry in ReviewEntry.objects.filter(cycle=second)[:6]:
        services.entry_rate(actor=entry.customer.owner, entry_id=entry.pk, grade="B", reason="稳")
    large = [_count_queries(client, url) for url in urls(second)]
    assert large == small
    assert ReviewCycle.objects.count() == 2
