"""The credit REST API: the contract of /api/customers/{id}/credit/ and /api/credit-limits/,
and the permission matrix of every credit endpoint."""

import datetime as dt

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import api_client
from guanxi.credit import services
from guanxi.credit.models import (
    CreditInvestigation,
    CreditLimit,
    CreditOverride,
    CreditRating,
    CreditRound,
)
from guanxi.ledger.testing import approve_limit, pay, ship

NOT_FOUND = {"code": "not_found", "message": "记录不存在或您无权访问。", "detail": {}}
FORBIDDEN = {"code": "permission_denied", "message": "您没有执行此操作的权限。", "detail": {}}


def snapshot():
    return (
        list(CreditLimit.objects.order_by("pk").values()),
        list(CreditOverride.objects.order_by("pk").values()),
        list(CreditRating.objects.order_by("pk").values()),
        list(CreditRound.objects.order_by("pk").values()),
        list(CreditInvestigation.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def credit(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    ship(org.sales_bj, bj, "2025-01-15", "50000")
    ship(org.sales_bj, bj, "2025-06-01", "40000")  # 90,000: early warning → investigation
    pay(org.finance, bj, "2025-02-01", "5000")
    books.proposal = services.credit_limit_propose(
        actor=org.sales_bj, customer_id=bj.pk, amount="120000", reason="扩大合作"
    )
    books.override = services.credit_override_request(
        actor=org.sales_bj, customer_id=bj.pk, amount="30000", reason="急单"
    )
    books.investigation = CreditInvestigation.objects.get(customer=bj)
    return books


def test_customer_credit_contract(credit):
    response = api_client(credit.org.sales_bj).get(f"/api/customers/{credit.bj.pk}/credit/")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("level", "limit", "exposure", "balance", "ageing")} == {
        "level": None,
        "limit": "100000.00",
        "exposure": "85000.00",
        "balance": "85000.00",
        "ageing": {"0-30": "40000.00", "31-60": "0.00", "61-90": "0.00", "90+": "45000.00"},
    }
    assert (body["overdue"], body["state"], body["has_limit"]) == ("45000.00", "near", True)
    assert body["pending_proposal"]["id"] == credit.proposal.pk
    services.credit_rate(actor=credit.org.finance, customer_id=credit.bj.pk)
    body = api_client(credit.org.sales_bj).get(f"/api/customers/{credit.bj.pk}/credit/").json()
    assert (body["level"], body["level_label"]) == ("level3", "三级")
    assert body["rating_explanation"][-1] == "以上各级条件均不满足，评定为三级。"


def test_proposal_and_approval_contract(books):
    org, tj = books.org, books.tj
    response = api_client(org.sales_tj).post(
        "/api/credit-limits/", {"customer": tj.pk, "amount": "50000.00", "reason": "新客户"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending" and isinstance(body["id"], int)
    url = f"/api/credit-limits/{body['id']}/approve/"
    denied = api_client(org.sales_tj).post(url, {"effective": "now"}, format="json")
    assert denied.status_code in (403, 404)
    approved = api_client(org.gm).post(url, {"effective": "now"}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    limit = api_client(org.sales_tj).get(f"/api/customers/{tj.pk}/credit/").json()["limit"]
    assert limit == "50000.00"


def test_approval_next_quarter_and_below_balance(credit):
    org = credit.org
    response = api_client(org.sales_tj).post(
        "/api/credit-limits/", {"customer": credit.tj.pk, "amount": "1"}, format="json"
    )
    assert (response.status_code, list(response.json()["detail"])) == (400, ["reason"])
    url = f"/api/credit-limits/{credit.proposal.pk}/approve/"
    approved = api_client(org.gm).post(url, {"effective": "next_quarter"}, format="json").json()
    assert approved["effective_from"] == "2025-07-01T00:00:00+08:00"
    cut = api_client(org.finance).post(
        "/api/credit-limits/",
        {"customer": credit.bj.pk, "amount": "10000", "reason": "压缩"},
        format="json",
    )
    assert (cut.status_code, cut.json()["code"]) == (409, "limit_below_balance")
    assert cut.json()["detail"] == {"limit": "10000.00", "balance": "85000.00"}


def test_overdue_flag_in_the_list(credit, clock):
    clock.shift(dt.timedelta(days=4))
    rows = api_client(credit.org.gm).get("/api/credit-limits/?overdue=true").json()["results"]
    assert [(row["id"], row["overdue"]) for row in rows] == [(credit.proposal.pk, True)]


def test_warnings_endpoint(credit):
    rows = api_client(credit.org.sales_bj).get("/api/credit-warnings/").json()["results"]
    assert [(r["customer"], r["state"], r["share"]) for r in rows] == [
        (credit.bj.pk, "near", "0.8500")
    ]
    assert api_client(credit.org.sales_sh).get("/api/credit-warnings/").json()["results"] == []


def test_round_endpoint(credit):
    response = api_client(credit.org.finance).post("/api/credit-rounds/", {}, format="json")
    assert response.status_code == 201
    assert (response.json()["quarter"], response.json()["is_open"]) == (3, True)
    again = api_client(credit.org.finance).post("/api/credit-rounds/", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


# --- permission matrix -------------------------------------------------------------------------
def endpoints(books):
    org, bj = books.org, books.bj
    limit, override, task = books.proposal.pk, books.override.pk, books.investigation.pk
    return [
        ("get", f"/api/customers/{bj.pk}/credit/", None, org.sales_bj, 200),
        ("get", "/api/credit-limits/", None, org.sales_bj, 200),
        ("post", "/api/credit-limits/", {"customer": bj.pk, "amount": "1", "reason": "x"},
         org.sales_bj, 409),  # the open proposal: an in-scope conflict, not a refusal
        ("get", f"/api/credit-limits/{limit}/", None, org.sales_bj, 200),
        ("post", f"/api/credit-limits/{limit}/approve/", {"effective": "now"}, org.gm, 200),
        ("post", f"/api/credit-limits/{limit}/reject/", {"note": "不批"}, org.gm, 200),
        ("get", "/api/credit-overrides/", None, org.sales_bj, 200),
        ("post", "/api/credit-overrides/", {"customer": bj.pk, "amount": "1", "reason": "x"},
         org.sales_bj, 201),
        ("get", f"/api/credit-overrides/{override}/", None, org.sales_bj, 200),
        ("post", f"/api/credit-overrides/{override}/approve/", {}, org.finance, 200),
        ("post", f"/api/credit-overrides/{override}/reject/", {"note": "不批"}, org.gm, 200),
        ("get", "/api/credit-ratings/", None, org.sales_bj, 200),
        ("post", "/api/credit-ratings/", {"customer": bj.pk}, org.finance, 201),
        ("get", "/api/credit-rounds/", None, org.sales_bj, 200),
        ("post", "/api/credit-rounds/", {}, org.finance, 201),
        ("get", "/api/credit-warnings/", None, org.sales_bj, 200),
        ("get", "/api/credit-investigations/", None, org.sales_bj, 200),
        ("post", f"/api/credit-investigations/{task}/close/", {"findings": "正常"},
         org.sales_bj, 200),
    ]  # fmt: skip


CASES = range(18)


@pytest.mark.parametrize("case", CASES)
def test_matrix_anonymous(credit, case):
    method, url, body, _user, _status = endpoints(credit)[case]
    before = snapshot()
    assert getattr(api_client(), method)(url, body, format="json").status_code == 401
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_without_permission(credit, case):
    method, url, body, _user, _status = endpoints(credit)[case]
    before = snapshot()
    response = getattr(api_client(credit.org.keeper), method)(url, body, format="json")
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_out_of_scope(credit, case):
    method, url, body, _user, _status = endpoints(credit)[case]
    before = snapshot()
    response = getattr(api_client(credit.org.sales_sh), method)(url, body, format="json")
    if method == "get" and response.status_code == 200:
        assert "/credit-rounds/" in url or response.json()["results"] == []
    elif response.status_code == 403:
        assert response.json() == FORBIDDEN  # an action salespeople never have
    else:
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES)
def test_matrix_in_scope(credit, case):
    method, url, body, user, expected = endpoints(credit)[case]
    response = getattr(api_client(user), method)(url, body, format="json")
    assert response.status_code == expected, response.json()
