"""The sales ledger (出货回款): shipments, payments, open orders, payment terms, price
coefficients, and the per-customer running balance. Policy: ledger.*, credit.*.

Shipments and payments are append-only facts: a wrong entry is corrected by a reversing
entry (a full reversal, `reversal_of`, negative amount) and, if needed, a new entry. Model
save/delete and queryset update/delete refuse to change them; only services create them.

CustomerBalance is the one row per customer that every entry updates under a row lock in
the same transaction (ledger.services), so exposure reads are O(1) and two writers for the
same customer are serialised. CustomerMonth keeps per-customer monthly sums, so the
yearly/monthly figures that grading and credit rating read are a handful of rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer, CustomerChild, CustomerScopedQuerySet

ZERO = Decimal("0.00")


def money(verbose_name: str | None = None, **kwargs: object) -> models.DecimalField:
    """CNY, two decimals (STYLE §6)."""
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, **kwargs)


class AppendOnlyQuerySet(CustomerScopedQuerySet):
    def update(self, **kwargs):  # noqa: ANN001 - ledger rows are facts
        raise TypeError("ledger entries are never updated; record a reversing entry")

    def delete(self):
        raise TypeError("ledger entries are never deleted; record a reversing entry")


class LedgerEntry(CustomerChild):
    """Common shape of shipments and payments: append-only, reversible once."""

    date = models.DateField(_("日期"))
    amount = money(_("金额（元）"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("录入人"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("ledger entries are never updated; record a reversing entry")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("ledger entries are never deleted; record a reversing entry")

    @property
    def is_reversal(self) -> bool:
        return self.reversal_of_id is not None  # type: ignore[attr-defined]


class Order(CustomerChild):
    """An open sales order not yet (fully) shipped. It counts in the customer's credit
    exposure when credit.orders_in_exposure is on. Orders are not ledger facts: they are
    shipped (through shipments that name them) or cancelled."""

    class Status(models.TextChoices):
        OPEN = "open", _("未完成")
        SHIPPED = "shipped", _("已出货")
        CANCELLED = "cancelled", _("已取消")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("客户")
    )
    date = models.DateField(_("订单日期"))
    reference = models.CharField(_("订单号"), max_length=60, blank=True)
    amount = money(_("订单金额（元）"))
    shipped_amount = money(_("已出货金额（元）"), default=ZERO)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("录入人"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("销售订单")
        verbose_name_plural = _("销售订单")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["customer", "status"], name="ledger_order_customer_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_order_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.reference or f"订单#{self.pk}"

    @property
    def remaining(self) -> Decimal:
        if self.status != self.Status.OPEN:
            return ZERO
        return max(ZERO, self.amount - self.shipped_amount)


class Shipment(LedgerEntry):
    """出货: goods delivered to a customer on credit (or against an immediate payment).
    profit = amount − cost. `due_date` = date + the customer's payment terms in force
    (ledger.default_payment_terms_days when none is set)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("客户")
    )
    quantity = models.IntegerField(_("数量（件/台）"), default=0)
    cost = money(_("成本（元）"), default=ZERO)
    order_reference = models.CharField(_("订单号"), max_length=60, blank=True)
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("销售订单"),
    )
    due_date = models.DateField(_("应收日期"))
    payment_terms_days = models.PositiveSmallIntegerField(_("账期（天）"))
    price_coefficient = models.DecimalField(
        _("单价系数"), max_digits=6, decimal_places=4, null=True, blank=True
    )
    reversal_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("冲销的出货"),
    )

    class Meta:
        verbose_name = _("出货")
        verbose_name_plural = _("出货")
        ordering = ["-date", "-id"]
        indexes = [
            # Covering (every column the per-customer figures read, in customer and date
            # order): ageing, timeliness, ratings and grading read a range of customers
            # from the index alone instead of rows scattered over the whole table.
            models.Index(
                fields=["customer", "date", "id", "amount", "due_date", "reversal_of"],
                name="ledger_shipment_cover_idx",
            ),
            models.Index(fields=["date"], name="ledger_shipment_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reversal_of__isnull=True, amount__gt=0, cost__gte=0)
                | Q(reversal_of__isnull=False, amount__lt=0, cost__lte=0),
                name="ledger_shipment_sign",
            ),
        ]
        permissions = [
            ("reverse_entry", _("冲销出货或回款")),
            ("import_ledger", _("导入出货回款数据")),
        ]

    def __str__(self) -> str:
        kind = "冲销" if self.reversal_of_id else "出货"
        return f"{kind} {self.date} ¥{self.amount}"

    @property
    def profit(self) -> Decimal:
        return self.amount - self.cost


