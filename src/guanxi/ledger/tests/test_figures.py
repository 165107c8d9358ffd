"""Ageing, overdue, timeliness, balances, exposure and monthly sums against hand-computed
figures, reversing entries included (ledger.analytics, ledger.selectors).

The scenario (as of 2025-06-10, default terms 30 days, FIFO by shipment date):

    S1 01-15 10,000 due 02-14      P1 02-10 10,000
    S2 03-01 20,000 due 03-31      P2 04-15 12,000
    S3 04-20  5,000 due 05-20      P3 05-10  6,000  reversed 05-20 (bounced bill)
    S4 05-25  8,000 due 06-24      P4 06-08  9,000
    S5 06-01  3,000  reversed 06-05

Live: shipped 43,000, paid 31,000, balance 12,000. FIFO: S1, S2 paid; S3 4,000 open
(51 days old, 21 days overdue); S4 8,000 open (16 days, not due).
Timeliness: S1 settled 02-10 (on time), S2 settled 06-08 (69 days late), S3 open and
21 days late, S4 undecided → 1 of 3 on time, average 45.0 days late.
"""

from decimal import Decimal

import pytest

from guanxi.core.errors import AlreadyReversed, InvalidState
from guanxi.ledger import analytics, recompute, selectors, services
from guanxi.ledger.models import CustomerBalance, CustomerMonth, Payment, Shipment
from guanxi.ledger.testing import approve_limit, d, pay, ship
from guanxi.policy.services import policy_set

M = Decimal


