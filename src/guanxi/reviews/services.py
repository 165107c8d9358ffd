"""Writes of the annual review cycle (年度评定) and the grade lifecycle. Every function
checks the action permission and the data scope, locks what it changes, and writes the
audit row in the same transaction.

Cycle (policy reviews.cycle_window, reviews.key_grades):
    cycle_open          administrator: every live customer gets the engine's proposal
    entry_rate          owner (in their CHANGE scope) while the cycle is open: initial rating
                        with reasons (《客户等级评定表》)
    cycle_start_review  sales director: the review meeting (复评) starts, ratings close
    entry_adjust        sales director (in scope) during the review: adjusted grade
    cycle_submit        sales director: to the general manager
    cycle_return        general manager: back to the review with a note
    cycle_approve       general manager: every decided grade takes effect together
                        (Customer.grade, through grading_adapter.grades_apply), the key
                        grades are frozen for 《年度重要顾客一览表》
    cycle_cancel        administrator: nothing takes effect
Lifecycle:
    provisional_confirm (reviews.provisional_months) a new customer's grade confirmed
    treatment_apply / treatment_decide (reviews.treatment_raise) A treatment on application
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.core.errors import PermissionDenied, ValidationFailed
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get
from guanxi.ledger.periods import shift_months
from guanxi.org.scopes import CHANGE, resolve_scope
from guanxi.reviews import grading_adapter, selectors
from guanxi.reviews.errors import ApplicationPending, CycleInProgress, CycleYearTaken, WrongStage
from guanxi.reviews.models import ProvisionalReview, ReviewCycle, ReviewEntry, TreatmentApplication
from guanxi.reviews.rules import month_day

Status = ReviewCycle.Status
REASON_MAX = 500


def _require(actor: Any, perm: str) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm(perm)):
        raise PermissionDenied()


def _require_company_scope(actor: Any) -> None:
    """Opening, approving and cancelling act on every customer of the company."""
    if not resolve_scope(actor, CHANGE).everything:
        raise PermissionDenied(_("此操作涉及全公司客户，需要全公司数据范围。"))


def _text(value: Any, field: str, *, required: bool, limit: int = REASON_MAX) -> str:
    text = (value or "").strip() if isinstance(value, str | type(None)) else str(value).strip()
    if required and not text:
        raise ValidationFailed(detail={field: [_("请填写理由或说明。")]})
    if len(text) > limit:
        raise ValidationFailed(detail={field: [_("最多%(n)s个字符。") % {"n": limit}]})
    return text


def _grade(value: Any, field: str = "grade") -> str:
    code = (value or "").strip() if isinstance(value, str) else ""
    codes = grading_adapter.band_codes()
    if code not in codes:
        raise ValidationFailed(
            detail={field: [_("等级应为以下之一：%(codes)s。") % {"codes": "、".join(codes)}]}
        )
    return code


def _locked_cycle(cycle_id: Any) -> ReviewCycle:
    cycle = selectors.cycle_get(pk=cycle_id)
    return ReviewCycle.objects.select_for_update().get(pk=cycle.pk)


def _stage(cycle: ReviewCycle, *allowed: str) -> None:
    if cycle.status not in allowed:
        raise WrongStage(
            _("年度评定当前为“%(stage)s”，不能执行此操作。") % {"stage": cycle.get_status_display()}
        )


# --- the cycle ----------------------------------------------------------------------------------
def default_window(*, today: dt.date | None = None) -> tuple[int, dt.date, dt.date]:
    """(year the grades are for, first day, last day) of the next review window
    (reviews.cycle_window): this year's window unless it is already over."""
    today = today or timezone.localdate()
    window = policy.get("reviews.cycle_window")
    (sm, sd), (em, ed) = month_day(window["start"]), month_day(window["end"])

    def on(year: int, month: int, day: int) -> dt.date:
        if month == 2 and day == 29 and not _leap(year):
            day = 28
        return dt.date(year, month, day)

    year = today.year if today <= on(today.year, em, ed) else today.year + 1
    starts_on, ends_on = on(year, sm, sd), on(year, em, ed)
    applies = year + 1 if window.get("applies_to", "next_year") == "next_year" else year
    return applies, starts_on, ends_on


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@transaction.atomic
def cycle_open(
    *,
    actor: Any,
    year: int | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    note: str = "",
) -> ReviewCycle:
    """Open the annual review: every live customer gets an entry with the grading engine's
    grade computed now (the proposal) and its current grade. Nothing changes a customer's
    grade until cycle_approve. One cycle in progress at a time, one per year."""
    _require(actor, "reviews.open_reviewcycle")
    _require_company_scope(actor)
    default_year, default_start, default_end = default_window()
    year = default_year if year is None else year
    starts_on = starts_on or default_start
    ends_on = ends_on or default_end
    errors: dict[str, list[str]] = {}
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2999:
        errors["year"] = [_("评定年度应为2000到2999之间的年份。")]
    if ends_on < starts_on:
        errors["ends_on"] = [_("截止日期不能早于开始日期。")]
    if errors:
        raise ValidationFailed(detail=errors)
    note = _text(note, "note", required=False, limit=300)
    if ReviewCycle.objects.select_for_update().filter(in_progress=True).exists():
        raise CycleInProgress()
    if ReviewCycle.objects.filter(year=year).exclude(status=Status.CANCELLED).exists():
        raise CycleYearTaken()
    now = timezone.now()
    try:
        with transaction.atomic():
            cycle = ReviewCycle.objects.create(
                year=year,
                starts_on=starts_on,
                ends_on=ends_on,
                note=note,
                opened_by=actor,
                opened_at=now,
                bands=grading_adapter.bands(),
            )
    except IntegrityError:
        raise CycleInProgress() from None
    current = dict(Customer.objects.alive().order_by("pk").values_list("pk", "grade"))
    version, rows = grading_adapter.proposals(list(current), at=now)
    _insert_entries(
        cycle.pk,
        ((pk, current[pk], grade, score) for pk, grade, score in rows),
    )
    cycle.policy_version = version
    cycle.save(update_fields=["policy_version"])
    audit.record(
        actor=actor,
        action="review_cycle.opened",
        obj=cycle,
        changes={"status": [None, cycle.status], "customers": [None, len(current)]},
        note=note,
    )
    return cycle


