"""Browser journey: a shipment over the credit limit is refused in the page with the same
message the API gives (limit, exposure, shortfall); once a credit controller approves a
one-off override, the salesperson picks it and exactly that one shipment goes through —
the next one is refused again."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.core.testing import PASSWORD, api_client, make_customer
from guanxi.credit import services
from guanxi.credit.models import CreditOverride
from guanxi.ledger.models import Shipment
from guanxi.ledger.testing import approve_limit, ship

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


def record_in_page(page, live_server, customer, amount, override=None):
    page.goto(f"{live_server.url}/ledger/customers/{customer.pk}/shipments/new/")
    page.get_by_label("金额（元）").fill(amount)
    page.get_by_label("数量（件/台）").fill("1")
    if override is not None:
        page.get_by_label("超额度特批").select_option(str(override.pk))
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()


def test_over_limit_refused_then_one_override_lets_one_shipment_through(live_server, org, page):
    today = timezone.localdate().isoformat()
    customer = make_customer(org.sales_bj, name="北京星河建材有限公司")
    approve_limit(org, customer, "100000")
    ship(org.sales_bj, customer, today, "90000.00")

    # The API's answer for the same shipment (nothing is written: it is refused).
    refused = api_client(org.sales_bj).post(
        "/api/shipments/",
        {"customer": customer.pk, "date": today, "amount": "20000.00", "quantity": 1},
        format="json",
    )
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "credit_limit_exceeded"
    assert body["detail"] == {
        "limit": "100000.00",
        "exposure": "90000.00",
        "amount": "20000.00",
        "shortfall": "10000.00",
    }

    sign_in(page, live_server, "sales_bj")
    record_in_page(page, live_server, customer, "20000.00")
    alert = page.locator("#entry-form .alert-danger")
    assert alert.inner_text().strip() == body["message"]  # the message, and only it
    assert not page.locator("#entry-form .invalid-feedback").count()
    for figure in ("¥100,000.00", "¥90,000.00", "¥10,000.00"):
        assert figure in body["message"]
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, "guanxi_credit_refused.png"))
    assert Shipment.objects.filter(customer=customer).count() == 1

    # A one-off override, approved by a credit controller (finance).
    override = services.credit_override_request(
        actor=org.sales_bj,
        customer_id=customer.pk,
        amount="20000.00",
        reason="急单，客户已承诺月底回款",
    )
    services.credit_override_decide(actor=org.finance, override_id=override.pk, approve=True)

    record_in_page(page, live_server, customer, "20000.00", override=override)
    page.wait_for_url(f"{live_server.url}/ledger/customers/{customer.pk}/**")
    override.refresh_from_db()
    shipped = Shipment.objects.filter(customer=customer).order_by("-id").first()
    assert override.shipment_id == shipped.pk and shipped.amount == Decimal("20000.00")
    assert override.status == CreditOverride.Status.APPROVED and not override.usable

    # Exactly one: the override is gone from the choices and the next shipment is refused.
    page.goto(f"{live_server.url}/ledger/customers/{customer.pk}/shipments/new/")
    options = page.get_by_label("超额度特批").locator("option").all_inner_texts()
    assert options == ["---------"]
    record_in_page(page, live_server, customer, "1000.00")
    text = page.locator("#entry-form").inner_text()
    assert "超出信用额度" in text and "¥110,000.00" in text  # exposure now 110,000
    assert Shipment.objects.filter(customer=customer).count() == 2