@pytest.fixture
def scenario(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    s1 = ship(org.sales_bj, bj, "2025-01-15", "10000.00")
    s2 = ship(org.sales_bj, bj, "2025-03-01", "20000.00")
    s3 = ship(org.sales_bj, bj, "2025-04-20", "5000.00", cost="3000.00", quantity=5)
    s4 = ship(org.sales_bj, bj, "2025-05-25", "8000.00")
    s5 = ship(org.sales_bj, bj, "2025-06-01", "3000.00", quantity=3)
    pay(org.finance, bj, "2025-02-10", "10000.00")
    pay(org.finance, bj, "2025-04-15", "12000.00")
    p3 = pay(org.finance, bj, "2025-05-10", "6000.00", method="acceptance_bill")
    pay(org.finance, bj, "2025-06-08", "9000.00")
    services.payment_reverse(
        actor=org.finance, payment_id=p3.pk, reason="承兑汇票退票", date=d("2025-05-20")
    )
    services.shipment_reverse(
        actor=org.finance, shipment_id=s5.pk, reason="数量录错", date=d("2025-06-05")
    )
    books.entries = {"s1": s1, "s2": s2, "s3": s3, "s4": s4, "s5": s5, "p3": p3}
    return books


def test_balance_row_is_the_running_total(scenario):
    row = CustomerBalance.objects.get(customer=scenario.bj)
    assert (row.shipped_total, row.paid_total, row.balance) == (M("43000"), M("31000"), M("12000"))


def test_ageing_and_overdue_today(scenario):
    receivable = selectors.receivable_of(customer_id=scenario.bj.pk, as_of=d("2025-06-10"))
    assert receivable.ageing == {
        "0-30": M("8000.00"),
        "31-60": M("4000.00"),
        "61-90": M("0.00"),
        "90+": M("0.00"),
    }
    assert receivable.overdue == M("4000.00")
    assert receivable.open_total == M("12000.00")


def test_ageing_as_of_an_earlier_day_ignores_later_entries_and_reversals(scenario):
    # 05-15: S4 not shipped yet, P3 not yet reversed (05-20), P4 not received.
    receivable = selectors.receivable_of(customer_id=scenario.bj.pk, as_of=d("2025-05-15"))
    assert receivable.ageing == {
        "0-30": M("5000.00"),
        "31-60": M("0.00"),
        "61-90": M("2000.00"),
        "90+": M("0.00"),
    }
    assert receivable.overdue == M("2000.00")
    timely = selectors.timeliness_of(customer_id=scenario.bj.pk, as_of=d("2025-05-15"))
    assert (timely.decided, timely.on_time, timely.late, timely.days_late_total) == (2, 1, 1, 45)
    assert timely.on_time_share == M("0.5000")


def test_timeliness_today(scenario):
    timely = selectors.timeliness_of(customer_id=scenario.bj.pk, as_of=d("2025-06-10"))
    assert (timely.decided, timely.on_time, timely.late, timely.days_late_total) == (3, 1, 2, 90)
    assert timely.on_time_share == M("0.3333")
    assert timely.avg_days_late == M("45.0")


def test_exposure_counts_open_orders_by_policy(scenario):
    org, bj = scenario.org, scenario.bj
    services.order_record(
        actor=org.sales_bj, customer_id=bj.pk, date=d("2025-06-09"), amount="5000"
    )
    balance = selectors.balance_of(customer_id=bj.pk)
    assert selectors.exposure_of(balance) == M("17000.00")
    policy_set(actor=org.admin, values={"credit.orders_in_exposure": False}, note="只计应收")
    assert selectors.exposure_of(balance) == M("12000.00")


def test_ageing_buckets_follow_the_policy(scenario):
    policy_set(actor=scenario.org.admin, values={"ledger.ageing_buckets": [30, 90, 180]}, note="x")
    receivable = selectors.receivable_of(customer_id=scenario.bj.pk, as_of=d("2025-06-10"))
    assert receivable.ageing == {
        "0-30": M("8000.00"),
        "31-90": M("4000.00"),
        "91-180": M("0.00"),
        "180+": M("0.00"),
    }


def test_monthly_sums_put_reversals_in_the_month_they_correct(scenario):
    months = {
        m.month.isoformat(): (m.shipped_amount, m.shipped_cost, m.shipped_quantity, m.paid_amount)
        for m in CustomerMonth.objects.filter(customer=scenario.bj)
    }
    assert months == {
        "2025-01-01": (M("10000"), M("0"), 0, M("0")),
        "2025-02-01": (M("0"), M("0"), 0, M("10000")),
        "2025-03-01": (M("20000"), M("0"), 0, M("0")),
        "2025-04-01": (M("5000"), M("3000"), 5, M("12000")),
        "2025-05-01": (M("8000"), M("0"), 0, M("0")),  # P3 6,000 − its reversal
        "2025-06-01": (M("0"), M("0"), 0, M("9000")),  # S5 3,000 − its reversal
    }
    figures = selectors.sales_figures(customer_ids=[scenario.bj.pk], as_of=d("2025-06-10"))
    sales = figures[scenario.bj.pk]
    assert sales.annual_sales == M("43000.00")  # June 2024 – May 2025
    assert sales.monthly_sales == M("11000.00")  # (20,000 + 5,000 + 8,000) / 3
    assert sales.annual_profit == M("40000.00")


def test_due_dates_follow_payment_terms(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "50000")
    first = ship(org.sales_bj, bj, "2025-06-01", "100")
    assert (first.due_date, first.payment_terms_days) == (d("2025-07-01"), 30)
    services.payment_terms_set(actor=org.finance, customer_id=bj.pk, days=45)
    second = ship(org.sales_bj, bj, "2025-06-01", "100")
    assert (second.due_date, second.payment_terms_days) == (d("2025-07-16"), 45)
    assert Shipment.objects.get(pk=first.pk).due_date == d("2025-07-01")  # not retroactive


def test_default_payment_terms_policy(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "50000")
    policy_set(actor=org.admin, values={"ledger.default_payment_terms_days": 45}, note="x")
    assert ship(org.sales_bj, bj, "2025-06-01", "100").due_date == d("2025-07-16")
    assert ship(org.sales_tj, books.tj, "2025-06-01", "100", paid_now=True).due_date == d(
        "2025-07-16"
    )


def test_overpayment_leaves_nothing_open(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "50000")
    ship(org.sales_bj, bj, "2025-05-01", "1000")
    pay(org.finance, bj, "2025-05-02", "1500")
    assert selectors.balance_of(customer_id=bj.pk).balance == M("-500.00")
    assert selectors.receivable_of(customer_id=bj.pk).open_total == M("0.00")
    timely = selectors.timeliness_of(customer_id=bj.pk)
    assert (timely.decided, timely.on_time) == (1, 1)


def test_set_based_figures_match_per_customer_figures(scenario):
    org = scenario.org
    approve_limit(org, scenario.tj, "90000")
    ship(org.sales_tj, scenario.tj, "2025-01-05", "7000")
    ship(org.sales_tj, scenario.tj, "2025-05-30", "1234.56")
    pay(org.finance, scenario.tj, "2025-03-01", "3000")
    everyone = analytics.receivables(as_of=d("2025-06-10"))
    assert set(everyone) == {scenario.bj.pk, scenario.tj.pk}
    for customer in (scenario.bj, scenario.tj):
        assert everyone[customer.pk] == selectors.receivable_of(customer_id=customer.pk)
    assert everyone[scenario.tj.pk].ageing["90+"] == M("4000.00")
    assert everyone[scenario.tj.pk].ageing["0-30"] == M("1234.56")
    ranged = analytics.timeliness(as_of=d("2025-06-10"), customers=range(1, 10**9))
    assert ranged[scenario.bj.pk].days_late_total == 90


def test_recompute_rebuilds_balances_and_months(scenario):
    CustomerBalance.objects.filter(customer=scenario.bj).update(balance=M("1"), paid_total=0)
    CustomerMonth.objects.filter(customer=scenario.bj).delete()
    result = recompute.rebuild_balances()
    assert result["drift"] == 1
    row = CustomerBalance.objects.get(customer=scenario.bj)
    assert (row.shipped_total, row.paid_total, row.balance) == (M("43000"), M("31000"), M("12000"))
    assert CustomerMonth.objects.filter(customer=scenario.bj).count() == 6
    assert recompute.rebuild_balances()["drift"] == 0


def test_entries_are_append_only(scenario):
    s1 = scenario.entries["s1"]
    with pytest.raises(TypeError):
        s1.amount = M("1")
        s1.save()
    with pytest.raises(TypeError):
        s1.delete()
    with pytest.raises(TypeError):
        Shipment.objects.filter(pk=s1.pk).update(amount=1)
    with pytest.raises(TypeError):
        Payment.objects.all().delete()


def test_a_reversal_is_final(scenario):
    org = scenario.org
    with pytest.raises(AlreadyReversed):
        services.shipment_reverse(
            actor=org.finance, shipment_id=scenario.entries["s5"].pk, reason="再来一次"
        )
    reversal = scenario.entries["s5"].reversed_by
    with pytest.raises(InvalidState):
        services.shipment_reverse(actor=org.finance, shipment_id=reversal.pk, reason="冲销冲销")


@pytest.mark.django_db(transaction=True)
def test_recompute_outside_a_transaction_reads_ranges_on_other_connections(org, settings):
    """Called on its own (the command, the benchmark), the rebuild locks the balance table
    and reads id ranges on GUANXI_BATCH_WORKERS connections (PostgreSQL), then repairs
    what they found: each kind of drift, in different ranges."""
    import time_machine

    from guanxi.ledger.testing import NOW, Books

    settings.GUANXI_BATCH_WORKERS = 2
    with time_machine.travel(NOW, tick=False):
        books = Books(org)
        for customer, amount in (
            (books.bj, "1000.00"),
            (books.tj, "2000.00"),
            (books.sh, "3000.00"),
        ):
            approve_limit(org, customer, "100000")
            ship(org.finance, customer, "2025-05-06", amount)
        pay(org.finance, books.tj, "2025-05-20", "500.00")
        CustomerBalance.objects.filter(customer=books.bj).update(balance=M("1"))  # differs
        CustomerMonth.objects.filter(customer=books.tj).delete()  # missing
        CustomerMonth.objects.create(customer=books.sh, month=d("2024-01-01"))  # gone
        CustomerBalance.objects.filter(customer=books.sh).delete()  # no balance row
        result = recompute.rebuild_balances(chunk=1)  # one range per customer id
        assert result == {"customers": 3, "drift": 2, "months": 2}
        assert [
            (b.customer_id, b.shipped_total, b.paid_total, b.balance)
            for b in CustomerBalance.objects.order_by("customer_id")
        ] == [
            (books.bj.pk, M("1000"), M("0"), M("1000")),
            (books.tj.pk, M("2000"), M("500"), M("1500")),
            (books.sh.pk, M("3000"), M("0"), M("3000")),
        ]
        assert set(
            CustomerMonth.objects.values_list(
                "customer_id", "month", "shipped_amount", "paid_amount"
            )
        ) == {
            (books.bj.pk, d("2025-05-01"), M("1000"), M("0")),
            (books.tj.pk, d("2025-05-01"), M("2000"), M("500")),
            (books.sh.pk, d("2025-05-01"), M("3000"), M("0")),
        }
        assert recompute.rebuild_balances(chunk=1) == {"customers": 3, "drift": 0, "months": 0}
