"""Credit limit enforcement at shipment time: the refusal and its message, cash sales,
one-off overrides (exactly one shipment), orders in exposure, customers without a limit,
warnings and investigations. Policy: credit.*."""

from decimal import Decimal

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import CreditLimitExceeded, OverrideNotUsable, PermissionDenied
from guanxi.credit import selectors, services
from guanxi.credit.models import CreditInvestigation, CreditOverride
from guanxi.ledger import services as ledger
from guanxi.ledger.models import CustomerBalance, Payment, Shipment
from guanxi.ledger.testing import approve_limit, d, pay, ship
from guanxi.policy.services import policy_set

M = Decimal
REFUSAL = (
    "超出信用额度，不能出货：信用额度 ¥100,000.00，当前占用 ¥90,000.00，本次出货 ¥15,000.00，"
    "出货后将超出额度 ¥5,000.00。请先回款、现款出货，或申请超额度特批。"
)


@pytest.fixture
def near(books):
    """bj: limit 100,000, balance 90,000."""
    approve_limit(books.org, books.bj, "100000")
    ship(books.org.sales_bj, books.bj, "2025-06-01", "90000")
    return books


def test_a_shipment_over_the_limit_is_refused_with_limit_exposure_and_shortfall(near):
    with pytest.raises(CreditLimitExceeded) as info:
        ship(near.org.sales_bj, near.bj, "2025-06-10", "15000")
    assert info.value.code == "credit_limit_exceeded"
    assert str(info.value.message) == REFUSAL
    assert info.value.detail == {
        "limit": "100000.00",
        "exposure": "90000.00",
        "amount": "15000.00",
        "shortfall": "5000.00",
    }
    assert Shipment.objects.count() == 1
    assert CustomerBalance.objects.get(customer=near.bj).balance == M("90000")


def test_a_shipment_that_fits_exactly_goes_through(near):
    ship(near.org.sales_bj, near.bj, "2025-06-10", "10000")
    assert CustomerBalance.objects.get(customer=near.bj).balance == M("100000")


def test_payments_make_room(near):
    pay(near.org.finance, near.bj, "2025-06-09", "20000")
    ship(near.org.sales_bj, near.bj, "2025-06-10", "15000")
    assert CustomerBalance.objects.get(customer=near.bj).balance == M("85000")


def test_a_cash_sale_records_its_payment_and_does_not_use_credit(near):
    shipment = ship(near.org.sales_bj, near.bj, "2025-06-10", "50000", paid_now=True)
    payment = Payment.objects.get(shipment=shipment)
    assert (payment.amount, payment.method, payment.date) == (M("50000"), "cash", d("2025-06-10"))
    assert CustomerBalance.objects.get(customer=near.bj).balance == M("90000")
    assert set(
        AuditEvent.objects.filter(customer_id=near.bj.pk).values_list("action", flat=True)
    ) >= {"shipment.recorded", "payment.recorded"}


def test_without_an_approved_limit_only_cash_sales_by_default(books):
    org, tj = books.org, books.tj
    with pytest.raises(CreditLimitExceeded) as info:
        ship(org.sales_tj, tj, "2025-06-10", "0.01")
    assert info.value.detail["limit"] == "0.00"
    ship(org.sales_tj, tj, "2025-06-10", "8000", paid_now=True, payment_method="bank_transfer")
    assert CustomerBalance.objects.get(customer=tj).balance == 0


def test_limit_without_approval_policy(books):
    org, tj = books.org, books.tj
    policy_set(actor=org.admin, values={"credit.limit_without_approval": "20000"}, note="赊销")
    ship(org.sales_tj, tj, "2025-06-10", "20000")
    with pytest.raises(CreditLimitExceeded) as info:
        ship(org.sales_tj, tj, "2025-06-10", "1")
    assert info.value.detail == {
        "limit": "20000.00",
        "exposure": "20000.00",
        "amount": "1.00",
        "shortfall": "1.00",
    }


