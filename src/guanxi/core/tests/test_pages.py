"""首页 · 我的工作, and the shared layout (navbar, error pages)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from guanxi.core.testing import make_customer, make_user
from guanxi.customers import services
from guanxi.customers.selectors import next_occurrence as _next_occurrence

TODAY = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
HOME = reverse("home")


@pytest.fixture
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY.date()


@pytest.fixture
def work(org, frozen):
    """sales_bj: one complete-ish customer with dates, one bare one; others elsewhere."""

    class Work:
        pass

    w = Work()
    w.full = make_customer(
        org.sales_bj,
        name="北京星河建材有限公司",
        contacts=[{"name": "王经理", "mobile": "13812345678", "birthday": dt.date(1980, 3, 20)}],
    )
    w.bare = make_customer(org.sales_bj, name="北京空白档案有限公司")
    w.tj = make_customer(org.sales_tj, name="天津海港贸易有限公司")
    w.sh = make_customer(org.sales_sh, name="上海浦江工程有限公司")
    services.special_date_create(
        actor=org.sales_bj,
        customer_id=w.full.pk,
        data={"kind": "company_anniversary", "date": dt.date(2008, 4, 1), "note": "成立纪念"},
    )
    services.special_date_create(  # outside the 30 days
        actor=org.sales_bj,
        customer_id=w.full.pk,
        data={"kind": "relocation", "date": dt.date(2020, 6, 1)},
    )
    services.special_date_create(  # someone else's customer
        actor=org.sales_sh,
        customer_id=w.sh.pk,
        data={"kind": "promotion", "date": dt.date(2020, 3, 15)},
    )
    return w


def test_anonymous_is_sent_to_login(client):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_my_work_for_a_salesperson(client, org, work):
    client.force_login(org.sales_bj)
    response = client.get(HOME)
    assert response.status_code == 200
    context = response.context
    assert context["my_count"] == 2
    assert context["scope_count"] == 2
    assert context["incomplete_count"] == 2  # both miss ※ fields (credit code, …)
    assert context["incomplete"][0][0] == work.bare  # the emptiest first
    assert {c.name for c in context["recent"]} == {work.full.name, work.bare.name}
    upcoming = [(item.on, item.kind, item.contact_name) for item in context["upcoming"]]
    assert upcoming == [
        (dt.date(2026, 3, 20), "生日", "王经理"),
        (dt.date(2026, 4, 1), "公司周年庆", ""),
    ]
    html = response.content.decode()
    assert "我的工作" in html and "2026-03-20" in html and "10天后" in html
    assert "天津海港贸易有限公司" not in html and "上海浦江工程有限公司" not in html


def test_supervisor_recent_customers_cover_the_region_only(client, org, work):
    client.force_login(org.supervisor_north)
    context = client.get(HOME).context
    assert context["my_count"] == 0
    assert context["scope_count"] == 3
    assert {c.name for c in context["recent"]} == {work.full.name, work.bare.name, work.tj.name}
    assert context["upcoming"] == []


def test_user_without_roles_sees_a_hint(client, org):
    client.force_login(make_user(department=org.beijing, username="nobody"))
    response = client.get(HOME)
    assert response.status_code == 200
    assert "尚未分配客户相关的角色" in response.content.decode()


def test_navbar_follows_permissions(client, org):
    client.force_login(org.sales_bj)
    html = client.get(HOME).content.decode()
    assert "客户" in html and "回收站" in html and "修改密码" in html and "退出" in html
    assert reverse("audit_search") not in html
    assert reverse("admin:index") not in html
    client.force_login(org.admin)
    html = client.get(HOME).content.decode()
    assert reverse("audit_search") in html
    assert reverse("admin:index") in html
    assert reverse("set_language") in html


def test_error_pages_are_chinese(client, org):
    client.force_login(org.sales_bj)
    response = client.get(reverse("customer_detail", args=[999999]))
    assert response.status_code == 404
    assert "记录不存在或您无权访问" in response.content.decode()
    response = client.get(reverse("audit_search"))
    assert response.status_code == 403
    assert "您没有执行此操作的权限" in response.content.decode()


@pytest.mark.parametrize(
    ("day", "recurring", "expected"),
    [
        (dt.date(1980, 3, 20), True, dt.date(2026, 3, 20)),
        (dt.date(1980, 1, 5), True, dt.date(2027, 1, 5)),  # passed this year: next year
        (dt.date(1980, 3, 10), True, dt.date(2026, 3, 10)),  # today counts
        (dt.date(1984, 2, 29), True, dt.date(2027, 2, 28)),  # leap day in a common year
        (dt.date(2026, 5, 1), False, dt.date(2026, 5, 1)),
        (dt.date(2026, 1, 1), False, None),  # one-off and past
    ],
)
def test_next_occurrence(day, recurring, expected):
    assert _next_occurrence(day, recurring=recurring, today=dt.date(2026, 3, 10)) == expected


def test_pages_stay_chinese_for_an_english_browser_until_the_user_switches(client, org):
    from django.urls import reverse

    client.force_login(org.sales_bj)
    response = client.get(reverse("customer_list"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "客户列表" in response.content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert client.get(reverse("customer_list"))["Content-Language"] == "en"


def test_api_clients_may_ask_for_a_language_by_header(client, org):
    from guanxi.core.testing import api_client

    response = api_client(org.sales_bj).get("/api/customers/", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"
    response = api_client(org.sales_bj).get("/api/customers/")
    assert response["Content-Language"] == "zh-hans"