def _insert_entries(cycle_id: int, rows: Iterable[tuple[int, str, str, Decimal]]) -> None:
    """One prepared INSERT for every proposal (executemany in batches): bulk_create would
    split a million rows into tens of thousands of statements on SQLite."""
    table = ReviewEntry._meta.db_table
    columns = [
        "cycle_id", "customer_id", "previous_grade", "proposed_grade", "proposed_score",
        "initial_grade", "initial_reason", "adjusted_grade", "adjustment_reason", "final_grade",
    ]  # fmt: skip
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for customer_id, previous, grade, score in rows:
            batch.append((cycle_id, customer_id, previous, grade, score, "", "", "", "", ""))
            if len(batch) >= 10_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


@transaction.atomic
def entry_rate(*, actor: Any, entry_id: Any, grade: Any, reason: Any) -> ReviewEntry:
    """The owner's initial rating with reasons (《客户等级评定表》). Only while the cycle is
    open, only for customers in the actor's CHANGE scope (a salesperson: their own)."""
    _require(actor, "reviews.rate_reviewentry")
    entry = selectors.entry_get(actor=actor, pk=entry_id, action=CHANGE)
    entry = ReviewEntry.objects.select_for_update().select_related("cycle").get(pk=entry.pk)
    _stage(entry.cycle, Status.OPEN)
    code = _grade(grade)
    text = _text(reason, "reason", required=True)
    before = [entry.initial_grade or None, entry.initial_reason or None]
    entry.initial_grade, entry.initial_reason = code, text
    entry.rated_by, entry.rated_at = actor, timezone.now()
    entry.save(update_fields=["initial_grade", "initial_reason", "rated_by", "rated_at"])
    audit.record(
        actor=actor,
        action="review_entry.rated",
        obj=entry,
        changes={"initial_grade": [before[0], code], "initial_reason": [before[1], text]},
        note=str(entry.cycle),
    )
    return entry


@transaction.atomic
def cycle_start_review(*, actor: Any, cycle_id: Any) -> ReviewCycle:
    """The review meeting (复评) starts: initial ratings close. Customers nobody rated keep
    the system's proposal unless the director adjusts them."""
    _require(actor, "reviews.adjust_reviewcycle")
    cycle = _locked_cycle(cycle_id)
    _stage(cycle, Status.OPEN)
    cycle.status = Status.REVIEW
    cycle.review_started_by, cycle.review_started_at = actor, timezone.now()
    cycle.save(update_fields=["status", "review_started_by", "review_started_at"])
    audit.record(
        actor=actor, action="review_cycle.review_started", obj=cycle,
        changes={"status": [Status.OPEN, Status.REVIEW]},
    )  # fmt: skip
    return cycle


