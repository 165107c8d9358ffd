"""What-if: the simulation of a draft reports exactly the customers that publishing the
draft and grading again then moves, with the visit workload."""

from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.core.testing import make_customer
from guanxi.customers.models import Customer
from guanxi.grading.services import grading_run
from guanxi.grading.simulation import draft_values, simulate
from guanxi.grading.testing import build_trader, score_roles
from guanxi.policy.services import policy_set, policy_version_create, policy_version_publish

pytestmark = pytest.mark.usefixtures("clock")


def _company(org):
    top = build_trader(org, name="北京模拟甲有限公司")
    score_roles(org, top, industry_potential=5, market_influence=4, expected_growth=3)  # 94.20
    edge = build_trader(org, name="北京模拟乙有限公司")
    score_roles(org, edge, industry_potential=2, market_influence="1.2")  # 80.00
    mid = build_trader(org, name="北京模拟丙有限公司")  # 72.80
    low = build_trader(org, name="北京模拟丁有限公司", paid=False)  # 52.80
    empty = make_customer(org.sales_bj, name="北京模拟戊有限公司")  # 10.00
    return top, edge, mid, low, empty


def test_simulation_reports_exactly_what_publishing_moves(org):
    # A company whose batch runs set every grade (no annual review cycle), so that
    # publishing and grading again moves grades at once.
    policy_set(actor=org.admin, note="批量评分直接生效", values={"grading.batch_sets_grade": "all"})
    customers = _company(org)
    grading_run()
    before = dict(Customer.objects.values_list("pk", "grade"))
    assert [before[c.pk] for c in customers] == ["A", "A", "B", "C", "C"]
    # Draft: a higher A band, a lower B band, and more weight on collection.
    from guanxi import policy

    model = policy.get("grading.model")
    for item in model["indicators"]:
        if item["code"] == "collection_rate":
            item["weight"] = 20
    draft = policy_version_create(
        actor=org.admin,
        note="提高A类门槛",
        effective_from=timezone.now(),
        values={
            "grading.model": model,
            "grading.bands": [
                {"code": "A", "label": "A类", "min": 90},
                {"code": "B", "label": "B类", "min": 50},
                {"code": "C", "label": "C类", "min": 0},
            ],
        },
    )
    result = simulate(draft_values=draft_values(draft))
    predicted = {m.customer_id: (m.before, m.after) for m in result.moves}
    assert result.total == 5 and result.moved == len(predicted)
    # Nothing changed yet.
    assert dict(Customer.objects.values_list("pk", "grade")) == before

    policy_version_publish(actor=org.admin, version_id=draft.pk)
    grading_run()
    after = dict(Customer.objects.values_list("pk", "grade"))
    actual = {pk: (before[pk], after[pk]) for pk in before if before[pk] != after[pk]}
    assert predicted == actual
    top, edge, mid, low, empty = customers
    # weights 110: edge (80.00 → 81.82) drops to B, low (52.80 → 48.00) stays C,
    # top (94.20 → 94.73) stays A, mid (72.80 → 75.27) stays B.
    assert actual == {edge.pk: ("A", "B")}
    assert result.matrix["A"] == {"A": 1, "B": 1}
    assert result.matrix["C"] == {"C": 2}
    # Visits a year (grading.treatment): before A 4×2 + B 2 + C 1×2 = 12; after 4 + 2×2 + 2.
    assert (result.visits_before, result.visits_after) == (Decimal("12"), Decimal("10"))
    assert result.visits_change == Decimal("-2")
    move = result.moves[0]
    assert (move.name, move.score_before, move.score_after) == (
        "北京模拟乙有限公司", Decimal("80.00"), Decimal("81.82"),
    )  # fmt: skip


def test_a_new_band_set_shows_in_the_matrix(org):
    _company(org)
    result = simulate(
        draft_values={
            "grading.bands": [
                {"code": "vip", "label": "VIP", "min": 90},
                {"code": "core", "label": "核心", "min": 75},
                {"code": "potential", "label": "潜力", "min": 50},
                {"code": "normal", "label": "普通", "min": 0},
            ]
        }
    )
    assert result.after_codes == ["vip", "core", "potential", "normal"]
    assert result.distribution_after == {"vip": 1, "core": 1, "potential": 2, "normal": 1}
    assert result.moved == 5
