"""API and pages: the grade endpoint (contract shape, contributions add up, scope), the
customer-page panel, role scoring (roles and scope), starting a run in the background,
the simulation page and the grade-driven hooks."""

from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.core.testing import api_client, make_customer
from guanxi.customers.models import Customer
from guanxi.grading import tasks
from guanxi.grading.models import GradingRun, RoleScore
from guanxi.grading.selectors import grade_treatment, grade_treatments
from guanxi.grading.services import grading_run, role_score_set
from guanxi.grading.testing import build_trader, score_roles
from guanxi.policy.services import policy_set

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def graded(org):
    x = build_trader(org, name="北京接口测试有限公司")
    score_roles(org, x, industry_potential=5, market_influence=4, expected_growth=3)
    grading_run()
    return x


def test_api_grade_contract(org, graded):
    response = api_client(org.sales_bj).get(f"/api/customers/{graded.pk}/grade/")
    assert response.status_code == 200
    data = response.json()
    assert {"grade", "score", "policy_version", "breakdown"} <= set(data)
    assert (data["grade"], data["score"], data["policy_version"]) == ("A", "94.20", 0)
    first = data["breakdown"][0]
    assert {"indicator", "value", "points", "weight", "contribution"} <= set(first)
    assert (first["indicator"], first["value"], first["points"], first["contribution"]) == (
        "order_amount", "1200000.00", "5.00", "15.00",
    )  # fmt: skip
    total = sum(Decimal(line["contribution"]) for line in data["breakdown"])
    assert total == Decimal(data["score"])


def test_api_grade_scope_and_permissions(org, graded):
    assert api_client(org.sales_tj).get(f"/api/customers/{graded.pk}/grade/").status_code == 404
    assert api_client(org.sales_sh).get("/api/customers/99999999/grade/").status_code == 404
    assert api_client(org.sales_sh).get("/api/customers/abc/grade/").status_code == 404
    assert api_client().get(f"/api/customers/{graded.pk}/grade/").status_code in {401, 403}
    # Customer service sees customers but not sales figures.
    assert api_client(org.service).get(f"/api/customers/{graded.pk}/grade/").status_code == 403
    assert api_client(org.gm).get(f"/api/customers/{graded.pk}/grade/").status_code == 200


def test_api_grade_of_a_never_graded_customer_is_computed_live(org):
    fresh = make_customer(org.sales_bj, name="北京未评级有限公司")
    data = api_client(org.sales_bj).get(f"/api/customers/{fresh.pk}/grade/").json()
    assert (data["grade"], data["score"], data["stored"]) == ("C", "10.00", False)
    assert not GradingRun.objects.exists()


def test_customer_page_panel(client, org, graded):
    client.force_login(org.sales_bj)
    page = client.get(reverse("customer_detail", args=[graded.pk])).content.decode()
    assert 'id="grading"' in page and 'data-grade="A"' in page
    assert "94.20" in page and "策略版本 v0" in page
    assert "至少每 3 个月一次" in page and "金牌服务" in page
    client.force_login(org.service)  # no ledger view: the grade, not the breakdown
    page = client.get(reverse("customer_detail", args=[graded.pk])).content.decode()
    assert 'id="grading"' in page and "94.20" not in page


def test_nav_item(client, org):
    client.force_login(org.sales_bj)
    page = client.get(reverse("grading_home")).content.decode()
    assert reverse("grading_home") in page and "客户分级" in page


def test_role_scoring_by_role_and_scope(client, org):
    x = make_customer(org.sales_bj, name="北京评分有限公司")
    url = reverse("grading_role_scores", args=[x.pk])
    client.force_login(org.director)
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"indicator": "industry_potential", "points": "4.5", "note": "目标行业"}
    )
    assert response.status_code == 302
    row = RoleScore.objects.get(customer=x, current=True)
    assert (row.points, row.scored_by, row.role) == (
        Decimal("4.50"),
        org.director,
        "sales_director",
    )
    assert AuditEvent.objects.filter(action="grading.role_scored", customer_id=x.pk).exists()
    # Out of range: a Chinese message, nothing saved.
    response = client.post(url, {"indicator": "industry_potential", "points": "6"})
    assert response.status_code == 200 and RoleScore.objects.filter(customer=x).count() == 1
    # A salesperson has no role the model names: refused.
    client.force_login(org.sales_bj)
    assert client.get(url).status_code == 403
    from guanxi.core.errors import NotFound, PermissionDenied

    with pytest.raises(PermissionDenied):
        role_score_set(actor=org.sales_bj, customer_id=x.pk, indicator="industry_potential",
                       points=5)  # fmt: skip
    # A supervisor of another region: out of scope.
    other = make_customer(org.sales_sh, name="上海浦东远洋物流有限公司")
    client.force_login(org.supervisor_north)
    assert client.get(reverse("grading_role_scores", args=[other.pk])).status_code == 404
    with pytest.raises(NotFound):
        role_score_set(actor=org.supervisor_north, customer_id=other.pk,
                       indicator="expected_growth", points=5)  # fmt: skip
    # Re-scoring keeps the previous score as history.
    role_score_set(actor=org.director, customer_id=x.pk, indicator="industry_potential", points=2)
    assert RoleScore.objects.filter(customer=x).count() == 2
    assert RoleScore.objects.get(customer=x, current=True).points == Decimal("2.00")


