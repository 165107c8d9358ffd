"""The set-based rating (credit.rating.inputs_sql + level_sql, written by
credit.services.credit_ratings_write) against the rule-by-rule check (rating.rate) and
hand-computed inputs, at the edges of every condition of credit.rating_rules.

As of 2025-06-10 (default terms 30 days; the annual window is 2024-06 … 2025-05, the
recent one 2025-03 … 2025-05):

    edge    S 2024-11-04 100,000.00 due 12-04, paid 12-06 (2 days late)
            S 2025-03-03  29,999.99 due 04-02, paid 04-01 (on time)
            S 2025-05-05   1,000.00 due 06-04, open and overdue 6 days
            → annual 130,999.99; monthly (29,999.99 + 1,000) / 3 = 10,333.33;
              on time 1 of 3 = 0.3333; late (2 + 6) / 2 = 4.0 days; overdue 1,000 of
              balance 1,000 = 1.0000
    round   S 2025-04-01 29,999.99 (recent), terms 45 → monthly 9,999.9966 → 10,000.00;
            due 05-16, open: on time 0 of 1, 25 days late
    thirds  three shipments, two paid on time, one paid 1 day late → on time 0.6667,
            late 1.0
    nothing no ledger rows: everything zero, on-time share unknown
"""

from decimal import Decimal

import pytest
from django.db import connection

from guanxi.core.testing import make_customer
from guanxi.credit import rating, services
from guanxi.credit.models import CreditRating
from guanxi.customers.models import Customer
from guanxi.ledger import services as ledger
from guanxi.ledger.testing import NOW, TODAY, d

M = Decimal


def _ship(org, customer, on, amount):
    return ledger.shipment_record(
        actor=org.finance, customer_id=customer.pk, date=d(on), amount=amount,
        enforce_limit=False,
    )  # fmt: skip


def _pay(org, customer, on, amount):
    return ledger.payment_record(
        actor=org.finance, customer_id=customer.pk, date=d(on), amount=amount,
        method="bank_transfer",
    )  # fmt: skip


@pytest.fixture
def table(books):
    org = books.org
    edge, rounded, thirds = books.bj, books.tj, books.sh
    nothing = make_customer(org.sales_bj, name="北京无往来有限公司")
    _ship(org, edge, "2024-11-04", "100000.00")
    _ship(org, edge, "2025-03-03", "29999.99")
    _ship(org, edge, "2025-05-05", "1000.00")
    _pay(org, edge, "2024-12-06", "100000.00")
    _pay(org, edge, "2025-04-01", "29999.99")
    ledger.payment_terms_set(actor=org.finance, customer_id=rounded.pk, days=45)
    _ship(org, rounded, "2025-04-01", "29999.99")
    for day in ("2025-01-06", "2025-02-03", "2025-03-03"):
        _ship(org, thirds, day, "10000.00")
    _pay(org, thirds, "2025-02-01", "10000.00")  # due 02-05: on time
    _pay(org, thirds, "2025-03-05", "10000.00")  # due 03-05: on time
    _pay(org, thirds, "2025-04-03", "10000.00")  # due 04-02: 1 day late
    books.table = {"edge": edge, "round": rounded, "thirds": thirds, "nothing": nothing}
    return books


def _inputs(table):
    ids = [c.pk for c in table.table.values()]
    return rating.gather_inputs(customers=ids, as_of=TODAY)


def test_inputs_are_the_hand_computed_figures(table):
    found = _inputs(table)
    edge = found[table.table["edge"].pk]
    assert (edge.annual_sales, edge.monthly_sales) == (M("130999.99"), M("10333.33"))
    assert (edge.on_time_share, edge.avg_days_late) == (M("0.3333"), M("4.0"))
    assert (edge.overdue, edge.balance, edge.overdue_share) == (M("1000"), M("1000"), M("1"))
    assert edge.ageing == {"0-30": M("0"), "31-60": M("1000"), "61-90": M("0"), "90+": M("0")}
    rounded = found[table.table["round"].pk]
    assert (rounded.monthly_sales, rounded.terms_days) == (M("10000.00"), 45)
    # due 05-16, still open: 25 days late
    assert (rounded.on_time_share, rounded.avg_days_late) == (M("0"), M("25.0"))
    thirds = found[table.table["thirds"].pk]
    assert (thirds.on_time_share, thirds.avg_days_late) == (M("0.6667"), M("1.0"))
    nothing = found[table.table["nothing"].pk]
    assert (nothing.annual_sales, nothing.on_time_share, nothing.terms_days) == (M(0), None, 30)


def _sql_levels(pack, customers):
    sql, params, _columns = rating.inputs_sql(customers=customers, as_of=TODAY)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT i.customer_id, {rating.level_sql(pack)} FROM ({sql}) i", params)
        return dict(cursor.fetchall())


