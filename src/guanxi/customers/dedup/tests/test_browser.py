"""Browser journey: a salesperson is warned about a possible duplicate while filing; a
sales director reviews the candidate pairs, merges the two archives field by field and
lands on the survivor, whose page shows the merged customer's contacts and history."""

from __future__ import annotations

import os

import pytest

from guanxi.core.testing import PASSWORD
from guanxi.customers.dedup.tests.helpers import add
from guanxi.customers.models import Customer

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SCREENSHOT_DIR = os.environ.get("GUANXI_SCREENSHOT_DIR", "/tmp")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")


def shot(page, name):
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, f"guanxi_{name}.png"), full_page=True)


def test_warn_review_merge(live_server, org, page):
    survivor = add(org.sales_bj, "北京华建建材有限公司", phone="010-66668888")
    add(
        org.sales_bj,
        "华建建材（北京）有限公司",
        credit_code="914403001922038216",
        contacts=[{"name": "王经理", "mobile": "13812345678"}],
    )
    add(org.sales_sh, "上海星河建材有限公司")

    sign_in(page, live_server, "sales_bj")
    page.goto(f"{live_server.url}/customers/new/")
    page.get_by_label("客户名称").fill("北京市华建建材股份有限公司")
    page.get_by_role("button", name="保存").click()
    warning = page.locator("#possible-duplicates")
    warning.wait_for()
    assert "北京华建建材有限公司" in warning.inner_text()
    shot(page, "dedup_warning")
    page.get_by_label("仍然创建（已核对，不是同一客户）").check()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"{live_server.url}/customers/*/")
    assert Customer.objects.filter(name="北京市华建建材股份有限公司").exists()
    with page.expect_navigation():  # let the logout finish before the next page loads
        page.locator("form[action$='/logout/'] button").evaluate("b => b.form.submit()")

    sign_in(page, live_server, "director")
    page.goto(f"{live_server.url}/customers/duplicates/")
    pairs = page.locator("tr.duplicate-pair")
    assert pairs.count() == 3  # three spellings of one company
    shot(page, "dedup_review")
    row = pairs.filter(has_text="华建建材（北京）有限公司").filter(has_text="北京华建建材有限公司")
    row.get_by_role("link", name="合并").click()
    page.locator("#merge-fields").wait_for()
    page.locator("#f-phone-s").check()
    page.get_by_role("button", name="预览合并结果").click()
    page.locator("#confirm-merge").wait_for()
    shot(page, "dedup_merge_preview")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#confirm-merge").click()
    page.wait_for_url(f"{live_server.url}/customers/{survivor.pk}/")
    assert "王经理" in page.locator("#contacts").inner_text()
    assert "合并客户档案（保留）" in page.locator("#history").inner_text()
    shot(page, "dedup_survivor")