def test_run_from_the_page_in_the_background(
    client, org, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    build_trader(org, name="北京后台有限公司")
    client.force_login(org.sales_bj)
    assert client.post(reverse("grading_run_start")).status_code == 403
    client.force_login(org.director)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("grading_run_start"))
    assert response.status_code == 302
    run = GradingRun.objects.get()
    assert run.status == GradingRun.Status.DONE and run.graded == 1
    assert Customer.objects.get(name="北京后台有限公司").grade == "B"
    assert tasks.grading_run_task.name == "grading_run_task"
    tasks.grading_run_task.call(run.pk)  # idempotent: a finished run is left alone
    assert GradingRun.objects.count() == 1
    page = client.get(reverse("grading_home")).content.decode()
    assert 'id="runs"' in page and 'id="distribution"' in page


def test_grade_command(org, capsys):
    from django.core.management import call_command

    build_trader(org, name="北京命令行有限公司")
    call_command("grade", "--no-progress")
    assert "1 个客户" in capsys.readouterr().out
    assert Customer.objects.get(name="北京命令行有限公司").grade == "B"


def test_simulation_page(client, org, graded):
    client.force_login(org.sales_bj)
    assert client.get(reverse("grading_simulate")).status_code == 403
    client.force_login(org.admin)
    page = client.get(reverse("grading_simulate"))
    assert page.status_code == 200
    response = client.post(
        reverse("grading_simulate"),
        {
            "note": "A类门槛95",
            "effective_from": "2025-06-10T09:00",
            "bands": '[{"code": "A", "label": "A类", "min": 95}, {"code": "B", "label": "B类", "min": 60}, {"code": "C", "label": "C类", "min": 0}]',
        },
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'id="matrix"' in page and "北京接口测试有限公司" in page
    # Bad JSON and a rule check failure: messages, no draft.
    response = client.post(
        reverse("grading_simulate"),
        {"note": "x", "effective_from": "2025-06-10T09:00", "bands": "[{"},
    )
    assert response.status_code == 200 and "不是有效的 JSON" in response.content.decode()
    response = client.post(
        reverse("grading_simulate"),
        {
            "note": "x",
            "effective_from": "2025-06-10T09:00",
            "bands": '[{"code": "A", "label": "A", "min": 10}]',
        },
    )
    assert response.status_code == 200 and "最低等级的下限应为0" in response.content.decode()
    from guanxi.policy.models import PolicyVersion

    draft = PolicyVersion.objects.get()
    response = client.post(reverse("grading_publish", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == PolicyVersion.Status.PUBLISHED


def test_grade_treatment_hooks_follow_policy(org, graded):
    treatment = grade_treatment(Customer.objects.get(pk=graded.pk))
    assert (treatment.visit_every_months, treatment.service_tier, treatment.reception_budget) == (
        3, "gold", Decimal("300"),
    )  # fmt: skip
    assert grade_treatment("").service_tier == "standard"  # ungraded: the '*' entry
    bulk = grade_treatments(["A", "B", "C", "A"])
    assert {g: t.visits_per_year for g, t in bulk.items()} == {
        "A": Decimal("4.00"), "B": Decimal("2.00"), "C": Decimal("1.00"),
    }  # fmt: skip
    policy_set(
        actor=org.admin,
        note="A类每月拜访",
        values={"grading.treatment": {
            "A": {"visit_every_months": 1, "service_tier": "super", "reception_budget": "500"},
            "*": {"visit_every_months": 6, "service_tier": "standard", "reception_budget": "150"},
        }},
    )  # fmt: skip
    assert grade_treatment("A").visit_every_months == 1
    assert grade_treatment("B").visit_every_months == 6


def test_grade_endpoint_is_in_the_api_schema(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/customers/{id}/grade/" in schema and "contribution" in schema
