"""The ledger REST API: contract shapes, the 409 credit refusal, and the permission matrix
for every endpoint (anonymous 401, no permission 403, out of scope 404 like a missing id,
in scope 2xx); a refused request changes nothing."""

from decimal import Decimal

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import api_client
from guanxi.ledger import services
from guanxi.ledger.models import (
    CustomerBalance,
    CustomerTerms,
    Order,
    Payment,
    PriceCoefficient,
    Shipment,
)
from guanxi.ledger.testing import approve_limit, d, ship

NOT_FOUND = {"code": "not_found", "message": "记录不存在或您无权访问。", "detail": {}}
FORBIDDEN = {"code": "permission_denied", "message": "您没有执行此操作的权限。", "detail": {}}


def snapshot():
    return (
        list(Shipment.objects.order_by("pk").values()),
        list(Payment.objects.order_by("pk").values()),
        list(Order.objects.order_by("pk").values()),
        list(PriceCoefficient.objects.order_by("pk").values()),
        list(CustomerTerms.objects.order_by("pk").values()),
        list(CustomerBalance.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def ledger(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    books.shipment = ship(org.sales_bj, bj, "2025-06-01", "30000")
    books.payment = services.payment_record(
        actor=org.finance, customer_id=bj.pk, date=d("2025-06-05"), amount="1000", method="cash"
    )
    books.order = services.order_record(
        actor=org.sales_bj, customer_id=bj.pk, date=d("2025-06-06"), amount="2000"
    )
    books.coefficient = services.price_coefficient_propose(
        actor=org.sales_bj, customer_id=bj.pk, coefficient="0.95", effective_from=d("2025-06-01"),
        reason="战略客户",
    )  # fmt: skip
    return books


def test_post_shipment_contract(ledger):
    org, bj = ledger.org, ledger.bj
    response = api_client(org.sales_bj).post(
        "/api/shipments/",
        {"customer": bj.pk, "date": "2025-05-20", "amount": "12800.50", "quantity": 3,
         "cost": "9000", "order_reference": "SO-2025-001"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("customer", "date", "amount", "quantity", "cost", "profit")} == {
        "customer": bj.pk,
        "date": "2025-05-20",
        "amount": "12800.50",
        "quantity": 3,
        "cost": "9000.00",
        "profit": "3800.50",
    }
    assert (body["due_date"], body["reversal_of"], body["reversed_by"]) == (
        "2025-06-19",
        None,
        None,
    )


def test_post_shipment_over_the_limit_is_409_with_limit_exposure_shortfall(ledger):
    org, bj = ledger.org, ledger.bj
    before = snapshot()
    response = api_client(org.sales_bj).post(
        "/api/shipments/",
        {"customer": bj.pk, "date": "2025-06-10", "amount": "75000", "quantity": 1},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "credit_limit_exceeded"
    assert body["detail"] == {
        "limit": "100000.00",
        "exposure": "31000.00",  # 30,000 − 1,000 + open order 2,000
        "amount": "75000.00",
        "shortfall": "6000.00",
    }
    assert body["message"] == (
        "超出信用额度，不能出货：信用额度 ¥100,000.00，当前占用 ¥31,000.00，本次出货 ¥75,000.00，"
        "出货后将超出额度 ¥6,000.00。请先回款、现款出货，或申请超额度特批。"
    )
    assert snapshot() == before


def test_override_through_the_api(ledger):
    org, bj = ledger.org, ledger.bj
    requested = api_client(org.sales_bj).post(
        "/api/credit-overrides/", {"customer": bj.pk, "amount": "75000", "reason": "急单"},
        format="json",
    )  # fmt: skip
    assert requested.status_code == 201
    override_id = requested.json()["id"]
    assert (
        api_client(org.finance)
        .post(f"/api/credit-overrides/{override_id}/approve/", {}, format="json")
        .status_code
        == 200
    )
    body = {"customer": bj.pk, "date": "2025-06-10", "amount": "75000", "override": override_id}
    assert api_client(org.sales_bj).post("/api/shipments/", body, format="json").status_code == 201
    again = api_client(org.sales_bj).post("/api/shipments/", body, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "override_not_usable")


def test_post_payment_contract(ledger):
    response = api_client(ledger.org.finance).post(
        "/api/payments/",
        {"customer": ledger.bj.pk, "date": "2025-06-09", "amount": "5000.00", "method": "bank_transfer"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("amount", "method", "date")} == {
        "amount": "5000.00",
        "method": "bank_transfer",
        "date": "2025-06-09",
    }
    assert CustomerBalance.objects.get(customer=ledger.bj).balance == Decimal("24000")


def test_reversal_through_the_api(ledger):
    url = f"/api/shipments/{ledger.shipment.pk}/reverse/"
    response = api_client(ledger.org.finance).post(url, {"reason": "重复录入"}, format="json")
    assert response.status_code == 201
    assert (response.json()["amount"], response.json()["reversal_of"]) == (
        "-30000.00",
        ledger.shipment.pk,
    )
    detail = api_client(ledger.org.finance).get(f"/api/shipments/{ledger.shipment.pk}/").json()
    assert detail["reversed_by"] == response.json()["id"]
    again = api_client(ledger.org.finance).post(url, {"reason": "再冲"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_reversed")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"date": "2025-06-11"}, "date"),
        ({"quantity": -1}, "quantity"),
        ({"customer": "x"}, "customer"),
    ],
)
def test_bad_shipment_input_is_400_and_changes_nothing(ledger, body, field):
    before = snapshot()
    data = {"customer": ledger.bj.pk, "date": "2025-06-10", "amount": "10", "quantity": 1, **body}
    response = api_client(ledger.org.sales_bj).post("/api/shipments/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert snapshot() == before


# --- permission matrix -------------------------------------------------------------------------
def endpoints(books):
    """(method, url, body, the user allowed in scope, expected status)."""
    org, bj = books.org, books.bj
    s, p, o, c = books.shipment.pk, books.payment.pk, books.order.pk, books.coefficient.pk
    return [
        ("get", "/api/shipments/", None, org.sales_bj, 200),
        ("post", "/api/shipments/", {"customer": bj.pk, "date": "2025-06-10", "amount": "10"},
         org.sales_bj, 201),
        ("get", f"/api/shipments/{s}/", None, org.sales_bj, 200),
        ("post", f"/api/shipments/{s}/reverse/", {"reason": "错"}, org.finance, 201),
        ("get", "/api/payments/", None, org.finance, 200),
        ("post", "/api/payments/", {"customer": bj.pk, "date": "2025-06-10", "amount": "10",
                                    "method": "cash"}, org.finance, 201),
        ("get", f"/api/payments/{p}/", None, org.finance, 200),
        ("post", f"/api/payments/{p}/reverse/", {"reason": "错"}, org.finance, 201),
        ("get", "/api/orders/", None, org.sales_bj, 200),
        ("post", "/api/orders/", {"customer": bj.pk, "date": "2025-06-10", "amount": "10"},
         org.sales_bj, 201),
        ("get", f"/api/orders/{o}/", None, org.sales_bj, 200),
        ("post", f"/api/orders/{o}/cancel/", {"reason": "取消"}, org.sales_bj, 200),
        ("get", "/api/price-coefficients/", None, org.sales_bj, 200),
        ("post", "/api/price-coefficients/", {"customer": bj.pk, "coefficient": "0.9",
                                              "effective_from": "2025-07-01", "reason": "x"},
         org.sales_bj, 201),
        ("get", f"/api/price-coefficients/{c}/", None, org.sales_bj, 200),
        ("post", f"/api/price-coefficients/{c}/approve/", {}, org.director, 200),
        ("post", f"/api/price-coefficients/{c}/reject/", {"note": "不批"}, org.gm, 200),
        ("post", "/api/payment-terms/", {"customer": bj.pk, "days": 45}, org.finance, 200),
    ]  # fmt: skip


CASES = range(18)


@pytest.mark.parametrize("case", CASES)
def test_matrix_anonymous(ledger, case):
    method, url, body, _user, _status = endpoints(ledger)[case]
    before = snapshot()
    response = getattr(api_client(), method)(url, body, format="json")
    assert response.status_code == 401
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_without_permission(ledger, case):
    method, url, body, _user, _status = endpoints(ledger)[case]
    before = snapshot()
    response = getattr(api_client(ledger.org.keeper), method)(url, body, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_out_of_scope(ledger, case):
    """sales_sh holds the salesperson's permissions but not the Beijing customer."""
    method, url, body, _user, _status = endpoints(ledger)[case]
    user = ledger.org.sales_sh
    before = snapshot()
    response = getattr(api_client(user), method)(url, body, format="json")
    if method == "get" and "{" not in url and url.endswith("s/") and response.status_code == 200:
        assert response.json()["results"] == []  # lists: simply nothing
    elif response.status_code == 403:
        # not a salesperson's action (payments, reversals, approvals, terms)
        assert response.json() == FORBIDDEN
    else:
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_in_scope(ledger, case):
    method, url, body, user, expected = endpoints(ledger)[case]
    response = getattr(api_client(user), method)(url, body, format="json")
    assert response.status_code == expected, response.json()


def test_finance_holds_shipments_and_payments_salesperson_only_shipments(ledger):
    org, bj = ledger.org, ledger.bj
    body = {"customer": bj.pk, "date": "2025-06-10", "amount": "10", "method": "cash"}
    assert api_client(org.sales_bj).post("/api/payments/", body, format="json").status_code == 403
    assert api_client(org.finance).post("/api/shipments/", body, format="json").status_code == 201
    assert (
        api_client(org.supervisor_north).post("/api/shipments/", body, format="json").status_code
        == 403
    )


def test_lists_are_scoped_and_paginated(ledger):
    org = ledger.org
    approve_limit(org, ledger.sh, "1000")
    ship(org.sales_sh, ledger.sh, "2025-06-01", "500")
    seen = api_client(org.sales_bj).get("/api/shipments/").json()
    assert [row["customer"] for row in seen["results"]] == [ledger.bj.pk]
    everyone = api_client(org.finance).get("/api/shipments/?since=2025-06-01").json()
    assert everyone["count"] == 2
    assert api_client(org.supervisor_north).get("/api/shipments/").json()["count"] == 1


@pytest.mark.parametrize("pk", ["999999", "abc", "0", "-1", str(2**70)])
def test_missing_or_malformed_ids_answer_404(ledger, pk):
    response = api_client(ledger.org.gm).get(f"/api/shipments/{pk}/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_price_coefficient_in_force_is_stamped_on_shipments(ledger):
    org, bj = ledger.org, ledger.bj
    services.price_coefficient_decide(actor=org.gm, coefficient_id=ledger.coefficient.pk,
                                      approve=True)  # fmt: skip
    shipment = ship(org.sales_bj, bj, "2025-06-10", "100")
    assert shipment.price_coefficient == Decimal("0.9500")
    before = ship(org.sales_bj, bj, "2025-05-31", "100")
    assert before.price_coefficient is None
