"""The demo ledger: history for the demo customers, late payers, customers over their
limits, an open round with an overdue approval; consistent balances; pages render."""

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.credit import selectors
from guanxi.credit.models import CreditLimit, CreditRound
from guanxi.customers.demo import seed_demo
from guanxi.ledger import analytics, recompute
from guanxi.ledger.demo import seed_ledger_demo
from guanxi.ledger.models import Payment, Shipment
from guanxi.org.models import User


@pytest.mark.django_db
def test_demo_ledger(client, clock):
    seed_demo(customers=80)
    summary = seed_ledger_demo()
    assert summary.customers > 30 and summary.shipments > 500 and summary.payments > 400
    assert summary.over_limit >= 1 and summary.limits > 20 and summary.ratings == summary.customers
    assert seed_ledger_demo().shipments == 0  # once only
    assert recompute.rebuild_balances()["drift"] == 0
    assert Shipment.objects.order_by("date").first().date.isoformat() >= "2023-12-01"
    gm = User.objects.get(username="zhaoguohua")
    warnings = selectors.credit_warnings(actor=gm)
    assert any(w.state == "over" for w in warnings)
    late = analytics.timeliness(as_of=timezone.localdate())
    assert any(t.late for t in late.values())
    credit_round = CreditRound.objects.get()
    assert credit_round.proposals == summary.drafts
    assert CreditLimit.objects.filter(status="pending").count() == 5
    assert selectors.credit_limit_list(actor=gm, overdue=True).count() == 1
    customer = Payment.objects.first().customer
    client.force_login(User.objects.get(username=customer.owner.username))
    assert client.get(reverse("customer_detail", args=[customer.pk])).status_code == 200
    client.force_login(gm)
    for name in ("credit_home", "credit_report", "credit_sales_report", "ledger_home"):
        assert client.get(reverse(name)).status_code == 200
