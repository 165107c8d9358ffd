"""Lifecycle rules with a controlled clock: the provisional-grade review list, elimination
candidates, A treatment on an approved application, and the growth ranking."""

import datetime as dt

import pytest
import time_machine

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import NotFound, PermissionDenied, ValidationFailed
from guanxi.core.testing import make_customer
from guanxi.customers.models import Customer
from guanxi.grading.selectors import grade_treatment
from guanxi.grading.services import grading_run
from guanxi.ledger.testing import approve_limit, ship
from guanxi.policy.services import policy_set
from guanxi.reviews import selectors, services
from guanxi.reviews.errors import ApplicationPending, WrongStage
from guanxi.reviews.models import ProvisionalReview, ReviewEntry
from guanxi.reviews.tests.conftest import NOW, SHANGHAI


def filed(org, when, name, owner=None, grade=""):
    with time_machine.travel(when, tick=False):
        customer = make_customer(owner or org.sales_bj, name=name)
    if grade:
        Customer.objects.filter(pk=customer.pk).update(grade=grade)
        customer.refresh_from_db()
    return customer


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def names(rows):
    return [c.name for c in rows]


# --- provisional grades -------------------------------------------------------------------------
def test_new_customers_are_due_for_review_six_months_after_filing(org, clock):
    filed(org, at("2025-05-01 09:00"), "早建档有限公司")
    filed(org, at("2025-06-26 18:00"), "今天到期有限公司")  # due 2025-12-26, today
    filed(org, at("2025-06-27 08:00"), "明天到期有限公司")
    filed(org, at("2025-11-01 09:00"), "新客户有限公司", owner=org.sales_tj)
    due = selectors.provisional_list(actor=org.gm)
    assert names(due) == ["早建档有限公司", "今天到期有限公司"]
    assert selectors.review_due_on(due[1]) == dt.date(2025, 12, 26)
    everything = selectors.provisional_list(actor=org.gm, due_only=False)
    assert len(everything) == 4
    assert names(selectors.provisional_list(actor=org.sales_tj, due_only=False)) == [
        "新客户有限公司"
    ]

    policy_set(actor=org.admin, note="三个月复评", values={"reviews.provisional_months": 1})
    assert len(selectors.provisional_list(actor=org.gm)) == 4


def test_a_provisional_review_confirms_the_grade_and_clears_the_list(org, clock):
    customer = filed(org, at("2025-05-01 09:00"), "早建档有限公司", grade="C")
    with pytest.raises(PermissionDenied):
        services.provisional_confirm(actor=org.sales_bj, customer_id=customer.pk, grade="B",
                                     reason="自评")  # fmt: skip
    with pytest.raises(ValidationFailed):
        services.provisional_confirm(actor=org.director, customer_id=customer.pk, grade="B",
                                     reason="")  # fmt: skip
    assert not ProvisionalReview.objects.exists()

    services.provisional_confirm(actor=org.director, customer_id=customer.pk, grade="B",
                                 reason="合作六个月，回款良好")  # fmt: skip
    customer.refresh_from_db()
    assert customer.grade == "B"
    assert not selectors.provisional_list(actor=org.gm, due_only=False).exists()
    event = AuditEvent.objects.get(action="reviews.grade_confirmed")
    assert event.customer_id == customer.pk and event.changes == {"grade": ["C", "B"]}
    with pytest.raises(WrongStage):
        services.provisional_confirm(actor=org.director, customer_id=customer.pk, grade="A",
                                     reason="再次")  # fmt: skip


def test_an_effective_annual_review_confirms_provisional_grades(org, clock):
    filed(org, at("2025-05-01 09:00"), "早建档有限公司")
    cycle = services.cycle_open(actor=org.admin)
    services.cycle_start_review(actor=org.director, cycle_id=cycle.pk)
    services.cycle_submit(actor=org.director, cycle_id=cycle.pk)
    assert selectors.provisional_list(actor=org.gm).count() == 1  # not before approval
    services.cycle_approve(actor=org.gm, cycle_id=cycle.pk)
    assert selectors.provisional_list(actor=org.gm).count() == 0
    later = filed(org, at("2025-12-27 09:00"), "评定后建档有限公司")
    with time_machine.travel(at("2026-07-01 09:00"), tick=False):
        assert names(selectors.provisional_list(actor=org.gm)) == [later.name]


