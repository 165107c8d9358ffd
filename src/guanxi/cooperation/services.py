"""Every write of the cooperation status (MISSION §3). Policy: cooperation.ladder and
cooperation.* (docs/policies.md).

- status_change: one customer's status, by hand (page, API) or by a special review.
  The ladder order decides up or down; a downgrade needs a written explanation and a
  follow-up plan; a drop of cooperation.special_review_drop_levels (at once or within
  cooperation.special_review_window_days) or to a status in
  cooperation.special_review_statuses opens a special review, unless one is open already
  (then the change joins it); an upgrade above the status the period began with is
  counted once per owner, customer and period (cooperation.upgrade_period).
- monthly_update_submit: the owner confirms this month's status of each of their
  customers (changed or not), all or nothing.
- status_record_many: bulk initial statuses (imports): history rows in bulk, no downgrade
  rule, no special reviews, no upgrade credits.
- special_review_decide / special_review_close: the sales director's meeting outcome,
  optional owner reassignment (through customers.services.customer_update), closing.

Customer.cooperation_status is the current value; only these services write it. Each
write locks the customer row, saves, and records the audit row in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.cooperation.errors import DowngradeNeedsExplanation, StatusUnchanged
from guanxi.cooperation.ladder import Ladder, ladder_at, local_midnight, month_start, period_start
from guanxi.cooperation.models import MonthlyUpdate, SpecialReview, StatusChange, UpgradeCredit
from guanxi.core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from guanxi.core.ids import parse_id
from guanxi.customers.models import Customer
from guanxi.org.scopes import CHANGE, VIEW

CHANGE_PERMISSION = "cooperation.add_statuschange"
MONTHLY_PERMISSION = "cooperation.add_monthlyupdate"
DECIDE_PERMISSION = "cooperation.decide_specialreview"
TEXT_MAX = 2000


@dataclass
class ChangeResult:
    change: StatusChange
    review_opened: SpecialReview | None = None
    credit: UpgradeCredit | None = None


# --- rules -----------------------------------------------------------------------------------
def _direction(ladder: Ladder, old: str, new: str) -> tuple[str, int]:
    old_index, new_index = ladder.index(old), ladder.index(new)
    if old_index is None or new_index is None:
        return StatusChange.Direction.INITIAL, 0
    if new_index > old_index:
        return StatusChange.Direction.DOWN, new_index - old_index
    return StatusChange.Direction.UP, old_index - new_index


@dataclass
class Check:
    """Field errors of a proposed change; `unexplained`: the only problem is a downgrade
    without its written explanation and follow-up plan."""

    errors: dict[str, list[str]]
    unexplained: bool = False


def _check(ladder: Ladder, old: str, new: str, reason: str, plan: str) -> Check:
    if new not in ladder:
        return Check({"status": [_("“%(code)s”不是公司策略中的合作状态。") % {"code": new}]})
    errors: dict[str, list[str]] = {}
    for name, value in (("reason", reason), ("plan", plan)):
        if len(value) > TEXT_MAX:
            errors[name] = [_("最多 %(n)d 个字。") % {"n": TEXT_MAX}]
    if errors:
        return Check(errors)
    direction, _levels = _direction(ladder, old, new)
    if direction == StatusChange.Direction.DOWN:
        if not reason:
            errors["reason"] = [_("降级必须填写书面解释（原因）。")]
        if not plan:
            errors["plan"] = [_("降级必须填写后期解决办法（跟进计划）。")]
    return Check(errors, unexplained=bool(errors))


def _refusal(checks: list[Check], detail: dict[str, Any]) -> ValidationFailed:
    """downgrade_needs_explanation when that is all that is wrong, else invalid."""
    failed = [check for check in checks if check.errors]
    if all(check.unexplained for check in failed):
        return DowngradeNeedsExplanation(detail=detail)
    return ValidationFailed(detail=detail)


def _best_recent_index(
    customer: Customer, ladder: Ladder, change: StatusChange, at: dt.datetime
) -> tuple[int | None, str]:
    """Best (lowest-index) status the customer held within the window before `at`, not
    looking past the last special review (its drops were reviewed already)."""
    window = policy.get("cooperation.special_review_window_days", at=at)
    since = at - dt.timedelta(days=window)
    last = (
        SpecialReview.objects.filter(customer=customer, opened_at__lte=at)
        .order_by("-opened_at", "-id")
        .first()
    )
    if last is not None and last.opened_at > since:
        since = last.opened_at
    history = StatusChange.objects.filter(customer=customer).exclude(pk=change.pk)
    prior = history.filter(changed_at__lte=since).order_by("-changed_at", "-id").first()
    codes = [prior.to_status] if prior is not None else []
    for old, new in history.filter(changed_at__gt=since, changed_at__lte=at).values_list(
        "from_status", "to_status"
    ):
        codes.extend([old, new])
    codes.append(change.from_status)  # held until this very change
    known = [(ladder.index(code), code) for code in codes if ladder.index(code) is not None]
    if not known:
        return None, ""
    return min(known)


def _special_review_check(
    actor: Any, customer: Customer, ladder: Ladder, change: StatusChange, at: dt.datetime
) -> SpecialReview | None:
    """Open a special review when the downgrade `change` calls for one (or join the open
    one). Returns the review opened now, if any."""
    open_review = SpecialReview.objects.filter(
        customer=customer, status=SpecialReview.Status.OPEN
    ).first()
    threshold = policy.get("cooperation.special_review_drop_levels", at=at)
    bottom = policy.get("cooperation.special_review_statuses", at=at)
    new_index = ladder.index(change.to_status)
    trigger, baseline, levels = None, change.from_status, change.levels
    if change.levels >= threshold:
        trigger = SpecialReview.Trigger.AT_ONCE
    elif change.to_status in bottom:
        trigger = SpecialReview.Trigger.TO_STATUS
    else:
        best, code = _best_recent_index(customer, ladder, change, at)
        if best is not None and new_index is not None and new_index - best >= threshold:
            trigger, baseline, levels = SpecialReview.Trigger.IN_WINDOW, code, new_index - best
    if trigger is None:
        return None
    if open_review is not None:
        change.special_review = open_review
        change.save(update_fields=["special_review"])
        return None
    review = SpecialReview.objects.create(
        customer=customer,
        trigger=trigger,
        from_status=baseline,
        to_status=change.to_status,
        levels=levels,
        owner_id=customer.owner_id,
        opened_at=at,
        policy_version=policy.version_at(at),
    )
    change.special_review = review
    change.save(update_fields=["special_review"])
    audit.record(
        actor=actor,
        action="special_review.opened",
        obj=review,
        changes={
            "trigger": [None, str(review.get_trigger_display())],
            "cooperation_status": [ladder.label(baseline) or None, ladder.label(review.to_status)],
        },
    )
    return review


def _status_at_period_start(customer: Customer, change: StatusChange, start: dt.datetime) -> str:
    history = StatusChange.objects.filter(customer=customer)
    prior = (
        history.filter(changed_at__lt=start).exclude(pk=change.pk).order_by("-changed_at", "-id")
    ).first()
    if prior is not None:
        return prior.to_status
    first = history.filter(changed_at__gte=start).order_by("changed_at", "id").first() or change
    return first.from_status or first.to_status


def _upgrade_credit(
    customer: Customer, ladder: Ladder, change: StatusChange, at: dt.datetime
) -> UpgradeCredit | None:
    """Count the upgrade once per owner, customer and period, and only when it lifts the
    customer above the status the period began with (a bounce down and up is not an
    upgrade)."""
    period = policy.get("cooperation.upgrade_period", at=at)
    start = period_start(period, timezone.localdate(at))
    owner_id = customer.owner_id
    if UpgradeCredit.objects.filter(
        owner_id=owner_id, customer=customer, period=period, period_start=start
    ).exists():
        return None
    baseline = _status_at_period_start(customer, change, local_midnight(start))
    base_index, new_index = ladder.index(baseline), ladder.index(change.to_status)
    if base_index is None or new_index is None or new_index >= base_index:
        return None
    return UpgradeCredit.objects.create(
        owner_id=owner_id,
        customer=customer,
        period=period,
        period_start=start,
        change=change,
        baseline_status=baseline,
        to_status=change.to_status,
        created_at=at,
    )


def _apply(
    *,
    actor: Any,
    customer: Customer,
    ladder: Ladder,
    status: str,
    reason: str,
    plan: str,
    source: str,
    at: dt.datetime,
) -> ChangeResult:
    """Make the change on a locked customer, after _check passed."""
    old = customer.cooperation_status
    direction, levels = _direction(ladder, old, status)
    change = StatusChange.objects.create(
        customer=customer,
        from_status=old,
        to_status=status,
        direction=direction,
        levels=levels,
        reason=reason,
        plan=plan,
        source=source,
        owner_id=customer.owner_id,
        changed_by=actor,
        changed_at=at,
        policy_version=policy.version_at(at),
    )
    Customer.objects.filter(pk=customer.pk).update(cooperation_status=status)
    customer.cooperation_status = status
    result = ChangeResult(change=change)
    changes: dict[str, Any] = {
        "cooperation_status": [ladder.label(old) or None, ladder.label(status)]
    }
    if direction == StatusChange.Direction.DOWN:
        result.review_opened = _special_review_check(actor, customer, ladder, change, at)
    elif direction == StatusChange.Direction.UP:
        result.credit = _upgrade_credit(customer, ladder, change, at)
        if result.credit is not None:
            changes["upgrade_counted"] = [None, True]
    audit.record(
        actor=actor,
        action="cooperation.status_changed",
        obj=change,
        changes=changes,
        note=" / ".join(part for part in (reason, plan) if part),
    )
    return result


def _fetch_for_change(actor: Any, customer_id: Any, permission: str) -> Customer:
    """404 unless the actor sees the customer, 403 without the permission or when they may
    see but not change it; the returned row is locked."""
    pk = parse_id(customer_id)
    if pk is None or not Customer.objects.visible_to(actor, VIEW).alive().filter(pk=pk).exists():
        raise NotFound()
    if not actor.has_perm(permission):
        raise PermissionDenied()
    customer = (
        Customer.objects.visible_to(actor, CHANGE).alive().select_for_update().filter(pk=pk).first()
    )
    if customer is None:
        raise PermissionDenied(_("您可以查看该客户，但不能修改它的合作状态。"))
    return customer


# --- one change --------------------------------------------------------------------------------
@transaction.atomic
def status_change(
    *,
    actor: Any,
    customer_id: Any,
    status: str,
    reason: str = "",
    plan: str = "",
    source: str = StatusChange.Source.MANUAL,
) -> ChangeResult:
    """Change one customer's cooperation status (合作状态). Policy: cooperation.ladder,
    cooperation.special_review_*, cooperation.upgrade_period."""
    customer = _fetch_for_change(actor, customer_id, CHANGE_PERMISSION)
    at = timezone.now()
    ladder = ladder_at(at)
    status, reason, plan = (status or "").strip(), (reason or "").strip(), (plan or "").strip()
    check = _check(ladder, customer.cooperation_status, status, reason, plan)
    if check.errors:
        raise _refusal([check], check.errors)
    if status == customer.cooperation_status:
        raise StatusUnchanged()
    return _apply(
        actor=actor,
        customer=customer,
        ladder=ladder,
        status=status,
        reason=reason,
        plan=plan,
        source=source,
        at=at,
    )


# --- the monthly update ------------------------------------------------------------------------
@dataclass
class MonthlyResult:
    month: dt.date
    confirmed: int
    changed: list[ChangeResult]


@transaction.atomic
def monthly_update_submit(*, actor: Any, entries: list[dict[str, Any]]) -> MonthlyResult:
    """The owner confirms this month's cooperation status of their customers: each entry
    {customer, status, reason, plan}; an unchanged status is confirmed as it is, a changed
    one goes through the same rules as status_change. All entries or none: the errors come
    back aligned with the entries (detail["entries"]). Policy: cooperation.*."""
    if not actor.has_perm(MONTHLY_PERMISSION):
        raise PermissionDenied()
    at = timezone.now()
    month = month_start(timezone.localdate(at))
    ladder = ladder_at(at)
    ids = [parse_id(entry.get("customer")) for entry in entries]
    customers = {
        c.pk: c
        for c in Customer.objects.visible_to(actor, CHANGE)
        .alive()
        .filter(owner=actor, pk__in=[pk for pk in ids if pk])
        .select_for_update()
        .order_by("pk")
    }
    if not entries:
        raise ValidationFailed(detail={"entries": [_("没有要确认的客户。")]})
    checks: list[Check] = []
    plan_rows: list[tuple[Customer, str, str, str]] = []
    seen: set[int] = set()
    for pk, entry in zip(ids, entries, strict=True):
        customer = customers.get(pk) if pk else None
        if customer is None:
            checks.append(Check({"customer": [_("不是您负责的客户，或客户不存在。")]}))
            continue
        if pk in seen:
            checks.append(Check({"customer": [_("同一客户只能提交一次。")]}))
            continue
        seen.add(pk)
        status = str(entry.get("status") or "").strip()
        reason = str(entry.get("reason") or "").strip()
        plan = str(entry.get("plan") or "").strip()
        checks.append(_check(ladder, customer.cooperation_status, status, reason, plan))
        plan_rows.append((customer, status, reason, plan))
    if any(check.errors for check in checks):
        raise _refusal(checks, {"entries": [check.errors for check in checks]})
    changed = []
    for customer, status, reason, plan in plan_rows:
        change = None
        if status != customer.cooperation_status:
            result = _apply(
                actor=actor,
                customer=customer,
                ladder=ladder,
                status=status,
                reason=reason,
                plan=plan,
                source=StatusChange.Source.MONTHLY,
                at=at,
            )
            changed.append(result)
            change = result.change
        row, created = MonthlyUpdate.objects.get_or_create(
            customer=customer,
            month=month,
            defaults={"status": status, "change": change, "owner": actor, "confirmed_at": at},
        )
        if not created:
            row.status, row.owner, row.confirmed_at = status, actor, at
            row.change = change or row.change
            row.save(update_fields=["status", "owner", "confirmed_at", "change"])
    audit.record(
        actor=actor,
        action="cooperation.monthly_confirmed",
        object_type="cooperation.monthlyupdate",
        changes={"month": [None, f"{month:%Y-%m}"], "count": [None, len(plan_rows)]},
    )
    return MonthlyResult(month=month, confirmed=len(plan_rows), changed=changed)


# --- bulk initial statuses (imports) -----------------------------------------------------------
@transaction.atomic
def status_record_many(
    *,
    actor: Any,
    statuses: dict[int, str],
    source: str = StatusChange.Source.IMPORT,
    reason: str = "",
) -> int:
    """Set many customers' statuses at once (e.g. the 合作状态 column of an import) and
    write their history rows in bulk. No downgrade explanation, no special reviews and no
    upgrade credits: this records a state, it is not an owner's judgement. Customers must
    be in the actor's change scope; unknown codes are refused. Returns the rows written."""
    at = timezone.now()
    ladder = ladder_at(at)
    bad = {pk: code for pk, code in statuses.items() if code not in ladder}
    if bad:
        raise ValidationFailed(
            detail={
                "status": [
                    _("“%(code)s”不是公司策略中的合作状态。") % {"code": c}
                    for c in set(bad.values())
                ]
            }
        )
    version = policy.version_at(at)
    note = " / ".join(part for part in (str(StatusChange.Source(source).label), reason) if part)
    written = 0
    ids = sorted(statuses)
    for offset in range(0, len(ids), 2000):
        chunk = ids[offset : offset + 2000]
        customers = list(
            Customer.objects.visible_to(actor, CHANGE)
            .alive()
            .filter(pk__in=chunk)
            .select_for_update()
            .order_by("pk")
            .only("pk", "owner_id", "cooperation_status")
        )
        if len(customers) != len(chunk):
            raise NotFound()
        rows, groups = [], {}
        for customer in customers:
            new = statuses[customer.pk]
            if new == customer.cooperation_status:
                continue
            direction, levels = _direction(ladder, customer.cooperation_status, new)
            rows.append(
                StatusChange(
                    customer_id=customer.pk,
                    from_status=customer.cooperation_status,
                    to_status=new,
                    direction=direction,
                    levels=levels,
                    reason=reason,
                    source=source,
                    owner_id=customer.owner_id,
                    changed_by=actor,
                    changed_at=at,
                    policy_version=version,
                )
            )
            groups.setdefault(new, []).append(customer.pk)
        StatusChange.objects.bulk_create(rows, batch_size=1000)
        for code, pks in groups.items():
            Customer.objects.filter(pk__in=pks).update(cooperation_status=code)
        # One history row per customer, in bulk like the changes themselves.
        audit.record_many(
            [
                audit.build(
                    actor=actor,
                    action="cooperation.status_changed",
                    obj=row,
                    changes={
                        "cooperation_status": [
                            ladder.label(row.from_status) or None,
                            ladder.label(row.to_status),
                        ]
                    },
                    note=note,
                )
                for row in rows
            ]
        )
        written += len(rows)
    return written


