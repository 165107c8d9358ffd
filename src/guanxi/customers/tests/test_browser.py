"""Browser journey: a salesperson signs in, finds a customer by a Chinese substring,
edits the address and sees the change in the 360 page's history.

Runs Debian's Chromium through Playwright against pytest-django's live_server.
"""

from __future__ import annotations

import os

import pytest

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
def page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread, and Django's ORM refuses to
    # run beside one. Allowed for this test only: set at import time, the variable would
    # leak into every other test of the session (and `check --deploy` flags it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


def test_search_edit_and_see_history(live_server, org, page):
    customer = make_customer(
        org.sales_bj,
        name="北京星河建材有限公司",
        customer_type="trading",
        address="北京市朝阳区建国路88号",
        contacts=[{"name": "王经理", "mobile": "13812345678", "title": "采购经理"}],
    )
    make_customer(org.sales_bj, name="北京长城钢构有限公司", customer_type="construction")
    make_customer(org.sales_sh, name="上海星河物流有限公司")  # same substring, other scope
    new_address = "北京市朝阳区光华路1号"

    page.goto(f"{live_server.url}/customers/")
    assert "/accounts/login/" in page.url
    page.get_by_label("用户名").fill("sales_bj")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/customers/")

    # Bootstrap really loaded from our static files (not a CDN): the navbar is styled.
    assert page.locator("nav.navbar").evaluate("el => getComputedStyle(el).display") == "flex"

    page.locator("#id_q").fill("星河")
    page.locator("#id_q").press("Enter")
    results = page.locator("#customer-table tbody tr")
    results.first.wait_for()
    page.wait_for_function("document.querySelectorAll('#customer-table tbody tr').length === 1")
    assert results.count() == 1
    assert "北京星河建材有限公司" in results.first.inner_text()
    assert "上海星河物流有限公司" not in page.content()
    assert "13812345678" in results.first.inner_text()  # own customer: not masked
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, "guanxi_list.png"), full_page=True)

    page.get_by_role("link", name="北京星河建材有限公司").click()
    page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")
    page.get_by_role("link", name="编辑档案").click()
    page.get_by_label("地址").fill(new_address)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")

    assert "客户档案已保存" in page.locator(".alert-success").inner_text()
    assert new_address in page.locator("#customer-address").inner_text()
    history = page.locator("#history")
    change = history.locator("li", has_text="修改客户档案").first
    assert "地址" in change.inner_text()
    assert "北京市朝阳区建国路88号" in change.inner_text()
    assert new_address in change.locator(".gx-change-new").inner_text()
    assert "张伟" in change.inner_text()
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, "guanxi_detail.png"), full_page=True)
