"""Every write of credit control. Policy: credit.* (docs/policies.md).

- Enforcement (credit_check_shipment) runs inside ledger.services.shipment_record while
  the customer's balance row is locked: exposure after the shipment may not exceed the
  limit in force, unless an approved one-off override for the customer covers the amount;
  it is consumed by a conditional update, so it lets exactly one shipment through.
- Limits: proposed (formula suggestion, adjustable with a reason), approved or rejected by
  the general manager within credit.approval_deadline_days, in force from the next quarter
  or at once. A limit below the current balance needs explicit confirmation.
- Rounds: in the last month of a quarter (from credit.round_open_day) a round for the next
  quarter opens with a draft per active customer; owners adjust and submit them.
- Ratings: credit.rating_rules, re-rated after credit.rating_valid_months.
- Every step is audited in the same transaction; sweepers only notify.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.core import batches
from guanxi.core.errors import (
    CreditLimitExceeded,
    InvalidState,
    LimitBelowBalance,
    NotFound,
    OverrideNotUsable,
    PermissionDenied,
    ValidationFailed,
)
from guanxi.credit import rating as rules
from guanxi.credit import selectors
from guanxi.credit.models import (
    CreditInvestigation,
    CreditLimit,
    CreditOverride,
    CreditRating,
    CreditRound,
)
from guanxi.customers.models import Customer
from guanxi.ledger import analytics
from guanxi.ledger import selectors as ledger_selectors
from guanxi.ledger.models import CustomerBalance, Shipment
from guanxi.ledger.periods import (
    in_last_month_of_quarter,
    next_quarter,
    next_quarter_start,
    quarter_of,
    shift_months,
    start_of_day,
)
from guanxi.ledger.services import locked_balance
from guanxi.org.models import User
from guanxi.org.scopes import CHANGE

logger = logging.getLogger(__name__)

MAX_LIMIT = Decimal("99999999999999.99")


def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied()


def _yuan(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def _customer(actor: Any, customer_id: Any) -> Customer:
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    customer = (
        Customer.objects.visible_to(actor, CHANGE)
        .filter(deleted_at__isnull=True, pk=pk)
        .select_related("owner")
        .first()
    )
    if customer is None:
        raise NotFound()
    return customer


def _money(value: Any, field: str, *, maximum: Decimal = MAX_LIMIT, positive=False) -> Decimal:
    try:
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(detail={field: [_("请输入金额，例如 100000.00。")]}) from None
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(detail={field: [_("金额最多两位小数。")]})
    if amount < 0 or (positive and amount == 0):
        raise ValidationFailed(
            detail={field: [_("金额必须大于0。") if positive else _("金额不能为负数。")]}
        )
    if amount > maximum:
        raise ValidationFailed(detail={field: [_("金额过大。")]})
    return amount.quantize(Decimal("0.01"))


# --- enforcement (called by ledger.services under the balance lock) --------------------------
def orders_in_exposure(*, at: dt.datetime | None = None) -> bool:
    return bool(policy.get("credit.orders_in_exposure", at=at))


def _fits_limit_sql(*, orders_count: bool) -> str:
    """The condition of the conditional update, on the row's values before it: the shipment
    adds nothing to the exposure, or exposure + increase stays within the limit in force
    (compared in cents: SQLite keeps decimals as floating point). Parameters: increase,
    increase, limit subquery's, default limit."""
    exposure = "balance + open_orders" if orders_count else "balance"
    return (
        "(CAST(%s AS NUMERIC) <= 0 OR ROUND(({exposure} + CAST(%s AS NUMERIC)) * 100)"
        " <= ROUND(COALESCE(({limit}), CAST(%s AS NUMERIC)) * 100))"
    ).replace("{exposure}", exposure)


