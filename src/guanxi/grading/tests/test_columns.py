"""The set-based reading and scoring (engine.load, engine.Scorer) against the per-customer
reference (engine.gather + engine.score_one), the lighter timeliness statement against
the ledger's figures, and the monthly shipment count that order_count reads.

At NOW (10 June 2025) y1 is June 2024 – May 2025, y0 June 2023 – May 2024, y3 June 2022 –
May 2023."""

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from guanxi.core.testing import make_customer
from guanxi.customers.models import Customer
from guanxi.grading import bench, engine
from guanxi.grading.models import GradeScore
from guanxi.grading.services import grade_preview, grading_run, resolved_pack
from guanxi.grading.testing import build_trader, score_roles
from guanxi.ledger import analytics, recompute
from guanxi.ledger import services as ledger
from guanxi.ledger.models import CustomerMonth
from guanxi.ledger.testing import approve_limit, d, pay, ship
from guanxi.policy.services import policy_set

pytestmark = pytest.mark.usefixtures("clock")


def _counts(customer):
    rows = CustomerMonth.objects.filter(customer=customer).order_by("month")
    return {row.month.isoformat(): row.shipped_count for row in rows}


def _order_count(customer):
    run = grading_run(customers=[customer.pk])
    score = GradeScore.objects.get(run=run, customer=customer)
    index = [i["code"] for i in run.model["indicators"]].index("order_count")
    return score.values[index]


def test_month_count_follows_shipments_reversals_and_rebuilds(org):
    x = make_customer(org.sales_bj, name="北京笔数有限公司")
    approve_limit(org, x, 1_000_000)
    ship(org.sales_bj, x, "2025-03-05", 1000)
    second = ship(org.sales_bj, x, "2025-03-20", 2000)
    ship(org.sales_bj, x, "2025-04-02", 3000, paid_now=True)
    pay(org.finance, x, "2025-03-25", 500)
    # the reversal (in April) takes one off March, the month of the shipment
    ledger.shipment_reverse(actor=org.finance, shipment_id=second.pk, reason="重复录入",
                            date=d("2025-04-10"))  # fmt: skip
    assert _counts(x) == {"2025-03-01": 1, "2025-04-01": 1}
    assert _order_count(x) == "2"

    CustomerMonth.objects.filter(customer=x).update(shipped_count=7)
    assert recompute.rebuild_balances()["months"] == 2
    assert _counts(x) == {"2025-03-01": 1, "2025-04-01": 1}
    assert recompute.rebuild_balances()["months"] == 0
    CustomerMonth.objects.filter(customer=x).delete()
    recompute.rebuild_customers([x.pk])
    assert _counts(x) == {"2025-03-01": 1, "2025-04-01": 1}


def test_order_count_takes_a_reversal_off_the_month_of_its_shipment(org):
    """Like the amounts: a reversal dated in y1 of a shipment before y1 does not count in
    y1, and a reversal dated after y1 of a shipment in y1 does."""
    x = make_customer(org.sales_bj, name="北京冲销月份有限公司")
    approve_limit(org, x, 1_000_000)
    before = ship(org.sales_bj, x, "2024-05-20", 1000)
    ledger.shipment_reverse(actor=org.finance, shipment_id=before.pk, reason="退货",
                            date=d("2024-06-05"))  # fmt: skip
    ship(org.sales_bj, x, "2024-07-01", 1000)
    late = ship(org.sales_bj, x, "2025-05-20", 1000)
    ledger.shipment_reverse(actor=org.finance, shipment_id=late.pk, reason="退货",
                            date=d("2025-06-02"))  # fmt: skip
    assert _order_count(x) == "1"


