"""The default model reproduced by hand: exact points, scores and band edges; other band
sets by configuration alone."""

from decimal import Decimal

import pytest

from guanxi.core.testing import make_customer
from guanxi.customers.models import Customer
from guanxi.grading import engine
from guanxi.grading.models import GradeScore, GradingRun
from guanxi.grading.selectors import grade_view
from guanxi.grading.services import grading_run
from guanxi.grading.testing import build_trader, score_roles
from guanxi.policy.services import policy_set

pytestmark = pytest.mark.usefixtures("clock")

D = Decimal


def _points(customer):
    view = grade_view(Customer.objects.get(pk=customer.pk))
    return view, {line["indicator"]: line["points"] for line in view.breakdown}


def test_default_model_exact_points(org):
    x = build_trader(org, name="北京恒通建材有限公司")
    score_roles(org, x, industry_potential=5, market_influence=4, expected_growth=3)
    run = grading_run()
    assert run.status == GradingRun.Status.DONE and run.graded == 1
    view, points = _points(x)
    assert points == {
        "order_amount": 5, "order_profit": 5, "collection_rate": 5, "days_late": 5,
        "yoy_growth": 5, "growth_3y": 5, "order_count": 1, "expected_growth": 3,
        "industry_potential": 5, "market_influence": 4, "stagnant_orders": 5,
    }  # fmt: skip
    values = {line["indicator"]: line["value"] for line in view.breakdown}
    assert values["order_amount"] == "1200000.00"
    assert values["order_profit"] == "300000.00"
    assert values["collection_rate"] == "1.0000"
    assert values["days_late"] == "0.0"
    assert values["yoy_growth"] == "1.4000"
    assert values["growth_3y"] == "3.0000"
    assert values["order_count"] == "2"
    assert view.score == D("94.20")
    assert sum(line["contribution"] for line in view.breakdown) == view.score
    assert view.grade == "A" and view.policy_version == 0
    assert Customer.objects.get(pk=x.pk).grade == "A"


@pytest.mark.parametrize(
    ("paid", "industry", "market", "score", "grade"),
    [
        (True, 2, "1.2", "80.00", "A"),
        (True, 2, "1.19", "79.99", "B"),
        (False, 2, "1.2", "60.00", "B"),
        (False, 2, "1.19", "59.99", "C"),
    ],
)
def test_band_edges(org, paid, industry, market, score, grade):
    x = build_trader(org, name="北京边界测试有限公司", paid=paid)
    score_roles(org, x, industry_potential=industry, market_influence=market)
    grading_run()
    view, points = _points(x)
    assert (points["collection_rate"], points["days_late"]) == ((5, 5) if paid else (0, 0))
    assert view.score == D(score)
    assert view.grade == grade
    assert sum(line["contribution"] for line in view.breakdown) == view.score


def test_percentiles_rank_customers_against_each_other(org):
    best = build_trader(org, name="北京百分位甲有限公司")
    small = make_customer(org.sales_bj, name="北京百分位乙有限公司")
    from guanxi.ledger.testing import approve_limit, ship

    approve_limit(org, small, 1_000_000)
    ship(org.finance, small, "2024-10-01", 40_000, cost=30_000)  # profit 10,000
    grading_run()
    _view, points = _points(best)
    _view, small_points = _points(small)
    # profits [10,000, 300,000]: P80 and P60 → 300,000 (rank 2), P40 → 10,000 (rank 1).
    assert points["order_profit"] == 5
    assert small_points["order_profit"] == 3
    run = GradingRun.objects.get()
    profit = next(i for i in run.model["indicators"] if i["code"] == "order_profit")
    assert [s["value"] for s in profit["steps"]] == ["300000.00", "300000.00", "10000.00",
                                                     "10000.00", "10000.00"]  # fmt: skip
    assert small_points["yoy_growth"] == 0  # no y0: no growth figure


def test_history_keeps_each_run(org):
    x = build_trader(org, name="北京历史有限公司")
    grading_run()
    score_roles(org, x, industry_potential=5, market_influence=5, expected_growth=5)
    grading_run()
    from guanxi.grading.selectors import grade_history

    history = grade_history(customer=x)
    assert [h["grade"] for h in history] == ["A", "B"]  # 72.80 → B, then 96.80 → A
    assert history[0]["changed"] and history[0]["previous"] == "B"
    assert GradeScore.objects.filter(customer=x).count() == 2


def test_four_bands_by_configuration(org):
    policy_set(
        actor=org.admin,
        note="四档",
        values={
            "grading.bands": [
                {"code": "A", "label": "A类", "min": 85},
                {"code": "B", "label": "B类", "min": 70},
                {"code": "C", "label": "C类", "min": 50},
                {"code": "D", "label": "D类", "min": 0},
            ]
        },
    )
    top = build_trader(org, name="北京四档甲有限公司")
    score_roles(org, top, industry_potential=5, market_influence=4, expected_growth=3)  # 94.2
    mid = build_trader(org, name="北京四档乙有限公司")
    score_roles(org, mid, industry_potential=2, market_influence="1.2")  # 80.00
    low = build_trader(org, name="北京四档丙有限公司", paid=False)  # 52.80
    empty = make_customer(org.sales_bj, name="北京四档丁有限公司")  # 10.00 (no stagnation)
    run = grading_run()
    grades = dict(Customer.objects.values_list("pk", "grade"))
    assert [grades[c.pk] for c in (top, mid, low, empty)] == ["A", "B", "C", "D"]
    assert run.distribution == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert run.policy_version == 1


