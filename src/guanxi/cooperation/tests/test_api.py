"""The cooperation REST API: the interface contract's shapes, structured refusals, and the
permission matrix (anonymous 401, no permission 403, out of scope 404 like a missing id, in
scope 2xx); a refused request changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.cooperation import services
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview, StatusChange, UpgradeCredit
from guanxi.core.testing import api_client
from guanxi.customers.models import Customer

NOT_FOUND = {"code": "not_found", "message": "记录不存在或您无权访问。", "detail": {}}
DAY = dt.timedelta(days=1)


def snapshot():
    return (
        list(StatusChange.objects.order_by("pk").values()),
        list(SpecialReview.objects.order_by("pk").values()),
        list(MonthlyUpdate.objects.order_by("pk").values()),
        list(UpgradeCredit.objects.order_by("pk").values()),
        list(Customer.objects.order_by("pk").values_list("pk", "cooperation_status", "owner")),
        AuditEvent.objects.count(),
    )


def url(customer):
    return f"/api/customers/{customer.pk}/status/"


def test_post_and_get_status_contract(org, customers, clock):
    client = api_client(org.sales_bj)
    first = client.post(url(customers.bj), {"status": "green"}, format="json")
    assert first.status_code == 201, first.json()
    clock.shift(DAY)
    response = client.post(
        url(customers.bj),
        {"status": "yellow", "reason": "竞争对手切入", "plan": "总经理拜访"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "yellow" and body["label"] == "问题客户"
    assert body["colour"] == "#fbc02d" and body["plan"] == "积极沟通"
    assert body["change"]["direction"] == "down" and body["change"]["levels"] == 2
    review = SpecialReview.objects.get()
    assert body["special_review_opened"] == review.pk
    assert body["upgrade_counted"] is False

    got = client.get(url(customers.bj)).json()
    assert got["customer"] == customers.bj.pk and got["status"] == "yellow"
    assert [h["to_status"] for h in got["history"]] == ["yellow", "green"]
    assert got["history"][0]["reason"] == "竞争对手切入"
    assert got["history"][0]["special_review"] == review.pk
    assert got["history"][0]["changed_by"] == "张伟"


def test_downgrade_without_explanation_is_a_structured_400(org, customers, clock):
    client = api_client(org.sales_bj)
    client.post(url(customers.bj), {"status": "green"}, format="json")
    before = snapshot()
    response = client.post(url(customers.bj), {"status": "blue", "reason": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "downgrade_needs_explanation"
    assert "书面解释" in body["message"]
    assert set(body["detail"]) == {"reason", "plan"}
    assert snapshot() == before


def test_bad_code_400_and_unchanged_409(org, customers):
    client = api_client(org.sales_bj)
    bad = client.post(url(customers.bj), {"status": "purple"}, format="json")
    assert bad.status_code == 400 and "status" in bad.json()["detail"]
    missing = client.post(url(customers.bj), {}, format="json")
    assert missing.status_code == 400 and "status" in missing.json()["detail"]
    client.post(url(customers.bj), {"status": "blue"}, format="json")
    same = client.post(url(customers.bj), {"status": "blue"}, format="json")
    assert same.status_code == 409 and same.json()["code"] == "status_unchanged"


def test_status_permission_matrix(org, customers):
    before = snapshot()
    assert api_client().get(url(customers.bj)).status_code == 401
    assert (
        api_client().post(url(customers.bj), {"status": "green"}, format="json").status_code == 401
    )
    # Out of scope and missing look the same.
    for target in (url(customers.sh), "/api/customers/999999/status/", "/api/customers/x/status/"):
        assert api_client(org.sales_bj).get(target).json() == NOT_FOUND
        response = api_client(org.sales_bj).post(target, {"status": "green"}, format="json")
        assert response.status_code == 404 and response.json() == NOT_FOUND
    # Finance sees every customer but may not change a status.
    assert api_client(org.finance).get(url(customers.bj)).status_code == 200
    denied = api_client(org.finance).post(url(customers.bj), {"status": "green"}, format="json")
    assert denied.status_code == 403
    assert snapshot() == before
    # The supervisor may change the customers of their departments.
    ok = api_client(org.supervisor_north).post(
        url(customers.tj), {"status": "green"}, format="json"
    )
    assert ok.status_code == 201


def test_special_reviews_list_each_with_its_customer(org, customers, clock):
    services.status_change(actor=org.sales_bj, customer_id=customers.bj.pk, status="green")
    services.status_change(actor=org.sales_sh, customer_id=customers.sh.pk, status="blue")
    clock.shift(DAY)
    for actor, customer in ((org.sales_bj, customers.bj), (org.sales_sh, customers.sh)):
        services.status_change(
            actor=actor, customer_id=customer.pk, status="white", reason="停产", plan="观察"
        )
    director = api_client(org.director).get("/api/special-reviews/").json()
    assert {r["customer"] for r in director["results"]} == {customers.bj.pk, customers.sh.pk}
    row = next(r for r in director["results"] if r["customer"] == customers.bj.pk)
    assert row["customer_name"] == "北京星河建材有限公司" and row["status"] == "open"
    assert row["trigger"] == "at_once" and row["to_status"] == "white"
    # The north supervisor sees the north customer's review only; salespeople none at all.
    north = api_client(org.supervisor_north).get("/api/special-reviews/").json()
    assert [r["customer"] for r in north["results"]] == [customers.bj.pk]
    assert api_client(org.sales_bj).get("/api/special-reviews/").status_code == 403
    assert api_client().get("/api/special-reviews/").status_code == 401


def test_director_decides_through_the_api(org, customers, clock):
    services.status_change(actor=org.sales_bj, customer_id=customers.bj.pk, status="green")
    clock.shift(DAY)
    services.status_change(
        actor=org.sales_bj, customer_id=customers.bj.pk, status="white", reason="a", plan="b"
    )
    review = SpecialReview.objects.get()
    target = f"/api/special-reviews/{review.pk}/"
    before = snapshot()
    assert (
        api_client(org.supervisor_north).post(target + "decide/", {"outcome": "x"}).status_code
        == 403
    )
    assert api_client(org.sales_sh).post(target + "decide/", {"outcome": "x"}).status_code == 404
    assert api_client(org.director).post(target + "close/").status_code == 400
    assert (
        api_client(org.director)
        .post(target + "decide/", {"outcome": ""}, format="json")
        .status_code
        == 400
    )
    assert snapshot() == before
    response = api_client(org.director).post(
        target + "decide/",
        {
            "outcome": "更换负责人",
            "meeting_on": "2025-06-11",
            "new_owner": org.sales_tj.pk,
            "close": True,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "closed" and response.json()["new_owner"] == org.sales_tj.pk
    assert api_client(org.director).get("/api/special-reviews/").json()["results"] == []
    closed = api_client(org.director).get("/api/special-reviews/?status=closed").json()
    assert [r["id"] for r in closed["results"]] == [review.pk]
    again = api_client(org.director).post(target + "close/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


def test_monthly_endpoints(org, customers, clock):
    services.status_change(actor=org.sales_bj, customer_id=customers.bj.pk, status="green")
    client = api_client(org.sales_bj)
    got = client.get("/api/cooperation/monthly/").json()
    assert got["month"] == "2025-06" and got["due_on"] == "2025-06-25" and got["overdue"] is False
    assert {c["customer"] for c in got["customers"]} == {customers.bj.pk, customers.bj2.pk}
    assert all(c["confirmed_status"] is None for c in got["customers"])

    refused = client.post(
        "/api/cooperation/monthly/",
        {"entries": [{"customer": customers.bj.pk, "status": "blue"}]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "downgrade_needs_explanation"
    assert set(refused.json()["detail"]["entries"][0]) == {"reason", "plan"}

    done = client.post(
        "/api/cooperation/monthly/",
        {"entries": [{"customer": customers.bj.pk, "status": "green"}]},
        format="json",
    )
    assert done.status_code == 201 and done.json()["confirmed"] == 1

    progress = api_client(org.supervisor_north).get("/api/cooperation/monthly/progress/").json()
    missing = {o["name"]: o["pending"] for d in progress["departments"] for o in d["missing"]}
    assert missing == {"张伟": 1, "李娜": 1}  # 上海 is outside the north supervisor's scope
    assert api_client(org.sales_bj).get("/api/cooperation/monthly/progress/").status_code == 403
    assert api_client(org.finance).get("/api/cooperation/monthly/").status_code == 403
    bad = api_client(org.supervisor_north).get("/api/cooperation/monthly/progress/?month=2025-13")
    assert bad.status_code == 400


def test_leaderboard_endpoint(org, customers, clock):
    services.status_change(actor=org.sales_bj, customer_id=customers.bj.pk, status="white")
    services.status_change(actor=org.sales_tj, customer_id=customers.tj.pk, status="white")
    clock.shift(DAY)
    services.status_change(actor=org.sales_bj, customer_id=customers.bj.pk, status="yellow")
    services.status_change(actor=org.sales_bj, customer_id=customers.bj.pk, status="green")
    body = api_client(org.director).get("/api/cooperation/leaderboard/").json()
    assert body["period"] == "month" and body["label"] == "2025年6月"
    assert [(r["name"], r["upgrades"], r["rank"]) for r in body["rows"]] == [("张伟", 1, 1)]
    earlier = api_client(org.director).get("/api/cooperation/leaderboard/?date=2025-05-01").json()
    assert earlier["rows"] == []
    year = api_client(org.director).get("/api/cooperation/leaderboard/?period=year").json()
    assert year["label"] == "2025年" and year["rows"][0]["upgrades"] == 1
    assert api_client(org.sales_bj).get("/api/cooperation/leaderboard/").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/customers/{id}/status/",
        "/api/special-reviews/",
        "/api/cooperation/monthly/",
        "/api/cooperation/monthly/progress/",
        "/api/cooperation/leaderboard/",
    ],
)
def test_endpoints_are_in_the_openapi_schema(client, org, path):
    client.force_login(org.admin)
    schema = client.get("/api/schema/?format=json").json()
    assert path in schema["paths"]


def test_monthly_due_day_is_policy(org, customers):
    from guanxi.policy.services import policy_set

    policy_set(actor=org.admin, values={"cooperation.monthly_update_due_day": 5}, note="")
    got = api_client(org.supervisor_north).get("/api/cooperation/monthly/progress/").json()
    assert got["due_on"] == "2025-06-05" and got["overdue"] is True
