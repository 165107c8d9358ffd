"""The annual review cycle end to end: propose → initial ratings → adjustment → approval →
effective, with an audit entry at each step; the rules of each stage; scope."""

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import NotFound, PermissionDenied, ValidationFailed
from guanxi.customers.models import Customer
from guanxi.grading.services import grade_preview
from guanxi.policy.services import policy_set
from guanxi.reviews import selectors, services
from guanxi.reviews.errors import CycleInProgress, CycleYearTaken, WrongStage
from guanxi.reviews.models import ReviewCycle, ReviewEntry


def entry_of(cycle, customer):
    return ReviewEntry.objects.get(cycle=cycle, customer=customer)


def grades():
    return dict(Customer.objects.values_list("name", "grade"))


def actions(cycle):
    rows = AuditEvent.objects.filter(
        object_type__in=["reviews.reviewcycle", "reviews.reviewentry"]
    ).order_by("id")
    return [row.action for row in rows]


def test_a_full_cycle_takes_effect_only_at_approval(company):
    org = company.org
    Customer.objects.filter(pk=company.sh.pk).update(grade="B")
    before = grades()

    cycle = services.cycle_open(actor=org.admin)
    assert (cycle.year, str(cycle.starts_on), str(cycle.ends_on)) == (
        2026,
        "2025-12-25",
        "2025-12-30",
    )
    assert cycle.status == "open"
    expected = grade_preview(customer_ids=[c.pk for c in company.customers])
    for customer in company.customers:
        entry = entry_of(cycle, customer)
        assert entry.proposed_grade == expected[customer.pk].grade
        assert entry.proposed_score == expected[customer.pk].score
    # No ledger data: every indicator scores 0, so the engine proposes the lowest band.
    assert entry_of(cycle, company.bj1).proposed_grade == "C"
    assert entry_of(cycle, company.sh).previous_grade == "B"

    services.entry_rate(actor=org.sales_bj, entry_id=entry_of(cycle, company.bj1).pk,
                        grade="A", reason="年度订单额大幅增长，回款及时")  # fmt: skip
    services.entry_rate(actor=org.sales_tj, entry_id=entry_of(cycle, company.tj).pk,
                        grade="B", reason="合作稳定")  # fmt: skip
    progress = {
        p.name: (p.total, p.rated) for p in selectors.cycle_progress(actor=org.gm, cycle=cycle)
    }
    assert progress == {"北京分公司": (2, 1), "天津办事处": (1, 1), "上海分公司": (1, 0)}
    assert grades() == before

    services.cycle_start_review(actor=org.director, cycle_id=cycle.pk)
    services.entry_adjust(actor=org.director, entry_id=entry_of(cycle, company.tj).pk,
                          grade="C", reason="评审会议：回款逾期较多，维持C类")  # fmt: skip
    services.cycle_submit(actor=org.director, cycle_id=cycle.pk)
    assert grades() == before

    services.cycle_approve(actor=org.gm, cycle_id=cycle.pk, note="同意")
    cycle.refresh_from_db()
    assert cycle.status == "effective" and cycle.in_progress is None
    assert grades() == {
        "北京星河建材有限公司": "A",  # initial rating
        "北京远方工程有限公司": "C",  # nobody rated: the proposal
        "天津海港贸易有限公司": "C",  # adjusted in the review meeting
        "上海浦江工程有限公司": "C",  # was B, the proposal stands
    }
    assert cycle.changed == 4
    assert [e.customer.name for e in selectors.key_customers(actor=org.gm, cycle=cycle)] == [
        "北京星河建材有限公司"
    ]
    assert actions(cycle) == [
        "review_cycle.opened",
        "review_entry.rated",
        "review_entry.rated",
        "review_cycle.review_started",
        "review_entry.adjusted",
        "review_cycle.submitted",
        *["review_cycle.grade_effective"] * 4,
        "review_cycle.approved",
    ]
    history = AuditEvent.objects.get(
        action="review_cycle.grade_effective", customer_id=company.sh.pk
    )
    assert history.changes == {"grade": ["B", "C"]} and history.actor == org.gm


