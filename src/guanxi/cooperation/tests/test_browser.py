"""Browser journey: a salesperson updates this month's cooperation statuses, including a
downgrade (refused until explained, then saved), and the sales director sees the special
review it opened.

Runs Debian's Chromium through Playwright against pytest-django's live_server.
"""

from __future__ import annotations

import os

import pytest

from guanxi.cooperation import services
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview
from guanxi.core.testing import PASSWORD, make_customer

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
SCREENSHOT_DIR = os.environ.get("GUANXI_SCREENSHOT_DIR", "/tmp")

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
    tab.goto(f"{live_server.url}/accounts/login/")
    tab.get_by_label("用户名").fill(username)
    tab.get_by_label("密码").fill(PASSWORD)
    tab.get_by_role("button", name="登录").click()
    tab.wait_for_url(f"{live_server.url}/")
    return tab


def test_monthly_update_with_downgrade_then_director_sees_review(live_server, org, browser):
    star = make_customer(org.sales_bj, name="北京星河建材有限公司")
    wall = make_customer(org.sales_bj, name="北京长城钢构有限公司")
    for customer, status in ((star, "green"), (wall, "blue")):
        services.status_change(actor=org.sales_bj, customer_id=customer.pk, status=status)

    tab = sign_in(browser, live_server, "sales_bj")
    tab.get_by_role("link", name="合作状态").first.click()
    tab.wait_for_url(f"{live_server.url}/cooperation/monthly/")
    row = tab.locator(f"#row-{star.pk}")
    assert "合作良好" in row.inner_text()

    # green → yellow: the row turns into a downgrade as soon as yellow is picked.
    row.locator(f"label[for=status_{star.pk}_yellow]").click()
    assert "gx-downgrade" in (row.get_attribute("class") or "")
    assert row.locator(f"textarea[name=reason_{star.pk}]").evaluate("el => el.required")
    # Without an explanation the server refuses the whole month and keeps the choice.
    tab.locator("#monthly-submit").click()
    tab.wait_for_load_state()
    assert "降级必须填写书面解释" in tab.locator(f"#row-{star.pk}").inner_text()
    assert tab.locator(f"#status_{star.pk}_yellow").is_checked()
    assert MonthlyUpdate.objects.count() == 0

    row = tab.locator(f"#row-{star.pk}")
    row.locator(f"textarea[name=reason_{star.pk}]").fill("竞争对手低价切入，客户摇摆")
    row.locator(f"textarea[name=plan_{star.pk}]").fill("本周由总监陪同拜访采购经理")
    tab.locator("#monthly-submit").click()
    tab.wait_for_url(f"{live_server.url}/cooperation/monthly/")
    success = tab.locator(".alert-success").inner_text()
    assert "已确认 2 个客户本月的合作状态" in success and "专题评审" in success
    assert "已确认 2 / 2" in tab.locator("#monthly-progress").inner_text()
    tab.screenshot(
        path=os.path.join(SCREENSHOT_DIR, "guanxi_cooperation_monthly.png"), full_page=True
    )
    assert SpecialReview.objects.filter(customer=star, status="open").count() == 1
    tab.context.close()

    director = sign_in(browser, live_server, "director")
    director.get_by_role("link", name="合作状态").first.click()
    director.get_by_role("link", name="专题评审").first.click()
    director.wait_for_url(f"{live_server.url}/cooperation/reviews/")
    table = director.locator("#review-table")
    assert "北京星河建材有限公司" in table.inner_text()
    assert "北京长城钢构有限公司" not in table.inner_text()
    table.get_by_role("link", name="北京星河建材有限公司").click()
    changes = director.locator("#review-changes").inner_text()
    assert "竞争对手低价切入，客户摇摆" in changes and "本周由总监陪同拜访采购经理" in changes
    director.get_by_label("会议结论").fill("加强高层沟通，负责人不变")
    director.get_by_role("button", name="保存结论").click()
    director.wait_for_load_state()
    assert "专题会议结论已记录" in director.locator(".alert-success").inner_text()
    assert "加强高层沟通" in director.locator("#review-outcome").inner_text()
    director.screenshot(
        path=os.path.join(SCREENSHOT_DIR, "guanxi_cooperation_review.png"), full_page=True
    )
    assert SpecialReview.objects.get(customer=star).status == "closed"
    director.context.close()