# (criterion, figure getter, grid unit)
EDGES = [
    ("min_annual_sales", lambda i: i.annual_sales, M("0.01")),
    ("min_monthly_sales", lambda i: i.monthly_sales, M("0.01")),
    ("max_terms_days", lambda i: M(i.terms_days), M(1)),
    ("min_on_time_share", lambda i: i.on_time_share, M("0.0001")),
    ("max_avg_days_late", lambda i: i.avg_days_late, M("0.1")),
    ("max_overdue_share", lambda i: i.overdue_share, M("0.0001")),
]


@pytest.mark.parametrize(("key", "figure", "unit"), EDGES, ids=[e[0] for e in EDGES])
def test_set_based_level_equals_rule_by_rule_at_every_edge(table, key, figure, unit):
    found = _inputs(table)
    ids = list(found)
    labels = {"level1": "一级", "level2": "二级", "level3": "三级"}
    for customer_id, inputs in found.items():
        value = figure(inputs)
        if value is None:
            candidates = [M("0"), M("0.5")]
        else:
            # on the figure, one grid unit either side, and half a unit either side (a
            # threshold off the grid: ceil/floor in SQL, plain comparison in Python)
            candidates = [value, value + unit, value - unit, value + unit / 2, value - unit / 2]
        for threshold in candidates:
            pack = rating.RatingPack(
                rules=[{"level": "level1", key: str(threshold)}, {"level": "level2"}],
                lowest="level3",
                labels=labels,
            )
            in_sql = _sql_levels(pack, ids)[customer_id]
            rated = rating.rate(inputs, pack=pack)
            if value is None:
                expected = key.startswith("max_")  # an unknown share fails a minimum
            elif key.startswith("min_"):
                expected = value >= threshold
            else:
                expected = value <= threshold
            assert rated.level == ("level1" if expected else "level2"), (key, threshold)
            assert in_sql == rated.level, (key, customer_id, threshold, inputs)


def test_policy_rules_with_every_condition_at_once(table):
    found = _inputs(table)
    pack = rating.RatingPack(
        rules=[
            {"level": "level1", "min_annual_sales": "130999.99", "min_monthly_sales": "10000",
             "max_terms_days": 30, "min_on_time_share": "0.3333", "max_avg_days_late": "4",
             "max_overdue_share": "1"},
            {"level": "level2", "min_monthly_sales": "10000", "max_terms_days": 45},
        ],
        lowest="level3",
        labels={"level1": "一级", "level2": "二级", "level3": "三级"},
    )  # fmt: skip
    in_sql = _sql_levels(pack, list(found))
    expected = {"edge": "level1", "round": "level2", "thirds": "level3", "nothing": "level3"}
    for name, customer in table.table.items():
        assert rating.rate(found[customer.pk], pack=pack).level == expected[name], name
        assert in_sql[customer.pk] == expected[name], name


def test_rate_all_writes_levels_sets_the_customer_and_explains_itself(table):
    written = services.credit_rate_all(at=NOW, only_due=False)
    # every live customer with ledger entries (the one without entries has no balance row)
    assert written == 3
    found = _inputs(table)
    for name, customer in table.table.items():
        if name == "nothing":
            assert not CreditRating.objects.filter(customer=customer).exists()
            continue
        row = CreditRating.objects.get(customer=customer)
        rated = rating.rate(found[customer.pk], at=NOW)
        assert (row.level, row.explanation) == (rated.level, [])  # derived on read
        assert row.reasons == rated.explanation
        assert row.inputs == found[customer.pk].as_json()
        assert Customer.objects.get(pk=customer.pk).credit_level == row.level
    # default rules: edge sells 130,999.99 a year (< 200,000 for level2) → level3
    assert CreditRating.objects.get(customer=table.table["edge"]).reasons[-1] == (
        "以上各级条件均不满足，评定为三级。"
    )
    # a second run re-rates only those due (none within credit.rating_valid_months)
    assert services.credit_rate_all(at=NOW, only_due=True) == 0


def test_a_merged_or_deleted_customer_is_not_rated(table):
    customer = table.table["thirds"]
    Customer.objects.filter(pk=customer.pk).update(deleted_at=NOW)
    assert services.credit_rate_all(at=NOW, only_due=False) == 2
    assert not CreditRating.objects.filter(customer=customer).exists()


def test_the_customer_page_shows_the_rated_level(table, client):
    from django.urls import reverse

    customer = table.table["edge"]
    client.force_login(table.org.sales_bj)
    before = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "三级" not in before
    services.credit_rate_all(at=NOW, only_due=False)
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert Customer.objects.get(pk=customer.pk).credit_level == "level3"
    assert "三级" in page


def test_rating_sql_survives_the_debug_cursor(table):
    """With DEBUG on (make demo) Django formats every executed statement with its params
    (`sql % params` on SQLite): a literal % in the SQL must be escaped, or rating crashes."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert services.credit_rate_all(at=NOW, only_due=False) == 3
    assert any("credit_creditrating" in q["sql"] for q in queries.captured_queries)