class Payment(LedgerEntry):
    """回款: money received from a customer."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("银行转账")
        ACCEPTANCE_BILL = "acceptance_bill", _("承兑汇票")
        CASH = "cash", _("现金")
        CHEQUE = "cheque", _("支票")
        ONLINE = "online", _("线上支付")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="payments", verbose_name=_("客户")
    )
    method = models.CharField(_("回款方式"), max_length=20, choices=Method.choices)
    reference = models.CharField(_("凭证号"), max_length=60, blank=True)
    shipment = models.ForeignKey(
        Shipment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cash_payments",
        verbose_name=_("现款出货"),
        help_text=_("与出货同时收取的现款。"),
    )
    reversal_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("冲销的回款"),
    )

    class Meta:
        verbose_name = _("回款")
        verbose_name_plural = _("回款")
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(  # covering, as for shipments
                fields=["customer", "date", "id", "amount", "reversal_of"],
                name="ledger_payment_cover_idx",
            ),
            models.Index(fields=["date"], name="ledger_payment_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reversal_of__isnull=True, amount__gt=0)
                | Q(reversal_of__isnull=False, amount__lt=0),
                name="ledger_payment_sign",
            ),
        ]

    def __str__(self) -> str:
        kind = "冲销" if self.reversal_of_id else "回款"
        return f"{kind} {self.date} ¥{self.amount}"


class CustomerBalance(models.Model):
    """The running totals of one customer, updated under `select_for_update` in the same
    transaction as every entry: balance = shipped − paid (receivable), open_orders = what
    open orders still have to ship. Rebuilt set-based by ledger.recompute."""

    customer = models.OneToOneField(
        Customer,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="ledger_balance",
        verbose_name=_("客户"),
    )
    shipped_total = money(_("累计出货（元）"), default=ZERO)
    paid_total = money(_("累计回款（元）"), default=ZERO)
    balance = money(_("应收余额（元）"), default=ZERO, db_index=True)
    open_orders = money(_("未出货订单（元）"), default=ZERO)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("客户应收余额")
        verbose_name_plural = _("客户应收余额")

    def __str__(self) -> str:
        return f"{self.customer_id}: ¥{self.balance}"


class CustomerMonth(models.Model):
    """Monthly sums per customer (first day of the month). A reversal counts in the month
    of the entry it reverses: the sale or payment did not happen, so that month changes
    (a shipment reversal takes one off the month's shipment count)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", verbose_name=_("客户")
    )
    month = models.DateField(_("月份"))
    shipped_amount = money(_("出货金额"), default=ZERO)
    shipped_cost = money(_("出货成本"), default=ZERO)
    shipped_quantity = models.IntegerField(_("出货数量"), default=0)
    shipped_count = models.IntegerField(_("出货笔数"), default=0)
    paid_amount = money(_("回款金额"), default=ZERO)

    # A customer merge moves the entries, not these sums (one row per customer and month):
    # both customers' sums and balances are rebuilt from their entries instead.
    customer_merge = "keep"

    class Meta:
        verbose_name = _("客户月度出货回款")
        verbose_name_plural = _("客户月度出货回款")
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="ledger_month_unique")
        ]
        indexes = [
            models.Index(fields=["month"], name="ledger_month_month_idx"),
            # covering: a range of customers' sums read from the index alone
            models.Index(
                fields=[
                    "customer",
                    "month",
                    "shipped_amount",
                    "shipped_cost",
                    "shipped_quantity",
                    "shipped_count",
                    "paid_amount",
                ],
                name="ledger_month_cover_idx",
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m}"

    @classmethod
    def customer_merged(cls, *, actor: object, survivor: Customer, merged: Customer) -> None:
        from guanxi.ledger.recompute import rebuild_customers

        rebuild_customers([survivor.pk, merged.pk])

    @classmethod
    def customer_merge_reversed(
        cls, *, actor: object, survivor: Customer, merged: Customer
    ) -> None:
        from guanxi.ledger.recompute import rebuild_customers

        rebuild_customers([survivor.pk, merged.pk])


class CustomerTerms(CustomerChild):
    """账期: days between a shipment and its due date for one customer."""

    customer = models.OneToOneField(
        Customer, on_delete=models.PROTECT, related_name="payment_terms", verbose_name=_("客户")
    )
    days = models.PositiveSmallIntegerField(_("账期（天）"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("设置人"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户账期")
        verbose_name_plural = _("客户账期")

    def __str__(self) -> str:
        return f"{self.days}天"


class PriceCoefficient(CustomerChild):
    """单价系数: a customer's special price factor from an effective date, in force once
    approved (general manager or sales director: ledger.approve_pricecoefficient). The
    factor in force on a day is the approved one with the latest effective date ≤ that day."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="price_coefficients",
        verbose_name=_("客户"),
    )
    coefficient = models.DecimalField(_("单价系数"), max_digits=6, decimal_places=4)
    effective_from = models.DateField(_("生效日期"))
    reason = models.CharField(_("申请理由"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("申请人"),
    )
    proposed_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=200, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("单价系数")
        verbose_name_plural = _("单价系数")
        ordering = ["-effective_from", "-id"]
        permissions = [("approve_pricecoefficient", _("审批单价系数"))]
        indexes = [
            models.Index(
                fields=["customer", "status", "effective_from"], name="ledger_coef_cust_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(coefficient__gt=0), name="ledger_coefficient_positive"
            )
        ]

    def __str__(self) -> str:
        return f"×{self.coefficient} {self.effective_from}"