def test_open_orders_take_room_and_shipping_them_does_not_count_twice(near):
    org, bj = near.org, near.bj
    order = ledger.order_record(actor=org.sales_bj, customer_id=bj.pk, date=d("2025-06-10"),
                                amount="8000", reference="SO-1")  # fmt: skip
    with pytest.raises(CreditLimitExceeded) as info:
        ship(org.sales_bj, bj, "2025-06-10", "5000")
    assert info.value.detail["exposure"] == "98000.00"
    # shipping the order itself moves it from orders to the balance: exposure unchanged
    ship(org.sales_bj, bj, "2025-06-10", "8000", order_id=order.pk)
    balance = CustomerBalance.objects.get(customer=bj)
    assert (balance.balance, balance.open_orders) == (M("98000"), M("0"))
    order.refresh_from_db()
    assert (order.status, order.shipped_amount) == ("shipped", M("8000"))


def test_orders_in_exposure_policy_off(near):
    org, bj = near.org, near.bj
    policy_set(actor=org.admin, values={"credit.orders_in_exposure": False}, note="只计应收")
    ledger.order_record(actor=org.sales_bj, customer_id=bj.pk, date=d("2025-06-10"), amount="8000")
    ship(org.sales_bj, bj, "2025-06-10", "10000")
    assert CustomerBalance.objects.get(customer=bj).balance == M("100000")


def test_cancelling_an_order_releases_its_room(near):
    org, bj = near.org, near.bj
    order = ledger.order_record(actor=org.sales_bj, customer_id=bj.pk, date=d("2025-06-10"),
                                amount="8000")  # fmt: skip
    ledger.order_cancel(actor=org.sales_bj, order_id=order.pk, reason="客户取消")
    ship(org.sales_bj, bj, "2025-06-10", "10000")


# --- overrides -------------------------------------------------------------------------------
def _override(books, amount="15000"):
    row = services.credit_override_request(
        actor=books.org.sales_bj,
        customer_id=books.bj.pk,
        amount=amount,
        reason="年底冲量，客户承诺月底回款",
    )
    return services.credit_override_decide(
        actor=books.org.finance, override_id=row.pk, approve=True
    )


def test_an_approved_override_lets_exactly_that_one_shipment_through(near):
    org, bj = near.org, near.bj
    override = _override(near)
    shipment = ship(org.sales_bj, bj, "2025-06-10", "15000", override_id=override.pk)
    override.refresh_from_db()
    assert override.shipment_id == shipment.pk and not override.usable
    assert CustomerBalance.objects.get(customer=bj).balance == M("105000")
    with pytest.raises(OverrideNotUsable):
        ship(org.sales_bj, bj, "2025-06-10", "1000", override_id=override.pk)
    with pytest.raises(CreditLimitExceeded):
        ship(org.sales_bj, bj, "2025-06-10", "1000")
    assert (
        AuditEvent.objects.filter(
            action="credit_override.consumed", object_id=str(override.pk)
        ).count()
        == 1
    )


def test_an_override_covers_only_its_customer_and_amount(near):
    org = near.org
    override = _override(near, amount="12000")
    with pytest.raises(OverrideNotUsable):
        ship(org.sales_bj, near.bj, "2025-06-10", "15000", override_id=override.pk)
    approve_limit(org, near.tj, "1000")
    with pytest.raises(OverrideNotUsable):
        ship(org.sales_tj, near.tj, "2025-06-10", "5000", override_id=override.pk)
    override.refresh_from_db()
    assert override.usable


def test_a_pending_or_rejected_override_does_not_help(near):
    org = near.org
    row = services.credit_override_request(
        actor=org.sales_bj, customer_id=near.bj.pk, amount="15000", reason="急单"
    )
    with pytest.raises(OverrideNotUsable):
        ship(org.sales_bj, near.bj, "2025-06-10", "15000", override_id=row.pk)
    services.credit_override_decide(actor=org.gm, override_id=row.pk, approve=False, note="不批")
    with pytest.raises(OverrideNotUsable):
        ship(org.sales_bj, near.bj, "2025-06-10", "15000", override_id=row.pk)


def test_an_unneeded_override_is_kept(near):
    override = _override(near)
    ship(near.org.sales_bj, near.bj, "2025-06-10", "5000", override_id=override.pk)
    override.refresh_from_db()
    assert override.usable


def test_overrides_are_approved_by_credit_controllers_only_and_never_by_the_requester(near):
    org = near.org
    row = services.credit_override_request(
        actor=org.finance, customer_id=near.bj.pk, amount="15000", reason="财务申请"
    )
    with pytest.raises(PermissionDenied):
        services.credit_override_decide(actor=org.finance, override_id=row.pk, approve=True)
    with pytest.raises(PermissionDenied):
        services.credit_override_decide(actor=org.director, override_id=row.pk, approve=True)
    services.credit_override_decide(actor=org.gm, override_id=row.pk, approve=True)
    row.refresh_from_db()
    assert row.status == CreditOverride.Status.APPROVED


