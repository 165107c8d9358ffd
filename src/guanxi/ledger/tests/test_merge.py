"""A customer merge with ledger entries on both customers: the entries move to the survivor,
and both customers' running balances and monthly sums are rebuilt from their entries (the
CustomerMonth merge hooks) instead of the merge being refused on the one-row-per-month
constraint; a reversal moves the entries back and rebuilds both again."""

from decimal import Decimal

from guanxi.core.testing import make_customer
from guanxi.customers.dedup.models import MergeRecord
from guanxi.customers.dedup.services import customer_merge, customer_merge_reverse
from guanxi.ledger import recompute
from guanxi.ledger.models import CustomerBalance, CustomerMonth
from guanxi.ledger.testing import approve_limit, pay, ship

M = Decimal


def _months(customer):
    return {
        (row.month.isoformat(), row.shipped_amount, row.shipped_quantity, row.paid_amount)
        for row in CustomerMonth.objects.filter(customer=customer)
    }


def _balance(customer):
    row = CustomerBalance.objects.get(customer=customer)
    return (row.shipped_total, row.paid_total, row.balance, row.open_orders)


def test_merge_and_reversal_rebuild_balances_and_monthly_sums(books):
    org, survivor = books.org, books.bj
    merged = make_customer(org.sales_bj, name="北京长城五金机电有限公司")
    for customer in (survivor, merged):
        approve_limit(org, customer, "500000")
    ship(org.sales_bj, survivor, "2025-05-06", "10000.00", quantity=2)
    pay(org.finance, survivor, "2025-05-20", "4000.00")
    ship(org.sales_bj, merged, "2025-05-08", "7000.00", quantity=1)  # the same month
    ship(org.sales_bj, merged, "2025-04-02", "3000.00", quantity=1)
    pay(org.finance, merged, "2025-05-25", "1000.00")
    before = {c.pk: (_balance(c), _months(c)) for c in (survivor, merged)}

    customer_merge(actor=org.director, survivor_id=survivor.pk, merged_id=merged.pk)

    assert _balance(survivor) == (M("20000"), M("5000"), M("15000"), M("0"))
    assert _months(survivor) == {
        ("2025-05-01", M("17000"), 3, M("5000")),
        ("2025-04-01", M("3000"), 1, M("0")),
    }
    assert _balance(merged) == (M("0"), M("0"), M("0"), M("0"))
    assert _months(merged) == set()
    assert recompute.rebuild_balances()["drift"] == 0  # consistent with the entries

    record = MergeRecord.objects.get(survivor=survivor, merged=merged)
    customer_merge_reverse(actor=org.admin, merge_id=record.pk)

    assert {c.pk: (_balance(c), _months(c)) for c in (survivor, merged)} == before
    result = recompute.rebuild_balances()
    assert (result["drift"], result["months"]) == (0, 0)


def test_rebuild_customers_repairs_a_drifted_customer_only(books):
    org, bj, tj = books.org, books.bj, books.tj
    approve_limit(org, bj, "100000")
    approve_limit(org, tj, "100000")
    ship(org.sales_bj, bj, "2025-05-06", "10000.00")
    ship(org.sales_tj, tj, "2025-05-06", "2000.00")
    CustomerBalance.objects.filter(customer=bj).update(balance=M("1"))
    CustomerBalance.objects.filter(customer=tj).update(balance=M("2"))
    CustomerMonth.objects.filter(customer=bj).delete()
    recompute.rebuild_customers([bj.pk])
    assert _balance(bj) == (M("10000"), M("0"), M("10000"), M("0"))
    assert _months(bj) == {("2025-05-01", M("10000"), 0, M("0"))}
    assert CustomerBalance.objects.get(customer=tj).balance == M("2")  # untouched
