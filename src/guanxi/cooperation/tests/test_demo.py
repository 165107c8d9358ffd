"""The demo cooperation history: a year of monthly updates through the real rules, dated
in the past; the director has open and closed special reviews; pages render."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from guanxi.audit.models import AuditEvent
from guanxi.cooperation.demo import seed_cooperation_demo
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview, StatusChange, UpgradeCredit
from guanxi.customers.demo import seed_demo
from guanxi.customers.models import Customer
from guanxi.org.models import User

NOW = dt.datetime(2025, 6, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.mark.django_db
def test_demo_cooperation_history(client):
    with time_machine.travel(NOW, tick=False):
        seed_demo(customers=120)
        summary = seed_cooperation_demo()
        assert summary.customers == Customer.objects.alive().count()
        assert summary.changes > 80 and summary.upgrades_counted > 10
        assert summary.reviews_open >= 1 and summary.reviews_closed >= 1
        assert seed_cooperation_demo().changes == 0  # once only

        # The customer's current value is its last change.
        for customer in Customer.objects.alive()[:40]:
            last = StatusChange.objects.filter(customer=customer).order_by("-changed_at", "-id")[0]
            assert customer.cooperation_status == last.to_status
        # Every downgrade is explained; history and audit are in the past year.
        downs = StatusChange.objects.filter(direction="down", source="monthly")
        assert not downs.filter(reason="").exists() and not downs.filter(plan="").exists()
        oldest = StatusChange.objects.order_by("changed_at").first().changed_at
        assert dt.date(2024, 6, 1) <= oldest.date() <= dt.date(2024, 6, 30)
        events = AuditEvent.objects.filter(action="cooperation.status_changed")
        assert events.count() == StatusChange.objects.count()
        assert events.order_by("at").first().at < NOW - dt.timedelta(days=300)
        assert UpgradeCredit.objects.count() == summary.upgrades_counted
        # Twelve past months are (nearly) all confirmed; this month only partly.
        june = MonthlyUpdate.objects.filter(month=dt.date(2025, 6, 1)).count()
        may = MonthlyUpdate.objects.filter(month=dt.date(2025, 5, 1)).count()
        assert 0 < june < may
        for review in SpecialReview.objects.all():
            assert review.changes.exists()

        director = User.objects.get(username="chenjing")
        client.force_login(director)
        for name in (
            "special_review_list",
            "cooperation_progress",
            "cooperation_leaderboard",
            "cooperation_statistics",
        ):
            assert client.get(reverse(name)).status_code == 200
        review = SpecialReview.objects.filter(status="open").first()
        assert client.get(reverse("special_review_detail", args=[review.pk])).status_code == 200
        customer = review.customer
        client.force_login(customer.owner)
        assert client.get(reverse("customer_detail", args=[customer.pk])).status_code == 200
        assert client.get(reverse("cooperation_monthly")).status_code == 200