# --- warnings and investigations -------------------------------------------------------------
def test_early_warning_and_investigation_for_the_owner(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    ship(org.sales_bj, bj, "2025-06-01", "79999.99")
    assert not CreditInvestigation.objects.exists()
    assert selectors.credit_warnings(actor=org.sales_bj) == []
    ship(org.sales_bj, bj, "2025-06-02", "0.01")
    investigation = CreditInvestigation.objects.get()
    assert (investigation.kind, investigation.exposure) == ("early_warning", M("80000.00"))
    [warning] = selectors.credit_warnings(actor=org.sales_bj)
    assert (warning.state, warning.share, warning.investigation_open) == ("near", M("0.8"), True)
    assert selectors.credit_warnings(actor=org.sales_sh) == []
    ship(org.sales_bj, bj, "2025-06-03", "1000")
    assert CreditInvestigation.objects.count() == 1  # one open task per customer
    services.investigation_close(actor=org.sales_bj, investigation_id=investigation.pk,
                                 findings="客户经营正常，月底回款")  # fmt: skip
    assert CreditInvestigation.objects.get().status == "closed"


def test_warning_share_policy(books):
    org, bj = books.org, books.bj
    policy_set(actor=org.admin, values={"credit.warning_share": "0.90"}, note="90%")
    approve_limit(org, bj, "100000")
    ship(org.sales_bj, bj, "2025-06-01", "85000")
    assert selectors.credit_warnings(actor=org.gm) == []
    assert not CreditInvestigation.objects.exists()
    ship(org.sales_bj, bj, "2025-06-01", "5000")
    assert [w.state for w in selectors.credit_warnings(actor=org.gm)] == ["near"]


def test_over_the_limit_after_a_limit_cut_is_listed_and_swept(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    ship(org.sales_bj, bj, "2025-06-01", "60000")
    approve_limit(org, bj, "50000", confirm=True)
    [warning] = selectors.credit_warnings(actor=org.finance)
    assert (warning.state, warning.limit, warning.exposure) == ("over", M("50000"), M("60000"))
    assert services.credit_investigations_sweep() == 1
    assert services.credit_investigations_sweep() == 0
    assert CreditInvestigation.objects.get().kind == "over_limit"


def test_the_written_out_limit_query_agrees_with_the_orm_one(books):
    """credit_charge_shipment's hand-written subquery (limit_in_force_sql) picks the same
    limit as limit_in_force: latest effective_from, then latest decision, then latest id;
    future and unapproved limits do not count."""
    import datetime as dt

    from django.db import connection

    from guanxi.credit.models import CreditLimit

    org, customer = books.org, books.bj
    now = dt.datetime(2025, 6, 10, 2, 0, tzinfo=dt.UTC)

    def add(amount, status, effective_from, decided_at):
        return CreditLimit.objects.create(
            customer=customer, amount=M(amount), reason="t", status=status,
            proposed_by=org.finance, decided_by=org.gm, decided_at=decided_at,
            effective=CreditLimit.Effective.NOW, effective_from=effective_from,
        )  # fmt: skip

    def written_out():
        sql, params = selectors.limit_in_force_sql(customer_id=customer.pk, at=now)
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            row = cursor.fetchone()
        return None if row is None else M(str(row[0])).quantize(M("0.01"))

    def orm():
        row = selectors.limit_in_force(customer_id=customer.pk, at=now)
        return None if row is None else row.amount

    approved, proposed = CreditLimit.Status.APPROVED, CreditLimit.Status.PENDING
    day = dt.timedelta(days=1)
    assert written_out() is None and orm() is None
    add("1000", approved, now - 3 * day, now - 3 * day)
    assert written_out() == orm() == M("1000")
    add("2000", approved, now - day, now - 2 * day)
    add("3000", approved, now - day, now - 4 * day)  # same start, decided earlier
    assert written_out() == orm() == M("2000")
    add("4000", approved, now + day, now)  # not yet in force
    add("5000", proposed, now - day, None)  # not approved
    assert written_out() == orm() == M("2000")
    add("6000", approved, now - day, now - 2 * day)  # a tie: the later id wins
    assert written_out() == orm() == M("6000")


def _written(shipment):
    """What recording `shipment` wrote: the entry, its audit row, the month's sums."""
    from guanxi.ledger.models import CustomerMonth

    entry = Shipment.objects.filter(pk=shipment.pk).values().get()
    event = AuditEvent.objects.filter(object_type="ledger.shipment", object_id=str(shipment.pk))
    month = CustomerMonth.objects.get(customer_id=shipment.customer_id, month=d("2025-06-01"))
    return entry, list(event.values()), month


@pytest.mark.parametrize("paid_now", [False, True])
def test_the_charge_path_writes_what_the_locking_path_writes(books, paid_now):
    """The common case (one conditional UPDATE, on PostgreSQL one statement with the rows)
    and the locking path (first entry of a customer) write the same rows."""
    org = books.org
    for customer in (books.bj, books.tj):
        approve_limit(org, customer, "100000")
    # bj: its first entry takes the locking path; tj gets a balance row first, so its
    # shipment takes the charge path.
    pay(org.finance, books.tj, "2025-06-01", "1")
    ship(org.sales_tj, books.tj, "2025-06-01", "1")
    kwargs = {"quantity": 3, "cost": "700.50", "order_reference": "SO-1", "note": "备注",
              "paid_now": paid_now}  # fmt: skip
    locked = ship(org.sales_bj, books.bj, "2025-06-10", "1234.56", **kwargs)
    before = CustomerBalance.objects.get(customer=books.tj)
    charged = ship(org.sales_tj, books.tj, "2025-06-10", "1234.56", **kwargs)
    after = CustomerBalance.objects.get(customer=books.tj)

    assert charged.pk and locked.pk and not charged._state.adding
    entry_l, events_l, _month_l = _written(locked)
    entry_c, events_c, month_c = _written(charged)
    differs = {"id", "customer_id", "created_by_id"}
    assert {k: v for k, v in entry_c.items() if k not in differs} == {
        k: v for k, v in entry_l.items() if k not in differs
    }
    assert entry_c["created_by_id"] == org.sales_tj.pk
    assert len(events_c) == len(events_l) == 1
    differs = {"id", "object_id", "customer_id", "actor_id", "actor_name", "at"}
    assert {k: v for k, v in events_c[0].items() if k not in differs} == {
        k: v for k, v in events_l[0].items() if k not in differs
    }
    assert events_c[0]["object_id"] == str(charged.pk)
    assert events_c[0]["customer_id"] == books.tj.pk
    assert events_c[0]["changes"] == {
        "date": [None, "2025-06-10"],
        "amount": [None, "1234.56"],
        "quantity": [None, 3],
        "cost": [None, "700.50"],
        "order_reference": [None, "SO-1"],
    }
    # tj's June: the set-up shipment and payment of 1, then this one
    paid = M("1234.56") if paid_now else M(0)
    assert (month_c.shipped_amount, month_c.shipped_cost, month_c.shipped_quantity,
            month_c.shipped_count, month_c.paid_amount) == (
        M("1235.56"), M("700.50"), 3, 2, paid + 1)  # fmt: skip
    assert after.shipped_total - before.shipped_total == M("1234.56")
    assert after.balance - before.balance == M("1234.56") - paid
    assert Payment.objects.filter(shipment=charged).count() == (1 if paid_now else 0)


def test_a_refused_charge_writes_nothing(near):
    """The charge statement's rows are written only when its UPDATE returned a row."""
    from guanxi.ledger.models import CustomerMonth

    counts = (Shipment.objects.count(), AuditEvent.objects.count(), CustomerMonth.objects.count())
    month = CustomerMonth.objects.get(customer=near.bj)
    with pytest.raises(CreditLimitExceeded):
        ship(near.org.sales_bj, near.bj, "2025-06-10", "15000")
    assert (
        Shipment.objects.count(),
        AuditEvent.objects.count(),
        CustomerMonth.objects.count(),
    ) == counts
    month.refresh_from_db()
    assert month.shipped_amount == M("90000")


def test_no_order_reference_is_an_empty_one(near):
    shipment = ship(near.org.sales_bj, near.bj, "2025-06-10", "100", order_reference=None)
    assert Shipment.objects.get(pk=shipment.pk).order_reference == ""
