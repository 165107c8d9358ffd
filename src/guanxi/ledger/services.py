"""Every write to the ledger. Policy: ledger.*, credit.* (enforcement in credit.services).

Concurrency (STYLE §6): each entry serialises on the customer's CustomerBalance row in the
transaction that writes the entry, the monthly sums (one upsert) and the audit row. A
shipment's common case is one conditional UPDATE … RETURNING of that row that checks the
credit limit and adds the amount together (credit.services.credit_charge_shipment); the
first entry of a customer, a shipment of an order or with an override, a refused one and
every other entry lock it with `select_for_update` (created on first use) before reading
anything they decide on. Locks are always taken in the order balance → order → override
→ limit. On SQLite our connections start transactions with BEGIN IMMEDIATE, so writers
are serialised for the whole transaction.

Shipments and payments are append-only; a correction is a full reversal (negative amount,
`reversal_of`), written by someone with ledger.reverse_entry. Reversing a shipment does
not reopen its order nor refund a cash payment taken with it (reverse that payment too).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi import policy
from guanxi.audit import services as audit
from guanxi.audit.models import AuditEvent
from guanxi.core import prepared
from guanxi.core.errors import (
    AlreadyReversed,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from guanxi.core.ids import parse_id
from guanxi.core.rows import db_rows, insert_one, insert_select_sql
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.models import Customer
from guanxi.ledger.models import (
    ZERO,
    CustomerBalance,
    CustomerTerms,
    Order,
    Payment,
    PriceCoefficient,
    Shipment,
)
from guanxi.ledger.periods import month_start
from guanxi.ledger.selectors import terms_days
from guanxi.org.scopes import CHANGE

MAX_AMOUNT = Decimal("99999999999999.99")
MAX_COEFFICIENT = Decimal("99.9999")
MAX_QUANTITY = 1_000_000_000


# --- helpers ---------------------------------------------------------------------------------
def _require(actor: Any, perm: str) -> None:
    if not actor.has_perm(perm):
        raise PermissionDenied()


def _customer_for_entry(
    actor: Any, customer_id: Any, shipment_on: dt.date | None = None
) -> Customer:
    """A live customer the actor may change (their data scope), else NotFound. With
    `shipment_on`, the same query also reads the customer's payment terms (`terms`) and
    the price coefficient in force that day (`coefficient`). One raw statement with the
    scope compiled once per scope (customer_scope_sql): every shipment and payment starts
    here."""
    pk = parse_id(customer_id)
    if pk is None:
        raise NotFound()
    scoped, params = customer_selectors.customer_scope_sql(actor=actor, action=CHANGE)
    extra, extra_params = "", []
    if shipment_on is not None:
        extra = f""",
            (SELECT t.days FROM {CustomerTerms._meta.db_table} t WHERE t.customer_id = c.id),
            (SELECT p.coefficient FROM {PriceCoefficient._meta.db_table} p
             WHERE p.customer_id = c.id AND p.status = %s AND p.effective_from <= %s
             ORDER BY p.effective_from DESC, p.decided_at DESC, p.id DESC LIMIT 1)"""
        extra_params = [
            PriceCoefficient.Status.APPROVED,
            connection.ops.adapt_datefield_value(shipment_on),
        ]
    row = prepared.fetchone(
        f"""SELECT c.id, c.name, c.owner_id, c.department_id{extra}
            FROM {Customer._meta.db_table} c
            WHERE c.id = %s AND c.deleted_at IS NULL AND {scoped}""",
        [*extra_params, pk, *params],
    )
    if row is None:
        raise NotFound()
    customer = Customer.from_db(
        connection.alias, ["id", "name", "owner_id", "department_id"], row[:4]
    )
    if shipment_on is not None:
        customer.terms = row[4]
        customer.coefficient = (
            None if row[5] is None else Decimal(str(row[5])).quantize(Decimal("0.0001"))
        )
    return customer


def locked_balance(customer_id: int) -> CustomerBalance:
    """The customer's balance row, locked until the transaction ends. Created on first use
    (INSERT … ON CONFLICT DO NOTHING: when two writers create it at once, the second
    waits for the first's row and then locks it)."""
    row = CustomerBalance.objects.select_for_update().filter(customer_id=customer_id).first()
    if row is None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {CustomerBalance._meta.db_table}
                    (customer_id, shipped_total, paid_total, balance, open_orders, updated_at)
                    VALUES (%s, 0, 0, 0, 0, %s) ON CONFLICT (customer_id) DO NOTHING""",
                [customer_id, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
        row = CustomerBalance.objects.select_for_update().get(customer_id=customer_id)
    return row


def _amount(value: Any, field: str, errors: dict[str, list[str]], *, allow_zero=False) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        errors[field] = [_("请输入金额，例如 12800.00。")]
        return ZERO
    if not amount.is_finite():
        errors[field] = [_("请输入金额，例如 12800.00。")]
        return ZERO
    if amount != amount.quantize(Decimal("0.01")):
        errors[field] = [_("金额最多两位小数。")]
    elif amount < 0 or (amount == 0 and not allow_zero):
        errors[field] = [_("金额必须大于0。") if not allow_zero else _("金额不能为负数。")]
    elif amount > MAX_AMOUNT:
        errors[field] = [_("金额过大。")]
    return amount.quantize(Decimal("0.01")) if field not in errors else ZERO


def _entry_date(value: Any, field: str, errors: dict[str, list[str]], today: dt.date) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        errors[field] = [_("请输入日期。")]
        return today
    if value > today:
        errors[field] = [_("日期不能晚于今天。")]
    return value


def _add_month(customer_id: int, day: dt.date, **sums: Any) -> None:
    """Add to the customer's monthly sums (the keywords of _month_sql): one upsert (the
    caller holds the balance row, so no one else writes this customer's rows meanwhile)."""
    sql, params = _month_sql(customer_id, day, **sums)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _month_sql(
    customer_id: int,
    day: dt.date,
    *,
    shipped: Decimal = ZERO,
    cost: Decimal = ZERO,
    quantity: int = 0,
    count: int = 0,
    paid: Decimal = ZERO,
    source: str = "",
) -> tuple[str, list[Any]]:
    """The upsert that adds to the customer's sums of the month of `day`. `count`:
    shipments (1 for a shipment, -1 for its reversal, in the month of the shipment).
    With `source`, the row is written once for each row of that part of a WITH
    (PostgreSQL)."""
    values = "VALUES (%s, %s, %s, %s, %s, %s, %s)"
    if source:
        values = (
            "SELECT CAST(%s AS bigint), CAST(%s AS date), CAST(%s AS numeric), "
            "CAST(%s AS numeric), CAST(%s AS integer), CAST(%s AS integer), "
            f"CAST(%s AS numeric) FROM {source}"
        )
    sql = f"""
        INSERT INTO ledger_customermonth AS m
            (customer_id, month, shipped_amount, shipped_cost, shipped_quantity,
             shipped_count, paid_amount)
        {values}
        ON CONFLICT (customer_id, month) DO UPDATE SET
            shipped_amount = m.shipped_amount + excluded.shipped_amount,
            shipped_cost = m.shipped_cost + excluded.shipped_cost,
            shipped_quantity = m.shipped_quantity + excluded.shipped_quantity,
            shipped_count = m.shipped_count + excluded.shipped_count,
            paid_amount = m.paid_amount + excluded.paid_amount
        """
    params = [
        customer_id,
        connection.ops.adapt_datefield_value(month_start(day)),
        *(connection.ops.adapt_decimalfield_value(v, 16, 2) for v in (shipped, cost)),
        quantity,
        count,
        connection.ops.adapt_decimalfield_value(paid, 16, 2),
    ]
    return sql, params


def _move_balance(
    balance: CustomerBalance,
    *,
    shipped: Decimal = ZERO,
    paid: Decimal = ZERO,
    orders: Decimal = ZERO,
) -> CustomerBalance:
    """Add to the locked balance row (F() in the UPDATE; the returned row carries the new
    totals without reading them back: nobody else can change them while we hold the lock)."""
    CustomerBalance.objects.filter(customer_id=balance.customer_id).update(
        shipped_total=F("shipped_total") + shipped,
        paid_total=F("paid_total") + paid,
        balance=F("balance") + shipped - paid,
        open_orders=F("open_orders") + orders,
        updated_at=timezone.now(),
    )
    balance.shipped_total += shipped
    balance.paid_total += paid
    balance.balance += shipped - paid
    balance.open_orders += orders
    return balance


def _credit() -> Any:
    # credit builds on the ledger (balances, sales) and the ledger asks credit whether a
    # shipment may go out: imported late to keep the dependency one-way at import time.
    from guanxi.credit import services as credit_services

    return credit_services


# --- shipments -------------------------------------------------------------------------------
def _shipment_event(shipment: Shipment) -> Any:
    """The audit row of a new shipment (its object id set once the shipment has one)."""
    return audit.build(
        actor=shipment.created_by,
        action="shipment.recorded",
        obj=shipment,
        changes={
            "date": [None, shipment.date],
            "amount": [None, shipment.amount],
            "quantity": [None, shipment.quantity],
            "cost": [None, shipment.cost],
            "order_reference": [None, shipment.order_reference],
        },
    )


def _write_shipment(shipment: Shipment, *, paid: Decimal) -> None:
    """The rows of a shipment whose charge went through: the entry, the month's sums
    (with a cash payment taken with it), the audit row."""
    insert_one(shipment)
    _add_month(shipment.customer_id, shipment.date, **_month_sums(shipment, paid))
    insert_one(_shipment_event(shipment))


def _month_sums(shipment: Shipment, paid: Decimal) -> dict[str, Any]:
    """What a new shipment (and a cash payment taken with it) adds to its month."""
    return {
        "shipped": shipment.amount,
        "cost": shipment.cost,
        "quantity": shipment.quantity,
        "count": 1,
        "paid": paid,
    }


def _charge(
    shipment: Shipment, *, paid: Decimal, at: dt.datetime, enforce: bool
) -> tuple[CustomerBalance | None, Any]:
    """The common case of a shipment: the credit check and the charge in one conditional
    UPDATE (credit.services.credit_charge_shipment) and, when it went through, the
    shipment's rows (_write_shipment). Returns (None, None) when it did not.

    On PostgreSQL the charge and the rows are one statement (WITH charge AS (UPDATE …),
    entry AS (INSERT …), …): the rows are written only if the charge returned its row, in
    one round trip instead of four — recording shipments is the ledger's hot path."""
    credit = _credit()
    customer_id = shipment.customer_id
    if connection.vendor != "postgresql":
        after, limit = credit.credit_charge_shipment(
            customer_id=customer_id, shipped=shipment.amount, paid=paid, at=at, enforce=enforce
        )
        if after is not None:
            _write_shipment(shipment, paid=paid)
        return after, limit
    charge_sql, charge_params = credit.charge_shipment_sql(
        customer_id=customer_id, shipped=shipment.amount, paid=paid, at=at, enforce=enforce
    )
    entry_fields, entry_sql = insert_select_sql(Shipment, "charge", returning="id")
    entry_params = db_rows(entry_fields, [shipment])[0]
    month_sql, month_params = _month_sql(
        customer_id, shipment.date, **_month_sums(shipment, paid), source="charge"
    )
    event = _shipment_event(shipment)
    event_fields, event_sql = insert_select_sql(
        AuditEvent, "entry", computed=(("object_id", "CAST(entry.id AS varchar)"),)
    )
    event_params = db_rows(event_fields, [event])[0]
    row = prepared.fetchone(
        f"""WITH charge AS ({charge_sql}), entry AS ({entry_sql}),
            month AS ({month_sql}), logged AS ({event_sql})
            SELECT charge.*, entry.id FROM charge, entry""",
        [*charge_params, *entry_params, *month_params, *event_params],
    )
    if row is None:
        return None, None
    shipment.pk = row[5]
    shipment._state.adding = False
    shipment._state.db = connection.alias
    return credit.charged(customer_id, row[:5], at=at)


@transaction.atomic
def shipment_record(
    *,
    actor: Any,
    customer_id: Any,
    date: dt.date,
    amount: Any,
    quantity: int = 0,
    cost: Any = ZERO,
    order_reference: str = "",
    order_id: int | None = None,
    note: str = "",
    paid_now: bool = False,
    payment_method: str = Payment.Method.CASH,
    payment_reference: str = "",
    override_id: int | None = None,
    enforce_limit: bool = True,
) -> Shipment:
    """Record a shipment (出货). Refused with CreditLimitExceeded when it would take the
    customer's exposure over the limit in force (credit.*) unless `override_id` names an
    approved, unused one-off override for this customer covering the amount. `paid_now`
    records an immediate payment of the full amount in the same transaction (a cash sale:
    exposure does not grow). `enforce_limit=False` is for importing ERP history
    (ledger.import_ledger): those shipments already happened."""
    _require(actor, "ledger.add_shipment")
    if not enforce_limit:
        _require(actor, "ledger.import_ledger")
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    date = _entry_date(date, "date", errors, today)
    customer = _customer_for_entry(actor, customer_id, shipment_on=date)
    amount = _amount(amount, "amount", errors)
    cost = _amount(cost if cost not in (None, "") else ZERO, "cost", errors, allow_zero=True)
    if (
        not isinstance(quantity, int)
        or isinstance(quantity, bool)
        or not 0 <= quantity <= MAX_QUANTITY
    ):
        errors["quantity"] = [_("数量应为0到10亿之间的整数。")]
    if len(order_reference or "") > 60:
        errors["order_reference"] = [_("订单号最多60个字符。")]
    if len(note or "") > 200:
        errors["note"] = [_("备注最多200个字符。")]
    if order_id is not None and (not isinstance(order_id, int) or isinstance(order_id, bool)):
        errors["order"] = [_("订单不存在、不属于该客户或已完成。")]
    # Whoever may record a shipment may take the cash that comes with it (paid_now).
    if paid_now and payment_method not in Payment.Method.values:
        errors["payment_method"] = [_("请选择回款方式。")]
    if errors:
        raise ValidationFailed(detail=errors)

    now = timezone.now()
    credit = _credit()
    paid = amount if paid_now else ZERO
    days = customer.terms
    if days is None:
        days = policy.get("ledger.default_payment_terms_days")
    shipment = Shipment(
        customer=customer,
        date=date,
        amount=amount,
        quantity=quantity,
        cost=cost,
        order_reference=order_reference or "",
        due_date=date + dt.timedelta(days=days),
        payment_terms_days=days,
        price_coefficient=customer.coefficient,
        note=note,
        created_by=actor,
    )
    order, override, after, limit = None, None, None, None
    if order_id is None and override_id in (None, ""):
        # the common case: check and add in one conditional UPDATE … RETURNING (on
        # PostgreSQL the same statement writes the shipment's rows)
        after, limit = _charge(shipment, paid=paid, at=now, enforce=enforce_limit)
    if after is None:
        # first entry of the customer, an order or an override, or a refusal: lock the row
        balance = locked_balance(customer.pk)
        if order_id:
            order = (
                Order.objects.select_for_update()
                .filter(pk=order_id, customer_id=customer.pk, status=Order.Status.OPEN)
                .first()
            )
            if order is None:
                raise ValidationFailed(detail={"order": [_("订单不存在、不属于该客户或已完成。")]})
            shipment.order = order
            shipment.order_reference = order_reference or order.reference
        release = min(order.remaining, amount) if order is not None else ZERO
        orders_count = credit.orders_in_exposure(at=now)
        increase = amount - paid - (release if orders_count else ZERO)
        if enforce_limit:
            override, limit = credit.credit_check_shipment(
                customer=customer,
                balance=balance,
                amount=amount,
                increase=increase,
                override_id=override_id,
                at=now,
            )
        after = _move_balance(balance, shipped=amount, paid=paid, orders=-release)
        _write_shipment(shipment, paid=paid)
    if order is not None:
        order.shipped_amount += amount
        fields = ["shipped_amount"]
        if order.shipped_amount >= order.amount:
            order.status = Order.Status.SHIPPED
            fields.append("status")
        order.save(update_fields=fields)
    if paid_now:
        payment = Payment.objects.create(
            customer=customer,
            date=date,
            amount=amount,
            method=payment_method,
            reference=payment_reference[:60],
            shipment=shipment,
            note=_("现款出货"),
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action="payment.recorded",
            obj=payment,
            changes={
                "date": [None, date],
                "amount": [None, amount],
                "method": [None, payment_method],
            },
        )
    if override is not None:
        credit.credit_override_consume(actor=actor, override=override, shipment=shipment, at=now)
    credit.credit_exposure_changed(customer=customer, balance=after, at=now, limit=limit)
    return shipment


@transaction.atomic
def shipment_reverse(
    *, actor: Any, shipment_id: Any, reason: str, date: dt.date | None = None
) -> Shipment:
    """冲销出货: a full reversal dated `date` (today by default, not before the shipment)."""
    _require(actor, "ledger.reverse_entry")
    original = _entry_for_change(actor, Shipment, shipment_id)
    if original.reversal_of_id is not None:
        raise InvalidState(_("冲销记录本身不能再冲销。"))
    balance = locked_balance(original.customer_id)
    if Shipment.objects.filter(reversal_of=original).exists():
        raise AlreadyReversed()
    date = _reversal_date(date, original.date, reason)
    reversal = Shipment.objects.create(
        customer_id=original.customer_id,
        date=date,
        amount=-original.amount,
        quantity=-original.quantity,
        cost=-original.cost,
        order_reference=original.order_reference,
        order=original.order,
        due_date=original.due_date,
        payment_terms_days=original.payment_terms_days,
        price_coefficient=original.price_coefficient,
        note=reason.strip()[:200],
        created_by=actor,
        reversal_of=original,
    )
    after = _move_balance(balance, shipped=-original.amount)
    _add_month(
        original.customer_id,
        original.date,
        shipped=-original.amount,
        cost=-original.cost,
        quantity=-original.quantity,
        count=-1,
    )
    audit.record(
        actor=actor,
        action="shipment.reversed",
        obj=reversal,
        changes={"reversal_of": [None, original.pk], "amount": [None, reversal.amount]},
        note=reason.strip(),
    )
    _credit().credit_exposure_changed(customer=original.customer, balance=after, at=timezone.now())
    return reversal


def _entry_for_change(actor: Any, model: Any, pk: Any) -> Any:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    row = (
        model.objects.visible_to(actor, CHANGE)
        .filter(customer__deleted_at__isnull=True, pk=pk)
        .select_related("customer")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def _reversal_date(date: dt.date | None, original: dt.date, reason: str) -> dt.date:
    today = timezone.localdate()
    date = date or today
    errors: dict[str, list[str]] = {}
    if not (reason or "").strip():
        errors["reason"] = [_("请说明冲销原因。")]
    elif len(reason.strip()) > 200:
        errors["reason"] = [_("冲销原因最多200个字符。")]
    if date < original:
        errors["date"] = [_("冲销日期不能早于原记录日期。")]
    elif date > today:
        errors["date"] = [_("日期不能晚于今天。")]
    if errors:
        raise ValidationFailed(detail=errors)
    return date


# --- payments --------------------------------------------------------------------------------
@transaction.atomic
def payment_record(
    *,
    actor: Any,
    customer_id: Any,
    date: dt.date,
    amount: Any,
    method: str,
    reference: str = "",
    note: str = "",
) -> Payment:
    """Record a payment (回款): lowers the balance and so the exposure."""
    _require(actor, "ledger.add_payment")
    customer = _customer_for_entry(actor, customer_id)
    errors: dict[str, list[str]] = {}
    date = _entry_date(date, "date", errors, timezone.localdate())
    amount = _amount(amount, "amount", errors)
    if method not in Payment.Method.values:
        errors["method"] = [_("请选择回款方式。")]
    if len(reference or "") > 60:
        errors["reference"] = [_("凭证号最多60个字符。")]
    if len(note or "") > 200:
        errors["note"] = [_("备注最多200个字符。")]
    if errors:
        raise ValidationFailed(detail=errors)
    balance = locked_balance(customer.pk)
    payment = Payment.objects.create(
        customer=customer,
        date=date,
        amount=amount,
        method=method,
        reference=reference,
        note=note,
        created_by=actor,
    )
    after = _move_balance(balance, paid=amount)
    _add_month(customer.pk, date, paid=amount)
    audit.record(
        actor=actor,
        action="payment.recorded",
        obj=payment,
        changes={"date": [None, date], "amount": [None, amount], "method": [None, method]},
    )
    _credit().credit_exposure_changed(customer=customer, balance=after, at=timezone.now())
    return payment


@transaction.atomic
def payment_reverse(
    *, actor: Any, payment_id: Any, reason: str, date: dt.date | None = None
) -> Payment:
    """冲销回款 (e.g. a bounced acceptance bill): the balance grows back."""
    _require(actor, "ledger.reverse_entry")
    original = _entry_for_change(actor, Payment, payment_id)
    if original.reversal_of_id is not None:
        raise InvalidState(_("冲销记录本身不能再冲销。"))
    balance = locked_balance(original.customer_id)
    if Payment.objects.filter(reversal_of=original).exists():
        raise AlreadyReversed()
    date = _reversal_date(date, original.date, reason)
    reversal = Payment.objects.create(
        customer_id=original.customer_id,
        date=date,
        amount=-original.amount,
        method=original.method,
        reference=original.reference,
        note=reason.strip()[:200],
        created_by=actor,
        reversal_of=original,
    )
    after = _move_balance(balance, paid=-original.amount)
    _add_month(original.customer_id, original.date, paid=-original.amount)
    audit.record(
        actor=actor,
        action="payment.reversed",
        obj=reversal,
        changes={"reversal_of": [None, original.pk], "amount": [None, reversal.amount]},
        note=reason.strip(),
    )
    _credit().credit_exposure_changed(customer=original.customer, balance=after, at=timezone.now())
    return reversal


# --- orders ----------------------------------------------------------------------------------
@transaction.atomic
def order_record(
    *,
    actor: Any,
    customer_id: Any,
    date: dt.date,
    amount: Any,
    reference: str = "",
    note: str = "",
) -> Order:
    """An open sales order; it counts in the exposure while credit.orders_in_exposure is on.
    Orders are not refused at entry: the limit is enforced when they ship."""
    _require(actor, "ledger.add_order")
    customer = _customer_for_entry(actor, customer_id)
    errors: dict[str, list[str]] = {}
    date = _entry_date(date, "date", errors, timezone.localdate())
    amount = _amount(amount, "amount", errors)
    if len(reference or "") > 60:
        errors["reference"] = [_("订单号最多60个字符。")]
    if errors:
        raise ValidationFailed(detail=errors)
    balance = locked_balance(customer.pk)
    order = Order.objects.create(
        customer=customer,
        date=date,
        amount=amount,
        reference=reference,
        note=(note or "")[:200],
        created_by=actor,
    )
    after = _move_balance(balance, orders=amount)
    audit.record(
        actor=actor,
        action="order.recorded",
        obj=order,
        changes={"date": [None, date], "amount": [None, amount], "reference": [None, reference]},
    )
    _credit().credit_exposure_changed(customer=customer, balance=after, at=timezone.now())
    return order


@transaction.atomic
def order_cancel(*, actor: Any, order_id: Any, reason: str) -> Order:
    _require(actor, "ledger.change_order")
    order = _entry_for_change(actor, Order, order_id)
    if not (reason or "").strip():
        raise ValidationFailed(detail={"reason": [_("请说明取消原因。")]})
    balance = locked_balance(order.customer_id)
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.OPEN:
        raise InvalidState(_("只有未完成的订单可以取消。"))
    remaining = order.remaining
    order.status = Order.Status.CANCELLED
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "cancelled_at"])
    _move_balance(balance, orders=-remaining)
    audit.record(
        actor=actor,
        action="order.cancelled",
        obj=order,
        changes={"status": [Order.Status.OPEN.label, Order.Status.CANCELLED.label]},
        note=reason.strip()[:500],
    )
    return order


