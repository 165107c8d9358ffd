"""The cooperation status rules (MISSION §3) at their defaults and with overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.cooperation import services
from guanxi.cooperation.errors import DowngradeNeedsExplanation, StatusUnchanged
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview, StatusChange, UpgradeCredit
from guanxi.core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from guanxi.customers.models import Customer
from guanxi.policy.services import policy_set

DAY = dt.timedelta(days=1)


def change(actor, customer, status, reason="", plan=""):
    return services.status_change(
        actor=actor, customer_id=customer.pk, status=status, reason=reason, plan=plan
    )


def down(actor, customer, status):
    return change(actor, customer, status, reason="竞争对手低价切入", plan="本周拜访采购经理")


def status_of(customer):
    return Customer.objects.get(pk=customer.pk).cooperation_status


# --- ladder order, explanation -------------------------------------------------------------------
def test_initial_status_is_neither_up_nor_down(org, customers):
    result = change(org.sales_bj, customers.bj, "yellow")
    assert result.change.direction == StatusChange.Direction.INITIAL
    assert result.change.from_status == ""
    assert result.credit is None and result.review_opened is None
    assert status_of(customers.bj) == "yellow"


def test_downgrade_without_explanation_is_refused_and_nothing_is_written(org, customers):
    change(org.sales_bj, customers.bj, "green")
    events = AuditEvent.objects.count()
    with pytest.raises(DowngradeNeedsExplanation) as refused:
        change(org.sales_bj, customers.bj, "blue", reason="  ", plan="")
    assert set(refused.value.detail) == {"reason", "plan"}
    assert "书面解释" in str(refused.value.message)
    with pytest.raises(DowngradeNeedsExplanation) as half:
        change(org.sales_bj, customers.bj, "blue", reason="客户摇摆")
    assert set(half.value.detail) == {"plan"}
    assert status_of(customers.bj) == "green"
    assert StatusChange.objects.filter(customer=customers.bj).count() == 1
    assert AuditEvent.objects.count() == events


def test_downgrade_with_explanation_is_kept_with_reason_plan_and_audit(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    result = down(org.sales_bj, customers.bj, "blue")
    row = result.change
    assert (row.from_status, row.to_status, row.direction, row.levels) == (
        "green",
        "blue",
        "down",
        1,
    )
    assert row.reason == "竞争对手低价切入" and row.plan == "本周拜访采购经理"
    assert row.changed_by == org.sales_bj and row.owner == org.sales_bj
    assert row.source == StatusChange.Source.MANUAL
    assert status_of(customers.bj) == "blue"
    event = AuditEvent.objects.filter(action="cooperation.status_changed").latest("id")
    assert event.customer_id == customers.bj.pk
    assert event.changes == {"cooperation_status": ["合作良好", "维持良好"]}
    assert "竞争对手低价切入" in event.note
    assert SpecialReview.objects.count() == 0  # one level: explanation only


def test_upgrade_needs_no_explanation(org, customers, clock):
    change(org.sales_bj, customers.bj, "yellow")
    clock.shift(DAY)
    assert change(org.sales_bj, customers.bj, "blue").change.direction == "up"


def test_unknown_status_and_unchanged_status(org, customers):
    with pytest.raises(ValidationFailed) as unknown:
        change(org.sales_bj, customers.bj, "purple")
    assert "status" in unknown.value.detail
    change(org.sales_bj, customers.bj, "blue")
    with pytest.raises(StatusUnchanged):
        change(org.sales_bj, customers.bj, "blue")


# --- special reviews -----------------------------------------------------------------------------
def test_green_yellow_white_within_window_opens_exactly_one_review(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    clock.shift(10 * DAY)
    first = down(org.sales_bj, customers.bj, "yellow")
    clock.shift(30 * DAY)
    second = down(org.sales_bj, customers.bj, "white")
    reviews = SpecialReview.objects.filter(customer=customers.bj)
    assert reviews.count() == 1
    review = reviews.get()
    assert first.review_opened == review and second.review_opened is None
    assert review.trigger == SpecialReview.Trigger.AT_ONCE
    assert (review.from_status, review.to_status, review.levels) == ("green", "yellow", 2)
    assert set(review.changes.values_list("to_status", flat=True)) == {"yellow", "white"}
    assert review.owner == org.sales_bj and review.status == "open"
    assert AuditEvent.objects.filter(action="special_review.opened").count() == 1


def test_two_single_drops_within_the_window_open_a_review(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    down(org.sales_bj, customers.bj, "blue")
    assert SpecialReview.objects.count() == 0
    clock.shift(60 * DAY)
    result = down(org.sales_bj, customers.bj, "yellow")
    review = result.review_opened
    assert review is not None and review.trigger == SpecialReview.Trigger.IN_WINDOW
    assert (review.from_status, review.to_status, review.levels) == ("green", "yellow", 2)


def test_single_drops_further_apart_than_the_window_do_not(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    down(org.sales_bj, customers.bj, "blue")
    clock.shift(91 * DAY)  # default window: 90 days
    assert down(org.sales_bj, customers.bj, "yellow").review_opened is None
    assert SpecialReview.objects.count() == 0


def test_window_is_policy(org, customers, clock):
    policy_set(actor=org.admin, values={"cooperation.special_review_window_days": 30}, note="")
    change(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    down(org.sales_bj, customers.bj, "blue")
    clock.shift(31 * DAY)
    assert down(org.sales_bj, customers.bj, "yellow").review_opened is None


def test_straight_to_white_or_black_opens_a_review(org, customers, clock):
    change(org.sales_bj, customers.bj, "yellow")
    change(org.sales_bj, customers.bj2, "white")
    clock.shift(DAY)
    assert down(org.sales_bj, customers.bj, "white").review_opened.trigger == "to_status"
    assert down(org.sales_bj, customers.bj2, "black").review_opened.trigger == "to_status"


def test_review_levels_and_statuses_are_policy(org, customers, clock):
    policy_set(
        actor=org.admin,
        values={
            "cooperation.special_review_drop_levels": 3,
            "cooperation.special_review_statuses": ["black"],
        },
        note="",
    )
    change(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    assert down(org.sales_bj, customers.bj, "yellow").review_opened is None  # 2 < 3
    clock.shift(DAY)
    assert down(org.sales_bj, customers.bj, "white").review_opened.trigger == "in_window"


def test_drops_before_a_closed_review_are_not_counted_again(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    review = down(org.sales_bj, customers.bj, "yellow").review_opened
    clock.shift(DAY)
    services.special_review_decide(
        actor=org.director, review_id=review.pk, outcome="加强沟通", close=True
    )
    clock.shift(DAY)
    change(org.sales_bj, customers.bj, "blue")
    clock.shift(DAY)
    # blue → yellow is one level; the green before the review does not count again.
    assert down(org.sales_bj, customers.bj, "yellow").review_opened is None
    clock.shift(DAY)
    # ... but a new fall to white opens a new review once the first one is closed.
    assert down(org.sales_bj, customers.bj, "white").review_opened is not None
    assert SpecialReview.objects.filter(customer=customers.bj).count() == 2


# --- upgrades ------------------------------------------------------------------------------------
def test_upgrades_are_counted_once_per_customer_and_period(org, customers, clock):
    change(org.sales_bj, customers.bj, "yellow")
    clock.shift(DAY)
    first = change(org.sales_bj, customers.bj, "blue")
    clock.shift(DAY)
    second = change(org.sales_bj, customers.bj, "green")
    assert first.credit is not None and second.credit is None
    credit = UpgradeCredit.objects.get()
    assert (credit.owner, credit.customer, credit.period) == (org.sales_bj, customers.bj, "month")
    assert credit.period_start == dt.date(2025, 6, 1)
    assert credit.baseline_status == "yellow"


def test_bouncing_down_and_up_does_not_score(org, customers, clock):
    change(org.sales_bj, customers.bj, "blue")
    clock.shift(25 * DAY)  # July
    down(org.sales_bj, customers.bj, "yellow")
    clock.shift(DAY)
    assert change(org.sales_bj, customers.bj, "blue").credit is None  # back to July's start
    clock.shift(DAY)
    down(org.sales_bj, customers.bj, "yellow")
    clock.shift(DAY)
    assert change(org.sales_bj, customers.bj, "blue").credit is None
    clock.shift(DAY)
    assert change(org.sales_bj, customers.bj, "green").credit is not None  # above blue
    assert UpgradeCredit.objects.count() == 1


def test_a_new_period_counts_again(org, customers, clock):
    change(org.sales_bj, customers.bj, "white")
    clock.shift(DAY)
    assert change(org.sales_bj, customers.bj, "yellow").credit is not None
    clock.shift(30 * DAY)  # July
    assert change(org.sales_bj, customers.bj, "blue").credit is not None
    assert UpgradeCredit.objects.count() == 2


def test_upgrade_period_is_policy(org, customers, clock):
    policy_set(actor=org.admin, values={"cooperation.upgrade_period": "quarter"}, note="")
    change(org.sales_bj, customers.bj, "white")
    clock.shift(DAY)
    assert change(org.sales_bj, customers.bj, "yellow").credit.period_start == dt.date(2025, 4, 1)
    clock.shift(15 * DAY)  # still Q2, now 26 June
    assert change(org.sales_bj, customers.bj, "blue").credit is None
    clock.shift(10 * DAY)  # Q3
    assert change(org.sales_bj, customers.bj, "green").credit.period_start == dt.date(2025, 7, 1)


def test_upgrade_counts_for_each_owner(org, customers, clock):
    change(org.sales_bj, customers.bj, "yellow")
    clock.shift(DAY)
    change(org.sales_bj, customers.bj, "blue")
    Customer.objects.filter(pk=customers.bj.pk).update(owner=org.supervisor_north)
    clock.shift(DAY)
    down(org.supervisor_north, customers.bj, "yellow")
    clock.shift(DAY)
    # The new owner lifts it above June's start (yellow)? No: back to yellow → blue only.
    assert change(org.supervisor_north, customers.bj, "blue").credit is not None
    assert set(UpgradeCredit.objects.values_list("owner", flat=True)) == {
        org.sales_bj.pk,
        org.supervisor_north.pk,
    }


# --- scope and permission ------------------------------------------------------------------------
def test_out_of_scope_is_not_found_and_no_permission_is_denied(org, customers):
    with pytest.raises(NotFound):
        change(org.sales_tj, customers.bj, "green")
    with pytest.raises(NotFound):
        change(org.sales_bj, customers.sh, "green")
    with pytest.raises(PermissionDenied):
        change(org.finance, customers.bj, "green")  # sees every customer, may not change
    with pytest.raises(PermissionDenied):
        change(org.service, customers.bj, "green")
    change(org.supervisor_north, customers.tj, "green")  # department and below
    assert status_of(customers.bj) == "" and status_of(customers.tj) == "green"


# --- the monthly update --------------------------------------------------------------------------
def test_monthly_update_confirms_unchanged_and_changes_the_rest(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    change(org.sales_bj, customers.bj2, "blue")
    clock.shift(DAY)
    result = services.monthly_update_submit(
        actor=org.sales_bj,
        entries=[
            {"customer": customers.bj.pk, "status": "green"},
            {"customer": customers.bj2.pk, "status": "yellow", "reason": "停工", "plan": "拜访"},
        ],
    )
    assert result.month == dt.date(2025, 6, 1) and result.confirmed == 2
    rows = {m.customer_id: m for m in MonthlyUpdate.objects.all()}
    assert rows[customers.bj.pk].status == "green" and rows[customers.bj.pk].change is None
    assert rows[customers.bj2.pk].change.source == "monthly"
    assert status_of(customers.bj2) == "yellow"
    assert AuditEvent.objects.filter(action="cooperation.monthly_confirmed").count() == 1


def test_monthly_update_is_all_or_nothing(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    change(org.sales_bj, customers.bj2, "green")
    with pytest.raises(DowngradeNeedsExplanation) as refused:
        services.monthly_update_submit(
            actor=org.sales_bj,
            entries=[
                {"customer": customers.bj.pk, "status": "white", "reason": "x", "plan": "y"},
                {"customer": customers.bj2.pk, "status": "blue"},
            ],
        )
    assert refused.value.detail["entries"][0] == {}
    assert set(refused.value.detail["entries"][1]) == {"reason", "plan"}
    assert MonthlyUpdate.objects.count() == 0
    assert status_of(customers.bj) == "green"
    assert SpecialReview.objects.count() == 0


def test_monthly_update_only_own_customers(org, customers):
    with pytest.raises(ValidationFailed) as refused:
        services.monthly_update_submit(
            actor=org.sales_bj, entries=[{"customer": customers.tj.pk, "status": "green"}]
        )
    assert "customer" in refused.value.detail["entries"][0]
    with pytest.raises(PermissionDenied):
        services.monthly_update_submit(
            actor=org.finance, entries=[{"customer": customers.bj.pk, "status": "green"}]
        )


# --- bulk ----------------------------------------------------------------------------------------
def test_status_record_many_writes_history_in_bulk_without_rules(org, customers):
    change(org.sales_bj, customers.bj, "green")
    written = services.status_record_many(
        actor=org.supervisor_north,
        statuses={customers.bj.pk: "black", customers.bj2.pk: "blue", customers.tj.pk: "blue"},
    )
    assert written == 3
    assert status_of(customers.bj) == "black"
    assert SpecialReview.objects.count() == 0  # no judgement in an import
    row = StatusChange.objects.get(customer=customers.bj, source="import")
    assert (row.from_status, row.direction, row.levels) == ("green", "down", 4)
    assert AuditEvent.objects.filter(
        action="cooperation.status_changed", customer_id=customers.bj2.pk
    ).exists()
    with pytest.raises(ValidationFailed):
        services.status_record_many(actor=org.admin, statuses={customers.bj.pk: "purple"})
    with pytest.raises(NotFound):
        services.status_record_many(actor=org.sales_bj, statuses={customers.sh.pk: "blue"})
    assert status_of(customers.sh) == ""


# --- the director's special review ---------------------------------------------------------------
@pytest.fixture
def review(org, customers, clock):
    change(org.sales_bj, customers.bj, "green")
    clock.shift(DAY)
    return down(org.sales_bj, customers.bj, "white").review_opened


def test_director_records_outcome_reassigns_and_closes(org, customers, review, clock):
    clock.shift(DAY)
    services.special_review_decide(
        actor=org.director,
        review_id=review.pk,
        outcome="客户对交期不满，更换负责人跟进",
        meeting_on=dt.date(2025, 6, 11),
        new_owner=org.sales_tj.pk,
    )
    review.refresh_from_db()
    assert review.status == "open" and review.outcome_by == org.director
    assert review.new_owner == org.sales_tj
    assert Customer.objects.get(pk=customers.bj.pk).owner == org.sales_tj
    services.special_review_close(actor=org.director, review_id=review.pk)
    review.refresh_from_db()
    assert review.status == "closed" and review.closed_by == org.director
    actions = list(
        AuditEvent.objects.filter(customer_id=customers.bj.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    for expected in (
        "special_review.opened",
        "special_review.outcome_recorded",
        "customer.updated",
        "special_review.owner_reassigned",
        "special_review.closed",
    ):
        assert expected in actions
    with pytest.raises(InvalidState):
        services.special_review_close(actor=org.director, review_id=review.pk)


def test_review_needs_an_outcome_and_a_deciding_role(org, review):
    with pytest.raises(ValidationFailed):
        services.special_review_close(actor=org.director, review_id=review.pk)
    with pytest.raises(ValidationFailed) as empty:
        services.special_review_decide(actor=org.director, review_id=review.pk, outcome=" ")
    assert "outcome" in empty.value.detail
    with pytest.raises(PermissionDenied):
        services.special_review_decide(actor=org.supervisor_north, review_id=review.pk, outcome="x")
    with pytest.raises(NotFound):
        services.special_review_decide(actor=org.sales_sh, review_id=review.pk, outcome="x")
    with pytest.raises(NotFound):
        services.special_review_decide(actor=org.director, review_id="abc", outcome="x")


def test_failed_reassignment_writes_nothing(org, customers, review):
    with pytest.raises(ValidationFailed) as refused:
        services.special_review_decide(
            actor=org.director, review_id=review.pk, outcome="x", new_owner=99999
        )
    assert "new_owner" in refused.value.detail
    review.refresh_from_db()
    assert review.outcome == "" and review.new_owner is None


def test_database_allows_one_open_review_per_customer(org, review):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SpecialReview.objects.create(
            customer=review.customer, trigger="at_once", to_status="white", owner=org.sales_bj
        )