def _timeliness_ledger(org):
    """Three customers: reversals on both sides, a partial payment, a payment exactly
    settling a shipment, an overpayment and shipments not yet due."""
    a = make_customer(org.sales_bj, name="北京及时甲有限公司")
    b = make_customer(org.sales_bj, name="北京及时乙有限公司")
    c = make_customer(org.sales_bj, name="北京及时丙有限公司")
    for customer in (a, b, c):
        approve_limit(org, customer, 1_000_000)
    ship(org.sales_bj, a, "2025-01-15", "10000.00")
    ship(org.sales_bj, a, "2025-03-01", "20000.00")
    ship(org.sales_bj, a, "2025-04-20", "5000.00")
    ship(org.sales_bj, a, "2025-05-25", "8000.00")
    wrong = ship(org.sales_bj, a, "2025-06-01", "3000.00")
    pay(org.finance, a, "2025-02-10", "10000.00")
    pay(org.finance, a, "2025-04-15", "12000.00")
    bounced = pay(org.finance, a, "2025-05-10", "6000.00", method="acceptance_bill")
    pay(org.finance, a, "2025-06-08", "9000.00")
    ledger.payment_reverse(actor=org.finance, payment_id=bounced.pk, reason="退票",
                           date=d("2025-05-20"))  # fmt: skip
    ledger.shipment_reverse(actor=org.finance, shipment_id=wrong.pk, reason="录错",
                            date=d("2025-06-05"))  # fmt: skip
    ship(org.sales_bj, b, "2025-02-01", "1000.00")
    ship(org.sales_bj, b, "2025-02-01", "1000.00")
    pay(org.finance, b, "2025-03-15", "2000.00")  # settles both at once, late
    ship(org.sales_bj, b, "2025-06-01", "500.00")
    ship(org.sales_bj, c, "2025-04-01", "700.00")
    pay(org.finance, c, "2025-04-02", "1000.00")  # overpaid
    return a, b, c


@pytest.mark.parametrize("as_of", ["2025-02-12", "2025-05-15", "2025-05-25", "2025-06-10"])
def test_timeliness_statement_gives_the_figures_of_the_full_one(org, as_of):
    a, b, c = _timeliness_ledger(org)
    day = d(as_of)
    expected = {
        pk: (t.decided, t.on_time, t.late, t.days_late_total)
        for pk, t in analytics.timeliness(as_of=day).items()
    }
    assert expected  # the scenario has figures on every day tested
    for customers in (None, [a.pk, b.pk, c.pk], range(a.pk, c.pk + 1)):
        sql, params, columns = analytics.timeliness_sql(as_of=day, customers=customers)
        assert columns == ["customer_id", "decided", "on_time", "late", "days_late"]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in cursor.fetchall()}
        assert found == expected
    if as_of == "2025-06-10":  # the hand-computed figures of ledger/tests/test_figures.py
        assert expected[a.pk] == (3, 1, 2, 90)


EVERY_SOURCE = {
    "stagnant_order_days": 60,
    "indicators": [
        {
            "code": "amount",
            "label": "订单额",
            "weight": 10,
            "source": "order_amount",
            "scale": {
                "type": "thresholds",
                "steps": [{"value": 1000000, "points": 5}, {"value": "100000.01", "points": 3}],
            },
        },
        {
            "code": "profit",
            "label": "利润",
            "weight": 9,
            "source": "order_profit",
            "scale": {
                "type": "percentile",
                "steps": [{"pct": 75, "points": 5}, {"pct": 30, "points": 2}],
            },
        },
        {
            "code": "collection",
            "label": "回款率",
            "weight": 8,
            "source": "collection_rate",
            "scale": {
                "type": "thresholds",
                "steps": [{"value": "0.9999", "points": 5}, {"value": "0.5", "points": 2}],
            },
        },
        {
            "code": "late",
            "label": "逾期天数",
            "weight": 7,
            "source": "days_late",
            "scale": {
                "type": "thresholds",
                "direction": "lower",
                "steps": [{"value": 0, "points": 5}, {"value": "20.5", "points": 3}],
            },
        },
        {
            "code": "yoy",
            "label": "同比",
            "weight": 6,
            "source": "yoy_growth",
            "scale": {
                "type": "percentile",
                "direction": "lower",
                "steps": [{"pct": 60, "points": 4}, {"pct": 10, "points": 1}],
            },
        },
        {
            "code": "g3",
            "label": "三年",
            "weight": 5,
            "source": "growth_3y",
            "scale": {
                "type": "thresholds",
                "steps": [
                    {"value": "0.5", "points": 5},
                    {"value": 1, "points": 4},
                    {"value": -1, "points": 1},
                ],
            },
        },
        {
            "code": "count",
            "label": "笔数",
            "weight": 4,
            "source": "order_count",
            "scale": {
                "type": "percentile",
                "steps": [{"pct": 50, "points": 5}, {"pct": 0, "points": 1}],
            },
        },
        {
            "code": "dso",
            "label": "周转天数",
            "weight": 3,
            "source": "receivable_days",
            "scale": {
                "type": "thresholds",
                "direction": "lower",
                "steps": [{"value": "30.05", "points": 5}, {"value": 400, "points": 2}],
            },
        },
        {
            "code": "stagnant",
            "label": "呆滞",
            "weight": 3,
            "source": "stagnant_orders",
            "scale": {
                "type": "percentile",
                "direction": "lower",
                "steps": [{"pct": 80, "points": 5}, {"pct": 20, "points": 2}],
            },
        },
        {
            "code": "capital",
            "label": "注册资本",
            "weight": 2,
            "source": "registered_capital",
            "scale": {"type": "percentile", "steps": [{"pct": 50, "points": 5}]},
        },
        {
            "code": "industry_potential",
            "label": "行业潜力",
            "weight": 7,
            "source": "role",
            "roles": ["sales_director"],
        },
    ],
}
BANDS = [
    {"code": "top", "label": "顶级", "min": 50, "require": {"amount": "1000000", "capital": 100}},
    {"code": "good", "label": "良好", "min": 40.005},
    {"code": "ok", "label": "一般", "min": 20, "require": {"late": 0}},
    {"code": "rest", "label": "其他", "min": 0},
]


