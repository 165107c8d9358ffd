"""Cooperation pages: happy paths, refusals shown in Chinese with nothing written, the
permission matrix (anonymous → login, no permission 403, out of scope 404) and query
counts that do not grow with the rows."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.cooperation import services
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview, StatusChange
from guanxi.core.testing import make_customer
from guanxi.customers.models import Customer

DAY = dt.timedelta(days=1)


def login(client, user):
    client.force_login(user)
    return client


def set_status(actor, customer, status, **kwargs):
    return services.status_change(actor=actor, customer_id=customer.pk, status=status, **kwargs)


@pytest.fixture
def reviewed(org, customers, clock):
    set_status(org.sales_bj, customers.bj, "green")
    set_status(org.sales_sh, customers.sh, "green")
    clock.shift(DAY)
    set_status(org.sales_bj, customers.bj, "white", reason="项目停工", plan="每周电话跟进")
    set_status(org.sales_sh, customers.sh, "black", reason="拖欠货款", plan="法务催收")
    return {r.customer_id: r for r in SpecialReview.objects.all()}


# --- anonymous and permission matrix -------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/cooperation/",
        "/cooperation/monthly/",
        "/cooperation/monthly/progress/",
        "/cooperation/reviews/",
        "/cooperation/leaderboard/",
        "/cooperation/statistics/",
    ],
)
def test_anonymous_is_sent_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "path", ["/cooperation/monthly/progress/", "/cooperation/reviews/", "/cooperation/leaderboard/"]
)
def test_salesperson_cannot_open_management_pages(client, org, path):
    assert login(client, org.sales_bj).get(path).status_code == 403


def test_finance_cannot_update_monthly(client, org):
    assert login(client, org.finance).get("/cooperation/monthly/").status_code == 403


# --- the monthly update --------------------------------------------------------------------------
def test_monthly_page_lists_own_customers_with_the_ladder(client, org, customers):
    set_status(org.sales_bj, customers.bj, "green")
    page = login(client, org.sales_bj).get("/cooperation/monthly/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "北京星河建材有限公司" in html and "北京长城钢构有限公司" in html
    assert "天津海港贸易有限公司" not in html
    assert f'name="status_{customers.bj.pk}"' in html
    assert "合作良好" in html and "#28a745" in html
    assert "2025-06-25" in html


def test_monthly_downgrade_without_explanation_is_shown_and_nothing_saved(client, org, customers):
    set_status(org.sales_bj, customers.bj, "green")
    set_status(org.sales_bj, customers.bj2, "blue")
    events = AuditEvent.objects.count()
    response = login(client, org.sales_bj).post(
        "/cooperation/monthly/",
        {f"status_{customers.bj.pk}": "yellow", f"status_{customers.bj2.pk}": "blue"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "降级必须填写书面解释" in html and "降级必须填写后期解决办法" in html
    assert MonthlyUpdate.objects.count() == 0
    assert Customer.objects.get(pk=customers.bj.pk).cooperation_status == "green"
    assert AuditEvent.objects.count() == events


def test_monthly_update_with_explanation_saves_every_row(client, org, customers):
    set_status(org.sales_bj, customers.bj, "green")
    set_status(org.sales_bj, customers.bj2, "blue")
    response = login(client, org.sales_bj).post(
        "/cooperation/monthly/",
        {
            f"status_{customers.bj.pk}": "yellow",
            f"reason_{customers.bj.pk}": "竞争对手切入",
            f"plan_{customers.bj.pk}": "下周拜访",
            f"status_{customers.bj2.pk}": "blue",
        },
        follow=True,
    )
    assert "已确认 2 个客户本月的合作状态" in response.content.decode()
    assert "专题评审" in response.content.decode()  # green → yellow is two levels
    assert MonthlyUpdate.objects.count() == 2
    assert SpecialReview.objects.filter(customer=customers.bj).count() == 1


# --- progress, reviews, leaderboard --------------------------------------------------------------
def test_progress_lists_who_has_not_updated_per_department(client, org, customers):
    services.monthly_update_submit(
        actor=org.sales_tj, entries=[{"customer": customers.tj.pk, "status": "blue"}]
    )
    html = (
        login(client, org.supervisor_north).get("/cooperation/monthly/progress/").content.decode()
    )
    assert "北京分公司" in html and "张伟" in html
    assert "李娜" not in html  # done
    assert "王芳" not in html and "上海分公司" not in html  # outside the supervisor's scope
    director = login(client, org.director).get("/cooperation/monthly/progress/").content.decode()
    assert "王芳" in director


def test_director_sees_reviews_records_outcome_and_closes(client, org, customers, reviewed):
    login(client, org.director)
    listing = client.get("/cooperation/reviews/").content.decode()
    assert "北京星河建材有限公司" in listing and "上海浦江工程有限公司" in listing
    review = reviewed[customers.bj.pk]
    detail = client.get(f"/cooperation/reviews/{review.pk}/")
    assert detail.status_code == 200 and "项目停工" in detail.content.decode()
    refused = client.post(f"/cooperation/reviews/{review.pk}/", {"outcome": ""})
    assert refused.status_code == 200 and "该字段是必填项" in refused.content.decode()
    done = client.post(
        f"/cooperation/reviews/{review.pk}/",
        {"outcome": "客户项目停工，改由李娜跟进", "new_owner": org.sales_tj.pk, "close": "on"},
        follow=True,
    )
    assert "专题会议结论已记录" in done.content.decode()
    review.refresh_from_db()
    assert review.status == "closed" and review.new_owner == org.sales_tj
    assert Customer.objects.get(pk=customers.bj.pk).owner == org.sales_tj
    assert "北京星河建材有限公司" not in client.get("/cooperation/reviews/").content.decode()


def test_reviews_are_scoped(client, org, customers, reviewed):
    login(client, org.supervisor_north)
    html = client.get("/cooperation/reviews/").content.decode()
    assert "北京星河建材有限公司" in html and "上海浦江工程有限公司" not in html
    shanghai = reviewed[customers.sh.pk]
    assert client.get(f"/cooperation/reviews/{shanghai.pk}/").status_code == 404
    assert client.get("/cooperation/reviews/99999999/").status_code == 404
    own = reviewed[customers.bj.pk]
    # The supervisor sees the review but may not decide it.
    assert client.post(f"/cooperation/reviews/{own.pk}/", {"outcome": "x"}).status_code == 403
    assert client.post(f"/cooperation/reviews/{own.pk}/close/").status_code == 403
    own.refresh_from_db()
    assert own.outcome == ""


def test_leaderboard_page(client, org, customers, clock):
    set_status(org.sales_bj, customers.bj, "white")
    clock.shift(DAY)
    set_status(org.sales_bj, customers.bj, "blue")
    html = login(client, org.director).get("/cooperation/leaderboard/").content.decode()
    assert "2025年6月" in html and "张伟" in html
    quarter = login(client, org.director).get("/cooperation/leaderboard/?period=quarter")
    assert "2025年第2季度" in quarter.content.decode()


# --- 客户统计表 -----------------------------------------------------------------------------
def test_statistics_table_is_scoped_and_coloured(client, org, customers):
    set_status(org.sales_bj, customers.bj, "green")
    set_status(org.sales_tj, customers.tj, "yellow")
    html = login(client, org.sales_bj).get("/cooperation/statistics/").content.decode()
    for header in ("序号", "客户", "分支机构", "主要负责人", "联系方式", "合作状态", "表示颜色"):
        assert f"<th>{header}</th>" in html
    assert "北京星河建材有限公司" in html and "天津海港贸易有限公司" not in html
    assert "background-color: #28a745" in html and "绿色" in html
    filtered = login(client, org.director).get("/cooperation/statistics/?status=yellow")
    text = filtered.content.decode()
    assert "天津海港贸易有限公司" in text and "北京星河建材有限公司" not in text


def test_statistics_masks_other_peoples_phones(client, org, customers):
    make_customer(
        org.sales_tj,
        name="天津滨海建设有限公司",
        contacts=[{"name": "赵总", "mobile": "13803712345", "is_primary": True}],
    )
    html = login(client, org.supervisor_north).get("/cooperation/statistics/").content.decode()
    assert "138****2345" in html and "13803712345" not in html
    own = login(client, org.sales_tj).get("/cooperation/statistics/").content.decode()
    assert "13803712345" in own


def test_statistics_query_count_does_not_grow(
    client, org, customers, django_assert_max_num_queries
):
    login(client, org.director)
    client.get("/cooperation/statistics/")  # warm caches (session, policy)
    with django_assert_max_num_queries(14) as few:
        client.get("/cooperation/statistics/")
    for number in range(15):
        make_customer(org.sales_bj, name=f"北京测试{number}号有限公司")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/cooperation/statistics/")


def test_monthly_query_count_does_not_grow(client, org, customers, django_assert_max_num_queries):
    login(client, org.sales_bj)
    client.get("/cooperation/monthly/")
    with django_assert_max_num_queries(14) as few:
        client.get("/cooperation/monthly/")
    for number in range(15):
        make_customer(org.sales_bj, name=f"北京测试{number}号有限公司")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/cooperation/monthly/")


# --- the customer page ---------------------------------------------------------------------------
def test_customer_page_panel_shows_status_colour_meaning_plan_and_history(
    client, org, customers, clock
):
    set_status(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    set_status(org.sales_bj, customers.bj, "blue", reason="合同到期", plan="跟进续签")
    html = login(client, org.sales_bj).get(f"/customers/{customers.bj.pk}/").content.decode()
    assert 'id="cooperation"' in html
    assert "维持良好" in html and "跟紧联系" in html and "#1e88e5" in html
    assert "合同到期" in html and "跟进续签" in html
    assert f"/cooperation/customers/{customers.bj.pk}/status/" in html
    finance = login(client, org.finance).get(f"/customers/{customers.bj.pk}/").content.decode()
    assert "维持良好" in finance
    assert f"/cooperation/customers/{customers.bj.pk}/status/" not in finance


def test_status_change_page(client, org, customers):
    set_status(org.sales_bj, customers.bj, "green")
    login(client, org.sales_bj)
    url = f"/cooperation/customers/{customers.bj.pk}/status/"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"status": "white"})
    assert refused.status_code == 200
    assert "降级必须填写书面解释" in refused.content.decode()
    assert StatusChange.objects.filter(customer=customers.bj).count() == 1
    done = client.post(url, {"status": "white", "reason": "停产", "plan": "观察"})
    assert done.status_code == 302
    assert Customer.objects.get(pk=customers.bj.pk).cooperation_status == "white"
    assert client.get(f"/cooperation/customers/{customers.sh.pk}/status/").status_code == 404
    assert client.get("/cooperation/customers/99999999999999999999/status/").status_code == 404
    assert login(client, org.finance).get(url).status_code == 403
