"""Browser journey: a salesperson gives an initial rating on 《客户等级评定表》, the sales
director runs the review meeting and submits, the general manager approves, and the
management dashboard draws its ECharts charts.

Runs Debian's Chromium through Playwright against pytest-django's live_server.
"""

from __future__ import annotations

import os

import pytest
import time_machine

from guanxi.core.testing import PASSWORD, make_customer
from guanxi.customers.models import Customer
from guanxi.reviews import services
from guanxi.reviews.models import ReviewEntry
from guanxi.reviews.tests.conftest import NOW

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread, and Django's ORM refuses to
    # run beside one. Allowed for this test only.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, live_server, username):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(f"{live_server.url}/accounts/login/")
    tab.get_by_label("用户名").fill(username)
    tab.get_by_label("密码").fill(PASSWORD)
    tab.get_by_role("button", name="登录").click()
    tab.wait_for_url(f"{live_server.url}/")
    return tab, errors


def test_rating_review_approval_and_dashboard(live_server, org, browser):
    with time_machine.travel(NOW, tick=True):
        star = make_customer(org.sales_bj, name="北京星河建材有限公司")
        make_customer(org.sales_tj, name="天津海港贸易有限公司")
        cycle = services.cycle_open(actor=org.admin)
        entry = ReviewEntry.objects.get(cycle=cycle, customer=star)

        tab, errors = sign_in(browser, live_server, "sales_bj")
        tab.get_by_role("link", name="年度评定").first.click()
        tab.get_by_role("link", name=str(cycle)).first.click()
        tab.wait_for_url(f"{live_server.url}/reviews/cycles/{cycle.pk}/")
        assert "天津海港贸易有限公司" not in tab.locator("#entries").inner_text()
        row = tab.locator(f"#entry-{entry.pk}")
        row.locator("select[name=grade]").select_option("A")
        row.locator("input[name=reason]").fill("年度订单额大幅增长，回款及时")
        row.get_by_role("button", name="保存").click()
        tab.wait_for_load_state()
        assert "已保存 北京星河建材有限公司 的初评" in tab.locator(".alert-success").inner_text()
        assert "年度订单额大幅增长" in tab.locator(f"#entry-{entry.pk}").inner_text()

        tab, errors = sign_in(browser, live_server, "director")
        tab.goto(f"{live_server.url}/reviews/cycles/{cycle.pk}/")
        tab.get_by_role("button", name="结束初评，开始复评").click()
        tab.wait_for_load_state()
        assert tab.locator("#cycle-status").inner_text() == "复评中"
        tab.get_by_role("button", name="提交总经理批准").click()
        tab.wait_for_load_state()
        assert tab.locator("#cycle-status").inner_text() == "待总经理批准"
        assert Customer.objects.get(pk=star.pk).grade == ""

        tab, errors = sign_in(browser, live_server, "gm")
        tab.goto(f"{live_server.url}/reviews/cycles/{cycle.pk}/")
        tab.locator("#approve-cycle").click()
        tab.wait_for_load_state()
        assert tab.locator("#cycle-status").inner_text() == "已生效"
        assert Customer.objects.get(pk=star.pk).grade == "A"

        tab.get_by_role("link", name="年度评定").first.click()
        tab.wait_for_url(f"{live_server.url}/reviews/dashboard/")
        tab.wait_for_function("() => window.gxDashboardCharts !== undefined")
        assert tab.locator("#chart-grades canvas").count() == 1
        assert tab.locator("#chart-statuses canvas").count() == 1
        grades = tab.evaluate("() => window.gxDashboardCharts.grades.getOption().series[0].data")
        assert grades == [1, 0, 1]  # A: 星河; B: none; C: 天津 (the proposal)
        assert errors == []