# --- elimination candidates ---------------------------------------------------------------------
def test_c_customers_not_raised_within_three_years_are_candidates(org, clock):
    old = filed(org, at("2022-06-01 09:00"), "三年老C有限公司", grade="C")
    filed(org, at("2023-06-01 09:00"), "两年C有限公司", grade="C")
    filed(org, at("2022-06-01 09:00"), "老B有限公司", grade="B")
    raised = filed(org, at("2022-06-01 09:00"), "曾升B有限公司", grade="C")
    with time_machine.travel(at("2024-03-01 09:00"), tick=False):
        ProvisionalReview.objects.create(customer=raised, previous_grade="C", grade="B",
                                         reason="升级", reviewed_by=org.director,
                                         reviewed_at=at("2024-03-01 09:00"))  # fmt: skip
        grading_run(customers=[old.pk])  # the engine grades it C: no data
    Customer.objects.filter(pk=old.pk).update(grade="C")
    assert names(selectors.elimination_candidates(actor=org.gm)) == ["三年老C有限公司"]
    assert names(selectors.elimination_candidates(actor=org.sales_tj)) == []

    policy_set(actor=org.admin, note="两年", values={"reviews.elimination_years": 2})
    assert names(selectors.elimination_candidates(actor=org.gm)) == [
        "三年老C有限公司",
        "两年C有限公司",
    ]
    policy_set(actor=org.admin, note="含B", values={"reviews.elimination_grades": ["B", "C"]})
    assert "老B有限公司" in names(selectors.elimination_candidates(actor=org.gm))


def test_an_approved_review_raising_the_grade_clears_the_candidate(org, clock):
    customer = filed(org, at("2021-06-01 09:00"), "老客户有限公司", grade="C")
    with time_machine.travel(at("2023-12-26 10:00"), tick=False):
        cycle = services.cycle_open(actor=org.admin)
        entry = ReviewEntry.objects.get(cycle=cycle, customer=customer)
        services.entry_rate(actor=org.sales_bj, entry_id=entry.pk, grade="B", reason="增长")
        services.cycle_start_review(actor=org.director, cycle_id=cycle.pk)
        services.cycle_submit(actor=org.director, cycle_id=cycle.pk)
        services.cycle_approve(actor=org.gm, cycle_id=cycle.pk)
    Customer.objects.filter(pk=customer.pk).update(grade="C")  # fell back later
    assert names(selectors.elimination_candidates(actor=org.gm)) == []
    with time_machine.travel(at("2026-12-27 10:00"), tick=False):
        assert names(selectors.elimination_candidates(actor=org.gm)) == ["老客户有限公司"]