def test_a_salesperson_cannot_rate_other_peoples_customers_or_approve(company):
    org = company.org
    cycle = services.cycle_open(actor=org.admin)
    other = entry_of(cycle, company.tj)
    with pytest.raises(NotFound):
        services.entry_rate(actor=org.sales_bj, entry_id=other.pk, grade="A", reason="想要")
    other.refresh_from_db()
    assert other.initial_grade == "" and other.rated_by is None
    services.cycle_start_review(actor=org.director, cycle_id=cycle.pk)
    services.cycle_submit(actor=org.director, cycle_id=cycle.pk)
    for action in (services.cycle_approve, services.cycle_start_review, services.cycle_submit):
        with pytest.raises(PermissionDenied):
            action(actor=org.sales_bj, cycle_id=cycle.pk)
    with pytest.raises(PermissionDenied):
        services.entry_adjust(actor=org.sales_bj, entry_id=entry_of(cycle, company.bj1).pk,
                              grade="A", reason="x")  # fmt: skip
    cycle.refresh_from_db()
    assert cycle.status == "submitted"
    assert not AuditEvent.objects.filter(actor=org.sales_bj, action__startswith="review").exists()


def test_each_stage_allows_only_its_own_steps(company):
    org = company.org
    cycle = services.cycle_open(actor=org.admin)
    entry = entry_of(cycle, company.bj1)
    with pytest.raises(WrongStage):
        services.entry_adjust(actor=org.director, entry_id=entry.pk, grade="A", reason="x")
    with pytest.raises(WrongStage):
        services.cycle_approve(actor=org.gm, cycle_id=cycle.pk)
    services.cycle_start_review(actor=org.director, cycle_id=cycle.pk)
    with pytest.raises(WrongStage):
        services.entry_rate(actor=org.sales_bj, entry_id=entry.pk, grade="A", reason="晚了")
    services.cycle_submit(actor=org.director, cycle_id=cycle.pk)
    services.cycle_return(actor=org.gm, cycle_id=cycle.pk, note="A类名单需补充理由")
    cycle.refresh_from_db()
    assert cycle.status == "review"
    with pytest.raises(WrongStage):
        services.cycle_return(actor=org.gm, cycle_id=cycle.pk, note="再退回")
    services.cycle_submit(actor=org.director, cycle_id=cycle.pk)
    with pytest.raises(ValidationFailed) as refused:
        services.cycle_return(actor=org.gm, cycle_id=cycle.pk, note="")
    assert list(refused.value.detail) == ["note"]
    cycle.refresh_from_db()
    assert cycle.status == "submitted"


def test_ratings_need_a_known_grade_and_a_reason(company):
    org = company.org
    cycle = services.cycle_open(actor=org.admin)
    entry = entry_of(cycle, company.bj1)
    with pytest.raises(ValidationFailed) as bad_grade:
        services.entry_rate(actor=org.sales_bj, entry_id=entry.pk, grade="S", reason="好")
    assert "A、B、C" in bad_grade.value.detail["grade"][0]
    with pytest.raises(ValidationFailed) as no_reason:
        services.entry_rate(actor=org.sales_bj, entry_id=entry.pk, grade="A", reason="  ")
    assert list(no_reason.value.detail) == ["reason"]
    entry.refresh_from_db()
    assert entry.initial_grade == ""


def test_one_cycle_at_a_time_and_one_per_year(company):
    org = company.org
    cycle = services.cycle_open(actor=org.admin)
    with pytest.raises(CycleInProgress):
        services.cycle_open(actor=org.admin, year=2027)
    services.cycle_cancel(actor=org.admin, cycle_id=cycle.pk, note="数据未准备好")
    again = services.cycle_open(actor=org.admin)
    assert again.year == 2026
    services.cycle_start_review(actor=org.director, cycle_id=again.pk)
    services.cycle_submit(actor=org.director, cycle_id=again.pk)
    services.cycle_approve(actor=org.gm, cycle_id=again.pk)
    with pytest.raises(CycleYearTaken):
        services.cycle_open(actor=org.admin, year=2026)
    assert ReviewCycle.objects.count() == 2


def test_only_a_company_wide_scope_opens_or_approves(company):
    org = company.org
    with pytest.raises(PermissionDenied):
        services.cycle_open(actor=org.director)  # no permission
    with pytest.raises(PermissionDenied):
        services.cycle_open(actor=org.supervisor_north)
    assert not ReviewCycle.objects.exists()


def test_the_window_follows_the_policy(company):
    assert services.default_window()[0] == 2026
    policy_set(actor=company.org.admin, note="年初评定", values={
        "reviews.cycle_window": {"start": "03-25", "end": "03-30", "applies_to": "same_year"}
    })  # fmt: skip
    year, starts_on, ends_on = services.default_window()
    assert (year, str(starts_on), str(ends_on)) == (2026, "2026-03-25", "2026-03-30")
