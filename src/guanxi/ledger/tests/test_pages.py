"""Ledger pages and the 《客户出货回款信息表》 panel on the customer page: happy paths, the
credit refusal with the same message as the API, and the permission matrix (anonymous →
login, no permission 403, out of scope 404, in scope 200); refused posts change nothing."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from python_calamine import CalamineWorkbook

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import api_client
from guanxi.ledger import services
from guanxi.ledger.models import CustomerBalance, Order, Payment, PriceCoefficient, Shipment
from guanxi.ledger.testing import approve_limit, d, ship


def snapshot():
    return (
        list(Shipment.objects.order_by("pk").values()),
        list(Payment.objects.order_by("pk").values()),
        list(Order.objects.order_by("pk").values()),
        list(PriceCoefficient.objects.order_by("pk").values()),
        AuditEvent.objects.exclude(action__endswith="viewed").count(),
    )


@pytest.fixture
def pages(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    books.shipment = ship(org.sales_bj, bj, "2025-06-01", "90000", order_reference="SO-9")
    books.payment = services.payment_record(
        actor=org.finance, customer_id=bj.pk, date=d("2025-06-05"), amount="1000", method="cash"
    )
    books.order = services.order_record(
        actor=org.sales_bj, customer_id=bj.pk, date=d("2025-06-06"), amount="2000"
    )
    books.coefficient = services.price_coefficient_propose(
        actor=org.sales_bj, customer_id=bj.pk, coefficient="0.9", effective_from=d("2025-06-01"),
        reason="战略客户",
    )  # fmt: skip
    return books


def test_customer_page_shows_the_ledger_panel(client, pages):
    client.force_login(pages.org.sales_bj)
    page = client.get(reverse("customer_detail", args=[pages.bj.pk])).content.decode()
    assert "客户出货回款信息表" in page
    assert 'id="ledger-balance">¥89,000.00' in page
    assert 'id="ledger-limit">¥100,000.00' in page
    assert 'id="ledger-exposure">¥91,000.00' in page
    assert "接近额度" in page and "SO-9" in page
    assert reverse("shipment_create", args=[pages.bj.pk]) in page
    assert reverse("payment_create", args=[pages.bj.pk]) not in page  # finance records payments


def test_the_panel_is_hidden_without_ledger_permission(client, pages):
    client.force_login(pages.org.keeper)
    page = client.get(reverse("customer_detail", args=[pages.bj.pk])).content.decode()
    assert "客户出货回款信息表" not in page


def test_shipment_over_the_limit_is_refused_in_the_page_with_the_api_message(client, pages):
    org, bj = pages.org, pages.bj
    before = snapshot()
    client.force_login(org.sales_bj)
    url = reverse("shipment_create", args=[bj.pk])
    response = client.post(url, {"date": "2025-06-10", "amount": "20000", "quantity": "1",
                                 "payment_method": "cash"})  # fmt: skip
    assert response.status_code == 200
    api = api_client(org.sales_bj).post(
        "/api/shipments/",
        {"customer": bj.pk, "date": "2025-06-10", "amount": "20000", "quantity": 1},
        format="json",
    )
    assert api.status_code == 409
    assert api.json()["message"] in response.content.decode()
    assert "出货后将超出额度 ¥11,000.00" in api.json()["message"]
    assert snapshot() == before


def test_recording_a_shipment_a_payment_and_an_order_in_pages(client, pages):
    org, bj = pages.org, pages.bj
    client.force_login(org.sales_bj)
    response = client.post(reverse("shipment_create", args=[bj.pk]),
                           {"date": "2025-06-10", "amount": "5000", "quantity": "2",
                            "payment_method": "cash", "order": str(pages.order.pk)})  # fmt: skip
    assert response.status_code == 302
    assert Shipment.objects.filter(amount=5000, order=pages.order).exists()
    cash = client.post(reverse("shipment_create", args=[bj.pk]),
                       {"date": "2025-06-10", "amount": "50000", "quantity": "1",
                        "paid_now": "on", "payment_method": "bank_transfer"})  # fmt: skip
    assert cash.status_code == 302
    client.force_login(org.finance)
    response = client.post(reverse("payment_create", args=[bj.pk]),
                           {"date": "2025-06-10", "amount": "3000", "method": "bank_transfer"})  # fmt: skip
    assert response.status_code == 302
    assert CustomerBalance.objects.get(customer=bj).balance == 91000


def test_reversal_page(client, pages):
    client.force_login(pages.org.finance)
    url = reverse("shipment_reverse", args=[pages.shipment.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "重复录入"}).status_code == 302
    assert pages.shipment.reversed_by.amount == -90000


def test_price_coefficient_approval_page(client, pages):
    client.force_login(pages.org.director)
    page = client.get(reverse("price_coefficient_list")).content.decode()
    assert "战略客户" in page
    url = reverse("price_coefficient_decide", args=[pages.coefficient.pk])
    assert client.post(url, {"decision": "approve", "note": "同意"}).status_code == 302
    pages.coefficient.refresh_from_db()
    assert pages.coefficient.status == "approved"
    client.force_login(pages.org.sales_bj)
    page = client.get(reverse("customer_detail", args=[pages.bj.pk])).content.decode()
    assert 'id="price-coefficient">×0.9000' in page


def test_customer_ledger_export(client, pages):
    client.force_login(pages.org.sales_bj)
    response = client.get(reverse("ledger_customer_export", args=[pages.bj.pk]))
    assert response.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert book.sheet_names == ["汇总", "出货", "回款", "月度"]
    rows = book.get_sheet_by_name("出货").to_python()
    assert rows[3][1] == 90000 and rows[3][5] == "SO-9"
    assert AuditEvent.objects.filter(action="ledger.exported", customer_id=pages.bj.pk).exists()


def test_ledger_home_lists_only_the_scope_with_constant_queries(client, pages):
    org = pages.org
    approve_limit(org, pages.sh, "100000")
    for day in range(1, 6):
        ship(org.sales_sh, pages.sh, f"2025-06-0{day}", "100")
    client.force_login(org.sales_bj)
    page = client.get(reverse("ledger_home")).content.decode()
    assert pages.bj.name in page and pages.sh.name not in page
    client.force_login(org.finance)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("ledger_home"))
    ship(org.sales_sh, pages.sh, "2025-06-09", "100")
    ship(org.sales_sh, pages.sh, "2025-06-09", "100")
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("ledger_home"))
    assert len(more) == len(few)


# --- permission matrix -----------------------------------------------------------------------
def urls(p):
    org, bj = p.org, p.bj
    return [
        # (url, method, data, user in scope with the permission)
        (reverse("ledger_home"), "get", None, org.sales_bj, None),
        (reverse("ledger_customer", args=[bj.pk]), "get", None, org.sales_bj, bj),
        (reverse("ledger_customer_export", args=[bj.pk]), "get", None, org.sales_bj, bj),
        (reverse("shipment_create", args=[bj.pk]), "post",
         {"date": "2025-06-10", "amount": "1", "quantity": "0", "payment_method": "cash"},
         org.sales_bj, bj),
        (reverse("payment_create", args=[bj.pk]), "post",
         {"date": "2025-06-10", "amount": "1", "method": "cash"}, org.finance, bj),
        (reverse("order_create", args=[bj.pk]), "post",
         {"date": "2025-06-10", "amount": "1"}, org.sales_bj, bj),
        (reverse("ledger_terms", args=[bj.pk]), "post", {"days": "45"}, org.finance, bj),
        (reverse("price_coefficient_create", args=[bj.pk]), "post",
         {"coefficient": "0.9", "effective_from": "2025-07-01", "reason": "x"}, org.sales_bj, bj),
        (reverse("shipment_reverse", args=[p.shipment.pk]), "post", {"reason": "错"},
         org.finance, bj),
        (reverse("payment_reverse", args=[p.payment.pk]), "post", {"reason": "错"},
         org.finance, bj),
        (reverse("order_cancel", args=[p.order.pk]), "post", {"reason": "取消"}, org.sales_bj, bj),
        (reverse("price_coefficient_list"), "get", None, org.sales_bj, None),
        (reverse("price_coefficient_decide", args=[p.coefficient.pk]), "post",
         {"decision": "approve"}, org.gm, bj),
    ]  # fmt: skip


CASES = range(13)


@pytest.mark.parametrize("case", CASES)
def test_matrix_anonymous_goes_to_login(client, pages, case):
    url, method, data, _user, _customer = urls(pages)[case]
    before = snapshot()
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_without_permission(client, pages, case):
    url, method, data, _user, _customer = urls(pages)[case]
    before = snapshot()
    client.force_login(pages.org.keeper)
    assert getattr(client, method)(url, data or {}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_out_of_scope(client, pages, case):
    url, method, data, user, customer = urls(pages)[case]
    if customer is None:
        pytest.skip("a list: out-of-scope rows are simply absent (test_ledger_home_lists_…)")
    other = pages.org.sales_sh if user.has_role("salesperson") else _outsider(pages, user)
    before = snapshot()
    client.force_login(other)
    assert getattr(client, method)(url, data or {}).status_code == 404
    assert snapshot() == before


def _outsider(pages, user):
    """A user with the same role as `user` whose scope is the Shanghai branch only."""
    from guanxi.core.testing import make_user
    from guanxi.org.models import Role

    role = user.roles()[0]
    copy = Role.objects.create(name=f"{role.name}（上海）", code=f"{role.code}-sh",
                               data_scope="department")  # fmt: skip
    copy.permissions.set(role.permissions.all())
    outsider = make_user(department=pages.org.shanghai, username=f"{role.code}-sh")
    outsider.groups.add(copy)
    return outsider


@pytest.mark.parametrize("case", CASES)
def test_matrix_in_scope(client, pages, case):
    url, method, data, user, _customer = urls(pages)[case]
    client.force_login(user)
    response = getattr(client, method)(url, data or {})
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    if method == "post":
        assert response.status_code == 302


@pytest.mark.parametrize(
    "url",
    [
        "/ledger/customers/{big}/",
        "/ledger/customers/{big}/shipments/new/",
        "/ledger/shipments/{big}/reverse/",
        "/credit/customers/{big}/",
        "/credit/limits/{big}/",
        "/ledger/customers/999999/",
    ],
)
def test_missing_and_oversized_ids_are_404(client, pages, url):
    client.force_login(pages.org.finance)
    assert client.get(url.format(big=2**70)).status_code == 404