# --- A treatment on application -----------------------------------------------------------------
def test_a_b_customer_gets_a_treatment_on_an_approved_application(org, clock):
    b = filed(org, at("2025-01-01 09:00"), "高价好付款有限公司", grade="B")
    a = filed(org, at("2025-01-01 09:00"), "已是A类有限公司", grade="A")
    other = filed(org, at("2025-01-01 09:00"), "天津客户有限公司", owner=org.sales_tj, grade="C")
    assert selectors.customer_treatment(b).visit_every_months == 6

    with pytest.raises(ValidationFailed) as not_eligible:
        services.treatment_apply(actor=org.sales_bj, customer_id=a.pk, reason="想要")
    assert "customer" in not_eligible.value.detail
    with pytest.raises(NotFound):
        services.treatment_apply(actor=org.sales_bj, customer_id=other.pk, reason="想要")
    row = services.treatment_apply(actor=org.sales_bj, customer_id=b.pk,
                                   reason="订单价格高，付款及时")  # fmt: skip
    assert (row.grade, row.requested_grade, row.status) == ("B", "A", "pending")
    with pytest.raises(ApplicationPending):
        services.treatment_apply(actor=org.sales_bj, customer_id=b.pk, reason="再申请")
    with pytest.raises(PermissionDenied):
        services.treatment_decide(actor=org.sales_bj, application_id=row.pk, approve=True)
    assert selectors.customer_treatment(b).visit_every_months == 6  # nothing before approval

    services.treatment_decide(actor=org.director, application_id=row.pk, approve=True)
    row.refresh_from_db()
    assert row.valid_until == dt.date(2026, 12, 25)
    b.refresh_from_db()
    assert b.grade == "B"  # the grade stays; the treatment is raised
    assert selectors.treatment_grades([b, a]) == {b.pk: "A", a.pk: "A"}
    assert selectors.customer_treatment(b).visit_every_months == 3
    # the one selector later capabilities call, and the customer page, see it too
    assert grade_treatment(b).visit_every_months == 3
    assert grade_treatment("B").visit_every_months == 6
    with pytest.raises(ApplicationPending):
        services.treatment_apply(actor=org.sales_bj, customer_id=b.pk, reason="续期")
    with time_machine.travel(at("2026-12-26 09:00"), tick=False):
        assert selectors.customer_treatment(b).visit_every_months == 6
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="reviews.treatment")
            .order_by("id")] == ["reviews.treatment_applied", "reviews.treatment_approved"]  # fmt: skip


def test_a_rejection_needs_a_note(org, clock):
    c = filed(org, at("2025-01-01 09:00"), "C类有限公司", grade="C")
    row = services.treatment_apply(actor=org.sales_bj, customer_id=c.pk, reason="价格高")
    with pytest.raises(ValidationFailed):
        services.treatment_decide(actor=org.gm, application_id=row.pk, approve=False, note="")
    services.treatment_decide(actor=org.gm, application_id=row.pk, approve=False, note="付款一般")
    row.refresh_from_db()
    assert row.status == "rejected" and row.valid_until is None
    assert selectors.customer_treatment(c).visit_every_months == 12


# --- growth ranking -----------------------------------------------------------------------------
def test_growth_ranking_by_year_on_year_shipments(org):
    with time_machine.travel(at("2024-01-05 09:00"), tick=False):
        customers = {
            name: make_customer(owner, name=name)
            for name, owner in [
                ("翻倍有限公司", org.sales_bj),
                ("稳定有限公司", org.sales_bj),
                ("小基数有限公司", org.sales_bj),
                ("天津快增有限公司", org.sales_tj),
                ("下滑有限公司", org.sales_bj),
            ]
        }
        for customer in customers.values():
            approve_limit(org, customer, 10_000_000)
    plan = {
        "翻倍有限公司": (100_000, 300_000),
        "稳定有限公司": (50_000, 60_000),
        "小基数有限公司": (5_000, 100_000),
        "天津快增有限公司": (100_000, 500_000),
        "下滑有限公司": (80_000, 40_000),
    }
    with time_machine.travel(NOW, tick=False):
        for name, (before, after) in plan.items():
            ship(org.finance, customers[name], "2024-06-03", before)
            ship(org.finance, customers[name], "2025-06-02", after)
        ship(org.finance, customers["稳定有限公司"], "2025-12-01", 1_000_000)  # this month: not in
        ranking = selectors.growth_ranking(actor=org.gm)
        assert [(r.rank, r.name, str(r.growth)) for r in ranking] == [
            (1, "天津快增有限公司", "4.0000"),
            (2, "翻倍有限公司", "2.0000"),
            (3, "稳定有限公司", "0.2000"),
            (4, "下滑有限公司", "-0.5000"),
        ]
        assert [r.name for r in selectors.growth_ranking(actor=org.sales_bj)] == [
            "翻倍有限公司",
            "稳定有限公司",
            "下滑有限公司",
        ]
        policy_set(actor=org.admin, note="基数", values={"reviews.growth_min_base": "0"})
        assert [r.name for r in selectors.growth_ranking(actor=org.gm, limit=2)] == [
            "小基数有限公司",
            "天津快增有限公司",
        ]