def test_named_tiers_with_amount_thresholds_by_configuration(org):
    policy_set(
        actor=org.admin,
        note="超级/金牌/银牌/普通",
        values={
            "grading.model": {
                "indicators": [
                    {"code": "scale", "label": "注册资本（万元）", "weight": 1,
                     "source": "registered_capital",
                     "scale": {"type": "thresholds", "steps": [{"value": 100, "points": 5}]}},
                    {"code": "trade", "label": "近12个月交易额", "weight": 1,
                     "source": "order_amount",
                     "scale": {"type": "thresholds", "steps": [{"value": 500000, "points": 5}]}},
                ]
            },
            "grading.bands": [
                {"code": "super", "label": "超级", "min": 0,
                 "require": {"scale": "100.01", "trade": "500000.01"}},
                {"code": "gold", "label": "金牌", "min": 0,
                 "require": {"scale": "50.01", "trade": "100000.01"}},
                {"code": "silver", "label": "银牌", "min": 0,
                 "require": {"scale": "10.01", "trade": "10000.01"}},
                {"code": "normal", "label": "普通", "min": 0},
            ],
        },
    )  # fmt: skip
    big = build_trader(org, name="北京超级有限公司", registered_capital="200")
    mid = build_trader(org, name="北京金牌有限公司", registered_capital="60")
    thin = build_trader(org, name="北京普通有限公司", registered_capital="5")
    bare = make_customer(org.sales_bj, name="北京无交易有限公司", registered_capital="500")
    grading_run()
    grades = dict(Customer.objects.values_list("pk", "grade"))
    assert [grades[c.pk] for c in (big, mid, thin, bare)] == ["super", "gold", "normal", "normal"]
    view, points = _points(big)
    assert points == {"scale": 5, "trade": 5} and view.score == D("100.00")


def test_band_requirement_on_unknown_indicator_is_refused(org):
    pack = engine.pack_load()
    bands = [{"code": "A", "label": "A", "min": 0, "require": {"nope": 1}}, *pack.bands]
    from guanxi.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        engine.pack_from_values(
            {"grading.model": {"indicators": []}, "grading.bands": bands,
             "grading.treatment": pack.treatment}, version=0,
        )  # fmt: skip


def test_graded_outside_since(org, clock):
    import datetime as dt

    from guanxi.grading.selectors import graded_outside_since

    x = build_trader(org, name="北京升级有限公司")
    grading_run()  # 72.80 → B
    since = Customer.objects.get(pk=x.pk).created_at - dt.timedelta(days=1)
    raised = Customer.objects.filter(graded_outside_since(grades=["C"], since=since))
    assert list(raised) == [Customer.objects.get(pk=x.pk)]
    assert not Customer.objects.filter(graded_outside_since(grades=["B", "C"], since=since))


def test_receivable_days_source(org):
    x = build_trader(org, name="北京周转天数有限公司", paid=False)  # balance 2,000,000
    policy_set(
        actor=org.admin,
        note="应收周转天数",
        values={
            "grading.model": {
                "indicators": [
                    {"code": "dso", "label": "应收账款周转天数", "weight": 1,
                     "source": "receivable_days",
                     "scale": {"type": "thresholds", "direction": "lower",
                               "steps": [{"value": 30, "points": 5}, {"value": 700, "points": 2}]}},
                ]
            }
        },
    )  # fmt: skip
    grading_run()
    view, points = _points(x)
    # 2,000,000 open (nothing paid) × 365 ÷ 1,200,000 shipped in y1 = 608.3 days → 2.
    assert view.breakdown[0]["value"] == "608.3" and points == {"dso": 2}
    assert view.score == D("40.00")


def test_a_batch_run_gives_provisional_grades_and_keeps_reviewed_ones(org):
    """Default policy (grading.batch_sets_grade = provisional): a run grades a customer
    without a grade, but never overwrites a grade set by the annual review."""
    reviewed = build_trader(org, name="北京已评定有限公司")
    new = build_trader(org, name="北京新客户有限公司")
    Customer.objects.filter(pk=reviewed.pk).update(grade="C")  # approved in last year's cycle
    run = grading_run()
    grades = dict(Customer.objects.values_list("pk", "grade"))
    scored = dict(GradeScore.objects.filter(run=run).values_list("customer_id", "grade"))
    assert scored[reviewed.pk] == scored[new.pk] != "C"
    assert grades[reviewed.pk] == "C" and grades[new.pk] == scored[new.pk]
    assert run.changed == 1
    policy_set(actor=org.admin, note="批量评分直接生效", values={"grading.batch_sets_grade": "all"})
    grading_run()
    assert Customer.objects.get(pk=reviewed.pk).grade == scored[reviewed.pk]
