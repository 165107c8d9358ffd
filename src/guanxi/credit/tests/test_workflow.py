"""Credit limits from proposal to approval and effect, quarterly rounds, escalation of
overdue approvals, ratings and the limit formula. Policy: credit.*."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from guanxi.audit.models import AuditEvent
from guanxi.core.errors import (
    InvalidState,
    LimitBelowBalance,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from guanxi.credit import rating, selectors, services
from guanxi.credit.models import CreditLimit, CreditRating, CreditRound
from guanxi.ledger.testing import NOW, SHANGHAI, approve_limit, d, pay, ship
from guanxi.org.models import Role
from guanxi.policy import registry
from guanxi.policy.services import policy_set

M = Decimal


def actions(obj):
    return list(
        AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_proposal_approved_within_deadline_takes_effect_at_the_next_quarter(books, clock):
    org, bj = books.org, books.bj
    row = services.credit_limit_propose(
        actor=org.sales_bj, customer_id=bj.pk, amount="80000", reason="新项目开工，需提高额度"
    )
    assert (row.status, row.due_at) == ("pending", NOW + dt.timedelta(days=3))
    assert row.suggested_amount == M("0.00")  # no sales history yet
    clock.shift(dt.timedelta(days=2))
    assert not selectors.is_overdue(row)
    services.credit_limit_approve(actor=org.gm, limit_id=row.pk, effective="next_quarter")
    row.refresh_from_db()
    quarter_start = dt.datetime(2025, 7, 1, tzinfo=SHANGHAI)
    assert (row.status, row.effective_from) == ("approved", quarter_start)
    assert selectors.effective_limit(customer_id=bj.pk) == M("0.00")
    assert selectors.credit_overview(customer=bj).upcoming == row
    assert selectors.effective_limit(customer_id=bj.pk, at=quarter_start) == M("80000.00")
    clock.move_to(quarter_start)
    ship(org.sales_bj, bj, "2025-07-01", "80000")
    assert actions(row) == ["credit_limit.proposed", "credit_limit.approved"]
    approved = AuditEvent.objects.get(action="credit_limit.approved")
    assert approved.actor == org.gm and approved.customer_id == bj.pk and approved.note == ""


def test_overdue_approval_is_visible_escalated_once_and_noted_when_decided(books, clock):
    org, bj = books.org, books.bj
    org.gm.email = "gm@example.com"
    org.gm.save()
    org.director.email = "director@example.com"
    org.director.save()
    row = services.credit_limit_propose(
        actor=org.finance, customer_id=bj.pk, amount="50000", reason="季度调整"
    )
    clock.shift(dt.timedelta(days=3, seconds=1))
    assert selectors.is_overdue(row)
    assert list(selectors.credit_limit_list(actor=org.gm, overdue=True)) == [row]
    assert services.credit_approvals_escalate() == 1
    assert services.credit_approvals_escalate() == 0  # once
    row.refresh_from_db()
    assert row.escalated_at is not None
    assert "credit_limit.escalated" in actions(row)
    clock.shift(dt.timedelta(hours=5))
    services.credit_limit_approve(actor=org.gm, limit_id=row.pk, effective="now")
    approved = AuditEvent.objects.get(action="credit_limit.approved")
    assert approved.note == "审批逾期 5 小时。"
    assert actions(row) == [
        "credit_limit.proposed",
        "credit_limit.escalated",
        "credit_limit.approved",
    ]


def test_escalation_mail_goes_to_the_policy_roles(books, clock, django_capture_on_commit_callbacks):
    org = books.org
    for user, email in ((org.gm, "gm@example.com"), (org.director, "d@example.com"),
                        (org.admin, "admin@example.com")):  # fmt: skip
        user.email = email
        user.save()
    services.credit_limit_propose(
        actor=org.finance, customer_id=books.bj.pk, amount="1", reason="x"
    )
    clock.shift(dt.timedelta(days=4))
    with django_capture_on_commit_callbacks(execute=True):
        services.credit_approvals_escalate()
    assert sorted(mail.outbox[0].to) == ["d@example.com", "gm@example.com"]
    policy_set(actor=org.admin, values={"credit.escalation_roles": ["administrator"]}, note="x")
    services.credit_limit_propose(
        actor=org.finance, customer_id=books.tj.pk, amount="1", reason="x"
    )
    clock.shift(dt.timedelta(days=4))
    with django_capture_on_commit_callbacks(execute=True):
        services.credit_approvals_escalate()
    assert mail.outbox[1].to == ["admin@example.com"]


def test_approval_deadline_policy(books, clock):
    org = books.org
    policy_set(actor=org.admin, values={"credit.approval_deadline_days": 5}, note="5天")
    row = services.credit_limit_propose(
        actor=org.finance, customer_id=books.bj.pk, amount="1000", reason="x"
    )
    assert row.due_at == NOW + dt.timedelta(days=5)
    clock.shift(dt.timedelta(days=4))
    assert not selectors.is_overdue(row)


def test_only_the_general_manager_approves(books):
    org, bj = books.org, books.bj
    row = services.credit_limit_propose(
        actor=org.sales_bj, customer_id=bj.pk, amount="1000", reason="x"
    )
    for actor in (org.sales_bj, org.supervisor_north, org.director, org.finance):
        with pytest.raises(PermissionDenied):
            services.credit_limit_approve(actor=actor, limit_id=row.pk, effective="now")
        with pytest.raises((PermissionDenied, NotFound)):
            services.credit_limit_reject(actor=actor, limit_id=row.pk, note="no")
    with pytest.raises(NotFound):  # outside the data scope: as if missing
        services.credit_limit_approve(actor=org.sales_sh, limit_id=row.pk, effective="now")
    row.refresh_from_db()
    assert row.status == "pending"
    assert actions(row) == ["credit_limit.proposed"]


def test_a_general_manager_sees_only_what_the_scope_allows(books):
    org = books.org
    row = services.credit_limit_propose(
        actor=org.sales_sh, customer_id=books.sh.pk, amount="1000", reason="x"
    )
    Role.objects.filter(code="general_manager").update(data_scope="department_and_below")
    org.gm.department = org.north
    org.gm.save()
    gm = type(org.gm).objects.get(pk=org.gm.pk)
    assert list(selectors.credit_limit_list(actor=gm)) == []
    with pytest.raises(NotFound):
        selectors.credit_limit_get(actor=gm, pk=row.pk)
    with pytest.raises(NotFound):
        services.credit_limit_approve(actor=gm, limit_id=row.pk, effective="now")
    bj_row = services.credit_limit_propose(
        actor=org.sales_bj, customer_id=books.bj.pk, amount="1000", reason="x"
    )
    assert list(selectors.credit_limit_list(actor=gm)) == [bj_row]
    services.credit_limit_approve(actor=gm, limit_id=bj_row.pk, effective="now")


def test_a_limit_below_the_balance_needs_confirmation(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "100000")
    ship(org.sales_bj, bj, "2025-06-01", "60000")
    with pytest.raises(LimitBelowBalance) as info:
        services.credit_limit_propose(actor=org.finance, customer_id=bj.pk, amount="50000",
                                      reason="压缩额度")  # fmt: skip
    assert info.value.detail == {"limit": "50000.00", "balance": "60000.00"}
    assert "低于客户当前应收余额" in str(info.value.message)
    row = services.credit_limit_propose(actor=org.finance, customer_id=bj.pk, amount="50000",
                                        reason="压缩额度", confirm_below_balance=True)  # fmt: skip
    assert row.confirmed_below_balance
    with pytest.raises(LimitBelowBalance):
        services.credit_limit_approve(actor=org.gm, limit_id=row.pk, effective="now")
    services.credit_limit_approve(actor=org.gm, limit_id=row.pk, effective="now",
                                  confirm_below_balance=True)  # fmt: skip
    assert selectors.effective_limit(customer_id=bj.pk) == M("50000")


def test_an_adjusted_amount_needs_a_reason_and_one_open_proposal_per_customer(books):
    org, bj = books.org, books.bj
    with pytest.raises(ValidationFailed) as info:
        services.credit_limit_propose(actor=org.sales_bj, customer_id=bj.pk, amount="1000")
    assert "reason" in info.value.detail
    services.credit_limit_propose(actor=org.sales_bj, customer_id=bj.pk, amount="0")  # suggestion
    with pytest.raises(InvalidState):
        services.credit_limit_propose(actor=org.sales_bj, customer_id=bj.pk, amount="1", reason="x")


def test_rejection_needs_a_note_and_is_final(books):
    org = books.org
    row = services.credit_limit_propose(
        actor=org.sales_bj, customer_id=books.bj.pk, amount="1000", reason="x"
    )
    with pytest.raises(ValidationFailed):
        services.credit_limit_reject(actor=org.gm, limit_id=row.pk, note=" ")
    services.credit_limit_reject(actor=org.gm, limit_id=row.pk, note="回款记录不佳")
    with pytest.raises(InvalidState):
        services.credit_limit_approve(actor=org.gm, limit_id=row.pk, effective="now")
    assert actions(row) == ["credit_limit.proposed", "credit_limit.rejected"]


# --- rounds ----------------------------------------------------------------------------------
def _history(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "500000")
    for month in range(1, 6):
        ship(org.sales_bj, bj, f"2025-0{month}-05", "120000")
        pay(org.finance, bj, f"2025-0{month}-20", "120000")


def test_the_round_opens_in_the_last_month_with_a_draft_per_active_customer(books, clock):
    _history(books)
    org, bj = books.org, books.bj
    with time_machine.travel(dt.datetime(2025, 5, 20, 9, tzinfo=SHANGHAI), tick=False):
        with pytest.raises(InvalidState):
            services.credit_round_open(actor=org.finance)
        assert services.credit_round_open_due() is None
    credit_round = services.credit_round_open_due()
    assert (credit_round.year, credit_round.quarter, credit_round.proposals) == (2025, 3, 1)
    assert services.credit_round_open_due() is None
    with pytest.raises(InvalidState):
        services.credit_round_open(actor=org.finance)
    draft = CreditLimit.objects.get(status="draft")
    # annual 600,000 (Jan–May), recent (Mar–May) 120,000/month; terms 30; level2, all on time
    # base = 0.5 × 600,000/12 + 0.5 × 120,000 = 85,000; × (30/30 + 0.5) × 1.0 × 1.0 = 127,500
    assert (draft.customer_id, draft.amount, draft.suggestion["level"]) == (
        bj.pk,
        M("127000"),
        "level2",
    )
    assert selectors.round_is_open(credit_round)
    assert not selectors.round_is_open(credit_round, at=dt.datetime(2025, 7, 1, tzinfo=SHANGHAI))
    # the owner adjusts and submits the draft; the general manager approves for next quarter
    row = services.credit_limit_propose(
        actor=org.sales_bj, customer_id=bj.pk, amount="200000", reason="新项目"
    )
    assert (row.pk, row.status, row.round_id) == (draft.pk, "pending", credit_round.pk)
    services.credit_limit_approve(actor=org.gm, limit_id=row.pk)
    row.refresh_from_db()
    assert row.effective_from == dt.datetime(2025, 7, 1, tzinfo=SHANGHAI)
    assert AuditEvent.objects.filter(action="credit_round.opened").count() == 1


def test_round_open_day_policy(books, clock):
    org = books.org
    policy_set(actor=org.admin, values={"credit.round_open_day": 15}, note="15日")
    assert services.round_target(NOW) is None  # 10 June
    with time_machine.travel(dt.datetime(2025, 6, 15, 9, tzinfo=SHANGHAI), tick=False):
        assert services.round_target(dt.datetime(2025, 6, 15, 9, tzinfo=SHANGHAI)) == (2025, 3)
    assert services.round_target(dt.datetime(2025, 12, 20, tzinfo=SHANGHAI)) == (2026, 1)
    with pytest.raises(PermissionDenied):
        services.credit_round_open(actor=org.sales_bj)
    assert not CreditRound.objects.exists()


# --- ratings and the formula -----------------------------------------------------------------
def test_rating_explains_itself(books):
    _history(books)
    org, bj = books.org, books.bj
    row = services.credit_rate(actor=org.finance, customer_id=bj.pk)
    assert row.level == "level2"  # annual 600,000 < 1,000,000 for level1
    assert row.explanation[0].startswith("一级：近12个月出货额 ¥600,000.00 ≥ ¥1,000,000.00 ✗")
    assert row.explanation[1].endswith("→ 符合")
    assert row.explanation[-1] == "评定为二级。"
    assert row.inputs["on_time_share"] == "1.0000"
    assert selectors.credit_overview(customer=bj).level_label == "二级"
    assert AuditEvent.objects.filter(action="credit_rating.rated").count() == 1
    with pytest.raises(PermissionDenied):
        services.credit_rate(actor=org.sales_bj, customer_id=bj.pk)


def test_rating_rules_policy(books):
    _history(books)
    org = books.org
    policy_set(
        actor=org.admin,
        values={"credit.rating_rules": [{"level": "level1", "min_annual_sales": 500000}]},
        note="x",
    )
    assert services.credit_rate(actor=org.finance, customer_id=books.bj.pk).level == "level1"
    no_history = services.credit_rate(actor=org.finance, customer_id=books.tj.pk)
    assert no_history.level == "level3"


def test_rating_is_due_after_the_valid_months(books, clock):
    _history(books)
    org = books.org
    rated = services.credit_rate(actor=org.finance, customer_id=books.bj.pk)
    assert not selectors.rating_due(rated)
    assert services.credit_rate_all(only_due=True) == 0
    assert selectors.rating_due(rated, at=dt.datetime(2025, 12, 10, 9, tzinfo=SHANGHAI))
    assert not selectors.rating_due(rated, at=dt.datetime(2025, 12, 9, 9, tzinfo=SHANGHAI))
    policy_set(actor=org.admin, values={"credit.rating_valid_months": 3}, note="季度复评")
    assert selectors.rating_due(rated, at=dt.datetime(2025, 9, 10, 9, tzinfo=SHANGHAI))
    clock.move_to(dt.datetime(2025, 9, 10, 9, tzinfo=SHANGHAI))
    assert services.credit_rate_all(only_due=True) == 1
    assert CreditRating.objects.filter(customer=books.bj, rated_by=None).count() == 1


def test_limit_formula_policy(books):
    _history(books)
    org = books.org
    inputs = rating.gather_inputs(customers=[books.bj.pk], as_of=d("2025-06-10"))[books.bj.pk]
    assert rating.suggest_limit(inputs, level="level2").amount == M("127000")  # 85,000×1.5×1.0
    policy_set(
        actor=org.admin,
        values={
            "credit.limit_formula": {
                "annual_weight": "1",
                "monthly_weight": "0",
                "buffer_months": "1",
                "level_factors": {"level2": "1.0"},
                "round_to": 10000,
            }
        },
        note="x",
    )
    # 600,000/12 = 50,000 × (1 + 1) × 1.0 = 100,000
    assert rating.suggest_limit(inputs, level="level2").amount == M("100000")
    assert rating.suggest_limit(inputs, level="level3").amount == M("0")


def test_late_payers_get_a_lower_record_factor(books):
    org, bj = books.org, books.bj
    approve_limit(org, bj, "500000")
    ship(org.sales_bj, bj, "2025-01-05", "120000")
    pay(org.finance, bj, "2025-04-20", "120000")  # 75 days late
    inputs = rating.gather_inputs(customers=[bj.pk], as_of=d("2025-06-10"))[bj.pk]
    assert (inputs.on_time_share, inputs.avg_days_late) == (M("0"), M("75.0"))
    suggestion = rating.suggest_limit(inputs, level="level3")
    # base 0.5×120,000/12 = 5,000 × 1.5 × 0.5 × 0.3 = 1,125 → 1,000
    assert suggestion.amount == M("1000")
    assert "0.3000" in suggestion.steps[3]


def test_credit_levels_policy(books):
    org = books.org
    policy_set(
        actor=org.admin,
        values={"credit.levels": registry.REGISTRY["credit.levels"].example},
        note="四级",
    )
    row = services.credit_rate(actor=org.finance, customer_id=books.tj.pk)
    assert row.level == "level4"
    assert row.explanation[-1] == "以上各级条件均不满足，评定为四级。"
    assert selectors.credit_overview(customer=books.tj).level_label == "四级"
