"""Review API: the cycle through the endpoints, structured errors, 404 before 403 before
400, scope of lists, lifecycle endpoints and the dashboard; denied requests change
nothing."""

import pytest

from guanxi.core.testing import api_client
from guanxi.customers.models import Customer
from guanxi.reviews.models import ReviewCycle, ReviewEntry


def entry_of(cycle_id, customer):
    return ReviewEntry.objects.get(cycle_id=cycle_id, customer=customer)


@pytest.fixture
def opened(company):
    response = api_client(company.org.admin).post("/api/review-cycles/", {}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_open_and_progress(company, opened):
    assert opened["year"] == 2026 and opened["status"] == "open"
    assert {row["name"]: row["total"] for row in opened["progress"]} == {
        "北京分公司": 2, "天津办事处": 1, "上海分公司": 1,
    }  # fmt: skip
    again = api_client(company.org.admin).post("/api/review-cycles/", {"year": 2027}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "cycle_in_progress"
    denied = api_client(company.org.sales_bj).post("/api/review-cycles/", {}, format="json")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    mine = api_client(company.org.sales_bj).get(f"/api/review-cycles/{opened['id']}/").json()
    assert [row["name"] for row in mine["progress"]] == ["北京分公司"]


def test_full_cycle_through_the_api(company, opened):
    org, pk = company.org, opened["id"]
    own = entry_of(pk, company.bj1)
    response = api_client(org.sales_bj).post(f"/api/review-entries/{own.pk}/rate/",
                                             {"grade": "A", "reason": "增长快"}, format="json")  # fmt: skip
    assert response.status_code == 200
    assert response.json()["initial_grade"] == "A" and response.json()["decided_grade"] == "A"
    director = api_client(org.director)
    assert director.post(f"/api/review-cycles/{pk}/start-review/").json()["status"] == "review"
    tj = entry_of(pk, company.tj)
    adjusted = director.post(f"/api/review-entries/{tj.pk}/adjust/",
                             {"grade": "B", "reason": "会议决定"}, format="json")  # fmt: skip
    assert adjusted.json()["adjusted_grade"] == "B"
    assert director.post(f"/api/review-cycles/{pk}/submit/", {}, format="json").status_code == 200
    refused = api_client(org.sales_bj).post(f"/api/review-cycles/{pk}/approve/", {}, format="json")
    assert refused.status_code == 403
    assert ReviewCycle.objects.get(pk=pk).status == "submitted"
    approved = api_client(org.gm).post(f"/api/review-cycles/{pk}/approve/", {"note": "同意"},
                                       format="json")  # fmt: skip
    assert approved.json()["status"] == "effective" and approved.json()["key_grades"] == ["A"]
    assert Customer.objects.get(pk=company.tj.pk).grade == "B"
    keys = api_client(org.gm).get(f"/api/review-cycles/{pk}/key-customers/").json()
    assert [row["customer_name"] for row in keys["results"]] == ["北京星河建材有限公司"]


def test_rating_errors_in_order_404_403_400(company, opened):
    org, pk = company.org, opened["id"]
    other = entry_of(pk, company.tj)
    sales = api_client(org.sales_bj)
    missing = sales.post(f"/api/review-entries/{other.pk}/rate/",
                         {"grade": "A", "reason": "x"}, format="json")  # fmt: skip
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert sales.post("/api/review-entries/abc/rate/", {}, format="json").status_code == 404
    service = api_client(org.service)
    own = entry_of(pk, company.bj1)
    assert service.post(f"/api/review-entries/{own.pk}/rate/", {}, format="json").status_code == 403
    bad = sales.post(f"/api/review-entries/{own.pk}/rate/", {"grade": "Z", "reason": "好"},
                     format="json")  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid" and "grade" in bad.json()["detail"]
    late = api_client(org.director).post(f"/api/review-entries/{own.pk}/adjust/",
                                         {"grade": "A", "reason": "x"}, format="json")  # fmt: skip
    assert late.status_code == 409 and late.json()["code"] == "wrong_stage"
    assert ReviewEntry.objects.filter(cycle_id=pk).exclude(initial_grade="").count() == 0


def test_entries_list_is_scoped(company, opened):
    rows = api_client(company.org.sales_tj).get(f"/api/review-cycles/{opened['id']}/entries/")
    assert [row["customer_name"] for row in rows.json()["results"]] == ["天津海港贸易有限公司"]
    everyone = api_client(company.org.gm).get(
        f"/api/review-cycles/{opened['id']}/entries/?state=unrated"
    )
    assert everyone.json()["count"] == 4
    bad = api_client(company.org.gm).get(f"/api/review-cycles/{opened['id']}/entries/?state=x")
    assert bad.status_code == 400


def test_treatment_application_api(company):
    org = company.org
    Customer.objects.filter(pk=company.bj1.pk).update(grade="B")
    sales = api_client(org.sales_bj)
    created = sales.post("/api/treatment-applications/",
                         {"customer": company.bj1.pk, "reason": "价格高，付款好"}, format="json")  # fmt: skip
    assert created.status_code == 201 and created.json()["requested_grade"] == "A"
    out_of_scope = sales.post("/api/treatment-applications/",
                              {"customer": company.tj.pk, "reason": "x"}, format="json")  # fmt: skip
    assert out_of_scope.status_code == 404
    pk = created.json()["id"]
    assert sales.post(f"/api/treatment-applications/{pk}/approve/").status_code == 403
    rejected = api_client(org.director).post(f"/api/treatment-applications/{pk}/reject/",
                                             {}, format="json")  # fmt: skip
    assert rejected.status_code == 400 and "note" in rejected.json()["detail"]
    approved = api_client(org.director).post(f"/api/treatment-applications/{pk}/approve/",
                                             {}, format="json")  # fmt: skip
    assert approved.json()["status"] == "approved"
    assert approved.json()["valid_until"] == "2026-12-25"
    assert api_client(org.sales_tj).get("/api/treatment-applications/?status=").json()["count"] == 0


def test_lifecycle_and_dashboard_endpoints(company):
    org = company.org
    for path in ("due-reviews", "elimination-candidates", "growth-ranking"):
        assert api_client(org.sales_bj).get(f"/api/lifecycle/{path}/").status_code == 200
    due = api_client(org.gm).get("/api/lifecycle/due-reviews/?all=true").json()
    assert due["count"] == 4
    mine = api_client(org.sales_bj).get("/api/lifecycle/due-reviews/?all=true").json()
    assert {row["name"] for row in mine["results"]} == {
        "北京星河建材有限公司",
        "北京远方工程有限公司",
    }
    assert api_client(org.sales_bj).get("/api/dashboard/").status_code == 403
    data = api_client(org.supervisor_north).get("/api/dashboard/").json()
    assert sum(row["count"] for row in data["grades"]) == 3 and data["cycle"] is None
    assert api_client().get("/api/dashboard/").status_code == 401