# --- payment terms and price coefficients ----------------------------------------------------
@transaction.atomic
def payment_terms_set(*, actor: Any, customer_id: Any, days: Any) -> CustomerTerms:
    """账期 of one customer (days from shipment to due date). Applies to later shipments."""
    _require(actor, "ledger.change_customerterms")
    customer = _customer_for_entry(actor, customer_id)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
        raise ValidationFailed(detail={"days": [_("账期应为0到365之间的天数。")]})
    old = terms_days(customer_id=customer.pk)
    terms, _created = CustomerTerms.objects.update_or_create(
        customer=customer, defaults={"days": days, "updated_by": actor}
    )
    audit.record(actor=actor, action="payment_terms.set", obj=terms, changes={"days": [old, days]})
    return terms


@transaction.atomic
def price_coefficient_propose(
    *, actor: Any, customer_id: Any, coefficient: Any, effective_from: dt.date, reason: str
) -> PriceCoefficient:
    """Propose a price coefficient (单价系数) from a date; in force once approved."""
    _require(actor, "ledger.add_pricecoefficient")
    customer = _customer_for_entry(actor, customer_id)
    errors: dict[str, list[str]] = {}
    try:
        value = Decimal(str(coefficient))
        if not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        errors["coefficient"] = [_("请输入系数，例如 0.95。")]
        value = Decimal(0)
    if "coefficient" not in errors:
        if value != value.quantize(Decimal("0.0001")):
            errors["coefficient"] = [_("系数最多四位小数。")]
        elif not Decimal(0) < value <= MAX_COEFFICIENT:
            errors["coefficient"] = [_("系数应大于0且小于100。")]
    if not isinstance(effective_from, dt.date):
        errors["effective_from"] = [_("请输入生效日期。")]
    if not (reason or "").strip():
        errors["reason"] = [_("请说明申请理由。")]
    elif len(reason.strip()) > 200:
        errors["reason"] = [_("申请理由最多200个字符。")]
    if errors:
        raise ValidationFailed(detail=errors)
    row = PriceCoefficient.objects.create(
        customer=customer,
        coefficient=value,
        effective_from=effective_from,
        reason=reason.strip(),
        proposed_by=actor,
    )
    audit.record(
        actor=actor,
        action="price_coefficient.proposed",
        obj=row,
        changes={"coefficient": [None, value], "effective_from": [None, effective_from]},
        note=reason.strip(),
    )
    return row


@transaction.atomic
def price_coefficient_decide(
    *, actor: Any, coefficient_id: Any, approve: bool, note: str = ""
) -> PriceCoefficient:
    """Approve or reject (general manager or sales director)."""
    row = _entry_for_change(actor, PriceCoefficient, coefficient_id)
    _require(actor, "ledger.approve_pricecoefficient")
    row = PriceCoefficient.objects.select_for_update().get(pk=row.pk)
    if row.status != PriceCoefficient.Status.PENDING:
        raise InvalidState(_("该申请已经审批过。"))
    if not approve and not (note or "").strip():
        raise ValidationFailed(detail={"note": [_("驳回时请填写审批意见。")]})
    old = row.get_status_display()
    row.status = PriceCoefficient.Status.APPROVED if approve else PriceCoefficient.Status.REJECTED
    row.decided_by, row.decided_at = actor, timezone.now()
    row.decision_note = (note or "").strip()[:200]
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(
        actor=actor,
        action="price_coefficient.approved" if approve else "price_coefficient.rejected",
        obj=row,
        changes={"status": [old, row.get_status_display()]},
        note=row.decision_note,
    )
    return row