# --- special reviews ---------------------------------------------------------------------------
def _locked_review(actor: Any, review_id: Any) -> SpecialReview:
    pk = parse_id(review_id)
    review = SpecialReview.objects.visible_to(actor, VIEW).filter(pk=pk).first() if pk else None
    if review is None:
        raise NotFound()
    if not actor.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied()
    review = (
        SpecialReview.objects.visible_to(actor, CHANGE)
        .select_for_update()
        .select_related("customer", "customer__owner")
        .filter(pk=pk)
        .first()
    )
    if review is None:
        raise PermissionDenied()
    if review.status != SpecialReview.Status.OPEN:
        raise InvalidState(_("该专题评审已经结束。"))
    return review


def _close(actor: Any, review: SpecialReview, at: dt.datetime) -> None:
    review.status = SpecialReview.Status.CLOSED
    review.closed_by, review.closed_at = actor, at
    review.save(update_fields=["status", "closed_by", "closed_at"])
    audit.record(
        actor=actor,
        action="special_review.closed",
        obj=review,
        changes={
            "status": [str(SpecialReview.Status.OPEN.label), str(review.get_status_display())]
        },
    )


@transaction.atomic
def special_review_decide(
    *,
    actor: Any,
    review_id: Any,
    outcome: str,
    meeting_on: dt.date | None = None,
    new_owner: Any = None,
    close: bool = False,
) -> SpecialReview:
    """The sales director records the 专题会议 outcome, may reassign the customer's owner
    (through customers.services.customer_update, which checks and audits the archive
    change) and may close the review; each step is audited."""
    from guanxi.customers.services import customer_update
    from guanxi.org.selectors import users_visible_to

    review = _locked_review(actor, review_id)
    at = timezone.now()
    outcome = (outcome or "").strip()
    errors: dict[str, list[str]] = {}
    if not outcome:
        errors["outcome"] = [_("请填写专题会议的结论。")]
    elif len(outcome) > TEXT_MAX:
        errors["outcome"] = [_("最多 %(n)d 个字。") % {"n": TEXT_MAX}]
    if meeting_on is not None and meeting_on > timezone.localdate(at):
        errors["meeting_on"] = [_("会议日期不能晚于今天。")]
    owner = None
    if new_owner not in (None, ""):
        owner_id = new_owner.pk if hasattr(new_owner, "pk") else parse_id(new_owner)
        owner = users_visible_to(actor).filter(pk=owner_id).first() if owner_id else None
        if owner is None:
            errors["new_owner"] = [_("所选的负责人不存在或不在您的数据范围内。")]
        elif owner.pk == review.customer.owner_id:
            errors["new_owner"] = [_("新负责人与当前负责人相同。")]
    if errors:
        raise ValidationFailed(detail=errors)
    before = {"outcome": review.outcome, "meeting_on": review.meeting_on}
    review.outcome, review.meeting_on = outcome, meeting_on
    review.outcome_by, review.outcome_at = actor, at
    review.save(update_fields=["outcome", "meeting_on", "outcome_by", "outcome_at"])
    audit.record(
        actor=actor,
        action="special_review.outcome_recorded",
        obj=review,
        changes=audit.diff(before, {"outcome": outcome, "meeting_on": meeting_on}),
    )
    if owner is not None:
        previous = review.customer.owner
        customer_update(actor=actor, customer_id=review.customer_id, data={"owner": owner})
        review.new_owner = owner
        review.save(update_fields=["new_owner"])
        audit.record(
            actor=actor,
            action="special_review.owner_reassigned",
            obj=review,
            changes={"owner": [previous.display_name, owner.display_name]},
        )
    if close:
        _close(actor, review, at)
    return review


@transaction.atomic
def special_review_close(*, actor: Any, review_id: Any) -> SpecialReview:
    """Close a review whose meeting outcome is recorded."""
    review = _locked_review(actor, review_id)
    if not review.outcome:
        raise ValidationFailed(
            _("请先记录专题会议的结论，再结束评审。"),
            detail={"outcome": [_("请填写专题会议的结论。")]},
        )
    _close(actor, review, timezone.now())
    return review