def credit_charge_shipment(
    *, customer_id: int, shipped: Decimal, paid: Decimal, at: dt.datetime, enforce: bool = True
) -> tuple[CustomerBalance | None, selectors.Limit | None]:
    """The check and the write of a shipment in one statement (STYLE §6: no read–decide–
    write): a conditional UPDATE of the customer's balance row that adds the shipment (and
    a cash payment taken with it) only if the exposure after it stays within the limit in
    force, RETURNING the new totals and the limit. Concurrent writers queue on the row and
    each re-checks the condition on the row as the one before left it (PostgreSQL
    re-evaluates the WHERE of an UPDATE that waited for a row lock; SQLite writers are
    serialised by BEGIN IMMEDIATE). Returns (None, None) when no row was updated: the
    customer has no balance row yet, or the shipment does not fit — the caller then takes
    the locking path (locked_balance + credit_check_shipment), which raises the limit error
    with its figures or lets an override through."""
    sql, params = charge_shipment_sql(
        customer_id=customer_id, shipped=shipped, paid=paid, at=at, enforce=enforce
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    return charged(customer_id, row[:5], at=at)


def charge_shipment_sql(
    *, customer_id: int, shipped: Decimal, paid: Decimal, at: dt.datetime, enforce: bool = True
) -> tuple[str, list[Any]]:
    """The statement of credit_charge_shipment (UPDATE … RETURNING shipped_total,
    paid_total, balance, open_orders, limit), for a caller that runs it itself — e.g. as
    the first part of a WITH that writes the shipment only if a row comes back."""
    limit_sql, limit_params = selectors.limit_in_force_sql(customer_id=customer_id, at=at)
    increase = shipped - paid
    condition = "1 = 1"
    condition_params: list[Any] = []
    if enforce:
        condition = _fits_limit_sql(orders_count=orders_in_exposure(at=at)).replace(
            "{limit}", limit_sql
        )
        condition_params = [increase, increase, *limit_params, selectors.default_limit(at=at)]
    sql = f"""
        UPDATE ledger_customerbalance
        SET shipped_total = shipped_total + CAST(%s AS NUMERIC),
            paid_total = paid_total + CAST(%s AS NUMERIC),
            balance = balance + CAST(%s AS NUMERIC),
            updated_at = %s
        WHERE customer_id = %s AND {condition}
        RETURNING shipped_total, paid_total, balance, open_orders, ({limit_sql}) AS limit_amount
        """
    params = [
        shipped, paid, increase, connection.ops.adapt_datetimefield_value(at),
        customer_id, *condition_params, *limit_params,
    ]  # fmt: skip
    return sql, params


def charged(
    customer_id: int, row: Sequence[Any], *, at: dt.datetime
) -> tuple[CustomerBalance, selectors.Limit]:
    """The balance and the limit in a row charge_shipment_sql returned."""
    money = analytics.to_money
    balance = CustomerBalance(
        customer_id=customer_id,
        shipped_total=money(row[0]),
        paid_total=money(row[1]),
        balance=money(row[2]),
        open_orders=money(row[3]),
    )
    if row[4] is None:
        return balance, selectors.Limit(amount=selectors.default_limit(at=at), approved=False)
    return balance, selectors.Limit(amount=money(row[4]), approved=True)


def credit_check_shipment(
    *,
    customer: Customer,
    balance: CustomerBalance,
    amount: Decimal,
    increase: Decimal,
    override_id: Any,
    at: dt.datetime,
) -> tuple[CreditOverride | None, selectors.Limit]:
    """Refuse a shipment that would take exposure over the limit in force. Returns the
    override that lets it through (to be consumed; None when the shipment fits) and the
    limit it was checked against. `increase` is how much the shipment adds to the
    exposure (less a cash payment, less the open order it ships when orders count)."""
    limit = selectors.limit_amount(customer_id=customer.pk, at=at)
    exposure = ledger_selectors.exposure_of(balance, at=at)
    if increase <= 0 or exposure + increase <= limit.amount:
        return None, limit
    if override_id not in (None, ""):
        try:
            pk = int(override_id)
        except (TypeError, ValueError):
            raise OverrideNotUsable() from None
        override = CreditOverride.objects.select_for_update().filter(pk=pk).first()
        if (
            override is None
            or override.customer_id != customer.pk
            or not override.usable
            or override.amount < amount
        ):
            raise OverrideNotUsable()
        return override, limit
    shortfall = exposure + increase - limit.amount
    raise CreditLimitExceeded(
        _(
            "超出信用额度，不能出货：信用额度 %(limit)s，当前占用 %(exposure)s，"
            "本次出货 %(amount)s，出货后将超出额度 %(shortfall)s。"
            "请先回款、现款出货，或申请超额度特批。"
        )
        % {
            "limit": _yuan(limit.amount),
            "exposure": _yuan(exposure),
            "amount": _yuan(amount),
            "shortfall": _yuan(shortfall),
        },
        detail={
            "limit": str(limit.amount),
            "exposure": str(exposure),
            "amount": str(amount),
            "shortfall": str(shortfall),
        },
    )


def credit_override_consume(
    *, actor: Any, override: CreditOverride, shipment: Shipment, at: dt.datetime
) -> None:
    """Mark the override used by this shipment; a conditional update, so only once."""
    used = CreditOverride.objects.filter(
        pk=override.pk, status=CreditOverride.Status.APPROVED, shipment__isnull=True
    ).update(shipment=shipment, consumed_at=at)
    if used != 1:
        raise OverrideNotUsable()
    audit.record(
        actor=actor,
        action="credit_override.consumed",
        obj=override,
        changes={"shipment": [None, shipment.pk]},
    )


def credit_exposure_changed(
    *,
    customer: Customer,
    balance: CustomerBalance,
    at: dt.datetime,
    limit: selectors.Limit | None = None,
) -> CreditInvestigation | None:
    """After an entry: open an investigation for the owner when the exposure is over the
    limit or at credit.warning_share of it (one open investigation per customer).
    `limit`: the limit the caller already read under the same lock, if any."""
    limit = limit or selectors.limit_amount(customer_id=customer.pk, at=at)
    exposure = ledger_selectors.exposure_of(balance, at=at)
    state = selectors.warning_state(exposure=exposure, limit=limit.amount, at=at)
    if not state or (not limit.approved and balance.balance <= 0):
        return None
    if CreditInvestigation.objects.filter(
        customer=customer, status=CreditInvestigation.Status.OPEN
    ).exists():
        return None
    investigation = CreditInvestigation.objects.create(
        customer=customer,
        kind=(
            CreditInvestigation.Kind.OVER_LIMIT
            if state == "over"
            else CreditInvestigation.Kind.EARLY_WARNING
        ),
        opened_at=at,
        limit=limit.amount,
        exposure=exposure,
    )
    audit.record(
        actor=None,
        action="credit_investigation.opened",
        obj=investigation,
        changes={"limit": [None, limit.amount], "exposure": [None, exposure]},
        note=investigation.get_kind_display(),
    )
    return investigation


# --- limit proposals and approval ------------------------------------------------------------
def _suggest(customer_id: int, at: dt.datetime) -> tuple[rules.Inputs, str, rules.Suggestion]:
    today = timezone.localtime(at).date()
    inputs = rules.gather_inputs(customers=[customer_id], as_of=today)[customer_id]
    level = rules.rate(inputs, at=at).level
    return inputs, level, rules.suggest_limit(inputs, level=level, at=at)


def credit_limit_suggestion(*, customer: Customer, at: dt.datetime | None = None) -> dict:
    """The formula's suggestion for a customer the caller fetched through scope."""
    at = at or timezone.now()
    inputs, level, suggestion = _suggest(customer.pk, at)
    return suggestion.as_json(inputs, level)


@transaction.atomic
def credit_limit_propose(
    *,
    actor: Any,
    customer_id: Any,
    amount: Any,
    reason: str = "",
    confirm_below_balance: bool = False,
) -> CreditLimit:
    """Propose a limit for the general manager's approval. A draft of a quarterly round for
    the customer is taken over (submitted with this amount). An amount other than the
    formula's suggestion needs a reason; one below the current balance needs
    confirm_below_balance. Deadline: credit.approval_deadline_days."""
    _require(actor, "credit.add_creditlimit")
    customer = _customer(actor, customer_id)
    amount = _money(amount, "amount")
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise ValidationFailed(detail={"reason": [_("理由最多300个字符。")]})
    now = timezone.now()
    balance = locked_balance(customer.pk)
    inputs, level, suggestion = _suggest(customer.pk, now)
    if amount != suggestion.amount and not reason:
        raise ValidationFailed(
            detail={
                "reason": [
                    _("申请额度与公式建议额度 %(suggested)s 不同，请说明调整理由。")
                    % {"suggested": _yuan(suggestion.amount)}
                ]
            }
        )
    if amount < balance.balance and not confirm_below_balance:
        raise _below_balance(amount, balance.balance)
    open_row = (
        CreditLimit.objects.select_for_update()
        .filter(customer=customer, status__in=CreditLimit.OPEN_STATUSES)
        .first()
    )
    if open_row is not None and open_row.status == CreditLimit.Status.PENDING:
        raise InvalidState(_("该客户已有待审批的信用额度申请，请等待总经理审批。"))
    days = policy.get("credit.approval_deadline_days", at=now)
    values = {
        "amount": amount,
        "suggested_amount": suggestion.amount,
        "suggestion": suggestion.as_json(inputs, level),
        "reason": reason,
        "status": CreditLimit.Status.PENDING,
        "proposed_by": actor,
        "submitted_at": now,
        "due_at": now + dt.timedelta(days=days),
        "balance_at_proposal": balance.balance,
        "confirmed_below_balance": bool(confirm_below_balance and amount < balance.balance),
        "policy_version": policy.version_at(now),
    }
    if open_row is None:
        row = CreditLimit.objects.create(customer=customer, **values)
        changes = {"amount": [None, amount], "status": [None, row.get_status_display()]}
    else:
        row = open_row
        before = row.amount
        for key, value in values.items():
            setattr(row, key, value)
        row.save(update_fields=list(values))
        changes = {
            "amount": [before, amount],
            "status": [CreditLimit.Status.DRAFT.label, row.get_status_display()],
        }
    audit.record(actor=actor, action="credit_limit.proposed", obj=row, changes=changes, note=reason)
    return row


def _below_balance(limit: Decimal, balance: Decimal) -> LimitBelowBalance:
    return LimitBelowBalance(
        _(
            "信用额度 %(limit)s 低于客户当前应收余额 %(balance)s。"
            "如确需如此设置，请勾选确认后再提交。"
        )
        % {"limit": _yuan(limit), "balance": _yuan(balance)},
        detail={"limit": str(limit), "balance": str(balance)},
    )


def _decidable(actor: Any, limit_id: Any) -> CreditLimit:
    """Scope first (404), then the permission (403), then lock in the fixed order."""
    row = selectors.credit_limit_get(actor=actor, pk=limit_id, action=CHANGE)
    _require(actor, "credit.approve_creditlimit")
    locked_balance(row.customer_id)
    row = CreditLimit.objects.select_for_update().select_related("customer").get(pk=row.pk)
    if row.status != CreditLimit.Status.PENDING:
        raise InvalidState(_("该额度申请不在待审批状态。"))
    return row


def _lateness_note(row: CreditLimit, at: dt.datetime) -> str:
    if row.due_at is not None and row.due_at < at:
        hours = int((at - row.due_at).total_seconds() // 3600)
        return _("审批逾期 %(hours)s 小时。") % {"hours": hours}
    return ""


@transaction.atomic
def credit_limit_approve(
    *,
    actor: Any,
    limit_id: Any,
    effective: str = CreditLimit.Effective.NEXT_QUARTER,
    confirm_below_balance: bool = False,
    note: str = "",
) -> CreditLimit:
    """General manager only (credit.approve_creditlimit). In force from the next quarter's
    first day, or at once with effective="now"."""
    row = _decidable(actor, limit_id)
    if effective not in CreditLimit.Effective.values:
        raise ValidationFailed(
            detail={"effective": [_("请选择生效方式：立即生效或下季度初生效。")]}
        )
    now = timezone.now()
    balance = ledger_selectors.balance_of(customer_id=row.customer_id).balance
    if row.amount < balance and not confirm_below_balance:
        raise _below_balance(row.amount, balance)
    row.status = CreditLimit.Status.APPROVED
    row.decided_by, row.decided_at = actor, now
    row.decision_note = (note or "").strip()[:300]
    row.effective = effective
    row.effective_from = now if effective == CreditLimit.Effective.NOW else next_quarter_start(now)
    row.save(
        update_fields=[
            "status", "decided_by", "decided_at", "decision_note", "effective", "effective_from",
        ]
    )  # fmt: skip
    audit.record(
        actor=actor,
        action="credit_limit.approved",
        obj=row,
        changes={
            "status": [CreditLimit.Status.PENDING.label, row.get_status_display()],
            "amount": [None, row.amount],
            "effective_from": [None, row.effective_from],
        },
        note=" ".join(filter(None, [_lateness_note(row, now), row.decision_note])),
    )
    return row


@transaction.atomic
def credit_limit_reject(*, actor: Any, limit_id: Any, note: str) -> CreditLimit:
    row = _decidable(actor, limit_id)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(detail={"note": [_("驳回时请填写审批意见。")]})
    now = timezone.now()
    row.status = CreditLimit.Status.REJECTED
    row.decided_by, row.decided_at, row.decision_note = actor, now, note[:300]
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=actor,
        action="credit_limit.rejected",
        obj=row,
        changes={"status": [CreditLimit.Status.PENDING.label, row.get_status_display()]},
        note=" ".join(filter(None, [_lateness_note(row, now), row.decision_note])),
    )
    return row


def _escalation_recipients(at: dt.datetime) -> list[str]:
    roles = policy.get("credit.escalation_roles", at=at)
    return list(
        User.objects.filter(is_active=True, groups__role__code__in=roles)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def _send_escalation(limit_ids: list[int], recipients: list[str]) -> None:
    if not recipients or not limit_ids:
        return
    try:
        send_mail(
            subject=_("信用额度审批逾期提醒"),
            message=_(
                "以下信用额度申请已超过审批期限：%(ids)s。请尽快在“资信管理 · 额度申请与审批”中处理。"
            )
            % {"ids": "、".join(f"#{pk}" for pk in limit_ids)},
            from_email=None,
            recipient_list=recipients,
        )
    except Exception:  # pragma: no cover - mail trouble must not undo the sweep
        logger.exception("credit escalation mail failed")


def credit_approvals_escalate(*, at: dt.datetime | None = None, batch: int = 500) -> int:
    """Sweeper: notify about pending approvals past their deadline, once each (compare-and-
    swap on escalated_at). Overdue state itself is derived at read time from due_at."""
    at = at or timezone.now()
    escalated = []
    for row in selectors.approvals_overdue(at=at, batch=batch):
        with transaction.atomic():
            swapped = CreditLimit.objects.filter(
                pk=row.pk, status=CreditLimit.Status.PENDING, escalated_at__isnull=True
            ).update(escalated_at=at)
            if not swapped:
                continue
            audit.record(
                actor=None,
                action="credit_limit.escalated",
                obj=row,
                changes={"escalated_at": [None, at]},
                note=_lateness_note(row, at),
            )
            escalated.append(row.pk)
    if escalated:
        recipients = _escalation_recipients(at)
        transaction.on_commit(lambda: _send_escalation(escalated, recipients))
    return len(escalated)


# --- quarterly rounds ------------------------------------------------------------------------
def round_target(at: dt.datetime) -> tuple[int, int] | None:
    """The quarter a round opened at `at` prepares, or None outside the opening window (the
    last month of a quarter, from credit.round_open_day on)."""
    today = timezone.localtime(at).date()
    if not in_last_month_of_quarter(today) or today.day < policy.get(
        "credit.round_open_day", at=at
    ):
        return None
    return next_quarter(*quarter_of(today))


@transaction.atomic
def credit_round_open(*, actor: Any = None, at: dt.datetime | None = None) -> CreditRound:
    """Open the next quarter's proposal round with a draft limit for every active customer
    (ledger activity or a limit) that has no open proposal. `actor` None: the sweeper."""
    if actor is not None:
        _require(actor, "credit.open_creditround")
    at = at or timezone.now()
    target = round_target(at)
    if target is None:
        raise InvalidState(_("季度额度申报只能在每季度最后一个月开启。"))
    year, quarter = target
    if CreditRound.objects.filter(year=year, quarter=quarter).exists():
        raise InvalidState(_("%(year)s年第%(quarter)s季度的额度申报已经开启。") % {
            "year": year, "quarter": quarter})  # fmt: skip
    credit_round = CreditRound.objects.create(
        year=year, quarter=quarter, opened_at=at, opened_by=actor
    )
    busy = set(
        CreditLimit.objects.filter(status__in=CreditLimit.OPEN_STATUSES).values_list(
            "customer_id", flat=True
        )
    )
    active = set(
        CustomerBalance.objects.filter(customer__deleted_at__isnull=True).values_list(
            "customer_id", flat=True
        )
    ) | set(
        CreditLimit.objects.filter(
            status=CreditLimit.Status.APPROVED, customer__deleted_at__isnull=True
        ).values_list("customer_id", flat=True)
    )
    ids = sorted(active - busy)
    version = policy.version_at(at)
    today = timezone.localtime(at).date()
    drafts = []
    pack = rules.rating_pack(at=at)
    formula = policy.get("credit.limit_formula", at=at)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        for customer_id, inputs in rules.gather_inputs(customers=chunk, as_of=today).items():
            level = rules.rate(inputs, pack=pack).level
            suggestion = rules.suggest_limit(inputs, level=level, formula=formula)
            drafts.append(
                CreditLimit(
                    customer_id=customer_id,
                    amount=suggestion.amount,
                    suggested_amount=suggestion.amount,
                    suggestion=suggestion.as_json(inputs, level),
                    status=CreditLimit.Status.DRAFT,
                    round=credit_round,
                    policy_version=version,
                )
            )
    CreditLimit.objects.bulk_create(drafts, batch_size=1000)
    credit_round.proposals = len(drafts)
    credit_round.save(update_fields=["proposals"])
    audit.record(
        actor=actor,
        action="credit_round.opened",
        obj=credit_round,
        changes={"proposals": [None, len(drafts)]},
    )
    return credit_round


def credit_round_open_due(*, at: dt.datetime | None = None) -> CreditRound | None:
    """Sweeper: open the round when its window has come and it is not open yet."""
    at = at or timezone.now()
    target = round_target(at)
    if target is None or CreditRound.objects.filter(year=target[0], quarter=target[1]).exists():
        return None
    return credit_round_open(actor=None, at=at)


# --- ratings ---------------------------------------------------------------------------------
def credit_ratings_write(
    *,
    customers: list[int] | range,
    at: dt.datetime,
    actor: Any = None,
    only_due: bool = False,
) -> int:
    """Rate customers set-based, in three statements whatever their number: INSERT … SELECT
    of the rating rows (inputs from rating.inputs_sql, level from rating.level_sql, the
    inputs document built in SQL) and UPDATE of Customer.credit_level where it changed.
    The explanation of such a row is derived on read (rating.explain) from its inputs and
    the policy in force at rated_at. The one code path of every rating: the half-yearly
    re-rating (sweeper), `ledger-recompute --rate`, the benchmark and a single rating.
    only_due: skip customers rated within credit.rating_valid_months. Returns rows written."""
    today = timezone.localtime(at).date()
    pack = rules.rating_pack(at=at)
    keys = analytics.bucket_keys(policy.get("ledger.ageing_buckets", at=at))
    sql, params, _columns = rules.inputs_sql(customers=customers, as_of=today)
    stamp = connection.ops.adapt_datetimefield_value(at)
    due = ""
    if only_due:
        cutoff = shift_months(today, -policy.get("credit.rating_valid_months", at=at))
        due = (
            " WHERE NOT EXISTS (SELECT 1 FROM credit_creditrating r"
            " WHERE r.customer_id = i.customer_id AND r.rated_at >= %s)"
        )
        params = [
            *params,
            connection.ops.adapt_datetimefield_value(start_of_day(cutoff + dt.timedelta(days=1))),
        ]
    empty = "'[]'::jsonb" if connection.vendor == "postgresql" else "'[]'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO credit_creditrating
                (customer_id, level, inputs, explanation, policy_version, rated_at, rated_by_id)
            SELECT i.customer_id, {rules.level_sql(pack)}, {rules.inputs_json_sql(keys)},
                   {empty}, %s, %s, %s
            FROM ({sql}) i{due}
            """,
            [policy.version_at(at), stamp, getattr(actor, "pk", None), *params],
        )
        written = cursor.rowcount
        # The customer's level is its latest rating (the rating rows are its history).
        if isinstance(customers, range):
            scope, scope_params = "r.customer_id >= %s AND r.customer_id < %s", [
                customers.start, customers.stop]  # fmt: skip
        else:
            ids = [int(pk) for pk in customers] or [0]
            scope, scope_params = f"r.customer_id IN ({', '.join(['%s'] * len(ids))})", ids
        cursor.execute(
            f"""
            UPDATE customers_customer SET credit_level = r.level
            FROM credit_creditrating r
            WHERE r.customer_id = customers_customer.id AND r.rated_at = %s AND {scope}
              AND customers_customer.credit_level <> r.level
            """,
            [stamp, *scope_params],
        )
    return written


@transaction.atomic
def credit_rate(*, actor: Any, customer_id: Any, at: dt.datetime | None = None) -> CreditRating:
    """Rate one customer now (finance / general manager: credit.add_creditrating), through
    credit_ratings_write; the rule-by-rule explanation is kept with the row."""
    _require(actor, "credit.add_creditrating")
    customer = _customer(actor, customer_id)
    at = at or timezone.now()
    previous = selectors.rating_current(customer_id=customer.pk)
    credit_ratings_write(customers=[customer.pk], at=at, actor=actor)
    row = CreditRating.objects.filter(customer=customer, rated_at=at).latest("id")
    row.explanation = rules.explain(row)
    row.save(update_fields=["explanation"])
    audit.record(
        actor=actor,
        action="credit_rating.rated",
        obj=row,
        changes={"level": [previous.level if previous else None, row.level]},
    )
    return row


def credit_rate_all(
    *, at: dt.datetime | None = None, only_due: bool = True, chunk: int = 20_000
) -> int:
    """Re-rate every live customer with ledger entries, set-based in id ranges of `chunk`
    (one transaction each, on GUANXI_BATCH_WORKERS connections at once: core.batches):
    the half-yearly sweeper (only_due), the recompute command and the benchmark.
    only_due: skip customers rated within credit.rating_valid_months."""
    at = at or timezone.now()
    bounds = CustomerBalance.objects.aggregate(low=Min("customer_id"), high=Max("customer_id"))
    if bounds["low"] is None:
        return 0
    high = bounds["high"] + 1

    def rate(part: range) -> int:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # the window sorts of one id range stay in memory
                connection.cursor().execute("SET LOCAL work_mem = '64MB'")
            return credit_ratings_write(customers=part, at=at, only_due=only_due)

    ranges = [range(start, min(start + chunk, high)) for start in range(bounds["low"], high, chunk)]
    return sum(batches.run_ranges(rate, ranges))


# --- overrides -------------------------------------------------------------------------------
@transaction.atomic
def credit_override_request(
    *, actor: Any, customer_id: Any, amount: Any, reason: str
) -> CreditOverride:
    """Ask a credit controller to let one shipment (up to `amount`) go over the limit."""
    _require(actor, "credit.add_creditoverride")
    customer = _customer(actor, customer_id)
    amount = _money(amount, "amount", positive=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(detail={"reason": [_("请说明特批理由。")]})
    if len(reason) > 300:
        raise ValidationFailed(detail={"reason": [_("理由最多300个字符。")]})
    row = CreditOverride.objects.create(
        customer=customer, amount=amount, reason=reason, requested_by=actor
    )
    audit.record(
        actor=actor,
        action="credit_override.requested",
        obj=row,
        changes={"amount": [None, amount]},
        note=reason,
    )
    return row


@transaction.atomic
def credit_override_decide(
    *, actor: Any, override_id: Any, approve: bool, note: str = ""
) -> CreditOverride:
    """A credit controller (credit.approve_creditoverride) approves or rejects; never the
    person who asked."""
    row = selectors.override_get(actor=actor, pk=override_id, action=CHANGE)
    _require(actor, "credit.approve_creditoverride")
    row = CreditOverride.objects.select_for_update().get(pk=row.pk)
    if row.status != CreditOverride.Status.PENDING:
        raise InvalidState(_("该特批申请已经审批过。"))
    if row.requested_by_id == actor.pk:
        raise PermissionDenied(_("不能审批自己提交的特批申请。"))
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationFailed(detail={"note": [_("驳回时请填写审批意见。")]})
    row.status = CreditOverride.Status.APPROVED if approve else CreditOverride.Status.REJECTED
    row.decided_by, row.decided_at, row.decision_note = actor, timezone.now(), note[:300]
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=actor,
        action="credit_override.approved" if approve else "credit_override.rejected",
        obj=row,
        changes={"status": [CreditOverride.Status.PENDING.label, row.get_status_display()]},
        note=note,
    )
    return row


# --- investigations --------------------------------------------------------------------------
@transaction.atomic
def investigation_close(*, actor: Any, investigation_id: Any, findings: str) -> CreditInvestigation:
    row = selectors.investigation_get(actor=actor, pk=investigation_id, action=CHANGE)
    _require(actor, "credit.change_creditinvestigation")
    row = CreditInvestigation.objects.select_for_update().get(pk=row.pk)
    if row.status != CreditInvestigation.Status.OPEN:
        raise InvalidState(_("该调查已经结案。"))
    findings = (findings or "").strip()
    if not findings:
        raise ValidationFailed(detail={"findings": [_("请填写调查结论。")]})
    row.status = CreditInvestigation.Status.CLOSED
    row.findings, row.closed_by, row.closed_at = findings[:2000], actor, timezone.now()
    row.save(update_fields=["status", "findings", "closed_by", "closed_at"])
    audit.record(
        actor=actor,
        action="credit_investigation.closed",
        obj=row,
        changes={"status": [CreditInvestigation.Status.OPEN.label, row.get_status_display()]},
        note=findings[:500],
    )
    return row


def credit_investigations_sweep(*, at: dt.datetime | None = None) -> int:
    """Sweeper: open investigations for customers already over or near their limit (e.g.
    after a limit took effect) that have none. Idempotent."""
    at = at or timezone.now()
    opened = 0
    candidates = CustomerBalance.objects.filter(customer__deleted_at__isnull=True).filter(
        balance__gt=0
    )
    for customer_id in candidates.values_list("customer_id", flat=True).iterator():
        with transaction.atomic():
            balance = locked_balance(customer_id)
            customer = Customer.objects.get(pk=customer_id)
            if credit_exposure_changed(customer=customer, balance=balance, at=at):
                opened += 1
    return opened