def _population(org):
    """Customers covering every branch of every source (default terms: 30 days)."""
    rich = build_trader(org, name="北京全指标甲有限公司", registered_capital="500")
    unpaid = build_trader(org, name="北京全指标乙有限公司", paid=False, registered_capital="0")
    shrinking = make_customer(org.sales_bj, name="北京全指标丙有限公司",
                              registered_capital="123.45")  # fmt: skip
    approve_limit(org, shrinking, 10_000_000)
    ship(org.sales_bj, shrinking, "2022-08-01", "90000.00", cost="10000")
    ship(org.sales_bj, shrinking, "2023-08-01", "500000.00", cost="400000")
    ship(org.sales_bj, shrinking, "2024-08-01", "100000.00", cost="120000")
    wrong = ship(org.sales_bj, shrinking, "2024-09-01", "3333.33")
    ledger.shipment_reverse(actor=org.finance, shipment_id=wrong.pk, reason="录错",
                            date=d("2024-09-03"))  # fmt: skip
    pay(org.finance, shrinking, "2024-10-15", "33333.33")
    old = ledger.order_record(actor=org.sales_bj, customer_id=shrinking.pk,
                              date=d("2025-03-01"), amount="80000")  # fmt: skip
    ship(org.sales_bj, shrinking, "2025-03-05", "30000.00", cost="20000", order_id=old.pk)
    ledger.order_record(
        actor=org.sales_bj, customer_id=shrinking.pk, date=d("2025-06-01"), amount="5000"
    )  # fmt: skip  (too recent to stagnate)
    gone = make_customer(org.sales_bj, name="北京全指标丁有限公司")  # sold only in y0
    approve_limit(org, gone, 1_000_000)
    ship(org.sales_bj, gone, "2023-12-01", "20000.00")
    shipped = ledger.order_record(actor=org.sales_bj, customer_id=gone.pk,
                                  date=d("2024-02-01"), amount="1000")  # fmt: skip
    ship(org.sales_bj, gone, "2024-02-02", "1000.00", order_id=shipped.pk)
    pay(org.finance, gone, "2024-01-05", "25000.00")  # settles both, the first 5 days late
    empty = make_customer(org.sales_bj, name="北京全指标戊有限公司")
    score_roles(org, rich, industry_potential=5)
    score_roles(org, unpaid, industry_potential="0.5")
    score_roles(org, shrinking, industry_potential="1.23")
    return [rich, unpaid, shrinking, gone, empty]


def _as_stored(scored):
    return (
        scored.grade,
        scored.score,
        [None if v is None else str(v) for v in scored.values],
        [str(p) for p in scored.points],
    )


