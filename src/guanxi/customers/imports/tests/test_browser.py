"""Browser journey: a salesperson uploads an Excel file, maps nothing by hand (the seeds'
headers are recognised), starts the import, watches the progress while the background
worker (django-tasks database backend, `db_worker`) runs it, downloads the error report,
fixes the file and imports it again.

Runs Debian's Chromium through Playwright against pytest-django's live_server, like
customers/tests/test_browser.py.
"""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from guanxi.core.testing import PASSWORD, valid_credit_code
from guanxi.customers.imports import services
from guanxi.customers.imports.models import ImportJob
from guanxi.customers.imports.tests.conftest import read_xlsx, xlsx_bytes
from guanxi.customers.models import Customer
from guanxi.customers.tests.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOT_DIR

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]

HEADERS = ["序号", "客户", "统一社会信用代码", "分支机构", "主要负责人", "联系人", "联系方式",
           "合作状态", "表示颜色"]  # fmt: skip


def rows(bad_mobile: str) -> list[list[str]]:
    return [
        ["1", "瑞丰建材有限公司", valid_credit_code(41), "北京分公司", "张伟", "王经理",
         "13812345678", "合作良好", "绿色"],
        ["2", "宏达物流有限公司", valid_credit_code(42), "北京分公司", "张伟", "李经理",
         bad_mobile, "维持良好", "蓝色"],
        ["3", "金鼎钢构有限公司", valid_credit_code(43), "北京分公司", "张伟", "赵经理",
         "13912345678", "问题客户", "黄色"],
    ]  # fmt: skip


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; see customers/tests.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="zh-CN", viewport={"width": 1440, "height": 900}, accept_downloads=True
        )
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


def run_worker() -> None:
    """What `python -m guanxi db_worker` does, until the queue is empty."""
    call_command("db_worker", batch=True, no_startup_delay=True, queue_name="*", verbosity=0)


def upload_and_start(page, live_server, path) -> int:
    page.goto(f"{live_server.url}/customers/imports/")
    page.locator("#id_file").set_input_files(str(path))
    page.get_by_role("button", name="上传并预览").click()
    page.locator("#import-preview").wait_for()
    job = ImportJob.objects.order_by("-id").first()
    page.get_by_role("button", name="开始导入").click()
    page.wait_for_url(f"{live_server.url}/customers/imports/{job.pk}/")
    return job.pk


def test_upload_watch_progress_download_report_fix_and_reimport(
    live_server, org, page, settings, tmp_path, monkeypatch
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(services, "INLINE_MAX_ROWS", 0)  # every file goes to the worker
    broken = tmp_path / "客户统计表.xlsx"
    broken.write_bytes(xlsx_bytes(HEADERS, rows("1381234567"), title="客户统计表"))

    page.goto(f"{live_server.url}/customers/")
    page.get_by_label("用户名").fill("sales_bj")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/customers/")
    page.get_by_role("link", name="导入客户").click()
    page.wait_for_url(f"{live_server.url}/customers/imports/")

    # Upload: the preview shows the recognised columns and the dry run's row error.
    page.locator("#id_file").set_input_files(str(broken))
    page.get_by_role("button", name="上传并预览").click()
    preview = page.locator("#import-preview")
    preview.wait_for()
    assert "列对应（表头在第 2 行）" in page.content()
    assert page.locator("#id_col_1").input_value() == "name"
    assert "手机号码应为11位" in preview.locator("tr.table-danger").inner_text()
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, "guanxi_import_preview.png"), full_page=True)

    # Start: the job waits for the worker; the page polls its progress every second.
    job = ImportJob.objects.get()
    page.get_by_role("button", name="开始导入").click()
    page.wait_for_url(f"{live_server.url}/customers/imports/{job.pk}/")
    progress = page.locator("#import-progress")
    assert "排队中" in progress.inner_text()
    assert "已处理 0 / 3 行" in progress.inner_text()
    run_worker()
    # No reload by hand: htmx sees the job finished and the page shows the outcome.
    page.locator("#import-report").wait_for()
    assert "未导入（有错误）" in page.locator("#import-status").inner_text()
    assert "1 行有错误，全部未导入" in page.locator("#import-message").inner_text()
    assert page.locator(".progress-bar").get_attribute("style") == "width: 100%"
    assert not Customer.objects.exists()
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, "guanxi_import_refused.png"), full_page=True)

    # The error report names the row, the column, the value and what is wrong.
    with page.expect_download() as download:
        page.locator("#import-report").click()
    report = read_xlsx(download.value.path().read_bytes())
    assert report[1][:3] == ["4", "联系方式", "1381234567"]
    assert report[1][3].startswith("手机号码应为11位")

    # Fix the file and import it again.
    fixed = tmp_path / "客户统计表-已修正.xlsx"
    fixed.write_bytes(xlsx_bytes(HEADERS, rows("13712345678"), title="客户统计表"))
    second = upload_and_start(page, live_server, fixed)
    run_worker()
    page.locator("#import-created").wait_for()
    assert page.locator("#import-created").inner_text() == "3"
    assert "已导入" in page.locator("#import-status").inner_text()
    assert ImportJob.objects.get(pk=second).status == ImportJob.Status.COMMITTED
    assert Customer.objects.filter(owner=org.sales_bj).count() == 3
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, "guanxi_import_done.png"), full_page=True)

    page.get_by_role("link", name="查看客户列表").click()
    page.wait_for_url(f"{live_server.url}/customers/")
    assert "宏达物流有限公司" in page.locator("#customer-table").inner_text()