@transaction.atomic
def entry_adjust(*, actor: Any, entry_id: Any, grade: Any, reason: Any) -> ReviewEntry:
    """The sales director's adjustment in the review meeting, with its reason."""
    _require(actor, "reviews.adjust_reviewcycle")
    entry = selectors.entry_get(actor=actor, pk=entry_id, action=CHANGE)
    entry = ReviewEntry.objects.select_for_update().select_related("cycle").get(pk=entry.pk)
    _stage(entry.cycle, Status.REVIEW)
    code = _grade(grade)
    text = _text(reason, "reason", required=True)
    before = entry.adjusted_grade or None
    entry.adjusted_grade, entry.adjustment_reason = code, text
    entry.adjusted_by, entry.adjusted_at = actor, timezone.now()
    entry.save(update_fields=["adjusted_grade", "adjustment_reason", "adjusted_by", "adjusted_at"])
    audit.record(
        actor=actor,
        action="review_entry.adjusted",
        obj=entry,
        changes={"adjusted_grade": [before, code]},
        note=text,
    )
    return entry


@transaction.atomic
def cycle_submit(*, actor: Any, cycle_id: Any, note: str = "") -> ReviewCycle:
    """The reviewed list goes to the general manager for approval."""
    _require(actor, "reviews.adjust_reviewcycle")
    cycle = _locked_cycle(cycle_id)
    _stage(cycle, Status.REVIEW)
    note = _text(note, "note", required=False, limit=300)
    cycle.status = Status.SUBMITTED
    cycle.submitted_by, cycle.submitted_at = actor, timezone.now()
    cycle.save(update_fields=["status", "submitted_by", "submitted_at"])
    audit.record(
        actor=actor, action="review_cycle.submitted", obj=cycle,
        changes={"status": [Status.REVIEW, Status.SUBMITTED]}, note=note,
    )  # fmt: skip
    return cycle


@transaction.atomic
def cycle_return(*, actor: Any, cycle_id: Any, note: Any) -> ReviewCycle:
    """The general manager sends the list back to the review meeting, saying why."""
    _require(actor, "reviews.approve_reviewcycle")
    cycle = _locked_cycle(cycle_id)
    _stage(cycle, Status.SUBMITTED)
    text = _text(note, "note", required=True, limit=300)
    cycle.status = Status.REVIEW
    cycle.save(update_fields=["status"])
    audit.record(
        actor=actor, action="review_cycle.returned", obj=cycle,
        changes={"status": [Status.SUBMITTED, Status.REVIEW]}, note=text,
    )  # fmt: skip
    return cycle


@transaction.atomic
def cycle_approve(*, actor: Any, cycle_id: Any, note: str = "") -> ReviewCycle:
    """The general manager approves: every live customer's decided grade (adjustment, else
    initial rating, else proposal) becomes its final grade and takes effect at once, in
    this transaction; 《年度重要顾客一览表》 is the entries whose final grade is one of
    reviews.key_grades (frozen on the cycle)."""
    _require(actor, "reviews.approve_reviewcycle")
    _require_company_scope(actor)
    cycle = _locked_cycle(cycle_id)
    _stage(cycle, Status.SUBMITTED)
    note = _text(note, "note", required=False, limit=300)
    now = timezone.now()
    entries = ReviewEntry.objects.filter(cycle=cycle, customer__deleted_at__isnull=True)
    entries.update(
        final_grade=Coalesce(
            NullIf(F("adjusted_grade"), Value("")),
            NullIf(F("initial_grade"), Value("")),
            F("proposed_grade"),
        )
    )
    changes = (
        (customer_id, old, new)
        for customer_id, old, new in entries.values_list(
            "customer_id", "customer__grade", "final_grade"
        )
        .order_by()
        .iterator(chunk_size=5000)
    )
    cycle.changed = grading_adapter.grades_apply(
        actor=actor,
        changes=changes,
        action="review_cycle.grade_effective",
        obj=cycle,
        note=str(cycle),
    )
    cycle.status = Status.EFFECTIVE
    cycle.in_progress = None
    cycle.approved_by, cycle.approved_at, cycle.approval_note = actor, now, note
    cycle.key_grades = list(policy.get("reviews.key_grades", at=now))
    cycle.save(
        update_fields=[
            "status", "in_progress", "approved_by", "approved_at", "approval_note",
            "key_grades", "changed",
        ]
    )  # fmt: skip
    audit.record(
        actor=actor,
        action="review_cycle.approved",
        obj=cycle,
        changes={"status": [Status.SUBMITTED, Status.EFFECTIVE], "changed": [None, cycle.changed]},
        note=note,
    )
    return cycle


@transaction.atomic
def cycle_cancel(*, actor: Any, cycle_id: Any, note: Any) -> ReviewCycle:
    """Cancel a cycle in progress: no grade changes; the entries stay as a record."""
    _require(actor, "reviews.open_reviewcycle")
    _require_company_scope(actor)
    cycle = _locked_cycle(cycle_id)
    _stage(cycle, Status.OPEN, Status.REVIEW, Status.SUBMITTED)
    text = _text(note, "note", required=True, limit=300)
    before = cycle.status
    cycle.status, cycle.in_progress = Status.CANCELLED, None
    cycle.cancelled_by, cycle.cancelled_at = actor, timezone.now()
    cycle.save(update_fields=["status", "in_progress", "cancelled_by", "cancelled_at"])
    audit.record(
        actor=actor, action="review_cycle.cancelled", obj=cycle,
        changes={"status": [before, Status.CANCELLED]}, note=text,
    )  # fmt: skip
    return cycle