def test_columns_and_scorer_give_the_reference_results(org):
    """Stored scores (Scorer on columns), previews and the per-customer reference of the
    bench (one ORM query per family per customer, figures_sql's timeliness, score_one in
    Decimals) agree on every value, point, score and grade."""
    policy_set(actor=org.admin, note="全部来源",
               values={"grading.model": EVERY_SOURCE, "grading.bands": BANDS})  # fmt: skip
    customers = _population(org)
    run = grading_run()
    assert run.graded == len(customers)
    pack = resolved_pack()
    assert pack.frozen_model() == run.model
    as_of = timezone.localdate()
    ids = sorted(c.pk for c in customers)
    preview = grade_preview(customer_ids=ids, pack=pack)
    _ids, facts, capital = engine.gather(pack=pack, customers=ids, as_of=as_of)
    stored = {s.customer_id: s for s in GradeScore.objects.filter(run=run)}
    for customer in customers:
        pk = customer.pk
        capital_of = Customer.objects.get(pk=pk).registered_capital
        reference = engine.score_one(pack, pk, bench._facts_one(pack, pk, as_of), capital_of)
        row = stored[pk]
        assert (row.grade, row.score, row.values, row.points) == _as_stored(reference)
        assert _as_stored(preview[pk]) == _as_stored(reference)
        assert preview[pk].values == reference.values
        assert _as_stored(engine.score_one(pack, pk, facts[pk], capital.get(pk))) == (
            _as_stored(reference)
        )
    rich, unpaid, shrinking, gone, empty = (stored[c.pk] for c in customers)
    assert rich.values == ["1200000.00", "300000.00", "1.0000", "0.0", "1.4000", "3.0000",
                           "2", "0.0", "0", "500.00", "5.00"]  # fmt: skip
    assert unpaid.values == ["1200000.00", "300000.00", "0.0000", "448.0", "1.4000",
                             "3.0000", "2", "608.3", "0", "0.00", "0.50"]  # fmt: skip
    assert shrinking.values == ["130000.00", "-10000.00", "0.2564", "503.3", "-0.7400",
                                "0.4444", "2", "1927.9", "50000.00", "123.45", "1.23"]  # fmt: skip
    assert gone.values == [None, None, None, "5.0", "-1.0000", None, "0", None, "0", None,
                           None]  # fmt: skip
    assert empty.values == [None] * 6 + ["0", None, "0", None, None]
    assert len({row.grade for row in stored.values()}) >= 3


def test_columns_of_a_sparse_list_and_of_a_range():
    sparse = engine.Columns([3, 5000, 70000])
    assert sparse.positions is not None and sparse.size == 3
    assert (sparse.slot(5000), sparse.slot(4), sparse.pk(2)) == (1, None, 70000)
    assert list(sparse.windows(2)) == [(0, 2, [3, 5000]), (2, 3, [70000])]
    dense = engine.Columns([10, 11, 13])
    assert dense.positions is None and dense.size == 4
    assert (dense.slot(12), dense.slot(14), dense.pk(3)) == (2, None, 13)
    assert list(dense.alive) == [1, 1, 0, 1]
    assert list(dense.windows(10)) == [(0, 4, range(10, 14))]
    assert list(dense.windows(2)) == [(0, 2, range(10, 12)), (3, 4, range(13, 14))]
    dense.fill([(11, 5), (12, 6), (99, 7), (13, None)], "x", default=-1)
    assert list(dense.column("x")) == [-1, 5, 6, -1]


def test_decimal_texts_and_rounding_match_decimal():
    assert engine._json_texts("order_profit", [-5, 0, 12345, None]) == [
        '"-0.05"', '"0.00"', '"123.45"', "null"]  # fmt: skip
    assert engine._json_texts("stagnant_orders", [0, 1]) == ['"0"', '"0.01"']
    assert engine._json_texts("yoy_growth", [-10000, 3]) == ['"-1.0000"', '"0.0003"']
    assert engine._json_texts("days_late", [455]) == ['"45.5"']
    for numerator, denominator in [(5, 2), (-5, 2), (7, 3), (-7, 3), (1, 4), (-3, 4)]:
        exact = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), "ROUND_HALF_UP")
        assert engine._half_up(numerator, denominator) == exact


@pytest.mark.django_db(transaction=True)
def test_timeliness_read_in_a_thread_gives_the_same_column(org, monkeypatch):
    """For everyone outside a transaction (the run, the bench), the timeliness statement
    runs in a thread on its own connection while the other families are read."""
    _timeliness_ledger(org)
    as_of = timezone.localdate()
    families = {"timeliness", "months", "balances"}
    alone = engine.load(families=families, customers=None, as_of=as_of)
    started = []

    def counted(work):
        started.append(work)
        return apart(work)

    apart = engine._apart
    monkeypatch.setattr(engine, "_apart", counted)
    monkeypatch.setattr(engine, "APART_FROM", 0)
    together = engine.load(families=families, customers=None, as_of=as_of)
    assert len(started) == 1
    assert together.ids == alone.ids
    for name in ("days_late", "y1", "balance"):
        assert together.data[name] == alone.data[name]
    # 45.0 days (as in ledger/tests/test_figures.py), 12.0 (both settled 12 days late), 0.0
    assert {v for v in together.data["days_late"] if v != engine.NONE} == {450, 120, 0}
