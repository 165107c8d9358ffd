"""Credit control (资信管理): ratings, limits and their approval, quarterly proposal rounds,
one-off overrides and investigations. Policy: credit.*.

Time-derived state (MISSION principle 2): a pending limit is overdue when `due_at` has
passed; an approved limit is in force from `effective_from`; a round is open until the
quarter it prepares begins. Nothing here waits for a job — the sweeper only notifies.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer, CustomerChild, CustomerScopedQuerySet
from guanxi.ledger.models import Shipment, money


class CreditRating(CustomerChild):
    """资信等级: one rating of a customer, derived from policy credit.rating_rules at
    `rated_at`, with its inputs and the reasons, so it explains itself. The customer's
    level is its latest rating; it is due again after credit.rating_valid_months."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="credit_ratings", verbose_name=_("客户")
    )
    level = models.CharField(_("资信等级"), max_length=20)
    inputs = models.JSONField(_("评定依据"), default=dict)
    explanation = models.JSONField(_("评定说明"), default=list)
    policy_version = models.PositiveIntegerField(_("策略版本"), default=0)
    rated_at = models.DateTimeField(_("评定时间"), db_index=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("评定人"),
        help_text=_("空表示系统定期评定。"),
    )

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("资信评定")
        verbose_name_plural = _("资信评定")
        ordering = ["-rated_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-rated_at"], name="credit_rating_cust_idx"),
        ]
        permissions = [("view_credit_report", _("查看资信报表与销售回款汇总"))]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.level}"

    @property
    def reasons(self) -> list[str]:
        """How the level was derived: the stored lines, or for a rating written set-based
        (empty `explanation`) the rules re-applied to its stored inputs (credit.rating)."""
        from guanxi.credit.rating import explain

        return explain(self)


class CreditRound(models.Model):
    """A quarterly proposal round (季度额度申报): opened in the last month of a quarter for
    the next one (`year`, `quarter` name the quarter it prepares). It is open until that
    quarter begins."""

    year = models.PositiveSmallIntegerField(_("年度"))
    quarter = models.PositiveSmallIntegerField(_("季度"))
    opened_at = models.DateTimeField(_("开启时间"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("开启人"),
    )
    proposals = models.PositiveIntegerField(_("生成的额度建议数"), default=0)

    class Meta:
        verbose_name = _("额度申报轮次")
        verbose_name_plural = _("额度申报轮次")
        ordering = ["-year", "-quarter"]
        constraints = [
            models.UniqueConstraint(fields=["year", "quarter"], name="credit_round_unique"),
            models.CheckConstraint(
                condition=Q(quarter__gte=1, quarter__lte=4), name="credit_round_quarter"
            ),
        ]
        permissions = [("open_creditround", _("开启季度额度申报"))]

    def __str__(self) -> str:
        return f"{self.year}年第{self.quarter}季度"


class CreditLimit(CustomerChild):
    """A credit limit: proposed (formula suggestion, adjustable by the owner with a reason),
    approved or rejected by the general manager (credit.approve_creditlimit) within
    credit.approval_deadline_days, in force from `effective_from` (the next quarter start,
    or at once if the approver says so). The limit in force at a moment is the approved one
    with the latest effective_from ≤ that moment."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("待提交")
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    class Effective(models.TextChoices):
        NOW = "now", _("立即生效")
        NEXT_QUARTER = "next_quarter", _("下季度初生效")

    OPEN_STATUSES = (Status.DRAFT, Status.PENDING)

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="credit_limits", verbose_name=_("客户")
    )
    amount = money(_("信用额度（元）"))
    suggested_amount = money(_("公式建议额度（元）"), null=True, blank=True)
    suggestion = models.JSONField(_("建议额度计算过程"), default=dict, blank=True)
    reason = models.CharField(_("申请理由"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    round = models.ForeignKey(
        CreditRound,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="limits",
        verbose_name=_("申报轮次"),
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("审批期限"), null=True, blank=True, db_index=True)
    balance_at_proposal = money(_("申请时应收余额（元）"), null=True, blank=True)
    confirmed_below_balance = models.BooleanField(_("已确认低于当前余额"), default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=300, blank=True)
    effective = models.CharField(
        _("生效方式"), max_length=16, choices=Effective.choices, blank=True
    )
    effective_from = models.DateTimeField(_("生效时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("逾期提醒时间"), null=True, blank=True)
    policy_version = models.PositiveIntegerField(_("策略版本"), default=0)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("信用额度")
        verbose_name_plural = _("信用额度")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_creditlimit", _("审批信用额度"))]
        indexes = [
            models.Index(
                fields=["customer", "status", "effective_from"], name="credit_limit_force_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status__in=["draft", "pending"]),
                name="credit_limit_one_open_per_customer",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="credit_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} ¥{self.amount}"


class CreditOverride(CustomerChild):
    """A one-off permission to ship over the limit: requested for one shipment (up to
    `amount`), approved by a credit controller (credit.approve_creditoverride, not the
    requester), consumed by exactly one shipment (`shipment`, set under the balance lock)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="credit_overrides", verbose_name=_("客户")
    )
    amount = money(_("出货金额上限（元）"))
    reason = models.CharField(_("申请理由"), max_length=300)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("申请人"),
    )
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=300, blank=True)
    shipment = models.OneToOneField(
        Shipment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_override",
        verbose_name=_("使用的出货"),
    )
    consumed_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("超额度出货特批")
        verbose_name_plural = _("超额度出货特批")
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_creditoverride", _("审批超额度出货特批（信用控制）"))]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_override_positive"),
        ]

    def __str__(self) -> str:
        return f"特批#{self.pk} ¥{self.amount}"

    @property
    def usable(self) -> bool:
        return self.status == self.Status.APPROVED and self.shipment_id is None


class CreditInvestigation(CustomerChild):
    """资信调查: a task for the customer's owner when exposure reaches the early-warning
    share of the limit (credit.warning_share) or exceeds it. One open task per customer."""

    class Kind(models.TextChoices):
        OVER_LIMIT = "over_limit", _("超出信用额度")
        EARLY_WARNING = "early_warning", _("接近信用额度")

    class Status(models.TextChoices):
        OPEN = "open", _("待调查")
        CLOSED = "closed", _("已结案")

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="credit_investigations",
        verbose_name=_("客户"),
    )
    kind = models.CharField(_("原因"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    opened_at = models.DateTimeField(_("发起时间"))
    limit = money(_("当时额度（元）"))
    exposure = money(_("当时占用（元）"))
    findings = models.TextField(_("调查结论"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("结案人"),
    )
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    objects = CustomerScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("资信调查")
        verbose_name_plural = _("资信调查")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(status="open"),
                name="credit_investigation_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.get_kind_display()}"