# --- lifecycle ---------------------------------------------------------------------------------
@transaction.atomic
def provisional_confirm(
    *, actor: Any, customer_id: Any, grade: Any, reason: Any
) -> ProvisionalReview:
    """Confirm (or correct) a new customer's provisional grade after
    reviews.provisional_months; the customer leaves the due list."""
    _require(actor, "reviews.add_provisionalreview")
    customer = customer_get(actor=actor, pk=customer_id, action=CHANGE)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not selectors.provisional_list(actor=actor, due_only=False).filter(pk=customer.pk).exists():
        raise WrongStage(_("该客户的等级已确认，不是待复评的新客户。"))
    code = _grade(grade)
    text = _text(reason, "reason", required=True)
    row = ProvisionalReview.objects.create(
        customer=customer,
        previous_grade=customer.grade,
        grade=code,
        reason=text,
        reviewed_by=actor,
        reviewed_at=timezone.now(),
    )
    audit.record(
        actor=actor, action="reviews.provisional_confirmed", obj=row,
        changes={"grade": [customer.grade or None, code]}, note=text,
    )  # fmt: skip
    grading_adapter.grades_apply(
        actor=actor,
        changes=[(customer.pk, customer.grade, code)],
        action="reviews.grade_confirmed",
        obj=row,
        note=text,
    )
    return row


@transaction.atomic
def treatment_apply(*, actor: Any, customer_id: Any, reason: Any) -> TreatmentApplication:
    """Apply for a B/C customer to get A treatment (reviews.treatment_raise): only grades in
    from_grades, one pending application per customer, none while one is in force."""
    _require(actor, "reviews.add_treatmentapplication")
    customer = customer_get(actor=actor, pk=customer_id, action=CHANGE)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    raise_rule = policy.get("reviews.treatment_raise")
    if customer.grade not in raise_rule["from_grades"]:
        raise ValidationFailed(
            detail={
                "customer": [
                    _("只有%(grades)s类客户可以申请享受%(to)s类待遇。")
                    % {"grades": "、".join(raise_rule["from_grades"]), "to": raise_rule["to_grade"]}
                ]
            }
        )
    text = _text(reason, "reason", required=True)
    if TreatmentApplication.objects.filter(
        customer=customer, status=TreatmentApplication.Status.PENDING
    ).exists():
        raise ApplicationPending()
    if selectors.active_application(customer_id=customer.pk) is not None:
        raise ApplicationPending(_("该客户已享受批准的高等级待遇，有效期内无需再次申请。"))
    row = TreatmentApplication.objects.create(
        customer=customer,
        grade=customer.grade,
        requested_grade=raise_rule["to_grade"],
        reason=text,
        applied_by=actor,
        applied_at=timezone.now(),
    )
    audit.record(
        actor=actor, action="reviews.treatment_applied", obj=row,
        changes={"treatment": [customer.grade, row.requested_grade]}, note=text,
    )  # fmt: skip
    return row


@transaction.atomic
def treatment_decide(
    *, actor: Any, application_id: Any, approve: bool, note: Any = ""
) -> TreatmentApplication:
    """The sales director or general manager decides; an approval is in force for
    reviews.treatment_raise.valid_months from today. A rejection needs a note."""
    _require(actor, "reviews.decide_treatmentapplication")
    row = selectors.application_get(actor=actor, pk=application_id, action=CHANGE)
    row = TreatmentApplication.objects.select_for_update().get(pk=row.pk)
    if row.status != TreatmentApplication.Status.PENDING:
        raise WrongStage(_("该申请已审批。"))
    text = _text(note, "note", required=not approve, limit=300)
    today = timezone.localdate()
    row.status = (
        TreatmentApplication.Status.APPROVED if approve else TreatmentApplication.Status.REJECTED
    )
    row.decided_by, row.decided_at, row.decision_note = actor, timezone.now(), text
    if approve:
        months = policy.get("reviews.treatment_raise")["valid_months"]
        row.valid_until = shift_months(today, months) - dt.timedelta(days=1)
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "valid_until"])
    audit.record(
        actor=actor,
        action="reviews.treatment_approved" if approve else "reviews.treatment_rejected",
        obj=row,
        changes={"status": [TreatmentApplication.Status.PENDING, row.status],
                 "valid_until": [None, row.valid_until]},
        note=text,
    )  # fmt: skip
    return row
